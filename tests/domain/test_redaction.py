"""The removal categories of R-29, each with its law in Sweden and Norway, and
their handling: a copy kept (R-30), registered before deletion (R-31), or
removed without a copy (R-32)."""

import pydantic
import pytest

from domain.directory import Country
from domain.redaction import CATEGORIES, CategoryRule, RemovalCategory, mask, rule_for

OTHERS_THAN_ADVERTISING = [c for c in RemovalCategory if c is not RemovalCategory.ADVERTISING]
REGISTERED = {RemovalCategory.CONFIDENTIAL_INFORMATION, RemovalCategory.PRIVACY_OR_SENSITIVE_DATA}


@pytest.mark.parametrize("category", list(RemovalCategory))
def test_r29_every_category_has_a_rule_with_both_laws_and_its_record_class(
    category: RemovalCategory,
) -> None:
    rule = rule_for(category)
    assert rule.category is category
    assert CATEGORIES[category] is rule
    for text in (rule.law_se, rule.law_no, rule.record_class):
        assert text.strip()
    # Its name for people is `removal.<category>` in every catalog
    # (tests/e2e/test_texts.py).


def test_r29_the_catalogue_is_complete_and_read_only() -> None:
    assert set(CATEGORIES) == set(RemovalCategory)
    with pytest.raises(TypeError):
        CATEGORIES[RemovalCategory.ADVERTISING] = rule_for("advertising")  # type: ignore[index]


@pytest.mark.parametrize(
    "category, law_se, law_no",
    [
        (RemovalCategory.DEFAMATION_OR_INSULT, "Brottsbalken (1962:700) 5 kap. 1–3 §§", "§ 3-6 a"),
        (RemovalCategory.AGITATION_AGAINST_GROUP, "16 kap. 8 §", "Straffeloven (2005) § 185"),
        (RemovalCategory.SEXISM_OR_HARASSMENT, "4 kap. 7 §", "§ 266"),
        (RemovalCategory.UNLAWFUL_VIOLENCE_OR_PORNOGRAPHY, "16 kap. 10 a §", "§ 311"),
        (RemovalCategory.INCITEMENT_TO_CRIME, "16 kap. 5 §", "§ 183"),
        (RemovalCategory.COPYRIGHT_INFRINGEMENT, "(1960:729)", "Åndsverkloven"),
        (RemovalCategory.PROFANITY_OR_OBSCENITY, "riktlinje", "retningslinje"),
        (RemovalCategory.ADVERTISING, "(2008:486)", "markedsføringsloven"),
        (RemovalCategory.CONFIDENTIAL_INFORMATION, "(2009:400)", "§ 13"),
        (RemovalCategory.PRIVACY_OR_SENSITIVE_DATA, "2016/679 art. 9", "2016/679 art. 9"),
    ],
)
def test_r29_each_category_cites_its_law(
    category: RemovalCategory, law_se: str, law_no: str
) -> None:
    rule = rule_for(category)
    assert law_se in rule.law(Country.SE)
    assert law_no in rule.law(Country.NO)


def test_r29_norway_decriminalised_defamation_so_the_basis_is_civil() -> None:
    assert "Skadeserstatningsloven" in rule_for(RemovalCategory.DEFAMATION_OR_INSULT).law_no


def test_r29_child_abuse_material_is_named_and_never_copied_as_such() -> None:
    rule = rule_for(RemovalCategory.UNLAWFUL_VIOLENCE_OR_PORNOGRAPHY)
    assert "barnpornografibrott" in rule.law_se
    assert "overgrep mot barn" in rule.law_no
    assert "police" in rule.note


def test_r32_advertising_is_removed_and_not_kept() -> None:
    rule = rule_for(RemovalCategory.ADVERTISING)
    assert rule.keep_copy is False
    assert rule.register_before_delete is False


@pytest.mark.parametrize("category", OTHERS_THAN_ADVERTISING)
def test_r30_everything_but_advertising_keeps_a_copy(category: RemovalCategory) -> None:
    assert rule_for(category).keep_copy is True


@pytest.mark.parametrize("category", list(RemovalCategory))
def test_r31_confidential_and_sensitive_data_are_registered_before_deletion(
    category: RemovalCategory,
) -> None:
    rule = rule_for(category)
    assert rule.register_before_delete is (category in REGISTERED)
    if rule.register_before_delete:
        assert rule.keep_copy  # capture, register, then delete


def test_rule_for_accepts_the_stored_value_and_rejects_unknown_ones() -> None:
    assert rule_for("confidential_information").category is (
        RemovalCategory.CONFIDENTIAL_INFORMATION
    )
    with pytest.raises(ValueError):
        rule_for("rude")


def test_rules_are_frozen_values() -> None:
    rule = rule_for(RemovalCategory.ADVERTISING)
    with pytest.raises(pydantic.ValidationError):
        rule.keep_copy = True  # type: ignore[misc]
    assert CategoryRule.model_validate_json(rule.model_dump_json()) == rule


def test_r31_the_record_class_stays_as_recorded_and_the_law_follows_the_country() -> None:
    """The diarium class of a removal registered before deletion is the
    value recorded since R-31 (the name for people is a text of the web
    layer's, removal.<category>); the law is the account's country's."""
    rule = rule_for(RemovalCategory.AGITATION_AGAINST_GROUP)
    assert rule.record_class == "Hets mot folkgrupp"
    assert rule.law(Country.SE).startswith("Brottsbalken (1962:700) 16 kap. 8 §")
    assert rule.law(Country.NO) == "Straffeloven (2005) § 185 (hatefulle ytringer)"


def test_mask_hides_spans_and_keeps_offsets() -> None:
    text = "Mitt nummer är 19121212-1212, ring 070-123 45 67."
    masked = mask(text, [(15, 28), (35, 48)])
    assert len(masked) == len(text)
    assert "1212" not in masked and "070" not in masked
    assert masked.startswith("Mitt nummer är ") and masked.endswith(".")
    assert mask(text, [(-5, 4), (45, 500)]) == "••••" + text[4:45] + "•" * (len(text) - 45)
    with pytest.raises(ValueError):
        mask(text, [(0, 1)], char="XX")
