"""Texts of "My tasks"' snapshots waiting for screenshots (R-37, R-38) in
Swedish, Norwegian bokmål and English; registered by web.account_pages."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "sv": {
        "tasks.snapshots": "Ögonblicksbilder som väntar på skärmbilder",
        "tasks.snapshots.none": "Inga ögonblicksbilder väntar på dig.",
        "snaptask.why.upload": "Ladda upp skärmbilder och tryck på Klar",
        "snaptask.why.escalated_manager": "Eskalerad till dig som chef: se till att "
                                          "skärmbilderna laddas upp",
        "snaptask.why.escalated_communications": "Eskalerad till kommunikationsenheten: "
                                                 "skärmbilder och Klar, eller arkivera utan "
                                                 "skärmbilder med ett skäl",
        "snaptask.col.since": "Väntar sedan",
        "snaptask.kind": "ögonblicksbild: {reason}",
    },
    "nb": {
        "tasks.snapshots": "Øyeblikksbilder som venter på skjermbilder",
        "tasks.snapshots.none": "Ingen øyeblikksbilder venter på deg.",
        "snaptask.why.upload": "Last opp skjermbilder og trykk Ferdig",
        "snaptask.why.escalated_manager": "Eskalert til deg som leder: sørg for at "
                                          "skjermbildene lastes opp",
        "snaptask.why.escalated_communications": "Eskalert til kommunikasjonsenheten: "
                                                 "skjermbilder og Ferdig, eller arkiver uten "
                                                 "skjermbilder med en begrunnelse",
        "snaptask.col.since": "Venter siden",
        "snaptask.kind": "øyeblikksbilde: {reason}",
    },
    "en": {
        "tasks.snapshots": "Snapshots waiting for screenshots",
        "tasks.snapshots.none": "No snapshots wait for you.",
        "snaptask.why.upload": "Upload screenshots and press Done",
        "snaptask.why.escalated_manager": "Escalated to you as manager: see that the "
                                          "screenshots are uploaded",
        "snaptask.why.escalated_communications": "Escalated to the communications unit: "
                                                 "screenshots and Done, or package without "
                                                 "screenshots with a reason",
        "snaptask.col.since": "Waiting since",
        "snaptask.kind": "snapshot: {reason}",
    },
}
