"""R-41: images need rights and consent; children under 15 need written
consent from a guardian, recorded with the post ("Bilder kräver
upphovsrätt och samtycke; barn under 15 år kräver skriftligt samtycke från
vårdnadshavare").

A staff post recorded through Kanalvakt names, for each image, who holds its
rights (the photographer, a licence, the municipality's own image bank) and,
where people can be recognised, the consent they gave; for a child under 15,
the guardian's written consent as a reference (a diarium number, a document
id) or as an upload of the signed consent (issue 14: a PDF or an image of it,
kept in PostgreSQL with the record, store/record_uploads.py; the post names
its upload id and SHA-256 digest). A post whose images lack what is
required is refused with the reason."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.core import RuleViolation
from domain.text import CleanStrings

Reference = str | None


class ConsentUpload(CleanStrings):
    """R-41: the signed consent as uploaded: which file, and its digest."""

    model_config = ConfigDict(frozen=True)

    upload_id: str = Field(min_length=1, max_length=64)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    file_name: str = Field(min_length=1, max_length=200)


class PostImage(CleanStrings):
    """One image of a post, as recorded with it (R-41)."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    # Who holds the rights, or the licence the municipality uses it under.
    rights: Reference = Field(None, max_length=300)
    # Recognisable people are shown: their consent is recorded.
    shows_people: bool = False
    consent: Reference = Field(None, max_length=300)
    # A child under 15 is shown: a guardian's written consent is recorded.
    child_under_15: bool = False
    guardian_consent: Reference = Field(None, max_length=300)
    # ... or the signed consent itself, uploaded (issue 14).
    guardian_consent_upload: ConsentUpload | None = None

    @property
    def has_guardian_consent(self) -> bool:
        return bool(self.guardian_consent) or self.guardian_consent_upload is not None


MAX_IMAGES = 50


def require_image_rights(images: list[PostImage] | tuple[PostImage, ...]) -> None:
    """R-41: refuse a post whose images lack their rights or a required
    consent, naming the first image (1-based) and what it lacks."""
    if len(images) > MAX_IMAGES:
        raise RuleViolation(f"a post records at most {MAX_IMAGES} images",
                            key="post.images_too_many", params={"max": str(MAX_IMAGES)})
    for n, image in enumerate(images, start=1):
        params = {"image": str(n)}
        if not image.rights:
            raise RuleViolation(
                f"R-41: image {n} has no rights holder: say who holds the rights to it "
                "(the photographer, the licence or the image bank)",
                key="post.image_rights", params=params)
        if image.shows_people and not image.consent and not image.child_under_15:
            raise RuleViolation(
                f"R-41: image {n} shows people: record their consent to being published",
                key="post.image_consent", params=params)
        if image.child_under_15 and not image.has_guardian_consent:
            raise RuleViolation(
                f"R-41: image {n} shows a child under 15: a guardian's written consent is "
                "recorded with the post (upload it or give its reference) before it is "
                "published", key="post.image_guardian_consent", params=params)


ConsentEnd = Literal["withdrawn", "disposed"]


class RecordedConsent(BaseModel):
    """R-41 (issue 14): an uploaded guardian's consent as the account's
    record knows it: the post it came with, and whether it was withdrawn by
    the guardian or disposed of (its file destroyed), by whom, when and why."""

    model_config = ConfigDict(frozen=True)

    upload_id: str
    post_id: str
    file_name: str
    sha256: str
    recorded_at: datetime
    ended: ConsentEnd | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    reason: str | None = None


def consents_of_post(post_id: str, images: tuple[PostImage, ...] | list[PostImage],
                     at: datetime) -> list[RecordedConsent]:
    """The uploaded consents a recorded post names (R-41)."""
    return [RecordedConsent(upload_id=i.guardian_consent_upload.upload_id, post_id=post_id,
                            file_name=i.guardian_consent_upload.file_name,
                            sha256=i.guardian_consent_upload.sha256, recorded_at=at)
            for i in images if i.guardian_consent_upload is not None]
