"""Texts of issue 16's parts of the account page, each key (sv, nb, en):
publishers (R-52), who read and who accepted the platform's terms (R-05),
and the message settings with the municipality's and the stricter default
beside the account's own (R-22, R-26, R-31, R-33, R-43, R-45..R-48, R-50).
Merged into web.i18n at import (by web.account_pages)."""

from __future__ import annotations

from web import moderation_texts

TEXTS: dict[str, tuple[str, str, str]] = {
    # publishers beside the admins
    "pub.title": ("Publicister (R-52)", "Publisister (R-52)", "Publishers (R-52)"),
    "pub.intro": ("Publicister publicerar på kontot vid sidan av administratörerna. Verksamhetens "
                  "chef (eller ersättaren) utser och tar bort dem.",
                  "Publisister publiserer på kontoen ved siden av administratorene. Enhetens "
                  "leder (eller stedfortrederen) utnevner og fjerner dem.",
                  "Publishers post on the account beside its admins. The unit's manager (or "
                  "the deputy) appoints and removes them."),
    "pub.none": ("Kontot har inga publicister.", "Kontoen har ingen publisister.",
                 "The account has no publishers."),
    "act.appoint_publisher.title": ("Utse en publicist", "Utnevn en publisist",
                                    "Appoint a publisher"),
    "act.appoint_publisher.submit": ("Utse publicisten", "Utnevn publisisten",
                                     "Appoint the publisher"),
    "act.remove_publisher.submit": ("Ta bort {name} som publicist",
                                    "Fjern {name} som publisist",
                                    "Remove {name} as publisher"),
    "f.publisher": ("Person (person-id ur katalogen)", "Person (person-id fra katalogen)",
                    "Person (person id from the directory)"),
    "done.appoint_publisher": ("Publicisten är utsedd.", "Publisisten er utnevnt.",
                               "The publisher is appointed."),
    "done.remove_publisher": ("Publicisten är borttagen.", "Publisisten er fjernet.",
                              "The publisher is removed."),
    # read and accepted, apart
    "f.terms_read_by": ("Villkoren lästa av (person-id, flera med kommatecken, R-05)",
                        "Vilkårene lest av (person-id, flere med komma, R-05)",
                        "Terms read by (person ids, several with commas, R-05)"),
    "f.terms_accepted_by": ("Villkoren godkända av (person-id, R-05)",
                            "Vilkårene godtatt av (person-id, R-05)",
                            "Terms accepted by (person id, R-05)"),
    "hint.terms_accepted_by": ("Får godkänna villkoren: {names}. Den som godkänner ska först ha "
                               "läst dem.",
                               "Kan godta vilkårene: {names}. Den som godtar skal først ha "
                               "lest dem.",
                               "May accept the terms: {names}. Whoever accepts must have read "
                               "them first."),
    "hint.terms_delegate": ("Valfritt. Den du anger får godkänna plattformens villkor vid sidan "
                            "av dig och kommunikationsenheten.",
                            "Valgfritt. Den du oppgir kan godta plattformens vilkår ved siden "
                            "av deg og kommunikasjonsenheten.",
                            "Optional. The person you name may accept the platform's terms "
                            "beside you and the communications unit."),
    "acc.terms_delegate": ("Behörig att godkänna villkoren (R-05)",
                           "Fullmakt til å godta vilkårene (R-05)",
                           "Authorised to accept the terms (R-05)"),
    # the message settings
    "set.intro": ("Där riktlinjerna skiljer sig är regeln en inställning, och det strängare "
                  "värdet är standard (R-43). Kontot följer kommunens värden tills det får "
                  "egna.",
                  "Der retningslinjene er ulike, er regelen en innstilling, og den strengere "
                  "verdien er standard (R-43). Kontoen følger kommunens verdier til den får "
                  "egne.",
                  "Where the guidelines differ the rule is a setting, and the stricter value "
                  "is the default (R-43). The account follows the municipality's values until "
                  "it has its own."),
    "set.col.setting": ("Inställning", "Innstilling", "Setting"),
    "set.col.account": ("Det här kontot", "Denne kontoen", "This account"),
    "set.col.town": ("Kommunen", "Kommunen", "The municipality"),
    "set.col.strict": ("Standard (det strängare)", "Standard (den strengere)",
                       "Default (the stricter)"),
    "set.milder": ("mildare än standard", "mildere enn standard", "milder than the default"),
    "set.stricter": ("strängare än standard", "strengere enn standard",
                     "stricter than the default"),
    "set.other": ("annat än standard", "annet enn standard", "other than the default"),
    "set.own": ("Kontot har egna inställningar.", "Kontoen har egne innstillinger.",
                "The account has settings of its own."),
    "set.follows": ("Kontot följer kommunens inställningar.",
                    "Kontoen følger kommunens innstillinger.",
                    "The account follows the municipality's settings."),
    "set.days": ("var {n}:e arbetsdag", "hver {n}. arbeidsdag", "every {n} working days"),
    "set.days.1": ("varje arbetsdag", "hver arbeidsdag", "every working day"),
    "set.yes": ("ja", "ja", "yes"), "set.no": ("nej", "nei", "no"),
    "set.none": ("inga", "ingen", "none"),
    "set.chase": ("Obesvarade meddelanden jagas (R-22)", "Ubesvarte meldinger purres (R-22)",
                  "Unanswered messages chased (R-22)"),
    "set.watched": ("Utfallet ”bevakad” tillåtet (R-46)", "Utfallet «overvåket» tillatt (R-46)",
                    "The outcome \"watched\" allowed (R-46)"),
    "set.minor": ("Gallringsbeslut för bevakade kommentarer (R-50)",
                  "Kassasjonsvedtak for overvåkede kommentarer (R-50)",
                  "Disposal decision for watched comments (R-50)"),
    "set.copy": ("Kopia före varje radering, även av reklam (R-45)",
                 "Kopi før hver sletting, også av reklame (R-45)",
                 "A copy before every deletion, advertising too (R-45)"),
    "set.advertising": ("Gallringsbeslut för reklam (R-33)",
                        "Kassasjonsvedtak for reklame (R-33)",
                        "Disposal decision for advertising (R-33)"),
    "set.hidden": ("Döljs direkt och granskas (R-31)", "Skjules straks og vurderes (R-31)",
                   "Hidden at once and reviewed (R-31)"),
    "set.reviewed": ("Granskas", "Vurderes", "Reviewed"),
    "set.town.title": ("Kommunens inställningar", "Kommunens innstillinger",
                       "The municipality's settings"),
    "set.town.intro": ("De gäller alla kommunens konton och ändras i kommunens katalogfil.",
                       "De gjelder alle kommunens kontoer og endres i kommunens katalogfil.",
                       "They hold for all the municipality's accounts and are changed in its "
                       "directory file (kanalvakt directory load)."),
    "set.lifecycle_chase": ("Det ett konto väntar på jagas igen efter sista eskaleringen",
                            "Det en konto venter på purres igjen etter siste eskalering",
                            "What an account waits for is chased again after the last "
                            "escalation"),
    "set.new_page": ("Ny sida (R-48)", "Ny side (R-48)", "A new page (R-48)"),
    "new_page.approve": ("kommunikationsenheten godkänner", "kommunikasjonsenheten godkjenner",
                         "the communications unit approves"),
    "new_page.inform": ("chefen godkänner, kommunikationsenheten informeras",
                        "lederen godkjenner, kommunikasjonsenheten informeres",
                        "the manager approves, the communications unit is informed"),
    "set.crisis_publishes": ("Kommunikationsenheten publicerar i kris (R-47)",
                             "Kommunikasjonsenheten publiserer i krise (R-47)",
                             "The communications unit publishes in a crisis (R-47)"),
    "set.crisis_through": ("Svar i kris väntar på krisledningen (R-39)",
                           "Svar i krise venter på kriseledelsen (R-39)",
                           "Replies in a crisis wait for crisis management (R-39)"),
    # the form
    "f.chase_every_working_days": ("Jaga obesvarade meddelanden var n:e arbetsdag (1–20, R-22)",
                                   "Purr ubesvarte meldinger hver n. arbeidsdag (1–20, R-22)",
                                   "Chase unanswered messages every n working days (1–20, "
                                   "R-22)"),
    "f.watched_allowed": ("Tillåt utfallet ”bevakad” (R-46)",
                          "Tillat utfallet «overvåket» (R-46)",
                          "Allow the outcome \"watched\" (R-46)"),
    "f.minor_records_decision": ("Gallringsbeslut för bevakade kommentarer (R-50)",
                                 "Kassasjonsvedtak for overvåkede kommentarer (R-50)",
                                 "Disposal decision for watched comments (R-50)"),
    "f.copy_before_every_deletion": ("Spara en kopia före varje radering, även av reklam "
                                     "(R-45)",
                                     "Ta en kopi før hver sletting, også av reklame (R-45)",
                                     "Keep a copy before every deletion, advertising too "
                                     "(R-45)"),
    "f.advertising_disposal_decision": ("Gallringsbeslut för reklam (R-33)",
                                        "Kassasjonsvedtak for reklame (R-33)",
                                        "Disposal decision for advertising (R-33)"),
    "f.screen": ("Granskning: {kind}", "Vurdering: {kind}", "Screening: {kind}"),
    "f.screening": ("Granskning när meddelandet tas emot (R-31)",
                    "Vurdering når meldingen mottas (R-31)",
                    "Screening on receipt (R-31)"),
    "screen.hide": ("döljs direkt och granskas", "skjules straks og vurderes",
                    "hidden at once and reviewed"),
    "screen.review": ("granskas", "vurderes", "reviewed"),
    "screen.none": ("ingen åtgärd", "ingen handling", "no action"),
    "ms.hint": ("Standard (det strängare): {strict}. Kommunen: {town}.",
                "Standard (den strengere): {strict}. Kommunen: {town}.",
                "Default (the stricter): {strict}. The municipality: {town}."),
    "ms.err.chase": ("Ange ett helt antal arbetsdagar från 1 till 20.",
                     "Oppgi et helt antall arbeidsdager fra 1 til 20.",
                     "Give a whole number of working days from 1 to 20."),
    "ms.err.screening": ("Välj en av åtgärderna i listan.", "Velg en av handlingene i listen.",
                         "Choose one of the actions in the list."),
    "ms.err.decision": ("{value} är inte ett av kontots gallringsbeslut ({ids}).",
                        "{value} er ikke et av kontoens kassasjonsvedtak ({ids}).",
                        "{value} is not one of the account's disposal decisions ({ids})."),
}

moderation_texts.register(TEXTS)
