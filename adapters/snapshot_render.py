"""A snapshot as a readable page (HTML) and as PDF and PNG made from it by
headless Chromium (R-37: "showing layout and content").

The HTML is self-contained (styles inline, screenshots as data: URIs, no
script but one that measures the page, no remote loads), so the archived
page shows the same in twenty years. Chromium runs as a subprocess:

    chromium --headless --dump-dom        measures the page's height
    chromium --headless --print-to-pdf    the PDF (A4, backgrounds printed)
    chromium --headless --screenshot      the PNG, the whole page at 1200 px

The binary is `KANALVAKT_CHROMIUM` or `chromium` on PATH (Debian's package;
no browser is downloaded). Each run gets a fresh profile directory.
"""

from __future__ import annotations

import asyncio
import base64
import re
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

import settings as app_settings

PNG_WIDTH = 1200
MAX_PNG_HEIGHT = 16000  # Chromium's compositor refuses far taller surfaces
_CHROMIUM_TIMEOUT = 90.0

_TEMPLATE = r"""<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Kanalvakt">
<title>Ögonblicksbild: {{ account.account_name }} ({{ platform_name }}) {{ taken_local }}</title>
<style>
  @page { size: A4; margin: 14mm 12mm; }
  * { box-sizing: border-box; }
  body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1b1b1b;
         background: #f3f4f6; margin: 0; padding: 24px; font-size: 15px; line-height: 1.45; }
  main { max-width: 1100px; margin: 0 auto; }
  header.record { background: #1d3557; color: #fff; padding: 16px 20px; border-radius: 8px; }
  header.record h1 { margin: 0 0 4px; font-size: 22px; }
  header.record dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px;
                     margin: 10px 0 0; font-size: 13px; }
  header.record dt { opacity: .8; } header.record dd { margin: 0; }
  section.profile, article.post, section.note, section.shots { background: #fff;
      border: 1px solid #d6d9de; border-radius: 8px; padding: 16px 20px; margin-top: 16px;
      break-inside: avoid; }
  .profile h2 { margin: 0; font-size: 20px; } .handle { color: #555; }
  .about { white-space: pre-wrap; margin: 8px 0; }
  .facts { color: #444; font-size: 13px; }
  article.post h3 { margin: 0 0 6px; font-size: 14px; color: #555; font-weight: normal; }
  .post-text { white-space: pre-wrap; font-size: 16px; }
  ul.comments { list-style: none; margin: 12px 0 0; padding: 0 0 0 14px;
                border-left: 3px solid #e1e4e8; }
  ul.comments li { margin: 0 0 8px; }
  ul.replies { list-style: none; margin: 6px 0 0; padding: 0 0 0 14px;
               border-left: 3px solid #eef0f3; font-size: 14px; }
  ul.replies li { margin: 0 0 6px; }
  .who { font-weight: bold; } .when { color: #666; font-size: 12px; }
  .hidden-flag { color: #9a3412; font-size: 12px; }
  .note { border-color: #f59e0b; background: #fffbeb; }
  .shots img { max-width: 100%; border: 1px solid #ccc; display: block; margin: 8px 0; }
  footer { color: #555; font-size: 12px; margin: 18px 0 0; }
  a { color: #1d4ed8; }
</style>
</head>
<body>
<main>
<header class="record">
  <h1>Ögonblicksbild av {{ account.account_name }}</h1>
  <div>{{ platform_name }}{% if profile and profile.handle %} · @{{ profile.handle }}{% endif %}
    · {{ reason_text }}</div>
  <dl>
    <dt>Kommun</dt><dd>{{ municipality_name }}</dd>
    <dt>Enhet</dt><dd>{{ unit_name }}</dd>
    <dt>Tagen</dt><dd>{{ taken_local }}</dd>
    <dt>Ärende</dt><dd>{{ snapshot_id }}</dd>
    {% if diarium_number %}<dt>Diarienummer</dt><dd>{{ diarium_number }}</dd>{% endif %}
    <dt>Källa</dt><dd>{{ source_text }}</dd>
  </dl>
</header>
{% if profile %}
<section class="profile" aria-label="Profil">
  <h2>{{ profile.name }}</h2>
  {% if profile.handle %}<div class="handle">@{{ profile.handle }}</div>{% endif %}
  {% if profile.about %}<p class="about">{{ profile.about }}</p>{% endif %}
  <div class="facts">
    {% if profile.category %}{{ profile.category }} · {% endif %}
    {% if profile.followers is not none %}{{ profile.followers }} följare · {% endif %}
    {% if profile.link %}<a href="{{ profile.link }}">{{ profile.link }}</a>{% endif %}
    {% if profile.website %} · <a href="{{ profile.website }}">{{ profile.website }}</a>{% endif %}
  </div>
</section>
{% endif %}
{% for note in notes %}<section class="note"><p>{{ note }}</p></section>{% endfor %}
{% for post in posts %}
<article class="post">
  <h3>Inlägg {{ post.created_local }}{% if post.permalink %} ·
    <a href="{{ post.permalink }}">{{ post.permalink }}</a>{% endif %}</h3>
  <div class="post-text">{{ post.text or "(inlägg utan text)" }}</div>
  {% if post.comments %}
  <ul class="comments" aria-label="Kommentarer">
    {% for c in post.comments %}
    <li><span class="who">{{ c.author_name or "Okänd" }}</span>
      <span class="when">{{ c.created_local }}</span>
      {% if c.hidden %}<span class="hidden-flag">(dold)</span>{% endif %}
      <div>{{ c.text or "(kommentar utan text)" }}</div>
      {% set replies = c.get("replies") or [] %}
      {% if replies %}
      <ul class="replies" aria-label="Svar på kommentaren">
        {% for r in replies|sort(attribute="created_time") %}
        <li><span class="who">{{ r.author_name or "Okänd" }}</span>
          <span class="when">{{ local(r.created_time, account.timezone) }}</span>
          {% if r.hidden %}<span class="hidden-flag">(dold)</span>{% endif %}
          <div>{{ r.text or "(svar utan text)" }}</div></li>
        {% endfor %}
      </ul>
      {% if c.get("replies_truncated") %}<p class="when">Fler svar finns än de som
        togs med.</p>{% endif %}
      {% endif %}</li>
    {% endfor %}
  </ul>
  {% if post.comments_truncated %}<p class="when">Fler kommentarer finns än de som
    togs med.</p>{% endif %}
  {% endif %}
</article>
{% endfor %}
{% if shots %}
<section class="shots" aria-label="Skärmbilder">
  <h2>Uppladdade skärmbilder</h2>
  {% for s in shots %}
  <figure><img src="{{ s.data_uri }}" alt="{{ s.caption or s.file_name }}">
    <figcaption>{{ s.caption or s.file_name }} – uppladdad av {{ s.uploaded_by }}
      {{ s.uploaded_local }}</figcaption></figure>
  {% endfor %}
</section>
{% endif %}
<footer>Skapad av Kanalvakt {{ taken_local }}. Inläggen och kommentarerna är allmänna
  handlingar; sidan visar kontot som det såg ut när ögonblicksbilden togs.</footer>
</main>
<script>document.body.setAttribute("data-height",
  String(Math.ceil(document.documentElement.scrollHeight)));</script>
</body>
</html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)

REASON_TEXT = {
    "scheduled": "halvårsvis ögonblicksbild",
    "major_change": "efter en större ändring",
    "on_demand": "på begäran",
    "final": "slutlig ögonblicksbild före avslut",
}
SOURCE_TEXT = {
    "platform": "läst från plattformen",
    "screenshots": "uppladdade skärmbilder",
    "record_only": "endast Kanalvakts egna uppgifter",
}


def local_text(moment: datetime | str, timezone: str) -> str:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


_ENV.globals["local"] = local_text  # a reply's time, in the municipality's zone
_PAGE = _ENV.from_string(_TEMPLATE)


def render_html(context: dict[str, Any]) -> str:
    """The page for `context` (see activities/snapshot.py for what it holds)."""
    return _PAGE.render(**context)


def data_uri(content: bytes, mime_type: str) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(content).decode()}"


class RenderError(Exception):
    pass


def chromium_path() -> str:
    configured = app_settings.load().chromium
    found = configured or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RenderError("no Chromium found: install Debian's chromium or set KANALVAKT_CHROMIUM")
    return found


async def _chromium(html_file: Path, *args: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="kv-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            chromium_path(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", "--mute-audio",
            f"--user-data-dir={profile}", *args, html_file.as_uri(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), _CHROMIUM_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RenderError(f"chromium took longer than {_CHROMIUM_TIMEOUT:.0f} s") from None
        except asyncio.CancelledError:
            # The activity was cancelled (a worker shutting down): leave no browser behind.
            process.kill()
            await asyncio.shield(process.wait())
            raise
        if process.returncode != 0:
            raise RenderError(f"chromium failed ({process.returncode}): {err.decode()[-500:]}")
        return out


async def render_pdf_and_png(html: str) -> tuple[bytes, bytes]:
    """The page as an A4 PDF and as a PNG of the whole page, PNG_WIDTH wide."""
    with tempfile.TemporaryDirectory(prefix="kv-render-") as work:
        page = Path(work) / "snapshot.html"
        page.write_text(html, encoding="utf-8")
        dom = await _chromium(page, f"--window-size={PNG_WIDTH},800", "--dump-dom")
        match = re.search(rb'data-height="(\d+)"', dom)
        height = min(int(match.group(1)) if match else 2000, MAX_PNG_HEIGHT)
        pdf_file, png_file = Path(work) / "snapshot.pdf", Path(work) / "snapshot.png"
        await _chromium(page, "--no-pdf-header-footer", f"--print-to-pdf={pdf_file}")
        await _chromium(page, f"--window-size={PNG_WIDTH},{max(height, 200)}",
                        f"--screenshot={png_file}")
        if not pdf_file.is_file() or not png_file.is_file():
            raise RenderError("chromium wrote no PDF or no PNG")
        return pdf_file.read_bytes(), png_file.read_bytes()
