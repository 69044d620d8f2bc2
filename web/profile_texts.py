"""Texts of the profile-change form on the account page (R-37), in Swedish,
Norwegian bokmål and English; merged into web.i18n by web.account_pages."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "sv": {
        "act.profile_change.title": "Registrera en ändring av kontots profil",
        "act.profile_change.intro": "När kontots namn, användarnamn, profilbild, profiltext "
                                    "eller ägare har ändrats på plattformen: fyll i det som "
                                    "ändrats. Registret uppdateras och en ögonblicksbild tas "
                                    "(R-37).",
        "act.profile_change.submit": "Registrera ändringen",
        "f.profile_name": "Nytt namn",
        "f.profile_handle": "Nytt användarnamn (@namn)",
        "f.profile_url": "Ny adress (https://)",
        "f.profile_about": "Ny profiltext, som den nu är publicerad",
        "f.picture_changed": "Profilbilden har bytts",
        "f.profile_owner": "Nytt plattformskonto eller ny ägare (plattformens id; "
                           "kommunikationsenheten)",
        "f.note": "Anteckning",
        "done.profile_change": "Ändringen är registrerad. En ögonblicksbild tas av kontot.",
        "ev.ProfileChanged": "Profilen ändrad",
        "acc.profile_changed_at": "Profilen senast ändrad",
        "f.now": "Nu: {value}",
    },
    "nb": {
        "act.profile_change.title": "Registrer en endring av kontoens profil",
        "act.profile_change.intro": "Når kontoens navn, brukernavn, profilbilde, profiltekst "
                                    "eller eier er endret på plattformen: fyll inn det som er "
                                    "endret. Registeret oppdateres og et øyeblikksbilde tas "
                                    "(R-37).",
        "act.profile_change.submit": "Registrer endringen",
        "f.profile_name": "Nytt navn",
        "f.profile_handle": "Nytt brukernavn (@navn)",
        "f.profile_url": "Ny adresse (https://)",
        "f.profile_about": "Ny profiltekst, slik den nå er publisert",
        "f.picture_changed": "Profilbildet er byttet",
        "f.profile_owner": "Ny plattformskonto eller ny eier (plattformens id; "
                           "kommunikasjonsenheten)",
        "f.note": "Merknad",
        "done.profile_change": "Endringen er registrert. Et øyeblikksbilde tas av kontoen.",
        "ev.ProfileChanged": "Profilen endret",
        "acc.profile_changed_at": "Profilen sist endret",
        "f.now": "Nå: {value}",
    },
    "en": {
        "act.profile_change.title": "Record a change of the account's profile",
        "act.profile_change.intro": "When the account's name, handle, profile picture, about "
                                    "text or owner has changed on the platform: fill in what "
                                    "changed. The register is updated and a snapshot is taken "
                                    "(R-37).",
        "act.profile_change.submit": "Record the change",
        "f.profile_name": "New name",
        "f.profile_handle": "New handle (@name)",
        "f.profile_url": "New address (https://)",
        "f.profile_about": "New about text, as now published",
        "f.picture_changed": "The profile picture has changed",
        "f.profile_owner": "New platform account or owner (the platform's id; the "
                           "communications unit)",
        "f.note": "Note",
        "done.profile_change": "The change is recorded. A snapshot of the account is taken.",
        "ev.ProfileChanged": "Profile changed",
        "acc.profile_changed_at": "Profile last changed",
        "f.now": "Now: {value}",
    },
}
