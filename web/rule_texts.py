"""The rules' refusals and the screening flags' descriptions in Swedish,
Norwegian bokmål and English (issue 4: the intranet in the reader's language).

The domain refuses in English (`DomainError.message`, for logs and the JSON
API) and names each refusal a page can show with a stable `key` and `params`
(domain.account.DomainError, domain.crisis.CrisisError); a refusal made of
several reasons (the sign-off checklist) carries keyed `parts`. The workflow
carries key, params and parts in its ApplicationError's details, and
web.app._send puts them beside the message in the HTTPException's detail.
A page shows `refusal_text` / `error_text` / `detail_text`: the catalog's
text for the key (`rule.<key>`) in the reader's language, with stage params
translated by the stage catalogs, or the English message when the refusal
has no key or the catalog does not know it.

Screening flags: `flagdetail.<kind>` and, for an identity number whose kind
the flag carries (domain.screening.Flag.identity), `flagdetail.identity.<kind>`
on the case page and `flagname.<kind>` in the inbox's flag list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from web import i18n
from web.i18n import Translate

# key -> (sv, nb, en). Placeholders are the refusal's params. The keys are
# those raised in domain/, and WEB_KEYS (refusals of the web layer itself).
WEB_KEYS = frozenset({"case.ended"})
RULES: dict[str, tuple[str, str, str]] = {
    # ----------------------------------------------------------- account lifecycle
    "account.wrong_stage": (
        "Det går inte i kontots nuvarande skede ({stage}).",
        "Det går ikke i kontoens nåværende fase ({stage}).",
        "Not possible at the account's current stage ({stage})."),
    "account.ended": (
        "Kontot är {stage}; inget mer kan beslutas.",
        "Kontoen er {stage}; ingenting mer kan besluttes.",
        "The account is {stage}; nothing more can be decided."),
    # ----------------------------------------------------------- R-14 (absences, cover)
    "absence.who": (
        "En administratör registrerar sin egen frånvaro, chefen eller ersättaren allas (R-14).",
        "En administrator registrerer sitt eget fravær, lederen eller stedfortrederen alles "
        "(R-14).",
        "An admin records their own absence, the unit's manager or deputy anyone's (R-14)."),
    "absence.not_admin": (
        "{person} är inte administratör för kontot (R-14).",
        "{person} er ikke administrator for kontoen (R-14).",
        "{person} is not an admin of this account (R-14)."),
    "absence.dates": (
        "Frånvaron slutar innan den börjar (R-14).",
        "Fraværet slutter før det begynner (R-14).",
        "The absence ends before it begins (R-14)."),
    "absence.past": (
        "Frånvaron är redan över (R-14).",
        "Fraværet er allerede over (R-14).",
        "The absence is over already (R-14)."),
    "absence.too_long": (
        "En frånvaro är högst {days} dagar (R-14).",
        "Et fravær er høyst {days} dager (R-14).",
        "One absence is at most {days} days (R-14)."),
    "absence.cover_self": (
        "Någon annan ska vara vikarie (R-14).",
        "Noen andre skal være stedfortreder (R-14).",
        "Someone else covers the absence (R-14)."),
    "absence.cover_unknown": (
        "{person} är varken administratör för kontot eller finns i katalogen (R-14).",
        "{person} er verken administrator for kontoen eller i katalogen (R-14).",
        "{person} is neither an admin of the account nor a colleague in the directory "
        "(R-14)."),
    "absence.overlap": (
        "{person} är redan registrerad som borta några av dagarna (R-14).",
        "{person} er allerede registrert som borte noen av dagene (R-14).",
        "{person} is recorded away on some of these days already (R-14)."),
    "absence.cover_away": (
        "{person} är också borta några av dagarna: välj en annan vikarie (R-14).",
        "{person} er også borte noen av dagene: velg en annen stedfortreder (R-14).",
        "{person} is away on some of these days too: choose another cover (R-14)."),
    "absence.none": (
        "Frånvaron {absence} pågår inte och är inte planerad (R-14).",
        "Fraværet {absence} pågår ikke og er ikke planlagt (R-14).",
        "No current or coming absence {absence} (R-14)."),
    # ----------------------------------------------------------- issue 16 (accounts)
    "approve.own_request": (
        "Ingen beslutar om sin egen begäran (R-01, R-53).",
        "Ingen avgjør sin egen bestilling (R-01, R-53).",
        "No one decides on their own request (R-01, R-53)."),
    "approve.next_level": (
        "Chefens egen begäran beslutas på nästa nivå: {person} (R-53).",
        "Lederens egen bestilling avgjøres på nivået over: {person} (R-53).",
        "The manager's own request is decided at the next level: {person} (R-53)."),
    "signoff.own_request": (
        "Ingen godkänner sin egen begäran: en kollega gör det (R-03, R-53).",
        "Ingen godkjenner sin egen bestilling: en kollega gjør det (R-03, R-53).",
        "No one signs off their own request: a colleague does (R-03, R-53)."),
    "signoff.communication_plan": (
        "Kontots kommunikationsplan ska kvalitetsgranskas (R-03).",
        "Kontoens kommunikasjonsplan skal kvalitetssikres (R-03).",
        "The account's communication plan must be quality-checked (R-03)."),
    "signoff.routines_missing": (
        "Begäran ska ange rutinerna som delegeras med kontot; saknas: {routines} (R-51).",
        "Bestillingen skal nevne rutinene som delegeres med kontoen; mangler: {routines} (R-51).",
        "The request must name the routines delegated with the account; missing: {routines} "
        "(R-51)."),
    "signoff.routines_checked": (
        "Kontrollera att de delegerade rutinerna finns på plats (R-51).",
        "Kontroller at de delegerte rutinene er på plass (R-51).",
        "Check that the delegated routines are in place (R-51)."),
    "signoff.terms_unread": (
        "{person} godkänner plattformens villkor först efter att ha läst dem (R-05).",
        "{person} godtar plattformens vilkår først etter å ha lest dem (R-05).",
        "{person} accepts the platform's terms only after reading them (R-05)."),
    "amend.platform_by_manager": (
        "Kommunikationsenheten bad om en annan plattform: verksamhetens chef beslutar den "
        "(R-01, R-03).",
        "Kommunikasjonsenheten ba om en annen plattform: enhetens leder avgjør den (R-01, R-03).",
        "The communications unit asked for another platform: the unit's manager decides it "
        "(R-01, R-03)."),
    "activate.not_appointed": (
        "Chefen utser kontoansvariga; inte utsedda: {people} (R-13).",
        "Lederen utnevner administratorene; ikke utnevnt: {people} (R-13).",
        "The manager appoints the admins; not appointed: {people} (R-13)."),
    "closure.no_registrar": (
        "Ingen registrator finns att lämna slutpaketet till; avslutet väntar (R-38).",
        "Ingen arkivar finnes å levere sluttpakken til; avslutningen venter (R-38).",
        "No registrar to hand the final package to; the closure waits (R-38)."),
    "post.crisis_communications": (
        "Under krisen publicerar kommunikationsenheten (R-47).",
        "Under krisen publiserer kommunikasjonsenheten (R-47).",
        "During the crisis the communications unit publishes (R-47)."),
    "post.crisis_approval": (
        "Under krisen går all kommunikation via krisledningen: ange vem i den som godkände "
        "inlägget (R-39).",
        "Under krisen skal all kommunikasjon gå via kriseledelsen: oppgi hvem der som godkjente "
        "innlegget (R-39).",
        "During the crisis all communication goes through crisis management: name the member "
        "who approved the post (R-39)."),
    "approve.admins_equipped": (
        "Bekräfta att de utsedda kontoansvariga har tid, resurser och kunskap (R-52).",
        "Bekreft at de utnevnte administratorene har tid, ressurser og kunnskap (R-52).",
        "Confirm that the appointed admins have working time, resources and knowledge (R-52)."),
    "publisher.already": (
        "{person} publicerar redan på kontot (R-52).",
        "{person} publiserer allerede på kontoen (R-52).",
        "{person} already publishes on the account (R-52)."),
    "publisher.not": (
        "{person} är inte publicist på kontot (R-52).",
        "{person} er ikke publisist på kontoen (R-52).",
        "{person} is not a publisher of the account (R-52)."),
    "request.main_account_unit": (
        "Ett kommunövergripande huvudkonto ägs av kommunikationsenheten (R-49).",
        "En hovedkonto for hele kommunen eies av kommunikasjonsenheten (R-49).",
        "A municipality-wide main account is owned by the communications unit (R-49)."),
    "account.manager_only": (
        "Bara verksamhetens chef eller ersättare får göra detta (R-01, R-13).",
        "Bare enhetens leder eller stedfortreder kan gjøre dette (R-01, R-13).",
        "Only the unit's manager or deputy may do this (R-01, R-13)."),
    "account.communications_only": (
        "Bara kommunikationsenheten får göra detta (R-03).",
        "Bare kommunikasjonsenheten kan gjøre dette (R-03).",
        "Only the communications unit may do this (R-03)."),
    "account.already_requested": (
        "Kontot har redan begärts.",
        "Kontoen er allerede bestilt.",
        "This account has already been requested."),
    "account.not_requested": (
        "Inget konto har begärts.",
        "Ingen konto er bestilt.",
        "No account has been requested."),
    "account.authorities_unit": (
        "Behörigheterna hör till en annan verksamhet.",
        "Fullmaktene tilhører en annen enhet.",
        "Authorities of another unit."),
    "account.reject_who": (
        "Bara chefen (R-01) eller kommunikationsenheten (R-03) får avslå begäran.",
        "Bare lederen (R-01) eller kommunikasjonsenheten (R-03) kan avslå bestillingen.",
        "Only the manager (R-01) or the communications unit (R-03) may reject."),
    "request.authorities_unit": (
        "Behörigheterna som angavs hör inte till den begärande verksamheten.",
        "Fullmaktene som er oppgitt, tilhører ikke enheten som bestiller.",
        "The authorities given are not those of the requesting unit."),
    "request.admin_twice": (
        "Samma person föreslås två gånger.",
        "Samme person er foreslått to ganger.",
        "The same person is proposed twice."),
    "risk.who": (
        "Verksamhetens ROS eller DPIA registreras av den som begärde kontot, de föreslagna "
        "administratörerna eller chefen (R-04).",
        "Enhetens ROS eller DPIA registreres av den som bestilte kontoen, de foreslåtte "
        "administratorene eller lederen (R-04).",
        "The requester, the proposed admins or the manager record the unit's ROS or DPIA "
        "(R-04)."),
    "risk.future": (
        "En analys kan inte vara gjord i framtiden (R-04).",
        "En analyse kan ikke være gjennomført i fremtiden (R-04).",
        "An assessment cannot be completed in the future (R-04)."),
    "signoff.incomplete": (
        "Kan inte godkännas än: {parts}",
        "Kan ikke godkjennes ennå: {parts}",
        "Cannot approve yet: {parts}"),
    "signoff.profile_sender": (
        "R-08: profilen måste visa tydligt att kommunen är avsändare",
        "R-08: profilen må vise tydelig at kommunen er avsender",
        "R-08: the profile must make the municipality the clear sender"),
    "signoff.profile_links": (
        "R-08: profilen måste länka till verksamhetens sida och till policysidan",
        "R-08: profilen må lenke til enhetens side og til retningslinjesiden",
        "R-08: the profile must link the unit's page and the policy page"),
    "signoff.profile_text": (
        "R-09: registrera profiltexten så som den publiceras",
        "R-09: registrer profilteksten slik den publiseres",
        "R-09: record the profile text as it is published"),
    "signoff.profile_purpose": (
        "R-09: profilen måste ange syfte, kommentarsregler och svarstider",
        "R-09: profilen må oppgi formål, kommentarregler og svartider",
        "R-09: the profile must state purpose, comment rules and hours"),
    "signoff.provider_notice": (
        "R-10: plattformsleverantörens identitet och information om synlighet måste visas",
        "R-10: plattformleverandørens identitet og informasjon om synlighet må vises",
        "R-10: the provider's identity and visibility notice must be shown"),
    "signoff.terms": (
        "R-05: plattformens villkor måste läsas och godkännas",
        "R-05: plattformens vilkår må leses og godtas",
        "R-05: the platform's terms must be read and accepted"),
    "signoff.terms_by_whom": (
        "R-05: {person} har inte behörighet att godkänna plattformens villkor",
        "R-05: {person} har ikke fullmakt til å godta plattformens vilkår",
        "R-05: {person} is not authorised to accept the platform's terms"),
    "signoff.private_channel": (
        "R-11: en kanal som inte är öppen kräver ett registrerat undantag",
        "R-11: en kanal som ikke er åpen, krever et registrert unntak",
        "R-11: a non-public channel needs a recorded exception"),
    "signoff.web_page": (
        "R-06: verksamhetens webbsida måste uppdateras före start",
        "R-06: enhetens nettside må oppdateres før oppstart",
        "R-06: the unit's web page must be updated before go-live"),
    "signoff.login_access": (
        "R-06: kommunen måste ha tillgång till kontots inloggning",
        "R-06: kommunen må ha tilgang til kontoens pålogging",
        "R-06: the municipality must have access to the account's login"),
    "signoff.comment": (
        "Skriv vad som måste ändras, eller varför begäran avslås.",
        "Skriv hva som må endres, eller hvorfor bestillingen avslås.",
        "Say what must change, or why the request is rejected."),
    "amend.who": (
        "Bara den som begärde kontot eller chefen får komplettera begäran.",
        "Bare den som bestilte kontoen, eller lederen kan endre bestillingen.",
        "Only the requester or the manager may amend the request."),
    "amend.unit_platform": (
        "Verksamhet och plattform beslutades av chefen (R-01); begär ett nytt konto för att "
        "ändra dem.",
        "Enhet og plattform ble besluttet av lederen (R-01); bestill en ny konto for å endre "
        "dem.",
        "The unit and platform were decided by the manager (R-01); request a new account to "
        "change them."),
    "activate.admin_twice": (
        "En administratör står med två gånger.",
        "En administrator står oppført to ganger.",
        "An admin is listed twice."),
    "activate.two_factor": (
        "R-12: varje administratör måste ha bekräftad tvåfaktorsinloggning; saknas för "
        "{people}.",
        "R-12: hver administrator må ha bekreftet tofaktorpålogging; mangler for {people}.",
        "R-12: every admin needs two-factor authentication confirmed; missing for {people}."),
    "closure.who": (
        "Bara chefen eller kommunikationsenheten får avsluta kontot (R-19).",
        "Bare lederen eller kommunikasjonsenheten kan avslutte kontoen (R-19).",
        "Only the manager or the communications unit may close the account (R-19)."),
    "settings.messages_who": (
        "Bara chefen (R-13) eller kommunikationsenheten får ändra hur meddelanden besvaras.",
        "Bare lederen (R-13) eller kommunikasjonsenheten kan endre hvordan meldinger besvares.",
        "Only the manager (R-13) or the communications unit may change how messages are "
        "answered."),
    "settings.monitoring_who": (
        "Bara chefen (R-13) eller kommunikationsenheten får ändra hur kontot bevakas (R-43).",
        "Bare lederen (R-13) eller kommunikasjonsenheten kan endre hvordan kontoen overvåkes "
        "(R-43).",
        "Only the manager (R-13) or the communications unit may change how the account is "
        "monitored (R-43)."),
    # ----------------------------------------------------------- profile changes
    "profile.who": (
        "Bara kontots administratörer eller kommunikationsenheten får registrera en ändring "
        "av kontots profil (R-37).",
        "Bare kontoens administratorer eller kommunikasjonsenheten kan registrere en endring "
        "av kontoens profil (R-37).",
        "Only the account's admins or the communications unit may record a change of the "
        "account's profile (R-37)."),
    "profile.owner_who": (
        "En ny ägare eller ett nytt plattformskonto registreras av kommunikationsenheten "
        "(R-03, R-37).",
        "En ny eier eller en ny plattformskonto registreres av kommunikasjonsenheten "
        "(R-03, R-37).",
        "A new owner or platform account is recorded by the communications unit "
        "(R-03, R-37)."),
    "profile.nothing": (
        "Inget har ändrats: ange nytt namn, användarnamn, adress, profiltext eller ägare, "
        "eller att profilbilden har bytts (R-37).",
        "Ingenting er endret: oppgi nytt navn, brukernavn, adresse, profiltekst eller eier, "
        "eller at profilbildet er byttet (R-37).",
        "Nothing changed: give the new name, handle, address, about text or owner, or say "
        "the profile picture changed (R-37)."),
    "admin.already": (
        "{person} är redan administratör.",
        "{person} er allerede administrator.",
        "{person} is already an admin."),
    "admin.not_admin": (
        "{person} är inte administratör.",
        "{person} er ikke administrator.",
        "{person} is not an admin."),
    "admin.two_factor_who": (
        "En administratör bekräftar sin egen tvåfaktorsinloggning, eller kommunikationsenheten "
        "gör det.",
        "En administrator bekrefter sin egen tofaktorpålogging, eller kommunikasjonsenheten "
        "gjør det.",
        "An admin confirms their own 2FA, or the communications unit does."),
    "admin.two_factor_already": (
        "{person} har redan bekräftad tvåfaktorsinloggning.",
        "{person} har allerede bekreftet tofaktorpålogging.",
        "{person} already has 2FA confirmed."),
    "checkin.who": (
        "Du är inte administratör för kontot: dess administratörer gör kontrollerna (R-15).",
        "Du er ikke administrator for kontoen: administratorene gjør kontrollene (R-15).",
        "You are not an admin of this account: its admins check it (R-15)."),
    "checkin.future": (
        "En kontroll kan inte registreras i förväg (R-15).",
        "En kontroll kan ikke registreres på forhånd (R-15).",
        "A check-in cannot be recorded ahead of time (R-15)."),
    "checkin.too_old": (
        "En kontroll registreras när den görs, inom ett dygn (R-15).",
        "En kontroll registreres når den gjøres, innen et døgn (R-15).",
        "A check-in is recorded when it is made, within a day (R-15)."),
    "post.who": (
        "Inlägg registreras av kontots administratörer eller plattformskopplingen (R-18).",
        "Innlegg registreres av kontoens administratorer eller plattformkoblingen (R-18).",
        "Posts are recorded by the account's admins or its platform connector (R-18)."),
    "post.not_held": (
        "Inget inlägg {post} väntar på bekräftelse på det här kontot (R-44).",
        "Ingen innlegg {post} venter på bekreftelse på denne kontoen (R-44).",
        "No post {post} is held on this account (R-44)."),
    "post.confidential_who": (
        "R-44: bara {approvers} får bekräfta eller skicka tillbaka ett inlägg som hölls för "
        "sekretessbelagda uppgifter, aldrig den som skrev det.",
        "R-44: bare {approvers} kan bekrefte eller sende tilbake et innlegg som ble holdt "
        "tilbake for taushetsbelagte opplysninger, aldri den som skrev det.",
        "R-44: only {approvers} may confirm or send back a post held for confidential "
        "information, never its writer."),
    "post.future": (
        "Ett inlägg kan inte vara publicerat i framtiden (R-18).",
        "Et innlegg kan ikke være publisert i fremtiden (R-18).",
        "A post cannot be published in the future (R-18)."),
    "keep.who": (
        "Kommunikationsenheten beslutar om ett förslag att avsluta kontot (R-19).",
        "Kommunikasjonsenheten avgjør et forslag om å avslutte kontoen (R-19).",
        "The communications unit decides on a closure proposal (R-19)."),
    "keep.not_proposed": (
        "Ingen avslutning har föreslagits för kontot (R-19).",
        "Ingen avslutning er foreslått for kontoen (R-19).",
        "No closure has been proposed for this account (R-19)."),
    "watch.who": (
        "Bevakningsärenden för verksamheten tas upp av kontots administratörer och "
        "verksamhetens personal, till sin chef (R-20).",
        "Overvåkingssaker for enheten meldes av kontoens administratorer og enhetens ansatte, "
        "til sin leder (R-20).",
        "The account's admins and the unit's staff raise watch items, for their manager "
        "(R-20)."),
    "watch.future": (
        "Tidpunkten då det sågs kan inte ligga i framtiden (R-20).",
        "Tidspunktet det ble sett, kan ikke ligge i fremtiden (R-20).",
        "When it was seen cannot be in the future (R-20)."),
    "watch.unknown": (
        "Kontot har inget bevakningsärende {item} (R-20).",
        "Kontoen har ingen overvåkingssak {item} (R-20).",
        "No watch item {item} on this account (R-20)."),
    "watch.resolved": (
        "Bevakningsärende {item} är redan avklarat (R-20).",
        "Overvåkingssak {item} er allerede løst (R-20).",
        "Watch item {item} is already resolved (R-20)."),
    # ----------------------------------------------------------- messages
    "message.admins_only": (
        "Bara kontots administratörer får göra detta.",
        "Bare kontoens administratorer kan gjøre dette.",
        "Only the account's admins may do this."),
    "message.wrong_stage": (
        "Det går inte i ärendets nuvarande läge ({message_stage}).",
        "Det går ikke i sakens nåværende status ({message_stage}).",
        "Not possible in the case's current stage ({message_stage})."),
    "message.ended": (
        "Ärendet är avslutat ({message_stage}); inget mer kan beslutas.",
        "Saken er avsluttet ({message_stage}); ingenting mer kan besluttes.",
        "The case has ended ({message_stage}); nothing more can be decided."),
    "case.ended": (  # web.app._send: the case's workflow has completed
        "Ärendet är avslutat; inget mer kan beslutas.",
        "Saken er avsluttet; ingenting mer kan besluttes.",
        "The case has ended; nothing more can be decided."),
    "message.already_received": (
        "Meddelandet har redan tagits emot.",
        "Meldingen er allerede mottatt.",
        "This message has already been received."),
    "message.not_received": (
        "Inget meddelande har tagits emot.",
        "Ingen melding er mottatt.",
        "No message has been received."),
    "manual.system_only": (
        "En åtgärd för hand på plattformen begärs av Kanalvakt självt.",
        "En manuell handling på plattformen bes om av Kanalvakt selv.",
        "A manual platform action is requested by Kanalvakt itself."),
    "manual.none_awaited": (
        "Ingen åtgärd för hand väntar.",
        "Ingen manuell handling venter.",
        "No platform action by hand is awaited."),
    "manual.confirm_who": (
        "Bara kontots administratörer bekräftar vad som gjordes på plattformen.",
        "Bare kontoens administratorer bekrefter hva som ble gjort på plattformen.",
        "Only the account's admins confirm what was done on the platform."),
    "hide.already": (
        "Meddelandet är redan dolt.",
        "Meldingen er allerede skjult.",
        "The message is already hidden."),
    "draft.officer_only": (
        "Bara handläggaren {officer} skriver svarsutkastet (R-24).",
        "Bare saksbehandleren {officer} skriver svarutkastet (R-24).",
        "Only the case officer {officer} drafts the answer (R-24)."),
    "register.who": (
        "Bara administratörerna eller en registrator får registrera.",
        "Bare administratorene eller en arkivar kan journalføre.",
        "Only the admins or a registrar may register."),
    "register.already": (
        "Redan registrerat som {number}.",
        "Allerede journalført som {number}.",
        "Already registered as {number}."),
    "redact.register_first": (
        "R-31: sekretessbelagt innehåll registreras innan det raderas.",
        "R-31: taushetsbelagt innhold journalføres før det slettes.",
        "R-31: confidential content is registered before deletion."),
    "redact.advertising_kept": (
        "R-32: reklam tas bort och sparas inte.",
        "R-32: reklame fjernes og lagres ikke.",
        "R-32: advertising is removed and not kept."),
    "redact.copy_needed": (
        "R-30: när något avpubliceras sparas en kopia; radering utan kopia gäller bara det "
        "som ett gallringsbeslut omfattar (R-33).",
        "R-30: når noe avpubliseres, lagres en kopi; sletting uten kopi gjelder bare det et "
        "kassasjonsvedtak omfatter (R-33).",
        "R-30: unpublishing keeps a copy; deleting without one is only for what a disposal "
        "decision covers (R-33)."),
    "dispose.registered": (
        "Ett registrerat meddelande bevaras enligt diariets regler och gallras inte som "
        "ringa betydelse (R-28, R-33).",
        "En journalført melding bevares etter journalens regler og kasseres ikke som "
        "uvesentlig (R-28, R-33).",
        "A registered message is kept by the diarium's rules, not disposed of as trivial "
        "(R-28, R-33)."),
    "dispose.unknown_decision": (
        "R-33: gallringsbeslutet {decision} finns inte i informationshanteringsplanen "
        "(kända: {known}).",
        "R-33: kassasjonsvedtaket {decision} finnes ikke i arkivplanen (kjente: {known}).",
        "R-33: no disposal decision {decision} in the records-management plan "
        "(known: {known})."),
    # ----------------------------------------------------------- issue 16: message cases
    "dispose.confidential": (
        "R-31, R-33: granskningen hittade ett personnummer; ett sådant meddelande "
        "registreras och gallras aldrig som ringa betydelse.",
        "R-31, R-33: kontrollen fant et fødselsnummer; en slik melding journalføres og "
        "kasseres aldri som uvesentlig.",
        "R-31, R-33: screening found an identity number; such a message is registered, "
        "never disposed of as trivial."),
    "redact.disposal_decision": (
        "R-33: reklam raderas enligt ett gallringsbeslut i informationshanteringsplanen "
        "(kända: {known}).",
        "R-33: reklame slettes etter et kassasjonsvedtak i arkivplanen (kjente: {known}).",
        "R-33: advertising is deleted under a disposal decision of the records-management "
        "plan (known: {known})."),
    "redact.criticism": (
        "R-34: kritik besvaras, den raderas inte; granskningen hittade ingen förolämpning.",
        "R-34: kritikk besvares, den slettes ikke; kontrollen fant ingen fornærmelse.",
        "R-34: criticism is answered, not deleted; screening found no insult in it."),
    "hide.copy_needed": (
        "R-30, R-45: en kopia sparas innan ett meddelande döljs.",
        "R-30, R-45: en kopi lagres før en melding skjules.",
        "R-30, R-45: a copy is kept before a message is hidden."),
    "acknowledge.already": (
        "Mottagningsbesked har redan skickats.",
        "Mottaket er allerede bekreftet.",
        "The message has already been acknowledged."),
    "forward.same_officer": (
        "Ärendet ligger redan hos {officer}.",
        "Saken ligger allerede hos {officer}.",
        "The case is already with {officer}."),
    "close.who": (
        "R-22: bara verksamhetens chef eller kommunikationsenheten får stänga ett "
        "obesvarat ärende.",
        "R-22: bare enhetens leder eller kommunikasjonsavdelingen kan lukke en ubesvart sak.",
        "R-22: only the unit's manager or the communications unit may close an unanswered "
        "case."),
    "watch.not_allowed": (
        "R-46: kommunen besvarar varje meddelande; att bara bevaka är inte ett utfall här.",
        "R-46: kommunen besvarer hver melding; bare å følge med er ikke et utfall her.",
        "R-46: this municipality answers every message; watching only is not an outcome "
        "here."),
    "watch.flagged": (
        "R-46: granskningen flaggade meddelandet; det granskas, det bevakas inte bara.",
        "R-46: kontrollen flagget meldingen; den vurderes, den følges ikke bare med på.",
        "R-46: screening flagged the message; it is reviewed, not only watched."),
    "outgoing.confidential": (
        "R-44: texten innehåller sekretessbelagda uppgifter och ingen annan får bekräfta "
        "den; ändra texten.",
        "R-44: teksten inneholder taushetsbelagte opplysninger og ingen andre kan bekrefte "
        "den; endre teksten.",
        "R-44: the text contains confidential information and no one else may confirm it; "
        "change the text."),
    "approval.confidential": (
        "R-44: bara {approvers} får bekräfta eller skicka tillbaka en text som hölls för "
        "sekretessbelagda uppgifter, aldrig den som skrev den.",
        "R-44: bare {approvers} kan bekrefte eller sende tilbake en tekst som ble holdt "
        "tilbake for taushetsbelagte opplysninger, aldri den som skrev den.",
        "R-44: only {approvers} may confirm or send back a text held for confidential "
        "information, never its writer."),
    "approval.crisis_only": (
        "R-39: bara krisledningen ({approvers}) får godkänna eller skicka tillbaka svaret.",
        "R-39: bare kriseledelsen ({approvers}) kan godkjenne eller sende tilbake svaret.",
        "R-39: only crisis management ({approvers}) may approve or send back this reply."),
    "approval.communications_only": (
        "R-47: i krisläget publicerar kommunikationsenheten ({approvers}) svaren; svaret "
        "väntar på den.",
        "R-47: i en krisesituasjon publiserer kommunikasjonsenheten ({approvers}) svarene; "
        "svaret venter på den.",
        "R-47: in the crisis the communications unit ({approvers}) publishes replies; this "
        "one waits for it."),
    "approval.one_at_a_time": (
        "R-39: krisledningen har redan ett beslut i ärendet att ta ställning till; det "
        "godkänns eller skickas tillbaka först.",
        "R-39: kriseledelsen har allerede en avgjørelse i saken til behandling; den "
        "godkjennes eller sendes tilbake først.",
        "R-39: crisis management has a decision on this case waiting; it approves or sends "
        "that back first."),
    "crisis.system_only": (
        "Krislägets regler når ett ärende från Kanalvakts krisflöde.",
        "Krisereglene når en sak fra Kanalvakts kriseflyt.",
        "Crisis rules reach a case from Kanalvakt's crisis workflow."),
    "admins.system_only": (
        "Kontots administratörer når ett ärende från kontots eget flöde.",
        "Kontoens administratorer når en sak fra kontoens egen flyt.",
        "The admins reach a case from the account's workflow."),
    "respond.signature": (
        "R-26: kontots svar undertecknas med namn och enhet.",
        "R-26: kontoens svar signeres med navn og enhet.",
        "R-26: this account's replies are signed with name and unit."),
    # ----------------------------------------------------------- snapshots
    "snapshot.not_waiting": (
        "Ögonblicksbilden väntar inte på skärmbilder (längre).",
        "Øyeblikksbildet venter ikke (lenger) på skjermbilder.",
        "This snapshot is not waiting for screenshots (any more)."),
    "snapshot.done_not_authorised": (
        "Bara kontots administratörer och kommunikationsenheten kan meddela att skärmbilderna "
        "är uppladdade (R-37).",
        "Bare kontoens administratorer og kommunikasjonsenheten kan melde at skjermbildene "
        "er lastet opp (R-37).",
        "Only the account's admins and the communications unit may say the screenshots are "
        "uploaded (R-37)."),
    "snapshot.no_screenshots": (
        "Ingen skärmbild är uppladdad för kontot än: ladda upp minst en först (R-37).",
        "Ingen skjermbilder er lastet opp for kontoen ennå: last opp minst ett først (R-37).",
        "No screenshot is uploaded for this account yet: upload at least one first (R-37)."),
    "snapshot.record_only_not_authorised": (
        "Bara kommunikationsenheten kan besluta att arkivera utan skärmbilder (R-37, R-38).",
        "Bare kommunikasjonsenheten kan beslutte å arkivere uten skjermbilder (R-37, R-38).",
        "Only the communications unit may decide to package without screenshots "
        "(R-37, R-38)."),
    "snapshot.reason_required": (
        "Ange varför ögonblicksbilden arkiveras utan skärmbilder (minst {n} tecken).",
        "Oppgi hvorfor øyeblikksbildet arkiveres uten skjermbilder (minst {n} tegn).",
        "Say why the snapshot is packaged without screenshots (at least {n} characters)."),
    # ----------------------------------------------------------- crisis
    "crisis.management_only": (
        "R-39: bara krisledningen får göra detta.",
        "R-39: bare kriseledelsen kan gjøre dette.",
        "R-39: only crisis management may do this."),
    "crisis.other_municipality": (
        "Inställningarna hör till en annan kommun.",
        "Innstillingene tilhører en annen kommune.",
        "Settings of another municipality."),
    "crisis.no_settings": (
        "Krisflödet har inga inställningar än.",
        "Kriseflyten har ingen innstillinger ennå.",
        "The crisis workflow has no settings yet."),
    "crisis.already_active": (
        "Kommunen är redan i krisläge.",
        "Kommunen er allerede i krisemodus.",
        "Already in crisis mode."),
    "crisis.unknown_units": (
        "Verksamheterna finns inte i kommunen: {units}.",
        "Enhetene finnes ikke i kommunen: {units}.",
        "No such unit in the municipality: {units}."),
    "crisis.not_active": (
        "Kommunen är inte i krisläge.",
        "Kommunen er ikke i krisemodus.",
        "Not in crisis mode."),
}

# Screening flags (domain.screening): what the flag found, per kind and, for
# identity numbers, per kind of number.
FLAGS: dict[str, tuple[str, str, str]] = {
    "flagdetail.identity_number": (
        "identitetsnummer (datum och kontrollsiffra stämmer)",
        "identitetsnummer (dato og kontrollsifre stemmer)",
        "identity number (date and check digits valid)"),
    "flagdetail.email": ("e-postadress", "e-postadresse", "e-mail address"),
    "flagdetail.phone_number": ("telefonnummer", "telefonnummer", "phone number"),
    "flagdetail.profanity": ("ord ur listan över svordomar", "ord fra listen over banneord",
                             "word from the profanity list"),
    "flagdetail.insult": ("ord ur listan över förolämpningar",
                          "ord fra listen over fornærmelser", "word from the insult list"),
    "flagdetail.agitation": ("ord ur listan över hets mot folkgrupp",
                             "ord fra listen over hatefulle ytringer",
                             "word from the agitation list"),
    "flagdetail.advertising": ("länk tillsammans med säljande språk",
                               "lenke sammen med salgsspråk",
                               "link together with sales language"),
    "flagdetail.identity.se_personnummer": (
        "svenskt personnummer (datum och kontrollsiffra stämmer)",
        "svensk personnummer (dato og kontrollsifre stemmer)",
        "Swedish personnummer (date and check digits valid)"),
    "flagdetail.identity.se_samordningsnummer": (
        "svenskt samordningsnummer (datum och kontrollsiffra stämmer)",
        "svensk samordningsnummer (dato og kontrollsifre stemmer)",
        "Swedish samordningsnummer (date and check digits valid)"),
    "flagdetail.identity.no_fodselsnummer": (
        "norskt fødselsnummer (datum och kontrollsiffror stämmer)",
        "norsk fødselsnummer (dato og kontrollsifre stemmer)",
        "Norwegian fødselsnummer (date and check digits valid)"),
    "flagdetail.identity.no_d_nummer": (
        "norskt D-nummer (datum och kontrollsiffror stämmer)",
        "norsk D-nummer (dato og kontrollsifre stemmer)",
        "Norwegian D-nummer (date and check digits valid)"),
    "flagname.se_personnummer": ("Personnummer", "Svensk personnummer",
                                 "Swedish personnummer"),
    "flagname.se_samordningsnummer": ("Samordningsnummer", "Svensk samordningsnummer",
                                      "Swedish samordningsnummer"),
    "flagname.no_fodselsnummer": ("Norskt fødselsnummer", "Fødselsnummer",
                                  "Norwegian fødselsnummer"),
    "flagname.no_d_nummer": ("Norskt D-nummer", "D-nummer", "Norwegian D-nummer"),
}

# Params that name a stage, and the catalog prefix that names them.
_STAGE_PARAMS = {"stage": "stage.", "message_stage": "mstage."}


def has_text(key: str | None) -> bool:
    return bool(key) and f"rule.{key}" in i18n.CATALOGS[i18n.DEFAULT]


def refusal_text(t: Translate, key: str | None, params: Mapping[str, Any] | None,
                 parts: Iterable[Mapping[str, Any]], message: str) -> str:
    """The refusal in the reader's language, or `message` (English) when
    its key is unknown (or a param the text needs is missing)."""
    if not has_text(key):
        return message
    values: dict[str, str] = {}
    for name, value in (params or {}).items():
        text = str(value)
        prefix = _STAGE_PARAMS.get(name)
        if prefix is not None:
            translated = t(prefix + text)
            text = text if translated == prefix + text else translated
        values[name] = text
    values["parts"] = "; ".join(
        refusal_text(t, part.get("key"), part.get("params"), (), str(part.get("text", "")))
        for part in parts)
    try:
        return t(f"rule.{key}", **values)
    except (KeyError, IndexError, ValueError):
        return message


def error_text(t: Translate, error: Any) -> str:
    """A domain refusal (DomainError or CrisisError) in the reader's language."""
    parts = [{"key": p.key, "params": p.params, "text": p.text}
             for p in getattr(error, "parts", ())]
    return refusal_text(t, getattr(error, "key", None), getattr(error, "params", None), parts,
                        str(getattr(error, "message", error)))


def detail_text(t: Translate, detail: Any) -> str:
    """An HTTPException's detail from web.app._send (a dict with the English
    message and, when the rule named it, key, params and parts) as text."""
    if isinstance(detail, Mapping):
        return refusal_text(t, detail.get("key"), detail.get("params"),
                            detail.get("parts") or (), str(detail.get("message", "")))
    return str(detail)


def flag_text(t: Translate, kind: str, identity: str | None) -> str:
    """A screening flag's description: by its identity number's kind when the
    flag names it (domain.screening.Flag.identity), else by its kind."""
    return t(f"flagdetail.identity.{identity}") if identity else t(f"flagdetail.{kind}")


def _register(texts: Mapping[str, tuple[str, str, str]]) -> None:
    i18n.add_texts({lang: {k: v[i] for k, v in texts.items()}
                    for i, lang in enumerate(i18n.LANGUAGES)})


_register({f"rule.{key}": texts for key, texts in RULES.items()})
_register(FLAGS)
