"""The texts of notification mails and chat posts (issue 13), in Swedish,
Norwegian bokmål and English: kept here, in one module, so they move into
the gettext catalogs with the rest. `{name}` placeholders are filled by
adapters/mail.py. No text here takes anything a citizen wrote."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "sv": {
        "subject.one": "Kanalvakt: {what} – {account}",
        "subject.many": "Kanalvakt: {n} ärenden väntar på dig",
        "greeting": "Hej {name},",
        "intro.one": "Det här behöver din uppmärksamhet i Kanalvakt:",
        "intro.many": "Det här behöver din uppmärksamhet i Kanalvakt ({n} st):",
        "account": "Konto",
        "case": "Ärende",
        "due": "Tidsfrist",
        "open": "Öppna",
        "footer": "Du får det här brevet från Kanalvakt. Innehållet finns bakom inloggning. "
                  "Du väljer om du vill få brev direkt eller som sammanfattning under "
                  "Aviseringar: {prefs}",
        "no_account": "–",
        "kind.reminder": "Påminnelse",
        "kind.escalation": "Eskalering: tidsfristen har passerat",
        "kind.warning": "Varning om publiceringsrytmen",
        "kind.proposal": "Förslag att stänga kontot",
        "kind.approval": "Ett svar väntar på godkännande",
        "kind.sent_back": "Ett svar har skickats tillbaka till dig",
        "kind.storm": "Ovanligt många meddelanden (krisläge)",
        "kind.crisis_digest": "Sammanställning i krisläge",
        "kind.screenshots_requested": "Skärmbilder behövs till en ögonblicksbild",
        "kind.undeliverable": "En avisering kunde inte levereras",
        "kind.other": "Ett ärende väntar",
        "undeliverable.detail": "Avisering till {who} kunde inte skickas: {reason}. "
                                "Den finns kvar och kan skickas igen från sidan Utgående "
                                "aviseringar.",
    },
    "nb": {
        "subject.one": "Kanalvakt: {what} – {account}",
        "subject.many": "Kanalvakt: {n} saker venter på deg",
        "greeting": "Hei {name},",
        "intro.one": "Dette trenger din oppmerksomhet i Kanalvakt:",
        "intro.many": "Dette trenger din oppmerksomhet i Kanalvakt ({n} stk.):",
        "account": "Konto",
        "case": "Sak",
        "due": "Frist",
        "open": "Åpne",
        "footer": "Du får denne e-posten fra Kanalvakt. Innholdet ligger bak innlogging. "
                  "Du velger om du vil få e-post straks eller som sammendrag under "
                  "Varsler: {prefs}",
        "no_account": "–",
        "kind.reminder": "Påminnelse",
        "kind.escalation": "Eskalering: fristen er passert",
        "kind.warning": "Advarsel om publiseringsrytmen",
        "kind.proposal": "Forslag om å stenge kontoen",
        "kind.approval": "Et svar venter på godkjenning",
        "kind.sent_back": "Et svar er sendt tilbake til deg",
        "kind.storm": "Uvanlig mange meldinger (krisemodus)",
        "kind.crisis_digest": "Sammendrag i krisemodus",
        "kind.screenshots_requested": "Skjermbilder trengs til et øyeblikksbilde",
        "kind.undeliverable": "Et varsel kunne ikke leveres",
        "kind.other": "En sak venter",
        "undeliverable.detail": "Varsel til {who} kunne ikke sendes: {reason}. Det ligger "
                                "igjen og kan sendes på nytt fra siden Utgående varsler.",
    },
    "en": {
        "subject.one": "Kanalvakt: {what} – {account}",
        "subject.many": "Kanalvakt: {n} items are waiting for you",
        "greeting": "Hello {name},",
        "intro.one": "This needs your attention in Kanalvakt:",
        "intro.many": "These need your attention in Kanalvakt ({n}):",
        "account": "Account",
        "case": "Case",
        "due": "Deadline",
        "open": "Open",
        "footer": "This mail comes from Kanalvakt. The details are behind sign-in. "
                  "Choose mails at once or a daily digest under Notifications: {prefs}",
        "no_account": "–",
        "kind.reminder": "Reminder",
        "kind.escalation": "Escalation: the deadline has passed",
        "kind.warning": "Warning about the posting rhythm",
        "kind.proposal": "Proposal to close the account",
        "kind.approval": "A reply waits for approval",
        "kind.sent_back": "A reply was sent back to you",
        "kind.storm": "Unusually many messages (crisis mode)",
        "kind.crisis_digest": "Crisis-mode digest",
        "kind.screenshots_requested": "Screenshots are needed for a snapshot",
        "kind.undeliverable": "A notification could not be delivered",
        "kind.other": "Something is waiting",
        "undeliverable.detail": "A notification to {who} could not be sent: {reason}. It is "
                                "kept and can be sent again from the Outgoing notifications "
                                "page.",
    },
}


def text(lang: str, key: str, **values: object) -> str:
    catalog = TEXTS.get(lang, TEXTS["sv"])
    template = catalog.get(key) or TEXTS["sv"].get(key) or key
    return template.format(**values) if values else template


def kind_text(lang: str, kind: str) -> str:
    key = f"kind.{kind}"
    return text(lang, key) if key in TEXTS["sv"] else text(lang, "kind.other")
