"""Word lists for content screening (R-29, R-32, R-40), Swedish, Norwegian
(bokmål) and English.

Python constants, not data files, so the domain stays free of I/O inside the
Temporal sandbox. The lists are modest and curated: a starting point that each
municipality reviews and extends, not a complete lexicon.

Syntax of an entry: a word, a phrase of words separated by spaces, or a stem
ending in "*" that also matches longer words ("idiot*": idioten, idiotisk).
Matching (domain.screening) is case-insensitive and whole-word, so "ass" does
not fire inside "class"; it tolerates repeated vowels, leetspeak and inserted
dots or asterisks. Stems are used only where no innocent word starts the same
way.

Left out on purpose, because they are ordinary words in one of the three
languages and every text is checked against all lists:
  "slut" (Swedish: end, closed), "prick" (Swedish: dot), "hell" (Norwegian:
  luck), "dust" (English), "taper" (English), "jerk" (knee-jerk), "as"
  (Swedish: carrion, and the English "as"), "skit*" (Norwegian "skitten":
  dirty), "nolla" (Swedish: zero), "röv"/"ræv" alone (typed without the
  diacritic they are "rov", prey, and "rav", amber).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

# One code for Norwegian bokmål everywhere in Kanalvakt: nb (texts/, web.i18n).
Language = Literal["sv", "nb", "en"]
LANGUAGES: tuple[Language, ...] = ("sv", "nb", "en")


def _entries(text: str) -> tuple[str, ...]:
    """Comma-separated entries, so a list reads (and is extended) as prose."""
    return tuple(" ".join(entry.split()) for entry in text.split(",") if entry.strip())


def _lists(
    sv: tuple[str, ...], nb: tuple[str, ...], en: tuple[str, ...]
) -> Mapping[Language, tuple[str, ...]]:
    return MappingProxyType({"sv": sv, "nb": nb, "en": en})


# Svordomar / banning / swear words: R-29 "profanity or obscenity".
PROFANITY = _lists(
    sv=_entries(
        """
        jävl*, djävl*, jävel, fan, fy fan, fanken, fasen, helvet*, satan, satans, skit,
        skiten, skitsnack, skitprat, fitta, fittan, fittor, kuk, kuken, kukar, knulla,
        knullar, knull, pissa, piss, hora, horor, horan, röven, arsle, arslet,
        rövslickare
        """
    ),
    nb=_entries(
        """
        faen, fy faen, fyfaen, faens, faenskap, fanden, jævl*, helvet*, hælvete, satan,
        satans, dritt, drittprat, pokker, pokkers, kuk, kuken, pikk, pikken, fitte,
        fitta, knulle, knull, pule, puler, hore, horer, ræva, piss, pisse, rævhøl,
        rasshøl
        """
    ),
    en=_entries(
        """
        fuck*, motherfuck*, shit, shits, shitty, bullshit, horseshit, damn, dammit,
        goddamn, goddammit, crap, crappy, cunt, cunts, cock, cocks, cocksucker, dick,
        dicks, piss, pissed, bitch, bitches, bitchy, bollocks, bugger, wank, wanker,
        tits, pussy, whore, whores, arse, ass
        """
    ),
)

# Förolämpningar / fornærmelser / insults: R-29 "defamation, personal attacks
# or insults". A word list finds the vocabulary of an attack, never whether a
# statement about a person is false (förtal): that takes a human.
INSULTS = _lists(
    sv=_entries(
        """
        idiot*, jubelidiot, dumhuvud, dumskalle, dumbom, pucko, korkad, korkade,
        efterbliven, efterblivna, mongo, fjant, fjantar, mupp, tönt, töntar, kräk, äckel,
        svin, skitstövel, skitstövlar, rövhål, kukhuvud, fittansikte, luder, slyna,
        subba, fetto, pundare, dåre, dårar
        """
    ),
    nb=_entries(
        """
        idiot*, tosk, tosken, tulling, tullinger, kødd, kødder, drittsekk, drittsekker,
        dumskalle, dumming, tufs, fjols, evneveik, mongo, teit, hestkuk, rævslikker,
        kjerring, mongis, tulleboks
        """
    ),
    en=_entries(
        """
        idiot*, moron, morons, moronic, imbecile, imbeciles, cretin, dumbass, dumbasses,
        dickhead, dickheads, asshole, assholes, arsehole, jackass, dipshit, shithead,
        douchebag, scumbag, scumbags, loser, losers, retard, retarded, twat,
        piece of shit
        """
    ),
)

# Hets mot folkgrupp / hatefulle ytringer: R-29 "agitation against a population
# group". Deliberately a small demonstration set of well-known derogatory terms
# and dehumanising compounds; municipalities extend it with expert advice
# (Brå, politiet), and a human always judges context.
AGITATION = _lists(
    sv=_entries(
        """
        blatte, blattar, blattarna, svartskalle, svartskallar, zigenarpack,
        invandrarpack, muslimpack, judepack, untermensch
        """
    ),
    nb=_entries(
        """
        svarting, svartinger, pakkis, pakkiser, sigøynerpakk, innvandrerpakk, muslimpakk,
        jødepakk, untermensch
        """
    ),
    en=_entries("subhuman, subhumans, vermin, go back to your country, untermensch"),
)

# Sales language: R-32 advertising needs this AND a link.
SALES_PHRASES = _lists(
    sv=_entries(
        """
        köp nu, köp här, rabatt, rabattkod, erbjudande, erbjudandet, gratis frakt,
        fri frakt, beställ, beställ nu, billig, billiga, billigt, rea, extrapris,
        kampanjkod, klicka här, tjäna pengar, halva priset, passa på
        """
    ),
    nb=_entries(
        """
        kjøp nå, kjøp her, tilbud, rabatt, rabattkode, gratis frakt, fri frakt, bestill,
        bestill nå, billig, billige, salg, kampanjekode, klikk her, tjen penger,
        halv pris
        """
    ),
    en=_entries(
        """
        buy now, shop now, order now, discount, discounts, free shipping, limited offer,
        limited time offer, special offer, click here, promo code, coupon, cheap,
        best price, on sale, for sale, earn money, make money, work from home
        """
    ),
)

# Negative mood for the storm signal. Criticism is answered, never
# removed for being critical; these words only count messages.
CRITICAL_WORDS = _lists(
    sv=_entries(
        """
        skandal, skandalen, skandalöst, skandalös, skäms, skämmes, skam, inkompetent,
        inkompetenta, avgå, oacceptabelt, katastrof, katastrofalt, bedrövligt, vansinne,
        vansinnigt, slöseri, lögn, lögner, lögnare, korrupt, korruption, pinsamt,
        upprörd, upprörande, förbannad, bojkott, misskött, fiasko, hemskt, uselt,
        värdelös, värdelöst, sämst, sämsta, dålig, dåligt, dåliga, skräp,
        skandalkommun, usel, usla, hopplöst, oförskämt
        """
    ),
    nb=_entries(
        """
        skandale, skandaløst, skam, skamme, skjemmes, inkompetent, inkompetente,
        må gå av, bør gå av, uakseptabelt, katastrofe, katastrofalt, sløseri, løgn,
        løgner, korrupt, korrupsjon, pinlig, forbannet, opprørt, opprørende, boikott,
        fiasko, elendig, håpløst, verdiløs, dårligst, dårligste, dårlig, dårlige, verst,
        verste, søppel
        """
    ),
    en=_entries(
        """
        disgrace, disgraceful, shame, shameful, resign, incompetent, scandal, scandalous,
        outrage, outrageous, unacceptable, corrupt, corruption, liars, pathetic,
        disaster, waste of money, ridiculous, boycott, stupid, useless, worst, terrible,
        awful
        """
    ),
)

# Phrases in which a listed word is harmless; a hit inside one is dropped.
# "fan" is a Swedish swear word and an English/Swedish word for a supporter.
INNOCENT_PHRASES = _entries(
    """
    fan av, ett fan, stort fan, fan of, a fan, big fan, huge fan, the fan, fan club
    """
)
