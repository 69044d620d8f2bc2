"""The intranet's texts in Swedish (the default), Norwegian bokmål and English.

One catalog per language, keyed by a short name; `translator(lang)` gives the
`t()` the templates call (`{{ t("nav.tasks") }}`, with `{name}` placeholders
filled from keyword arguments). A key missing in nb or en falls back to the
Swedish text; a key missing everywhere shows itself, so a typo is visible on
the page (and `tests/e2e/test_intranet_foundation.py` checks that every key
is in every catalog).

Language choice (`choose_language`): the `kv_lang` cookie the language switch
sets, else the signed-in person's municipality (a Norwegian municipality's
people get bokmål), else the browser's Accept-Language, else Swedish.

To add texts: add the key to all three catalogs below (or to a catalog module
of your own merged with `add_texts`, keeping this file short).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

LANGUAGES: tuple[str, ...] = ("sv", "nb", "en")
DEFAULT = "sv"
LANGUAGE_NAMES = {"sv": "Svenska", "nb": "Norsk (bokmål)", "en": "English"}
COOKIE = "kv_lang"

CATALOGS: dict[str, dict[str, str]] = {
    "sv": {
        "app.name": "Kanalvakt",
        "app.tagline": "Kommunens officiella kanaler i sociala medier",
        "skip": "Hoppa till innehållet",
        "nav.label": "Huvudmeny",
        "nav.tasks": "Mina uppgifter",
        "nav.request": "Begär nytt konto",
        "nav.accounts": "Konton",
        "nav.register": "Offentligt register",
        "lang.label": "Språk",
        "signed_in_as": "Inloggad som {name}",
        "sign_in": "Logga in",
        "sign_out": "Logga ut",
        "dev.banner": "Utvecklingsinloggning är påslagen. Den här miljön är inte skyddad "
                      "och får aldrig användas i drift.",
        "signin.title": "Logga in",
        "signin.oidc": "Logga in med ditt organisationskonto",
        "signin.dev.title": "Utvecklingsinloggning",
        "signin.dev.intro": "Välj vem du vill vara. Personerna kommer från kommunernas "
                            "katalog. Bara för den lokala utvecklingsmiljön.",
        "signin.dev.person": "Person",
        "signin.dev.submit": "Logga in som vald person",
        "signin.none": "Ingen inloggning är konfigurerad. Ange KANALVAKT_OIDC_ISSUER och "
                       "KANALVAKT_OIDC_CLIENT_ID.",
        "signin.failed": "Inloggningen misslyckades: {reason}",
        "signin.unknown": "Du finns inte i kommunens katalog ({who}). Kontakta "
                          "kommunikationsenheten.",
        "signed_out": "Du är utloggad.",
        "home.title": "Välkommen till Kanalvakt",
        "home.intro": "Här begär, godkänner och förvaltar kommunens medarbetare officiella "
                      "konton i sociala medier enligt kommunens riktlinjer.",
        "error.title": "Något gick fel",
        "error.401": "Du behöver logga in för att se sidan.",
        "error.403": "Du har inte behörighet till det här. Inget har ändrats.",
        "error.404": "Sidan finns inte.",
        "error.409": "Det går inte just nu: {detail}",
        "error.csrf": "Formuläret kunde inte kontrolleras (det kan ha blivit för gammalt). "
                      "Ladda om sidan och försök igen. Inget har ändrats.",
        "error.back": "Till startsidan",
        "errors.summary": "Formuläret har {n} fel",
        "errors.summary.one": "Formuläret har ett fel",
        "required": "obligatoriskt",
        "register.title": "Officiella kanaler i sociala medier",
        "register.intro": "Kommunens register över officiella konton (förteckning enligt "
                          "kommunens riktlinjer). Konton som inte finns här är inte kommunens "
                          "officiella kanaler.",
        "register.caption": "{n} officiella kanaler",
        "register.empty": "Inga officiella kanaler är registrerade ännu.",
        "register.json": "Registret som JSON",
        "col.municipality": "Kommun",
        "col.unit": "Verksamhet",
        "col.platform": "Plattform",
        "col.account": "Konto",
        "col.purpose": "Syfte",
        "col.contact": "Kontakt",
        "col.responsible": "Ansvarig",
        "col.hours": "Bevakas",
    },
    "nb": {
        "app.name": "Kanalvakt",
        "app.tagline": "Kommunens offisielle kanaler i sosiale medier",
        "skip": "Hopp til innholdet",
        "nav.label": "Hovedmeny",
        "nav.tasks": "Mine oppgaver",
        "nav.request": "Be om ny konto",
        "nav.accounts": "Kontoer",
        "nav.register": "Offentlig register",
        "lang.label": "Språk",
        "signed_in_as": "Logget inn som {name}",
        "sign_in": "Logg inn",
        "sign_out": "Logg ut",
        "dev.banner": "Utviklingsinnlogging er slått på. Dette miljøet er ikke beskyttet "
                      "og må aldri brukes i drift.",
        "signin.title": "Logg inn",
        "signin.oidc": "Logg inn med organisasjonskontoen din",
        "signin.dev.title": "Utviklingsinnlogging",
        "signin.dev.intro": "Velg hvem du vil være. Personene kommer fra kommunenes "
                            "katalog. Bare for det lokale utviklingsmiljøet.",
        "signin.dev.person": "Person",
        "signin.dev.submit": "Logg inn som valgt person",
        "signin.none": "Ingen innlogging er konfigurert. Angi KANALVAKT_OIDC_ISSUER og "
                       "KANALVAKT_OIDC_CLIENT_ID.",
        "signin.failed": "Innloggingen mislyktes: {reason}",
        "signin.unknown": "Du finnes ikke i kommunens katalog ({who}). Kontakt "
                          "kommunikasjonsenheten.",
        "signed_out": "Du er logget ut.",
        "home.title": "Velkommen til Kanalvakt",
        "home.intro": "Her ber kommunens ansatte om, godkjenner og forvalter offisielle "
                      "kontoer i sosiale medier etter kommunens retningslinjer.",
        "error.title": "Noe gikk galt",
        "error.401": "Du må logge inn for å se siden.",
        "error.403": "Du har ikke tilgang til dette. Ingenting er endret.",
        "error.404": "Siden finnes ikke.",
        "error.409": "Det går ikke akkurat nå: {detail}",
        "error.csrf": "Skjemaet kunne ikke kontrolleres (det kan være for gammelt). "
                      "Last inn siden på nytt og prøv igjen. Ingenting er endret.",
        "error.back": "Til forsiden",
        "errors.summary": "Skjemaet har {n} feil",
        "errors.summary.one": "Skjemaet har én feil",
        "required": "obligatorisk",
        "register.title": "Offisielle kanaler i sosiale medier",
        "register.intro": "Kommunens register over offisielle kontoer. Kontoer som ikke står "
                          "her, er ikke kommunens offisielle kanaler.",
        "register.caption": "{n} offisielle kanaler",
        "register.empty": "Ingen offisielle kanaler er registrert ennå.",
        "register.json": "Registeret som JSON",
        "col.municipality": "Kommune",
        "col.unit": "Virksomhet",
        "col.platform": "Plattform",
        "col.account": "Konto",
        "col.purpose": "Formål",
        "col.contact": "Kontakt",
        "col.responsible": "Ansvarlig",
        "col.hours": "Følges opp",
    },
    "en": {
        "app.name": "Kanalvakt",
        "app.tagline": "The municipality's official social-media channels",
        "skip": "Skip to content",
        "nav.label": "Main menu",
        "nav.tasks": "My tasks",
        "nav.request": "Request an account",
        "nav.accounts": "Accounts",
        "nav.register": "Public register",
        "lang.label": "Language",
        "signed_in_as": "Signed in as {name}",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "dev.banner": "Development sign-in is on. This environment is not protected and "
                      "must never be used in production.",
        "signin.title": "Sign in",
        "signin.oidc": "Sign in with your organisation account",
        "signin.dev.title": "Development sign-in",
        "signin.dev.intro": "Choose who you want to be. The people come from the "
                            "municipalities' directories. Only for the local development stack.",
        "signin.dev.person": "Person",
        "signin.dev.submit": "Sign in as the chosen person",
        "signin.none": "No sign-in is configured. Set KANALVAKT_OIDC_ISSUER and "
                       "KANALVAKT_OIDC_CLIENT_ID.",
        "signin.failed": "Sign-in failed: {reason}",
        "signin.unknown": "You are not in the municipality's directory ({who}). Contact the "
                          "communications unit.",
        "signed_out": "You are signed out.",
        "home.title": "Welcome to Kanalvakt",
        "home.intro": "Here the municipality's staff request, approve and run official "
                      "social-media accounts by the municipality's guidelines.",
        "error.title": "Something went wrong",
        "error.401": "You need to sign in to see this page.",
        "error.403": "You are not allowed to do this. Nothing has changed.",
        "error.404": "There is no such page.",
        "error.409": "That cannot be done now: {detail}",
        "error.csrf": "The form could not be verified (it may have expired). Reload the "
                      "page and try again. Nothing has changed.",
        "error.back": "To the start page",
        "errors.summary": "The form has {n} errors",
        "errors.summary.one": "The form has one error",
        "required": "required",
        "register.title": "Official social-media channels",
        "register.intro": "The municipality's register of official accounts. Accounts not "
                          "listed here are not the municipality's official channels.",
        "register.caption": "{n} official channels",
        "register.empty": "No official channels are registered yet.",
        "register.json": "The register as JSON",
        "col.municipality": "Municipality",
        "col.unit": "Unit",
        "col.platform": "Platform",
        "col.account": "Account",
        "col.purpose": "Purpose",
        "col.contact": "Contact",
        "col.responsible": "Responsible",
        "col.hours": "Monitored",
    },
}


def add_texts(texts: Mapping[str, Mapping[str, str]]) -> None:
    """Merge a page module's texts: {"sv": {...}, "nb": {...}, "en": {...}}."""
    for lang, entries in texts.items():
        if lang not in CATALOGS:
            raise ValueError(f"unknown language {lang!r}")
        for key, text in entries.items():
            if key in CATALOGS[lang] and CATALOGS[lang][key] != text:
                raise ValueError(f"text {key!r} ({lang}) is defined twice")
            CATALOGS[lang][key] = text


def missing_keys() -> dict[str, list[str]]:
    """Per language, the keys that Swedish has and it lacks (or the reverse)."""
    every = set().union(*(c.keys() for c in CATALOGS.values()))
    return {lang: sorted(every - CATALOGS[lang].keys()) for lang in LANGUAGES
            if every - CATALOGS[lang].keys()}


Translate = Callable[..., str]


def translator(lang: str) -> Translate:
    catalog = CATALOGS.get(lang, CATALOGS[DEFAULT])
    fallback = CATALOGS[DEFAULT]

    def t(key: str, **values: object) -> str:
        text = catalog.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages in an Accept-Language header (no, nn and nb
    all read as bokmål; sv-FI as Swedish)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        lang = {"no": "nb", "nn": "nb"}.get(primary, primary)
        if lang in LANGUAGES and q > 0:
            ranked.append((-q, i, lang))
    return min(ranked)[2] if ranked else None


def choose_language(cookie: str | None, country: str | None, accept: str | None) -> str:
    if cookie is not None and cookie in LANGUAGES:
        return cookie
    if country == "NO":
        return "nb"
    if country == "SE":
        return "sv"
    return from_accept_language(accept) or DEFAULT
