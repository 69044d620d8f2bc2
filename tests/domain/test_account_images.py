"""R-41: "Images need rights and consent; children under 15 need written
consent from a guardian (recorded with a post)." A staff post recorded with
images names each image's rights holder and the consents it needs; without
them the post is refused with the reason, and what was given is kept with
the post on the record (also through an R-44 hold and its confirmation)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.account import (
    ConfirmPost,
    ConsentUpload,
    PostHeld,
    PostImage,
    PostRecorded,
    RecordPost,
    RuleViolation,
    Stage,
)
from tests.domain.conftest import MANAGER, REQUESTER, Journey

Walk = Callable[..., Journey]
CHILD = PostImage(rights="Foto: Lisa Berg, kommunens bildbank", shows_people=True,
                  child_under_15=True)


def post(journey: Journey, *images: PostImage, text: str | None = None,
         post_id: str = "p-1") -> RecordPost:
    return RecordPost(actor=REQUESTER, post_id=post_id, text=text,
                      published_at=journey.now, images=images)


@pytest.fixture
def active(walk: Walk) -> Journey:
    return walk(Stage.ACTIVE)


def test_r41_a_child_under_15_without_a_guardians_consent_is_refused(active: Journey) -> None:
    """R-41: an image of a child under 15 with no guardian's written consent
    is refused, naming the image and what it lacks; nothing is recorded."""
    posts_before = len(active.current.monitoring.posts)
    with pytest.raises(RuleViolation) as refused:
        active.decide(post(active, PostImage(rights="Egen bild"), CHILD))
    assert refused.value.key == "post.image_guardian_consent"
    assert refused.value.params == {"image": "2"}
    assert "guardian" in refused.value.message and "under 15" in refused.value.message
    assert len(active.current.monitoring.posts) == posts_before


def test_r41_the_guardians_consent_is_recorded_with_the_post(active: Journey) -> None:
    """R-41: with the consent's reference the post is recorded, and the
    reference is on the record with it."""
    image = CHILD.model_copy(update={"guardian_consent": "KS 2026/00042"})
    [recorded] = active.do(post(active, image))
    assert isinstance(recorded, PostRecorded)
    assert recorded.images == (image,)
    assert recorded.images[0].guardian_consent == "KS 2026/00042"


@pytest.mark.parametrize(("image", "key"), [
    (PostImage(), "post.image_rights"),
    (PostImage(rights="  "), "post.image_rights"),
    (PostImage(rights="Foto: Per Ek", shows_people=True), "post.image_consent"),
])
def test_r41_rights_and_the_consent_of_people_shown_are_required(
        active: Journey, image: PostImage, key: str) -> None:
    """R-41: an image without a rights holder, or showing people without
    their consent, is refused with its own reason."""
    with pytest.raises(RuleViolation) as refused:
        active.decide(post(active, image))
    assert refused.value.key == key and "R-41" in refused.value.message


def test_r41_an_image_with_rights_and_consent_and_a_post_without_images(
        active: Journey) -> None:
    """R-41: rights and consent given: recorded; a post without images
    (or the connector's report) needs none."""
    image = PostImage(rights="CC BY 4.0, Per Ek", shows_people=True, consent="Samtycke 12/2026")
    [one] = active.do(post(active, image))
    assert isinstance(one, PostRecorded) and one.images == (image,)
    [two] = active.do(post(active, post_id="p-2"))
    assert isinstance(two, PostRecorded) and two.images == ()


def test_r41_r44_a_held_post_keeps_its_consents_until_confirmed(active: Journey) -> None:
    """R-41 with R-44: a post held for confidential text carries its images'
    consents to the confirmation that records it."""
    image = CHILD.model_copy(update={"guardian_consent": "upload:samtycke-anna.pdf"})
    [held] = active.do(post(active, image, text="Sekretessbelagd uppgift"))
    assert isinstance(held, PostHeld) and held.images == (image,)
    [recorded] = active.do(ConfirmPost(actor=MANAGER, post_id="p-1"))
    assert isinstance(recorded, PostRecorded) and recorded.images == (image,)


SIGNED = ConsentUpload(upload_id="5b1c0d4e-upload", sha256="c0" * 32,
                       file_name="samtycke-vardnadshavare.pdf")


def test_r41_the_signed_consent_uploaded_is_recorded_with_the_post(active: Journey) -> None:
    """R-41 (issue 14): the guardian's signed consent as an upload, without
    a reference: the post is recorded and names the upload and its digest."""
    image = CHILD.model_copy(update={"guardian_consent_upload": SIGNED})
    [recorded] = active.do(post(active, image))
    assert isinstance(recorded, PostRecorded)
    assert recorded.images[0].guardian_consent is None
    assert recorded.images[0].guardian_consent_upload == SIGNED
    # On the record as JSON, as the event store keeps it.
    assert recorded.model_dump(mode="json")["images"][0]["guardian_consent_upload"][
        "sha256"] == SIGNED.sha256


def test_r41_neither_a_reference_nor_an_upload_is_still_refused(active: Journey) -> None:
    """R-41: a child under 15 with an empty reference and no upload: refused with the reason."""
    with pytest.raises(RuleViolation) as refused:
        active.decide(post(active, CHILD.model_copy(update={"guardian_consent": ""})))
    assert refused.value.key == "post.image_guardian_consent"
