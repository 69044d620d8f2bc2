"""Every text of the intranet in the reader's language: a Swedish reader (of
Exempelby) and a Norwegian reader (of Fjordvik, who gets bokmål) walk the
main pages in Chromium, error pages with the web layer's own refusals and a
case whose platform action is done by hand (the manual connector's
instruction) among them, and no known English word or phrase may be in the
visible text. Product names (Facebook, TikTok, Kanalvakt) and people's names
are no English words; the language switch's own "English" is no word here.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from playwright.async_api import Browser, Page

import texts
from adapters.connectors import manual
from adapters.connectors.base import PlatformTarget
from adapters.connectors.manual import ManualConnector, instruction_params
from cli import load_directory_file
from tests.e2e.browser import new_page, person_page, screenshot, sign_in, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_messages_api import enter, received
from tests.support import ROOT, assessment, eventually, full_checklist, request_fields
from web import i18n
from web.page_texts import instruction_text

FJORDVIK = ROOT / "deploy" / "directory" / "fjordvik.yaml"
PERSONNUMMER_TEXT = "Hej! Min son 19121212-1212 fick inte plats på förskolan, varför?"
FODSELSNUMMER_TEXT = "Hei! Sønnen min 15108695088 fikk ikke plass i barnehagen, hvorfor?"

# Words and phrases that are English and neither Swedish nor Norwegian (so
# not "is", "in", "for", "to", "by", "from", "must", "and", which are words
# there too). Matched as whole words, case-insensitively.
ENGLISH = [
    "the", "this", "that", "these", "with", "which", "should", "cannot", "can't", "please",
    "belongs", "directory", "neither", "nor", "would", "there", "their", "been", "was",
    "were", "what", "your", "you", "here", "has", "have", "not", "no such", "sign in",
    "sign out", "signed in", "error", "errors", "required", "account", "accounts",
    "municipality", "message", "messages", "decision", "reply", "comment", "hide",
    "delete", "unhide", "snapshot", "screenshot", "screenshots", "only", "none",
    "true", "false", "value error", "input should", "field required", "string should",
    "manager", "deputy", "unit", "admins", "confirm", "pending", "awaiting", "log in",
    "instead", "private", "click", "upload", "platform", "page", "answer", "answered",
    "may", "must be", "already", "when", "where", "who", "why", "without",
]
_ENGLISH = re.compile(r"(?<![\wåäöæø])(" + "|".join(re.escape(w) for w in ENGLISH)
                      + r")(?![\wåäöæø])", re.IGNORECASE)


# Identifiers are no words: case and workflow ids (message:facebook:manual-…).
_IDS = re.compile(r"\b[a-z_]+:[a-z_]+:\S+")


def english_in(text: str) -> list[str]:
    """The English words and phrases in `text`, with some context each."""
    found = []
    text = _IDS.sub("<id>", text)
    for hit in _ENGLISH.finditer(text):
        start, end = max(0, hit.start() - 40), min(len(text), hit.end() + 40)
        found.append(f"{hit.group(0)!r} in …{text[start:end]!r}…")
    return found


async def visible_text(page: Page) -> str:
    """What the reader sees: the header, the page's main part and the footer,
    without the language switch (whose "English" names a language)."""
    parts = []
    for selector in (".header-row .who", ".main-nav", "main", ".site-footer"):
        for item in await page.locator(selector).all():
            parts.append(await item.inner_text())
    parts.append(await page.title())
    return "\n".join(parts)


async def walk(page: Page, stack: Stack, paths: list[str], name: str,
               lang: str) -> dict[str, list[str]]:
    """Each path's English words; screenshots in test-artifacts/."""
    found: dict[str, list[str]] = {}
    for i, path in enumerate(paths):
        await page.goto(url(stack, path))
        assert await page.get_attribute("html", "lang") == lang, path
        await screenshot(page, f"lang-{name}-{i:02d}")
        english = english_in(await visible_text(page))
        if english:
            found[path] = english
    return found


async def fjordvik_page(chromium: Browser, stack: Stack, person: str) -> Page:
    page = await new_page(chromium)
    await sign_in(page, stack, person, municipality="fjordvik")
    return page


async def _case(stack: Stack, case_id: str, actor: str) -> dict[str, Any] | None:
    """The case over the API once its read model has it (None before)."""
    r = await stack.http.get(f"/api/messages/{case_id}",
                             headers={"X-Kanalvakt-Actor": actor})
    return r.json() if r.status_code == 200 else None  # type: ignore[no-any-return]


async def fjordvik_account(stack: Stack, database_url: str) -> str:
    """An active TikTok account of Fjordvik's oppvekst unit (a platform
    Kanalvakt cannot act on: every action is a person's)."""
    await load_directory_file(database_url, FJORDVIK)

    def as_(actor: str) -> dict[str, str]:
        return {"X-Kanalvakt-Actor": actor}

    r = await stack.http.post("/api/accounts", headers=as_("ole.bakken"), json={
        **request_fields(unit_id="oppvekst", platform="tiktok", account_name="Fjordvik ung",
                         proposed_admins=["ole.bakken", "kari.nordmann"],
                         contact_email="ung@fjordvik.kommune.no",
                         target_audience="Ungdom i Fjordvik"),
        "municipality_id": "fjordvik"})
    assert r.status_code == 201, r.text
    account_id: str = r.json()["account_id"]
    base = f"/api/accounts/{account_id}"
    today = datetime.now(UTC).date()
    checklist = {**full_checklist(), "terms_read_and_accepted_by": "kari.nordmann",
                 "profile_text": "Fjordvik ung er en del av Fjordvik kommune.",
                 "profile_links": ["https://www.fjordvik.kommune.no/oppvekst-og-kultur",
                                   "https://www.fjordvik.kommune.no/retningslinjer"]}
    steps: list[tuple[str, str, dict[str, object]]] = [
        ("approve", "kari.nordmann", {"admins_equipped": True}),
        ("risk-assessments", "ole.bakken", {**assessment("ros", today),
                                            "completed_by": "kari.nordmann"}),
        ("risk-assessments", "ole.bakken", {**assessment("dpia", today),
                                            "completed_by": "kari.nordmann"}),
        ("sign-off", "lars.solberg", {"decision": "approve", "checklist": checklist}),
        ("activate", "lars.solberg", {"handle": "@fjordvikung",
                                      "url": "https://www.tiktok.com/@fjordvikung",
                                      "platform_account_id": None,
                                      "admins": [{"person": "ole.bakken", "two_factor": True},
                                                 {"person": "kari.nordmann",
                                                  "two_factor": True}]}),
    ]
    for path, actor, body in steps:
        r = await stack.http.post(f"{base}/{path}", headers=as_(actor), json=body)
        assert r.status_code == 200, (path, r.text)
    return account_id


async def test_pages_show_no_english_to_a_swedish_or_a_norwegian_reader(
        chromium: Browser, stack: Stack, database_url: str) -> None:
    """Swedish for Exempelby's people, bokmål for Fjordvik's (web/i18n.py),
    on the pages with content, on error pages raised by the web layer (its
    refusals keyed: web/page_texts.py), on a form with errors, and on a
    case waiting for a hide by hand (the manual connector's instruction,
    stored as a key with params and rendered per reader)."""
    se_account = await active_account(stack)
    se_hidden = await received(stack, se_account, PERSONNUMMER_TEXT)
    no_account = await fjordvik_account(stack, database_url)
    r = await enter(stack, no_account, FODSELSNUMMER_TEXT, actor="ole.bakken")
    assert r.status_code == 202, r.text
    no_hidden = r.json()["case_id"]
    for case_id, admin in ((se_hidden, "elin.strand"), (no_hidden, "ole.bakken")):
        got = await eventually(lambda c=case_id, a=admin: _case(stack, c, a),  # type: ignore[misc]
                               lambda c: (c or {}).get("state", {}).get("pending_action")
                               == "hide", seconds=30)
        assert got and got["state"]["pending_action"] == "hide", got
    nobody = uuid.uuid4()

    found: dict[str, dict[str, list[str]]] = {}
    swedish = await person_page(chromium, stack, "elin.strand")
    found["sv"] = await walk(swedish, stack, [
        "/tasks", "/inbox", f"/accounts/{se_account}", f"/accounts/{se_account}/inbox",
        f"/messages/{se_hidden}", "/accounts/new", "/reports", "/register",
        f"/accounts/{nobody}", f"/accounts/{no_account}", f"/messages/{no_hidden}",
        f"/messages/{nobody}", "/crisis", "/diarium", f"/reports?account={no_account}",
        "/reports?unit=socialtjanst",
        "/accounts/not-an-id", "/reports?from=yesterday",
    ], "sv", "sv")
    await swedish.goto(url(stack, "/accounts/new"))
    await submit(swedish, swedish.get_by_role("button", name="Skicka begäran"))
    await screenshot(swedish, "lang-sv-form-errors")
    if english := english_in(await visible_text(swedish)):
        found["sv"]["/accounts/new (posted empty)"] = english
    # The instruction for the hide by hand, in Swedish.
    await swedish.goto(url(stack, f"/messages/{se_hidden}"))
    instruction = await swedish.locator("main .notice").first.inner_text()
    assert "Logga in på Facebook med kommunens konto och dölj kommentaren" in instruction
    # A form's problem the API shares ("not in the directory"): forwarded to
    # someone the directory does not know (typed into the people picker).
    await swedish.locator("#f-forward-officer").fill("okand.person")
    await swedish.locator("#f-forward-note").fill("Kan du svara på det här?")
    await submit(swedish, swedish.get_by_role("button", name="Vidarebefordra"))
    await screenshot(swedish, "lang-sv-forward-error")
    assert "okand.person finns inte i kommunens katalog." in \
        await swedish.locator(".error-summary").inner_text()
    if english := english_in(await visible_text(swedish)):
        found["sv"]["/messages/… forward (unknown officer)"] = english

    registrar = await person_page(chromium, stack, "ali.karimi")
    found["sv-registrar"] = await walk(registrar, stack, [
        "/diarium", "/moderation-log", "/disposal-log", "/tasks"], "sv-registrar", "sv")
    crisis = await person_page(chromium, stack, "eva.marklund")
    found["sv-crisis"] = await walk(crisis, stack, ["/crisis"], "sv-crisis", "sv")

    norwegian = await fjordvik_page(chromium, stack, "ole.bakken")
    found["nb"] = await walk(norwegian, stack, [
        "/tasks", "/inbox", f"/accounts/{no_account}", f"/accounts/{no_account}/inbox",
        f"/messages/{no_hidden}", "/accounts/new", "/reports", "/register",
        f"/accounts/{nobody}", f"/accounts/{se_account}", f"/messages/{se_hidden}",
        f"/messages/{nobody}", "/crisis", "/diarium", f"/reports?account={se_account}",
        "/reports?unit=helse",
        "/accounts/not-an-id", "/reports?from=yesterday",
    ], "nb", "nb")
    registrar_no = await fjordvik_page(chromium, stack, "torill.aas")
    found["nb-registrar"] = await walk(registrar_no, stack, [
        "/diarium", "/moderation-log", "/disposal-log"], "nb-registrar", "nb")
    crisis_no = await fjordvik_page(chromium, stack, "ingrid.haugen")
    found["nb-crisis"] = await walk(crisis_no, stack, ["/crisis"], "nb-crisis", "nb")

    found = {reader: pages for reader, pages in found.items() if pages}
    assert not found, "\n".join(f"{reader} {path}: {hit}" for reader, pages in found.items()
                                for path, hits in pages.items() for hit in hits)
    await norwegian.goto(url(stack, f"/messages/{no_hidden}"))
    instruction = await norwegian.locator("main .notice").first.inner_text()
    assert "Logg inn på TikTok med kommunens konto og skjul kommentaren" in instruction


def test_the_english_detector_finds_english_and_spares_swedish_and_bokmal() -> None:
    """The check above can fail: it finds the web layer's old English texts,
    and passes the same texts in Swedish and bokmål."""
    assert english_in("the account belongs to another municipality")
    assert english_in("Elin Strand is neither in crisis management nor in the "
                      "communications unit")
    assert english_in("Log in to TikTok with the municipality's account and hide the comment")
    assert not english_in("Det här hör till en annan kommun. Inget har ändrats.")
    assert not english_in("Logg inn på TikTok med kommunens konto og skjul kommentaren "
                          "med id 123 på kontoen fjordvikung. Bekreft i Kanalvakt.")
    assert not english_in("Logga in på Facebook med kommunens konto och dölj kommentaren. "
                          "Bekräfta sedan i Kanalvakt att kommentaren är dold.")


def test_a_manual_instruction_reads_in_every_language_and_old_records_still_show() -> None:
    """The manual connector's instruction is a key with params on the record
    (texts/locale/, `manual.*`; adapters.connectors.manual): every key renders in sv, nb and
    en with the platform, the object, the account and the reply's text; the
    stored text (Swedish, for the API) is the Swedish rendering; a record from
    before the keys shows its stored text."""
    target = PlatformTarget(platform="tiktok", object_id="7301", kind="comment",
                            account_ref="fjordvikung", thread_id="post-9")
    message = PlatformTarget(platform="linkedin", object_id="m-1", kind="private_message",
                             account_ref="exempelby", thread_id=None)
    cases = [("manual.reply.comment", instruction_params(target, "Hei!\n/Ole")),
             ("manual.reply.private_message", instruction_params(message, "Hej!")),
             ("manual.hide", instruction_params(target)),
             ("manual.unhide", instruction_params(target)),
             ("manual.delete", instruction_params(target))]
    assert {str(m.id) for m in texts.catalog("sv") if isinstance(m.id, str)
            and m.id.startswith("manual.") and not m.id.startswith("manual.where")} \
        == {key for key, _ in cases}
    for key, params in cases:
        for lang in i18n.LANGUAGES:
            text = instruction_text(i18n.translator(lang), key, params, "stored")
            assert params["object_id"] in text and params["account_ref"] in text, (key, lang)
            assert params["platform"] in text and params.get("text", "") in text, (key, lang)
            assert "{" not in text, (key, lang, text)
        assert instruction_text(i18n.translator("sv"), key, params, None) == \
            manual.render_instruction(texts.swedish, key, params)
    no = instruction_text(i18n.translator("nb"), *cases[2], None)
    assert no.startswith("Logg inn på TikTok med kommunens konto og skjul kommentaren med id "
                         "7301 under innlegget post-9 på kontoen fjordvikung.")
    assert not english_in(no)
    en = instruction_text(i18n.translator("en"), *cases[1], None)
    assert en.startswith("Log in to LinkedIn with the municipality's account and reply to the "
                         "sender of the message with id m-1 in the inbox of the account "
                         "exempelby with exactly this text:")
    # A record from before the keys: its text, whatever the reader's language.
    old = "Logga in på TikTok med kommunens konto och dölj kommentaren med id 1."
    assert instruction_text(i18n.translator("nb"), None, {}, old) == old
    assert instruction_text(i18n.translator("en"), "manual.unknown", {}, old) == old


async def test_the_connector_records_the_instruction_as_a_key() -> None:
    """What the workflow records (RequestManualAction) comes from here."""
    target = PlatformTarget(platform="tiktok", object_id="7301", kind="comment",
                            account_ref="fjordvikung")
    hide = await ManualConnector().hide(target)
    assert hide.detail_key == "manual.hide" and hide.detail_params["object_id"] == "7301"
    assert hide.detail.startswith("Logga in på TikTok med kommunens konto och dölj")
    reply = await ManualConnector().reply(target, "Hei!")
    assert reply.detail_key == "manual.reply.comment" and reply.detail_params["text"] == "Hei!"
