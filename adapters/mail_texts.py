"""The texts of notification mails and chat posts (issue 13): `mail.<key>` in
the gettext catalogs (texts/locale/), in Swedish, Norwegian bokmål and
English. `{name}` placeholders are filled by adapters/mail.py. No text here
takes anything a citizen wrote."""

from __future__ import annotations

import texts


def text(lang: str, key: str, **values: object) -> str:
    """The mail text `mail.<key>` in `lang` (Swedish when the language is not one of ours)."""
    return texts.for_language(texts.language(lang) or texts.DEFAULT)(f"mail.{key}", **values)


def kind_text(lang: str, kind: str) -> str:
    """What a notification of this kind wants, in words (`mail.kind.other`
    for a kind without a text of its own)."""
    key = f"kind.{kind}"
    return text(lang, key) if texts.for_language(texts.DEFAULT).has(f"mail.{key}") \
        else text(lang, "kind.other")
