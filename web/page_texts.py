"""The web layer's own refusals (not found, another municipality's, not your
role), keyed, in Swedish, Norwegian bokmål and English.

    from web.page_texts import Refused
    raise Refused(404, "no_account", "no such account")
    raise Refused(403, "crisis_readers", f"{who} is neither in crisis ...", name=who)

A `Refused` is an HTTPException: the JSON API answers with its English
`detail` as before (the API keeps English; its `key` is `page.<key>` for
those who want it), and the intranet's error page (web/pages.py) shows
`page.<key>` with the params in the reader's language. The texts' params
must be those the raise sites pass (tests/e2e/test_reader_language.py
checks each text's placeholders against the raise sites).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException

from adapters.connectors import manual_texts
from web import i18n
from web.i18n import Translate


class Refused(HTTPException):
    """An HTTPException whose English detail has a text of its own in every
    language: `page.<key>`, filled with `params`."""

    def __init__(self, status_code: int, key: str, message: str, **params: Any) -> None:
        super().__init__(status_code, detail=message)
        self.key = key
        self.params = {name: str(value) for name, value in params.items()}

    def text(self, t: Translate) -> str:
        try:
            return t(f"page.{self.key}", **self.params)
        except (KeyError, IndexError, ValueError):
            return str(self.detail)


class KeyedText(str):
    """A message (English, for the JSON API) with a text of its own in every
    language, `page.<key>` filled with `params`: for a form field's problem
    that the API and a page share (e.g. an officer not in the directory)."""

    key: str
    params: dict[str, str]

    def __new__(cls, key: str, message: str, **params: Any) -> KeyedText:
        made = super().__new__(cls, message)
        made.key = key
        made.params = {name: str(value) for name, value in params.items()}
        return made

    def text(self, t: Translate) -> str:
        try:
            return t(f"page.{self.key}", **self.params)
        except (KeyError, IndexError, ValueError):
            return str(self)


def page_text(t: Translate, message: str) -> str:
    """`message` in the reader's language when it is a KeyedText."""
    return message.text(t) if isinstance(message, KeyedText) else message


# key -> (sv, nb, en)
PAGE_TEXTS: dict[str, tuple[str, str, str]] = {
    "other_municipality": (
        "Det här hör till en annan kommun än din.",
        "Dette hører til en annen kommune enn din.",
        "This belongs to another municipality than yours."),
    "no_account": ("Kontot finns inte.", "Kontoen finnes ikke.", "There is no such account."),
    "no_message": ("Meddelandet finns inte.", "Meldingen finnes ikke.",
                   "There is no such message."),
    "no_unit": ("Verksamheten finns inte.", "Enheten finnes ikke.", "There is no such unit."),
    "no_decision": ("Beslutet {decision} finns inte.", "Beslutningen {decision} finnes ikke.",
                    "There is no decision {decision}."),
    "no_watch_item": ("Bevakningspunkten {item} finns inte på kontot.",
                      "Oppfølgingspunktet {item} finnes ikke på kontoen.",
                      "There is no watch item {item} on this account."),
    "crisis_readers": (
        "{name} är varken med i krisledningen eller i kommunikationsenheten.",
        "{name} er verken med i kriseledelsen eller i kommunikasjonsenheten.",
        "{name} is neither in crisis management nor in the communications unit."),
    "records_readers": (
        "{name} är varken registrator eller med i kommunikationsenheten.",
        "{name} er verken arkivar eller med i kommunikasjonsenheten.",
        "{name} is neither a registrar nor in the communications unit."),
    "report_unit": (
        "{name} är varken chef för {unit} eller med i kommunikationsenheten.",
        "{name} er verken leder for {unit} eller med i kommunikasjonsenheten.",
        "{name} is neither the manager of {unit} nor in the communications unit."),
    "message_readers": (
        "Meddelandena innehåller personuppgifter och läses bara av dem som handlägger dem: "
        "kontots administratörer, verksamhetens chef och ersättare och kommunikationsenheten.",
        "Meldingene inneholder personopplysninger og leses bare av dem som behandler dem: "
        "kontoens administratorer, enhetens leder og stedfortreder og "
        "kommunikasjonsenheten.",
        "The messages hold personal data, read only by those who handle them: the account's "
        "admins, the unit's manager and deputy and the communications unit."),
    "monitoring_readers": (
        "Kontots bevakning läses av dess administratörer, verksamheten och "
        "kommunikationsenheten.",
        "Kontoens oppfølging leses av administratorene, enheten og kommunikasjonsenheten.",
        "The account's monitoring is read by its admins, the unit and the communications "
        "unit."),
    "snapshot_takers": (
        "Ögonblicksbilder tas av kontots administratörer, verksamhetens chef och "
        "kommunikationsenheten (R-37).",
        "Øyeblikksbilder tas av kontoens administratorer, enhetens leder og "
        "kommunikasjonsenheten (R-37).",
        "The account's admins, the unit's manager and the communications unit take "
        "snapshots (R-37)."),
    "snapshot_uploaders": (
        "Skärmbilder laddas upp av kontots administratörer, verksamhetens chef och "
        "kommunikationsenheten (R-37).",
        "Skjermbilder lastes opp av kontoens administratorer, enhetens leder og "
        "kommunikasjonsenheten (R-37).",
        "The account's admins, the unit's manager and the communications unit upload "
        "screenshots (R-37)."),
    "snapshot_active_only": (
        "Bara ett aktivt konto får ögonblicksbilder; ett avslutat konto har sin sista.",
        "Bare en aktiv konto får øyeblikksbilder; en avsluttet konto har sitt siste.",
        "Only an active account is snapshotted; a closed one has its final snapshot."),
    "snapshot_not_major": (
        "{change} är ingen större ändring (R-37).",
        "{change} er ingen større endring (R-37).",
        "{change} is not a major change (R-37)."),
    "snapshot_no_change_today": (
        "Kontot har ingen sådan ändring registrerad i dag ({day}). En ögonblicksbild efter "
        "en större ändring följer ändringen (R-37): ta en nu i stället.",
        "Kontoen har ingen slik endring registrert i dag ({day}). Et øyeblikksbilde etter "
        "en større endring følger endringen (R-37): ta et nå i stedet.",
        "The account has no such change on its record today ({day}); a snapshot after a "
        "major change follows the change (R-37): take one on demand instead."),
    "snapshot_taken": (
        "Den ögonblicksbilden är redan tagen.",
        "Det øyeblikksbildet er allerede tatt.",
        "That snapshot has been taken already."),
    "snapshot_never": (
        "Kontot får inga fler ögonblicksbilder, så skärmbilden skulle aldrig användas.",
        "Kontoen får ingen flere øyeblikksbilder, så skjermbildet ville aldri bli brukt.",
        "No snapshot of the account will be taken, so the screenshot would never be used."),
    "upload_too_big": (
        "En skärmbild får vara högst 20 MB.",
        "Et skjermbilde kan være høyst 20 MB.",
        "A screenshot may be at most 20 MB."),
    "upload_kind": (
        "Ladda upp en skärmbild i PNG, JPEG eller WebP.",
        "Last opp et skjermbilde i PNG, JPEG eller WebP.",
        "Upload a PNG, JPEG or WebP screenshot."),
    "export_clash": (
        "En export av samma period gjordes i samma stund; försök igen.",
        "En eksport av samme periode ble laget i samme øyeblikk; prøv igjen.",
        "An export of this period was made at this very moment; try again."),
    "account_not_active": (
        "Kontot är inte aktivt.", "Kontoen er ikke aktiv.", "The account is not active."),
    "admins_enter": (
        "Bara kontots administratörer för in dess meddelanden (R-13).",
        "Bare kontoens administratorer fører inn meldingene (R-13).",
        "Only the account's admins enter its messages (R-13)."),
    "bad_request": (
        "Adressen eller uppgifterna i den gick inte att använda. Inget har ändrats.",
        "Adressen eller opplysningene i den kunne ikke brukes. Ingenting er endret.",
        "The address or what it holds could not be used. Nothing has changed."),
    "sign_in_first": ("Logga in först.", "Logg inn først.", "Sign in first."),
    "not_in_directory": ("{who} finns inte i kommunens katalog.",
                         "{who} finnes ikke i kommunens katalog.",
                         "{who} is not in the municipality's directory."),
    "err.invalid": ("Kontrollera värdet.", "Kontroller verdien.", "Check the value."),
    "err.choose": ("Välj ett av alternativen.", "Velg et av alternativene.",
                   "Choose one of the options."),
}

TEXTS = {lang: {f"page.{key}": texts[i] for key, texts in PAGE_TEXTS.items()}
         for i, lang in enumerate(i18n.LANGUAGES)}
i18n.add_texts(TEXTS)
i18n.add_texts(manual_texts.TEXTS)  # what a person does by hand on a platform


def instruction_text(t: Translate, key: str | None, params: Mapping[str, str] | None,
                     text: str | None) -> str:
    """A manual platform action's instruction in the reader's language: by
    its key and params (the manual connector's, recorded on the case), or
    the stored text of a record from before the keys."""
    if key and manual_texts.known(key):
        try:
            return manual_texts.render(t, key, params or {})
        except (KeyError, IndexError, ValueError):
            pass
    return text or ""


def invalid_text(t: Translate, error: Mapping[str, Any]) -> str:
    """A form field's validation error that a page has no text of its own
    for (one item of pydantic's `errors()`): the rule's text when the error
    names a rule (web.rule_texts, `rule.<type>`), else a general one in the
    reader's language; pydantic's English message is never shown."""
    kind = str(error.get("type", ""))
    if f"rule.{kind}" in i18n.CATALOGS[i18n.DEFAULT]:
        return t(f"rule.{kind}")
    if kind in {"enum", "literal_error"}:
        return t("page.err.choose")
    return t("page.err.invalid")
