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


def test_an_inbound_message_from_json_is_cleaned_of_lone_surrogates_and_nul() -> None:
    """Issue 9: a delivery's comment with a NUL and a lone surrogate (as
    Python's json module reads them) becomes a message that can be stored."""
    import json

    from domain.inbound import InboundMessage

    raw = ('{"platform": "facebook", "external_id": "1", "kind": "comment", '
           '"account_ref": "1", "author_name": "K\\u0000im", "text": "a\\ud800b\\u0000c", '
           '"published_at": "2026-01-01T00:00:00Z"}')
    message = InboundMessage.model_validate(json.loads(raw))
    assert (message.text, message.author_name) == ("a\ufffdbc", "Kim")
