"""Notification mails over SMTP (issue 13), with aiosmtplib.

`compose` builds one mail (plain text and HTML, in the recipient's
language) for one or more notices; `SmtpMailer.send` hands it to the relay.
A mail names the account, the case and what is wanted, the deadline in the
office's time zone and a link behind sign-in: never a citizen's text or
personal data (nothing of theirs is passed in here).

Errors: `PermanentMailError` when the relay refuses for good (5xx);
anything else (unreachable, slow, 4xx) is worth another attempt.
"""

from __future__ import annotations

import html
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiosmtplib

from adapters.mail_texts import kind_text, text


@dataclass(frozen=True)
class Notice:
    """One notification as a mail shows it."""

    kind: str
    account_name: str | None
    account_id: str | None
    case_id: str | None
    due: datetime | None


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 8025
    # "none", "starttls" or "tls" (implicit TLS, usually port 465)
    security: str = "none"
    username: str = ""
    password: str = ""
    from_address: str = "kanalvakt@localhost"
    timeout: float = 30.0
    # a CA bundle to trust for the relay's certificate (an internal CA);
    # "" the system's
    ca_file: str = ""
    # the intranet's public address, for the links in mails
    public_base_url: str = "http://localhost:8000"


class PermanentMailError(Exception):
    """The relay refused the mail for good (a 5xx answer)."""


def link_for(base_url: str, notice: Notice) -> str:
    base = base_url.rstrip("/")
    if notice.kind == "undeliverable":
        return f"{base}/outbox"
    if notice.kind == "crisis_digest":
        return f"{base}/crisis"
    if notice.case_id and notice.case_id.startswith("message:"):
        return f"{base}/messages/{quote(notice.case_id, safe=':')}"
    if notice.account_id:
        return f"{base}/accounts/{notice.account_id}"
    return f"{base}/tasks"


def local_due(due: datetime | None, tz: str) -> str:
    if due is None:
        return ""
    local = due.astimezone(ZoneInfo(tz))
    return f"{local:%Y-%m-%d %H:%M} ({tz})"


def message_id(batch: int, from_address: str) -> str:
    """Stable for a batch: a mail sent again after a crash is recognisable."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "kanalvakt.local"
    return f"<kanalvakt.outbox.{batch}@{domain}>"


def compose(*, notices: list[Notice], to_address: str, to_name: str, lang: str, tz: str,
            settings: SmtpSettings, batch: int, now: datetime,
            detail: str | None = None) -> EmailMessage:
    n = len(notices)
    first = notices[0]
    account = first.account_name or text(lang, "no_account")
    subject = (text(lang, "subject.one", what=kind_text(lang, first.kind), account=account)
               if n == 1 else text(lang, "subject.many", n=n))
    prefs = f"{settings.public_base_url.rstrip('/')}/notifications"
    lines = [text(lang, "greeting", name=to_name), "",
             text(lang, "intro.one") if n == 1 else text(lang, "intro.many", n=n), ""]
    items_html = []
    for notice in notices:
        link = link_for(settings.public_base_url, notice)
        what = kind_text(lang, notice.kind)
        rows = [(text(lang, "account"), notice.account_name or text(lang, "no_account"))]
        if notice.case_id and notice.case_id.startswith("message:"):
            rows.append((text(lang, "case"), notice.case_id))
        if notice.due is not None:
            rows.append((text(lang, "due"), local_due(notice.due, tz)))
        lines.append(f"* {what}")
        lines += [f"  {label}: {value}" for label, value in rows]
        lines += [f"  {text(lang, 'open')}: {link}", ""]
        items_html.append(
            f"<li><p><strong>{html.escape(what)}</strong></p><dl>"
            + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
            + f"</dl><p><a href=\"{html.escape(link)}\">{html.escape(text(lang, 'open'))}</a>"
            "</p></li>")
    if detail:
        lines += [detail, ""]
    lines.append(text(lang, "footer", prefs=prefs))
    body_html = (
        f"<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(subject)}</title></head><body>"
        f"<p>{html.escape(text(lang, 'greeting', name=to_name))}</p>"
        f"<p>{html.escape(lines[2])}</p><ul>{''.join(items_html)}</ul>"
        + (f"<p>{html.escape(detail)}</p>" if detail else "")
        + f"<p><small>{html.escape(text(lang, 'footer', prefs=prefs))}</small></p>"
        "</body></html>")
    mail = EmailMessage()
    mail["From"] = settings.from_address
    mail["To"] = formataddr((to_name, to_address))
    mail["Subject"] = subject
    mail["Date"] = formatdate(now.timestamp(), localtime=False)
    mail["Message-ID"] = message_id(batch, settings.from_address)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content("\n".join(lines))
    mail.add_alternative(body_html, subtype="html")
    mail["Content-Language"] = lang  # after set_content, which drops Content-* headers
    return mail


class SmtpMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(self, mail: EmailMessage) -> None:
        s = self.settings
        context = (ssl.create_default_context(cafile=s.ca_file or None)
                   if s.security in ("tls", "starttls") else None)
        try:
            await aiosmtplib.send(
                mail, hostname=s.host, port=s.port, timeout=s.timeout,
                use_tls=s.security == "tls", start_tls=s.security == "starttls" or None,
                tls_context=context, username=s.username or None,
                password=s.password or None)
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentMailError(f"SMTP {exc.code} {exc.message}") from exc
            raise
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentMailError(f"recipient refused: SMTP {codes[0]}") from exc
            raise
