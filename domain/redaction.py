"""What may be removed from an official account, and under which law (R-29..R-33).

Each removal category names its Swedish and Norwegian legal basis, so the
moderation log can record "removed as X under Y" (R-29), and says how the item
is handled: a preserved copy is kept before unpublishing (R-30) except for
advertising (R-32); confidential content, and sensitive personal data handled
the same way, is registered as a case before it is deleted (R-31).

Law references cite the act and, where it is certain, the section. Where a
category rests on no statute (profanity), the municipality's own guideline is
the basis and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

from domain.country import Country

# Lag (1998:112) om ansvar för elektroniska anslagstavlor, 5 §: the provider
# must remove messages that are obviously uppvigling, hets mot folkgrupp,
# barnpornografibrott, olaga våldsskildring or copyright infringement.
_BBS_ACT = "lag (1998:112) om ansvar för elektroniska anslagstavlor 5 §"


class RemovalCategory(StrEnum):
    DEFAMATION_OR_INSULT = "defamation_or_insult"
    AGITATION_AGAINST_GROUP = "agitation_against_group"
    SEXISM_OR_HARASSMENT = "sexism_or_harassment"
    UNLAWFUL_VIOLENCE_OR_PORNOGRAPHY = "unlawful_violence_or_pornography"
    INCITEMENT_TO_CRIME = "incitement_to_crime"
    COPYRIGHT_INFRINGEMENT = "copyright_infringement"
    PROFANITY_OR_OBSCENITY = "profanity_or_obscenity"
    ADVERTISING = "advertising"
    CONFIDENTIAL_INFORMATION = "confidential_information"
    PRIVACY_OR_SENSITIVE_DATA = "privacy_or_sensitive_data"


class CategoryRule(BaseModel):
    """One R-29 category: its stable id, its law in each country, and its handling.

    The category's name for people is a text of the web layer's
    (`removal.<category>` in texts/locale/), in the reader's language.
    `record_class` is the diarium class a removal registered before deletion
    gets (R-31, R-50): a value on the record, the same since it was first
    recorded, not a label."""

    model_config = ConfigDict(frozen=True)

    category: RemovalCategory
    record_class: str = Field(min_length=1)
    law_se: str = Field(min_length=1)
    law_no: str = Field(min_length=1)
    keep_copy: bool = True
    register_before_delete: bool = False
    note: str = ""

    def law(self, country: Country) -> str:
        return self.law_se if country == Country.SE else self.law_no


def _rules(*rules: CategoryRule) -> Mapping[RemovalCategory, CategoryRule]:
    return MappingProxyType({rule.category: rule for rule in rules})


CATEGORIES: Mapping[RemovalCategory, CategoryRule] = _rules(
    CategoryRule(
        category=RemovalCategory.DEFAMATION_OR_INSULT,
        record_class="Förtal, personliga angrepp eller förolämpningar",
        law_se="Brottsbalken (1962:700) 5 kap. 1–3 §§ (förtal, grovt förtal, förolämpning)",
        law_no="Skadeserstatningsloven (1969) § 3-6 a (ærekrenkelse; avkriminalisert 2015)",
        note="R-34: criticism is answered, not deleted; only attacks on persons are removed.",
    ),
    CategoryRule(
        category=RemovalCategory.AGITATION_AGAINST_GROUP,
        record_class="Hets mot folkgrupp",
        law_se=f"Brottsbalken (1962:700) 16 kap. 8 § (hets mot folkgrupp); {_BBS_ACT}",
        law_no="Straffeloven (2005) § 185 (hatefulle ytringer)",
    ),
    CategoryRule(
        category=RemovalCategory.SEXISM_OR_HARASSMENT,
        record_class="Sexistiska yttranden eller andra trakasserier",
        law_se=(
            "Brottsbalken (1962:700) 4 kap. 7 § (ofredande), 6 kap. 10 § (sexuellt "
            "ofredande), 4 kap. 6 c § (olaga integritetsintrång)"
        ),
        law_no=(
            "Straffeloven (2005) § 266 (hensynsløs atferd), § 266 a (alvorlig "
            "personforfølgelse), § 267 a (deling av krenkende bilder)"
        ),
        note="R-34: harassment is always removed.",
    ),
    CategoryRule(
        category=RemovalCategory.UNLAWFUL_VIOLENCE_OR_PORNOGRAPHY,
        record_class="Olaga våldsskildring eller pornografi (även barnpornografi)",
        law_se=(
            "Brottsbalken (1962:700) 16 kap. 10 a § (barnpornografibrott), 16 kap. 10 c § "
            f"(olaga våldsskildring); {_BBS_ACT}"
        ),
        law_no=(
            "Straffeloven (2005) § 311 (fremstilling av seksuelle overgrep mot barn), "
            "§ 317 (pornografi)"
        ),
        note=(
            "Child sexual abuse material is not copied into the archive: possessing it is "
            "itself an offence. Keep the metadata, report to the police."
        ),
    ),
    CategoryRule(
        category=RemovalCategory.INCITEMENT_TO_CRIME,
        record_class="Uppvigling eller uppmaning till brott",
        law_se=f"Brottsbalken (1962:700) 16 kap. 5 § (uppvigling); {_BBS_ACT}",
        law_no="Straffeloven (2005) § 183 (oppfordring til en straffbar handling)",
    ),
    CategoryRule(
        category=RemovalCategory.COPYRIGHT_INFRINGEMENT,
        record_class="Olovligt bruk av upphovsrättsligt skyddat material",
        law_se=f"Lag (1960:729) om upphovsrätt till litterära och konstnärliga verk; {_BBS_ACT}",
        law_no="Åndsverkloven (2018)",
    ),
    CategoryRule(
        category=RemovalCategory.PROFANITY_OR_OBSCENITY,
        record_class="Svordomar eller obscena ord",
        law_se="Ingen lag; kommunens riktlinje för sociala medier",
        law_no="Ingen lov; kommunens retningslinjer for sosiale medier",
        note="A guideline rule, not a legal duty: the municipality's own comment policy.",
    ),
    CategoryRule(
        category=RemovalCategory.ADVERTISING,
        record_class="Kommersiella budskap eller reklam",
        law_se=(
            "Kommunens riktlinje (reklam tas bort och bevaras inte); "
            "jfr marknadsföringslagen (2008:486)"
        ),
        law_no=(
            "Kommunens retningslinjer (salgsrettet reklame slettes); jf. markedsføringsloven (2009)"
        ),
        keep_copy=False,
        note=(
            "R-32: removed and not kept; R-33: deleting without a copy needs a disposal "
            "decision (gallringsbeslut)."
        ),
    ),
    CategoryRule(
        category=RemovalCategory.CONFIDENTIAL_INFORMATION,
        record_class="Sekretessbelagda uppgifter",
        law_se="Offentlighets- och sekretesslagen (2009:400)",
        law_no="Forvaltningsloven (1967) § 13 (taushetsplikt); offentleglova (2006) § 13",
        register_before_delete=True,
        note="R-31: capture, register as a case, then delete; always registered.",
    ),
    CategoryRule(
        category=RemovalCategory.PRIVACY_OR_SENSITIVE_DATA,
        record_class="Integritetskränkning eller känsliga personuppgifter",
        law_se=(
            "Dataskyddsförordningen (EU) 2016/679 art. 9; lag (2018:218) 3 kap. 10 § "
            "(personnummer och samordningsnummer)"
        ),
        law_no=(
            "Personvernforordningen (EU) 2016/679 art. 9; personopplysningsloven (2018) "
            "§ 12 (fødselsnummer)"
        ),
        register_before_delete=True,  # handled like confidential content
        note="R-34: sensitive personal data are removed; registered like confidential content.",
    ),
)


def rule_for(category: RemovalCategory | str) -> CategoryRule:
    return CATEGORIES[RemovalCategory(category)]


def mask(text: str, spans: Iterable[tuple[int, int]], char: str = "•") -> str:
    """`text` with each span replaced by `char`s of the same length, so offsets
    stay valid: for read models and logs that must not repeat personal data."""
    if len(char) != 1:
        raise ValueError("the mask is one character, so offsets stay valid")
    chars = list(text)
    for start, end in spans:
        start, end = max(start, 0), min(end, len(chars))
        chars[start:end] = char * max(end - start, 0)
    return "".join(chars)
