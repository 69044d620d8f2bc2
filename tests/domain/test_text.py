"""Free text is normalised so it can always be recorded (issue 9)."""

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from domain.text import CleanText, clean_text, unrecordable


def test_nul_and_controls_are_removed_line_breaks_kept() -> None:
    assert clean_text("a\x00b\x07c\td\ne\r\nf\x7f") == "ab" + "c\td\ne\r\nf"


def test_lone_surrogates_become_the_replacement_character() -> None:
    assert clean_text("x\ud800y\udfffz") == "x\ufffdy\ufffdz"
    assert unrecordable("x\ud800") is not None
    assert unrecordable("a\x00") is not None
    assert unrecordable("fine") is None


def test_what_people_write_is_kept() -> None:
    text = "שלום \u200f mixed \u200d👩\u200d👩\u200d👧 ÅÄÖ æøå \u200b"
    assert clean_text(text) == text


class _Model(BaseModel):
    reason: CleanText


@given(st.text())
def test_any_text_is_utf8_encodable_and_nul_free_after_cleaning(text: str) -> None:
    cleaned = _Model(reason=text).reason
    assert "\x00" not in cleaned
    cleaned.encode("utf-8")  # raises on a lone surrogate
    assert unrecordable(cleaned) is None
