"""Texts of the account page's "waiting for screenshots" part of the
snapshots panel (R-37, R-38) in Swedish, Norwegian bokmål and English;
registered by web.snapshots_api."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "sv": {
        "pan.snapwait.title": "Väntar på skärmbilder",
        "pan.snapwait.mark": "Väntar",
        "pan.snapwait.since": "Ögonblicksbild ({reason}) väntar på skärmbilder sedan {since}.",
        "pan.snapwait.reminded": "Påminnelse skickad",
        "pan.snapwait.escalated": "Eskalerad",
        "pan.snapwait.escalated_mark": "Eskalerad",
        "pan.snapwait.to.screenshots_escalation": "till enhetens chef",
        "pan.snapwait.to.screenshots_communications": "till kommunikationsenheten",
        "pan.snapwait.next": "Nästa påminnelse eller eskalering",
        "pan.snapwait.how": "Kanalvakt kan inte läsa plattformen. Ladda upp skärmbilder av "
                            "kontot nedan och tryck sedan på Klar, så tas ögonblicksbilden "
                            "och arkiveras.",
        "pan.snapwait.done": "Klar: skärmbilderna är uppladdade",
        "pan.snapwait.f.reason": "Skäl att arkivera utan skärmbilder",
        "pan.snapwait.record_only.hint": "Bara kommunikationsenheten. Skälet diarieförs med "
                                         "ögonblicksbilden (minst 10 tecken).",
        "pan.snapwait.record_only": "Arkivera utan skärmbilder",
        "done.snapwait": "Beslutet är registrerat; ögonblicksbilden tas nu.",
    },
    "nb": {
        "pan.snapwait.title": "Venter på skjermbilder",
        "pan.snapwait.mark": "Venter",
        "pan.snapwait.since": "Øyeblikksbilde ({reason}) venter på skjermbilder siden {since}.",
        "pan.snapwait.reminded": "Påminnelse sendt",
        "pan.snapwait.escalated": "Eskalert",
        "pan.snapwait.escalated_mark": "Eskalert",
        "pan.snapwait.to.screenshots_escalation": "til enhetens leder",
        "pan.snapwait.to.screenshots_communications": "til kommunikasjonsenheten",
        "pan.snapwait.next": "Neste påminnelse eller eskalering",
        "pan.snapwait.how": "Kanalvakt kan ikke lese plattformen. Last opp skjermbilder av "
                            "kontoen nedenfor og trykk deretter Ferdig, så tas "
                            "øyeblikksbildet og arkiveres.",
        "pan.snapwait.done": "Ferdig: skjermbildene er lastet opp",
        "pan.snapwait.f.reason": "Begrunnelse for å arkivere uten skjermbilder",
        "pan.snapwait.record_only.hint": "Bare kommunikasjonsenheten. Begrunnelsen journalføres "
                                         "med øyeblikksbildet (minst 10 tegn).",
        "pan.snapwait.record_only": "Arkiver uten skjermbilder",
        "done.snapwait": "Beslutningen er registrert; øyeblikksbildet tas nå.",
    },
    "en": {
        "pan.snapwait.title": "Waiting for screenshots",
        "pan.snapwait.mark": "Waiting",
        "pan.snapwait.since": "Snapshot ({reason}) waiting for screenshots since {since}.",
        "pan.snapwait.reminded": "Reminder sent",
        "pan.snapwait.escalated": "Escalated",
        "pan.snapwait.escalated_mark": "Escalated",
        "pan.snapwait.to.screenshots_escalation": "to the unit's manager",
        "pan.snapwait.to.screenshots_communications": "to the communications unit",
        "pan.snapwait.next": "Next reminder or escalation",
        "pan.snapwait.how": "Kanalvakt cannot read the platform. Upload screenshots of the "
                            "account below, then press Done: the snapshot is taken and "
                            "archived.",
        "pan.snapwait.done": "Done: the screenshots are uploaded",
        "pan.snapwait.f.reason": "Reason to package without screenshots",
        "pan.snapwait.record_only.hint": "The communications unit only. The reason is "
                                         "registered with the snapshot (at least 10 "
                                         "characters).",
        "pan.snapwait.record_only": "Package without screenshots",
        "done.snapwait": "The decision is recorded; the snapshot is being taken.",
    },
}
