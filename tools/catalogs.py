"""Add texts to the gettext catalogs, texts/locale/{sv,nb,en}/LC_MESSAGES/kanalvakt.po.

    python tools/catalogs.py add KEY SV NB EN
        one text in the three languages (after the last key of its prefix)
    python tools/catalogs.py add-plural KEY "SV one" "SV more" "NB one" "NB more" "EN one" "EN more"
        a count's text: use it as t.n("KEY", count), {n} is the count
    python tools/catalogs.py from-module path/to/some_texts.py [--write]
        the texts of a module of Python dicts as they were before issue 11
        (TEXTS = {"sv": {...}, "nb": {...}, "en": {...}}, key -> (sv, nb, en)
        tuples, RULES -> rule.<key>, PAGE_TEXTS -> page.<key>, the
        `register({...})` calls of page modules, _EVENTS -> mevent.<type>):
        prints what is new, what differs and, with --write, adds the new
        ones. For a branch that still added texts to a dict module after the
        move.

Editing the .po files by hand is as good; tests/e2e/test_texts.py checks the
result either way.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "texts" / "locale"
LANGUAGES = ("sv", "nb", "en")
PREFIXES = {"RULES": "rule.", "PAGE_TEXTS": "page.", "_EVENTS": "mevent."}

Entry = str | tuple[str, str]  # a text, or (one, more) for a plural


def _path(lang: str, locale: Path) -> Path:
    return locale / lang / "LC_MESSAGES" / "kanalvakt.po"


def _read(lang: str, locale: Path) -> Catalog:
    with _path(lang, locale).open("rb") as f:
        return read_po(f, locale=lang, domain="kanalvakt")


def _key(message: Message) -> str:
    return str(message.id[0] if isinstance(message.id, tuple) else message.id)


def _write(lang: str, catalog: Catalog, locale: Path) -> None:
    """Write the catalog as the repository keeps it: no location, no dates."""
    header = ("# Kanalvakt's texts: " + {"sv": "Svenska", "nb": "Norsk (bokmål)",
                                           "en": "English"}[lang] + f" ({lang}).\n")
    lines = [f"{line}\n" for line in _path(lang, locale).read_text(encoding="utf-8")
             .split("\n\nmsgid", 1)[0].splitlines() if line.startswith("#")]
    body = Catalog(locale=lang, domain="kanalvakt", fuzzy=False)
    for message in catalog:
        if message.id:
            body[message.id] = message
    out = _path(lang, locale)
    with out.open("wb") as f:
        write_po(f, body, width=100, sort_output=False, no_location=True, omit_header=True)
    text = out.read_text(encoding="utf-8")
    head = "".join(lines) or header
    out.write_text(head + 'msgid ""\nmsgstr ""\n'
                   '"Project-Id-Version: Kanalvakt\\n"\n'
                   f'"Language: {lang}\\n"\n'
                   '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
                   '"MIME-Version: 1.0\\n"\n'
                   '"Content-Type: text/plain; charset=utf-8\\n"\n'
                   '"Content-Transfer-Encoding: 8bit\\n"\n\n' + text, encoding="utf-8")


def add(entries: dict[str, tuple[Entry, Entry, Entry]], locale: Path = LOCALE) -> list[str]:
    """Add each key's (sv, nb, en) to the three catalogs, after the last key
    sharing its prefix (else at the end); a key already there is left as it
    is and named in the returned list."""
    kept: list[str] = []
    for i, lang in enumerate(LANGUAGES):
        catalog = _read(lang, locale)
        present = {_key(m) for m in catalog if m.id}
        new = [(k, texts[i]) for k, texts in entries.items() if k not in present]
        kept += [k for k in entries if k in present and i == 0]
        ordered: list[Message] = [m for m in catalog if m.id]
        for key, text in new:
            prefix = key.rsplit(".", 1)[0] + "." if "." in key else key
            at = max((n + 1 for n, m in enumerate(ordered) if _key(m).startswith(prefix)),
                     default=len(ordered))
            ordered.insert(at, Message((key, key) if isinstance(text, tuple) else key, text))
        result = Catalog(locale=lang, domain="kanalvakt", fuzzy=False)
        for message in ordered:
            result[message.id] = message
        _write(lang, result, locale)
    return kept


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _dicts(tree: ast.Module) -> Iterator[tuple[str, dict[object, object]]]:
    """Every dict literal in the module, with the name it is assigned to."""
    for node in ast.walk(tree):
        name = ""
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            name = target.id if isinstance(target, ast.Name) else ""
            value = node.value
        elif isinstance(node, ast.Call) and node.args:
            value = node.args[0]
        else:
            continue
        found = _literal(value) if isinstance(value, ast.Dict) else None
        if isinstance(found, dict):
            yield name, found


def from_module(path: Path) -> dict[str, tuple[Entry, Entry, Entry]]:
    """The texts of a module of Python dicts, in any of the shapes used
    before the catalogs."""
    out: dict[str, tuple[Entry, Entry, Entry]] = {}
    per_language: dict[str, dict[str, str]] = {}
    for name, found in _dicts(ast.parse(path.read_text(encoding="utf-8"))):
        prefix = PREFIXES.get(name, "")
        if set(found) == set(LANGUAGES) and all(isinstance(v, dict) for v in found.values()):
            for lang, table in found.items():
                assert isinstance(table, dict)
                per_language.setdefault(str(lang), {}).update(
                    {str(k): str(v) for k, v in table.items()})
        elif name in {"_SV", "_NB", "_EN"}:
            per_language.setdefault(name[1:].lower(), {}).update(
                {str(k): str(v) for k, v in found.items()})
        elif found and all(isinstance(v, tuple) and len(v) == 3 for v in found.values()):
            for key, three in found.items():
                assert isinstance(three, tuple)
                sv, nb, en = three
                out[prefix + str(key)] = (sv, nb, en)
    for key in per_language.get("sv", {}):
        out[key] = tuple(per_language.get(lang, {}).get(key, "")  # type: ignore[assignment]
                         for lang in LANGUAGES)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("add")
    one.add_argument("key")
    one.add_argument("texts", nargs=3, metavar="TEXT")
    plural = commands.add_parser("add-plural")
    plural.add_argument("key")
    plural.add_argument("texts", nargs=6, metavar="TEXT")
    module = commands.add_parser("from-module")
    module.add_argument("path", type=Path)
    module.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "add":
        kept = add({args.key: tuple(args.texts)})
    elif args.command == "add-plural":
        t = args.texts
        kept = add({args.key: ((t[0], t[1]), (t[2], t[3]), (t[4], t[5]))})
    else:
        found = from_module(args.path)
        catalogs = {lang: {_key(m): m.string for m in _read(lang, LOCALE) if m.id}
                    for lang in LANGUAGES}
        new = {k: v for k, v in found.items() if k not in catalogs["sv"]}
        for key, texts in found.items():
            if key in catalogs["sv"]:
                differs = [lang for lang, text in zip(LANGUAGES, texts, strict=True)
                           if catalogs[lang].get(key) != text]
                if differs:
                    print(f"differs ({', '.join(differs)}): {key}")
        for key in new:
            print(f"new: {key}")
        kept = add(new) if args.write and new else []
    for key in kept:
        print(f"already there, left as it is: {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
