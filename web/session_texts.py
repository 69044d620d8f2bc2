"""Texts of signing in and out (web/pages.py, web/oidc.py) in Swedish,
Norwegian bokmål and English.

`oidc.<key>` is why an OpenID Connect sign-in failed (web.oidc.OidcError.key,
its params filled in); the technical cause is logged, not shown.
`signout.*` is the sign-out at the identity provider (RP-Initiated Logout).
"""

from __future__ import annotations

from web import i18n

# key -> (sv, nb, en)
_TEXTS: dict[str, tuple[str, str, str]] = {
    "oidc.failed": (
        "inloggningen kunde inte slutföras.",
        "innloggingen kunne ikke fullføres.",
        "the sign-in could not be completed."),
    "oidc.discovery": (
        "inloggningstjänstens beskrivning kunde inte läsas. Försök igen om en stund.",
        "beskrivelsen fra innloggingstjenesten kunne ikke leses. Prøv igjen om litt.",
        "the sign-in service's description could not be read. Try again in a while."),
    "oidc.keys": (
        "inloggningstjänstens nycklar kunde inte läsas. Försök igen om en stund.",
        "nøklene til innloggingstjenesten kunne ikke leses. Prøv igjen om litt.",
        "the sign-in service's keys could not be read. Try again in a while."),
    "oidc.provider_error": (
        "inloggningstjänsten svarade med ett fel ({error}).",
        "innloggingstjenesten svarte med en feil ({error}).",
        "the sign-in service answered with an error ({error})."),
    "oidc.no_flow": (
        "ingen inloggning påbörjades i den här webbläsaren. Börja om.",
        "ingen innlogging ble startet i denne nettleseren. Start på nytt.",
        "no sign-in was started in this browser. Start again."),
    "oidc.state": (
        "svaret från inloggningstjänsten hör inte till den här webbläsaren. Börja om.",
        "svaret fra innloggingstjenesten hører ikke til denne nettleseren. Start på nytt.",
        "the sign-in service's answer does not belong to this browser. Start again."),
    "oidc.too_slow": (
        "inloggningen tog för lång tid. Börja om.",
        "innloggingen tok for lang tid. Start på nytt.",
        "the sign-in took too long. Start again."),
    "oidc.no_code": (
        "inloggningstjänsten skickade ingen kod. Börja om.",
        "innloggingstjenesten sendte ingen kode. Start på nytt.",
        "the sign-in service sent no code. Start again."),
    "oidc.token_exchange": (
        "inloggningstjänsten gick inte att nå. Försök igen om en stund.",
        "innloggingstjenesten kunne ikke nås. Prøv igjen om litt.",
        "the sign-in service could not be reached. Try again in a while."),
    "oidc.token_refused": (
        "inloggningstjänsten vägrade lämna ut din identitet ({status}).",
        "innloggingstjenesten nektet å utlevere identiteten din ({status}).",
        "the sign-in service refused to hand over your identity ({status})."),
    "oidc.no_id_token": (
        "inloggningstjänsten skickade ingen identitet.",
        "innloggingstjenesten sendte ingen identitet.",
        "the sign-in service sent no identity."),
    "oidc.signature": (
        "identiteten från inloggningstjänsten är inte äkta (signaturen stämmer inte).",
        "identiteten fra innloggingstjenesten er ikke ekte (signaturen stemmer ikke).",
        "the identity from the sign-in service is not genuine (its signature is wrong)."),
    "oidc.not_for_us": (
        "identiteten från inloggningstjänsten gäller inte Kanalvakt eller har gått ut.",
        "identiteten fra innloggingstjenesten gjelder ikke Kanalvakt eller er utløpt.",
        "the identity from the sign-in service is not for Kanalvakt or has expired."),
    "oidc.no_person": (
        "identiteten från inloggningstjänsten namnger ingen person ({claims}).",
        "identiteten fra innloggingstjenesten navngir ingen person ({claims}).",
        "the identity from the sign-in service names no person ({claims})."),
    "signout.title": ("Utloggning", "Utlogging", "Signing out"),
    "signout.continue": (
        "Du är utloggad från Kanalvakt. Nu loggas du ut även hos kommunens "
        "inloggningstjänst.",
        "Du er logget ut av Kanalvakt. Nå logges du ut også hos kommunens "
        "innloggingstjeneste.",
        "You are signed out of Kanalvakt. Now you are signed out of the municipality's "
        "sign-in service too."),
    "signout.link": (
        "Fortsätt till inloggningstjänstens utloggning",
        "Fortsett til utloggingen hos innloggingstjenesten",
        "Go on to the sign-in service's sign-out"),
    "signout.provider": (
        "Du är utloggad från Kanalvakt och från kommunens inloggningstjänst.",
        "Du er logget ut av Kanalvakt og av kommunens innloggingstjeneste.",
        "You are signed out of Kanalvakt and of the municipality's sign-in service."),
    "signout.local": (
        "Du är utloggad från Kanalvakt. Inloggningstjänsten erbjuder ingen utloggning, så "
        "du kan fortfarande vara inloggad där: stäng webbläsaren om du delar datorn med "
        "andra.",
        "Du er logget ut av Kanalvakt. Innloggingstjenesten tilbyr ingen utlogging, så du "
        "kan fortsatt være logget inn der: lukk nettleseren hvis du deler datamaskinen med "
        "andre.",
        "You are signed out of Kanalvakt. The sign-in service offers no sign-out, so you "
        "may still be signed in there: close the browser if you share the computer."),
    "signout.unknown": (
        "Du är utloggad från Kanalvakt.",
        "Du er logget ut av Kanalvakt.",
        "You are signed out of Kanalvakt."),
    "signout.again": ("Logga in igen", "Logg inn igjen", "Sign in again"),
}

TEXTS = {lang: {key: texts[i] for key, texts in _TEXTS.items()}
         for i, lang in enumerate(i18n.LANGUAGES)}
