"""Texts of R-14's absences and covers (web/absences.py, the account page's
panel _account_absences.html, my tasks, the timeline) in Swedish, Norwegian
bokmål and English; merged into web.i18n's catalogs."""

from __future__ import annotations

_SV = {
    "abs.title": "Frånvaro och vikarier",
    "abs.intro": "När en administratör är borta går påminnelser och eskaleringar till vikarien: "
                 "en annan administratör eller en namngiven kollega.",
    "abs.all_away": "Alla administratörer är borta sedan {since}. Verksamhetens chef har fått "
                    "en eskalering.",
    "abs.none": "Ingen frånvaro är registrerad.",
    "abs.col.person": "Borta", "abs.col.from": "Från och med", "abs.col.to": "Till och med",
    "abs.col.cover": "Vikarie",
    "abs.form.title": "Registrera frånvaro",
    "abs.f.person": "Vem är borta", "abs.f.starts_on": "Från och med (datum)",
    "abs.f.ends_on": "Till och med (datum)", "abs.f.cover": "Vikarie",
    "abs.f.cover.hint": "En annan administratör eller en kollega i katalogen, t.ex. eva.marklund.",
    "abs.submit": "Registrera frånvaron",
    "abs.cancel": "Avsluta frånvaron för {name}",
    "abs.covering": "vikarie för {names}",
    "done.absence": "Frånvaron är registrerad; vikarien får påminnelserna.",
    "done.absence_cancelled": "Frånvaron är avslutad.",
    "task.all_away": "Alla administratörer är borta: se till att någon bevakar kontot",
    "task.cover": "Du är vikarie för en administratör som är borta",
    "ev.AbsenceRecorded": "Frånvaro registrerad", "ev.AbsenceCancelled": "Frånvaro avslutad",
    "ev.AllAdminsAwayEscalated": "Alla administratörer borta: eskalerat till chefen",
    "ev.AdminBackFromAbsence": "En administratör är tillbaka",
    "page.no_absence": "Frånvaron {absence} finns inte på kontot.",
}

_NB = {
    "abs.title": "Fravær og stedfortredere",
    "abs.intro": "Når en administrator er borte, går påminnelser og eskaleringer til "
                 "stedfortrederen: en annen administrator eller en navngitt kollega.",
    "abs.all_away": "Alle administratorene er borte siden {since}. Enhetens leder har fått "
                    "en eskalering.",
    "abs.none": "Ikke noe fravær er registrert.",
    "abs.col.person": "Borte", "abs.col.from": "Fra og med", "abs.col.to": "Til og med",
    "abs.col.cover": "Stedfortreder",
    "abs.form.title": "Registrer fravær",
    "abs.f.person": "Hvem er borte", "abs.f.starts_on": "Fra og med (dato)",
    "abs.f.ends_on": "Til og med (dato)", "abs.f.cover": "Stedfortreder",
    "abs.f.cover.hint": "En annen administrator eller en kollega i katalogen, f.eks. "
                        "eva.marklund.",
    "abs.submit": "Registrer fraværet",
    "abs.cancel": "Avslutt fraværet for {name}",
    "abs.covering": "stedfortreder for {names}",
    "done.absence": "Fraværet er registrert; stedfortrederen får påminnelsene.",
    "done.absence_cancelled": "Fraværet er avsluttet.",
    "task.all_away": "Alle administratorene er borte: sørg for at noen følger med på kontoen",
    "task.cover": "Du er stedfortreder for en administrator som er borte",
    "ev.AbsenceRecorded": "Fravær registrert", "ev.AbsenceCancelled": "Fravær avsluttet",
    "ev.AllAdminsAwayEscalated": "Alle administratorene borte: eskalert til lederen",
    "ev.AdminBackFromAbsence": "En administrator er tilbake",
    "page.no_absence": "Fraværet {absence} finnes ikke på kontoen.",
}

_EN = {
    "abs.title": "Absences and cover",
    "abs.intro": "While an admin is away, their reminders and escalations go to their cover: "
                 "another admin or a named colleague.",
    "abs.all_away": "Every admin has been away since {since}. The unit's manager has been "
                    "escalated to.",
    "abs.none": "No absence is recorded.",
    "abs.col.person": "Away", "abs.col.from": "From", "abs.col.to": "Until (inclusive)",
    "abs.col.cover": "Cover",
    "abs.form.title": "Record an absence",
    "abs.f.person": "Who is away", "abs.f.starts_on": "From (date)",
    "abs.f.ends_on": "Until, inclusive (date)", "abs.f.cover": "Cover",
    "abs.f.cover.hint": "Another admin or a colleague in the directory, e.g. eva.marklund.",
    "abs.submit": "Record the absence",
    "abs.cancel": "End the absence of {name}",
    "abs.covering": "cover for {names}",
    "done.absence": "The absence is recorded; the cover gets the reminders.",
    "done.absence_cancelled": "The absence has ended.",
    "task.all_away": "Every admin is away: make sure someone watches the account",
    "task.cover": "You cover for an admin who is away",
    "ev.AbsenceRecorded": "Absence recorded", "ev.AbsenceCancelled": "Absence ended",
    "ev.AllAdminsAwayEscalated": "Every admin away: escalated to the manager",
    "ev.AdminBackFromAbsence": "An admin is back",
    "page.no_absence": "There is no absence {absence} on this account.",
}

TEXTS = {"sv": _SV, "nb": _NB, "en": _EN}
