"""Issue 11, item 6: one text mechanism, gettext catalogs.

The texts are texts/locale/{sv,nb,en}/LC_MESSAGES/kanalvakt.po, read with
Babel. These tests fail when a catalog lacks a message id another has, when a
text is empty in any language, when a text's placeholders differ between
languages, and when a message id the code or a template names (`t("...")`,
`t.n("...")`, `_()`, `gettext()`, `ngettext()`, or a key built from one of the
domain's enumerations) is missing or empty in ANY catalog. Then plurals by
the catalog's rule and numbers by Babel's locale format, on real pages.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

import texts
from domain import wordlists
from domain.account import RiskAssessmentKind, Routine, Stage
from domain.message import Stage as MessageStage
from domain.message_policy import SignatureRule
from domain.redaction import RemovalCategory
from domain.screening import FlagKind, IdentityKind
from tests.e2e.conftest import Stack, active_account
from tests.e2e.intranet import browser, sign_in
from tests.support import MANAGER, ROOT
from web import i18n
from web.rendering import fmt_deadline, fmt_time, templates

# A message id named literally: t("key" / t('key' (also t.n, _, gettext,
# ngettext). Keys built at run time (t("stage." ~ s), t(f"rule.{key}")) are
# not literal; the enumerations they come from are checked below.
_CALL = re.compile(
    r"""(?<![\w.])(t\.n|t|_|gettext|ngettext)\(\s*["']([a-z][a-z0-9_.]*[a-z0-9_])["']""")
_PLURAL_CALLS = {"t.n", "ngettext"}
SOURCES = [*(ROOT / "web").rglob("*.py"), *(ROOT / "web" / "templates").glob("*.html"),
           *(ROOT / "adapters").rglob("*.py")]


Texts = Mapping[str, tuple[str, ...]]  # message id -> its text (one per plural form)


def _read(catalog: Catalog) -> Texts:
    out: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id:
            continue  # the header
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        out[str(key)] = tuple(str(s) for s in strings) if not message.fuzzy else ("",)
    return out


def _catalogs() -> dict[str, Texts]:
    return {lang: _read(texts.catalog(lang)) for lang in texts.LANGUAGES}


def _placeholders(text: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


def catalog_problems(catalogs: Mapping[str, Texts]) -> list[str]:
    """What is wrong between the catalogs: a message id one language lacks,
    an empty text, placeholders that differ, a plural in one only."""
    problems: list[str] = []
    every = set().union(*catalogs.values())
    for lang, catalog in catalogs.items():
        problems += [f"{lang}: missing {key}" for key in sorted(every - catalog.keys())]
        problems += [f"{lang}: empty {key}" for key, forms in catalog.items()
                     if not all(form.strip() for form in forms)]
    for key in sorted(every):
        shapes = {lang: tuple(_placeholders(form) for form in catalog[key])
                  for lang, catalog in catalogs.items() if key in catalog}
        if len(set(shapes.values())) > 1:
            problems.append(f"placeholders or plural forms differ: {key} {shapes}")
    return problems


def usage_problems(catalogs: Mapping[str, Texts], used: Iterable[tuple[str, str]]) -> list[str]:
    """Each (call, message id) the code names: in every catalog, not empty,
    a plural entry for t.n/ngettext and a singular one for t/_/gettext."""
    problems: list[str] = []
    for call, key in sorted(set(used)):
        for lang, catalog in catalogs.items():
            forms = catalog.get(key)
            if forms is None:
                problems.append(f"{lang}: missing {key} (used as {call})")
            elif not all(form.strip() for form in forms):
                problems.append(f"{lang}: empty {key}")
            elif (len(forms) > 1) != (call in _PLURAL_CALLS):
                kind = "a plural" if len(forms) > 1 else "not a plural"
                problems.append(f"{lang}: {key} is {kind} entry but used as {call}")
    return problems


def _used_in_sources(paths: Iterable[Path]) -> set[tuple[str, str]]:
    return {(call, key) for path in paths
            for call, key in _CALL.findall(path.read_text(encoding="utf-8"))}


def _used_by_enumerations() -> set[tuple[str, str]]:
    """Keys a page builds from a domain value: an account's or a message's
    stage, a removal category, a routine, a risk assessment's kind, a
    signature rule, a screening flag and an identity number's kind."""
    return {*(("t", f"stage.{s.value}") for s in Stage),
            *(("t", f"mstage.{s.value}") for s in MessageStage),
            *(("t", f"removal.{c.value}") for c in RemovalCategory),
            *(("t", f"routine.{r.value}") for r in Routine),
            *(("t", f"kind.{k.value}") for k in RiskAssessmentKind),
            *(("t", f"sig.{r.value}") for r in SignatureRule),
            *(("t", f"flag.{k.value}") for k in FlagKind),
            *(("t", f"flagdetail.{k.value}") for k in FlagKind),
            *(("t", f"flagdetail.identity.{k.value}") for k in IdentityKind),
            *(("t", f"flagname.{k.value}") for k in IdentityKind)}


def test_every_catalog_has_every_msgid_with_a_text_and_the_same_placeholders() -> None:
    """sv, nb and en hold the same message ids, none empty, each with the
    same placeholders (and the same plural forms) in every language."""
    catalogs = _catalogs()
    assert len(catalogs["sv"]) > 900  # the whole intranet's texts
    assert catalog_problems(catalogs) == []


def test_every_msgid_the_code_and_templates_use_is_in_every_catalog() -> None:
    used = _used_in_sources(SOURCES) | _used_by_enumerations()
    assert len(used) > 300  # the scan found the templates' and modules' keys
    assert {call for call, _ in used} >= {"t", "t.n"}
    assert usage_problems(_catalogs(), used) == []


def test_the_checks_fail_on_a_missing_or_empty_text() -> None:
    """The two checks above can fail: a message id missing in one language,
    an empty text, a placeholder of one language only, a plural used as a
    singular and a key used in code but in no catalog are all reported."""
    catalogs = {lang: dict(c) for lang, c in _catalogs().items()}
    del catalogs["nb"]["nav.tasks"]
    catalogs["en"]["sign_in"] = ("",)
    catalogs["sv"]["sign_out"] = ("Logga ut {who}",)
    problems = catalog_problems(catalogs)
    assert "nb: missing nav.tasks" in problems
    assert "en: empty sign_in" in problems
    assert any(p.startswith("placeholders or plural forms differ: sign_out") for p in problems)
    used = [("t", "register.caption"), ("t.n", "nav.label"), ("t", "no.such.key")]
    problems = usage_problems(_catalogs(), used)
    assert "sv: register.caption is a plural entry but used as t" in problems
    assert "en: nav.label is not a plural entry but used as t.n" in problems
    assert {f"{lang}: missing no.such.key (used as t)" for lang in texts.LANGUAGES} <= set(problems)
    # The scan reads every way a template or module names a text.
    sample = Path(ROOT / "web" / "templates" / "_forms.html")
    assert ("t.n", "errors.summary") in _used_in_sources([sample])


def test_the_texts_tool_adds_a_text_and_a_plural_to_all_three_catalogs(tmp_path: Path) -> None:
    """tools/catalogs.py (for adding texts, and for texts a branch still put in
    a Python dict): a new key lands in sv, nb and en, a plural as a plural,
    a key already there is left alone, and the files round-trip unchanged."""
    import importlib.util
    import shutil
    spec = importlib.util.spec_from_file_location("texts_tool", ROOT / "tools" / "catalogs.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    locale = tmp_path / "locale"
    shutil.copytree(texts.LOCALE_DIR, locale)
    assert tool.add({"nav.tasks": ("x", "y", "z")}, locale) == ["nav.tasks"]
    for lang in texts.LANGUAGES:  # nothing added: the files are as they were
        assert (locale / lang / "LC_MESSAGES" / "kanalvakt.po").read_bytes() == \
            texts.po_path(lang).read_bytes()
    tool.add({"nav.help": ("Hjälp", "Hjelp", "Help"),
              "nav.unread": (("{n} oläst", "{n} olästa"), ("{n} ulest", "{n} uleste"),
                             ("{n} unread", "{n} unread"))}, locale)
    from babel.messages.pofile import read_po
    for lang, help_text, unread in (("sv", "Hjälp", ("{n} oläst", "{n} olästa")),
                                    ("nb", "Hjelp", ("{n} ulest", "{n} uleste")),
                                    ("en", "Help", ("{n} unread", "{n} unread"))):
        with (locale / lang / "LC_MESSAGES" / "kanalvakt.po").open("rb") as f:
            catalog = read_po(f, locale=lang)
        assert catalog.get("nav.help").string == help_text
        assert catalog.get("nav.unread").string == unread
        assert catalog.plural_forms == "nplurals=2; plural=(n != 1);"
        assert _read(catalog).keys() - _read(texts.catalog(lang)).keys() == \
            {"nav.help", "nav.unread"}


def test_plural_forms_by_the_catalogs_rule() -> None:
    for lang, one, many in (("sv", "1 officiell kanal", "2 officiella kanaler"),
                            ("nb", "1 offisiell kanal", "2 offisielle kanaler"),
                            ("en", "1 official channel", "2 official channels")):
        t = i18n.translator(lang)
        assert t.n("register.caption", 1) == one
        assert t.n("register.caption", 2) == many
        assert t.n("register.caption", 0) == many.replace("2", "0")
    sv = i18n.translator("sv")
    assert sv.n("inbox.open_count", 1) == "1 öppet"
    assert sv.n("inbox.open_count", 3) == "3 öppna"
    assert sv.n("errors.summary", 1) == "Formuläret har ett fel"
    assert sv.n("set.days", 1) == "varje arbetsdag"
    assert sv.n("set.days", 3) == "var 3:e arbetsdag"


def test_numbers_and_dates_in_the_readers_format() -> None:
    """Decimal comma in Swedish and bokmål, a point in English; a whole
    number without decimals ("4", never "4.0"); dates by Babel's locale."""
    from datetime import UTC, datetime
    for lang, half, whole in (("sv", "4,5 kontorstimmar", "4 kontorstimmar"),
                              ("nb", "4,5 kontortimer", "4 kontortimer"),
                              ("en", "4.5 office hours", "4 office hours")):
        t = i18n.translator(lang)
        assert t.n("rep.hours", 4.5, h=t.number(4.5)) == half
        assert t.n("rep.hours", 4.0, h=t.number(4.0)) == whole
    assert i18n.translator("sv").n("rep.hours", 1, h="1") == "1 kontorstimme"
    moment = datetime(2026, 12, 18, 15, 21, tzinfo=UTC)
    assert fmt_time(moment, "Europe/Stockholm", i18n.translator("sv")) == "2026-12-18 16:21"
    assert fmt_time(moment, "Europe/Oslo", i18n.translator("nb")) == "18.12.2026, 16:21"
    assert fmt_time(moment.isoformat(), "Europe/Stockholm") == "2026-12-18 16:21"
    assert i18n.translator("sv").day("2026-03-02") == "2026-03-02"
    assert i18n.translator("nb").day(moment.date()) == "18.12.2026"


def test_deadlines_in_words_today_tomorrow_and_later() -> None:
    """Issue 14: a deadline reads "senast fredag 18 december kl. 16.30" (sv),
    "innen fredag 18. desember kl. 16.30" (nb), "by Friday 18 December,
    16:30" (en); "i dag" / "i morgon" in the office's zone; another year
    says its year."""
    from datetime import UTC, datetime
    due = datetime(2026, 12, 18, 15, 30, tzinfo=UTC)  # 16.30 in Stockholm and Oslo
    monday = datetime(2026, 12, 14, 9, tzinfo=UTC)
    sv, nb, en = (i18n.translator(x) for x in ("sv", "nb", "en"))
    assert sv.by(due, "Europe/Stockholm", monday) == "senast fredag 18 december kl. 16.30"
    assert nb.by(due, "Europe/Oslo", monday) == "innen fredag 18. desember kl. 16.30"
    assert en.by(due, "Europe/Stockholm", monday) == "by Friday 18 December, 16:30"
    friday_early = datetime(2026, 12, 17, 23, 30, tzinfo=UTC)  # 00.30 Friday local
    assert sv.by(due, "Europe/Stockholm", friday_early) == "i dag kl. 16.30"
    assert nb.by(due, "Europe/Oslo", datetime(2026, 12, 17, 12, tzinfo=UTC)) == \
        "i morgen kl. 16.30"
    # 23.30 UTC on Thursday is already Friday in Stockholm: "today", not "tomorrow".
    assert sv.by(due, "Europe/Stockholm", datetime(2026, 12, 17, 22, 59, tzinfo=UTC)) \
        == "i morgon kl. 16.30"
    assert sv.by(due, "Europe/Stockholm", datetime(2025, 12, 1, tzinfo=UTC)) == \
        "senast fredag 18 december 2026 kl. 16.30"
    # The pages' filter: the same words.
    assert fmt_deadline(due.isoformat(), "Europe/Stockholm", sv, monday) == \
        "senast fredag 18 december kl. 16.30"


def test_jinja2_i18n_extension_uses_the_readers_catalog() -> None:
    """The page templates' environment has jinja2.ext.i18n; `_()`,
    `gettext()` and `ngettext()` read the catalog given per request, the same
    as `t()` and `t.n()` (web/rendering.py puts them in the context)."""
    assert "jinja2.ext.InternationalizationExtension" in templates.env.extensions
    page = templates.env.from_string(
        "{{ _('nav.tasks') }}|{{ gettext('signed_in_as', name='Kari') }}|"
        "{{ ngettext('register.caption', 'register.caption', 1) }}|"
        "{{ t.n('register.caption', 3) }}|{{ t.number(4.5) }}")
    for lang, expected in (
            ("nb", "Mine oppgaver|Logget inn som Kari|1 offisiell kanal|3 offisielle kanaler|4,5"),
            ("en", "My tasks|Signed in as Kari|1 official channel|3 official channels|4.5")):
        t = i18n.translator(lang)
        assert page.render(t=t, gettext=t.gettext, ngettext=t.ngettext) == expected


def test_one_code_for_bokmal_and_no_accepted_on_input() -> None:
    assert texts.LANGUAGES == ("sv", "nb", "en")
    for code in ("no", "nb", "nn", "no-NO", "nb_NO", "NO"):
        assert texts.language(code) == "nb", code
    assert texts.language("sv-FI") == "sv"
    assert texts.language("de") is None
    assert i18n.choose_language("no", None, None) == "nb"  # a cookie stored as `no`
    assert i18n.choose_language(None, "NO", "sv-SE") == "nb"  # a Norwegian municipality's people
    assert i18n.choose_language("en", "NO", None) == "en"  # the switch wins
    assert i18n.choose_language(None, None, "no-NO,en;q=0.5") == "nb"
    assert i18n.choose_language(None, None, "de-DE, en;q=0.8") == "en"
    assert i18n.choose_language(None, None, None) == "sv"
    assert i18n.translator("no")("nav.tasks") == "Mine oppgaver"
    # The word lists of screening use the same code.
    assert wordlists.LANGUAGES == ("sv", "nb", "en")


def test_a_text_missing_in_one_language_falls_back_to_swedish_and_an_unknown_key_shows() -> None:
    assert i18n.translator("en")("no.such.key") == "no.such.key"
    assert i18n.translator("nb").has("nav.tasks") and not i18n.has_text("no.such.key")


@pytest.mark.timeout(300)
async def test_r07_r43_plurals_and_decimal_comma_on_the_pages(stack: Stack) -> None:
    """R-07: the public register counts its channels with the catalog's
    plural ("1 officiell kanal", "2 officiella kanaler"); R-43: an answer
    deadline of 4.5 office hours reads "inom 4,5 kontorstimmar" (decimal
    comma in sv and nb) on the account page, in each reader's language."""
    first = await active_account(stack)

    async def caption(lang: str) -> str:
        async with browser(stack) as http:
            http.cookies.set(i18n.COOKIE, lang)
            page = await http.get("/register")
            assert page.status_code == 200, page.text
            return page.text.split("<caption>", 1)[1].split("</caption>", 1)[0].strip()

    assert [await caption(lang) for lang in texts.LANGUAGES] == \
        ["1 officiell kanal", "1 offisiell kanal", "1 official channel"]
    await active_account(stack, platform_account_id="104000000000002", name="Biblioteket Ängen")
    assert [await caption(lang) for lang in texts.LANGUAGES] == \
        ["2 officiella kanaler", "2 offisielle kanaler", "2 official channels"]

    # The language switch takes `no` and stores bokmål's one code, `nb`.
    async with browser(stack) as http:
        r = await http.get("/lang/no", params={"next": "/register"})
        assert r.status_code == 303 and http.cookies.get(i18n.COOKIE) == "nb"
        page = await http.get("/register")
        assert '<html lang="nb"' in page.text and "2 offisielle kanaler" in page.text

    r = await stack.http.post(f"/api/accounts/{first}/message-settings",
                              headers={"X-Kanalvakt-Actor": MANAGER},
                              json={"answer_rule": "office_hours", "answer_office_hours": 4.5})
    assert r.status_code == 200, r.text
    for lang, expected in (("sv", "inom 4,5 kontorstimmar"), ("nb", "innen 4,5 kontortimer"),
                           ("en", "within 4.5 office hours")):
        async with browser(stack) as http:
            await sign_in(http, MANAGER)
            http.cookies.set(i18n.COOKIE, lang)
            page = await http.get(f"/accounts/{first}")
            assert page.status_code == 200, page.text
            row = page.text.split('id="setting-answer_rule"', 1)[1].split("</tr>", 1)[0]
            assert expected in row, (lang, row)
            assert "4.0" not in row and "{h}" not in row
