"""What the manual connector asks a person to do, in Swedish, Norwegian
bokmål and English.

The connector does not write the instruction in one language: its
`ActionResult` carries `detail_key` (`manual.<action>`, `manual.reply.<kind>`)
and `detail_params` (the platform, the object's kind and ids, the reply's
text), and the case records them (domain.message.ManualActionRequested
`instruction_key` / `instruction_params`). The intranet renders them in the
reader's language (web/page_texts.py registers these texts with web.i18n);
`detail` / `instruction` holds the Swedish rendering (the intranet's default
language, as before the keys), for the JSON API and the log. Records from
before the keys show their stored text.

Pure: no I/O. `render(t, key, params)` takes any `t(key, **values)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

LANGUAGES = ("sv", "nb", "en")

# key -> (sv, nb, en)
_TEXTS: dict[str, tuple[str, str, str]] = {
    "manual.reply.comment": (
        "Logga in på {platform} med kommunens konto och svara på {where} med exakt den här "
        "texten:\n\n{text}\n\nBekräfta sedan i Kanalvakt att svaret är publicerat och klistra "
        "in länken till ditt svar.",
        "Logg inn på {platform} med kommunens konto og svar på {where} med nøyaktig denne "
        "teksten:\n\n{text}\n\nBekreft deretter i Kanalvakt at svaret er publisert, og lim inn "
        "lenken til svaret ditt.",
        "Log in to {platform} with the municipality's account and reply to {where} with "
        "exactly this text:\n\n{text}\n\nThen confirm in Kanalvakt that the reply is published "
        "and paste the link to your reply."),
    "manual.reply.private_message": (
        "Logga in på {platform} med kommunens konto och svara avsändaren av {where} med exakt "
        "den här texten:\n\n{text}\n\nBekräfta sedan i Kanalvakt att svaret är skickat.",
        "Logg inn på {platform} med kommunens konto og svar avsenderen av {where} med "
        "nøyaktig denne teksten:\n\n{text}\n\nBekreft deretter i Kanalvakt at svaret er sendt.",
        "Log in to {platform} with the municipality's account and reply to the sender of "
        "{where} with exactly this text:\n\n{text}\n\nThen confirm in Kanalvakt that the "
        "reply is sent."),
    "manual.hide": (
        "Logga in på {platform} med kommunens konto och dölj {where}. Om det inte går att "
        "dölja kommentarer på {platform}, ändra ingenting och skriv det när du bekräftar. "
        "Bekräfta sedan i Kanalvakt att kommentaren är dold.",
        "Logg inn på {platform} med kommunens konto og skjul {where}. Hvis det ikke går an å "
        "skjule kommentarer på {platform}, endre ingenting og skriv det når du bekrefter. "
        "Bekreft deretter i Kanalvakt at kommentaren er skjult.",
        "Log in to {platform} with the municipality's account and hide {where}. If comments "
        "cannot be hidden on {platform}, change nothing and say so when you confirm. Then "
        "confirm in Kanalvakt that the comment is hidden."),
    "manual.unhide": (
        "Logga in på {platform} med kommunens konto och gör {where} synlig igen. Bekräfta "
        "sedan i Kanalvakt att kommentaren syns.",
        "Logg inn på {platform} med kommunens konto og gjør {where} synlig igjen. Bekreft "
        "deretter i Kanalvakt at kommentaren vises.",
        "Log in to {platform} with the municipality's account and make {where} visible "
        "again. Then confirm in Kanalvakt that the comment shows."),
    "manual.delete": (
        "Ta först en skärmbild av {where} på {platform} där texten, avsändaren och tidpunkten "
        "syns, och ladda upp den i Kanalvakt: en kopia ska sparas innan något tas bort. Ta "
        "sedan bort kommentaren på {platform} med kommunens konto. Bekräfta sedan i Kanalvakt "
        "att kommentaren är borttagen.",
        "Ta først et skjermbilde av {where} på {platform} der teksten, avsenderen og "
        "tidspunktet vises, og last det opp i Kanalvakt: en kopi skal tas vare på før noe "
        "slettes. Slett deretter kommentaren på {platform} med kommunens konto. Bekreft så i "
        "Kanalvakt at kommentaren er slettet.",
        "First take a screenshot of {where} on {platform} showing the text, the sender and "
        "the time, and upload it to Kanalvakt: a copy is kept before anything is removed. "
        "Then delete the comment on {platform} with the municipality's account. Then confirm "
        "in Kanalvakt that the comment is deleted."),
    # {where}: the object, its thread when known, and the account.
    "manual.where.comment": ("kommentaren med id {object_id}", "kommentaren med id {object_id}",
                             "the comment with id {object_id}"),
    "manual.where.comment.thread": (" under inlägget {thread_id}", " under innlegget {thread_id}",
                                    " under the post {thread_id}"),
    "manual.where.comment.account": (" på kontot {account_ref}", " på kontoen {account_ref}",
                                     " on the account {account_ref}"),
    "manual.where.private_message": ("meddelandet med id {object_id}",
                                     "meldingen med id {object_id}",
                                     "the message with id {object_id}"),
    "manual.where.private_message.thread": (" i konversationen {thread_id}",
                                            " i samtalen {thread_id}",
                                            " in the conversation {thread_id}"),
    "manual.where.private_message.account": (" i inkorgen för kontot {account_ref}",
                                             " i innboksen til kontoen {account_ref}",
                                             " in the inbox of the account {account_ref}"),
}

TEXTS: dict[str, dict[str, str]] = {
    lang: {key: texts[i] for key, texts in _TEXTS.items()} for i, lang in enumerate(LANGUAGES)}

Translate = Callable[..., str]


def swedish(key: str, **values: object) -> str:
    """The stored fallback text's language: Swedish, the default."""
    text = TEXTS["sv"].get(key, key)
    return text.format(**values) if values else text


def known(key: str | None) -> bool:
    return bool(key) and key in TEXTS["sv"]


def render(t: Translate, key: str, params: Mapping[str, str]) -> str:
    """The instruction `key` with `params` in the language of `t`. Params:
    platform (its name), kind ("comment" or "private_message"), object_id,
    account_ref, thread_id (may be empty) and, for a reply, text."""
    kind = params.get("kind", "comment")
    kind = kind if kind in ("comment", "private_message") else "comment"
    where = t(f"manual.where.{kind}", object_id=params.get("object_id", ""))
    if params.get("thread_id"):
        where += t(f"manual.where.{kind}.thread", thread_id=params["thread_id"])
    where += t(f"manual.where.{kind}.account", account_ref=params.get("account_ref", ""))
    return t(key, platform=params.get("platform", ""), where=where,
             text=params.get("text", ""))
