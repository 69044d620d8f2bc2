"""Delivering an archive package to the registrar's archive location.

- `FolderDelivery` (the default): the bag is written straight into the
  archive folder (`KANALVAKT_ARCHIVE_DIR/<municipality>/<package>`), which
  is the registrar's location; delivery only confirms it is there and valid.
- `S3Delivery`: every file of the bag is uploaded to an S3-compatible bucket
  under `<prefix><municipality>/<package>/...` with boto3 (issue 12; see
  docs/decisions.md "Archive delivery with boto3"), each object carrying its
  SHA-256 as `x-amz-meta-sha256`. Files larger than the multipart threshold
  go up in parts (s3transfer). The tag files go last, so a bag whose
  `tagmanifest-sha256.txt` is there is complete. A retry uploads the same
  bytes again: S3 PUT is idempotent.

Credentials: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and
`AWS_SESSION_TOKEN` for temporary ones) when set; otherwise boto3's own
chain finds them (a web identity token of a Kubernetes service account, an
instance or task role, a profile that assumes a role), refreshing expiring
ones itself. Path-style URLs, so any S3-compatible server works.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import settings as app_settings

_TAG_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt")
MIB = 1024 * 1024


class Delivery(Protocol):
    @property
    def kind(self) -> Literal["folder", "s3"]: ...

    async def deliver(self, bag: Path, key: str) -> str:
        """Deliver the bag at `bag` as `key` (<municipality>/<package>); its location."""
        ...


class FolderDelivery:
    kind: Literal["folder", "s3"] = "folder"

    async def deliver(self, bag: Path, key: str) -> str:
        if not (bag / "tagmanifest-sha256.txt").is_file():
            raise FileNotFoundError(f"{bag} is not a delivered bag")
        return str(bag)


class DeliveryError(Exception):
    pass


@dataclass(frozen=True)
class S3Delivery:
    endpoint: str
    bucket: str
    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    session_token: str = field(default="", repr=False)
    region: str = "us-east-1"
    prefix: str = ""
    multipart_bytes: int = 8 * MIB  # threshold and part size (S3's least part: 5 MiB)
    kind: Literal["folder", "s3"] = "s3"

    @classmethod
    def from_env(cls) -> S3Delivery:
        cfg = app_settings.load()
        missing = [app_settings.variable(name) for name in (
            "archive_s3_endpoint", "archive_s3_bucket") if not getattr(cfg, name)]
        if missing:
            raise ValueError("S3 archive delivery needs " + ", ".join(missing))
        return cls(endpoint=cfg.archive_s3_endpoint, bucket=cfg.archive_s3_bucket,
                   access_key=cfg.aws_access_key_id, secret_key=cfg.aws_secret_access_key,
                   session_token=cfg.aws_session_token, region=cfg.archive_s3_region,
                   prefix=cfg.archive_s3_prefix,
                   multipart_bytes=cfg.archive_s3_multipart_mib * MIB)

    def client(self) -> Any:
        """A boto3 S3 client for the endpoint (blocking: use it in a thread)."""
        import boto3
        from botocore.config import Config

        keys: dict[str, str] = {}
        if self.access_key:
            keys = {"aws_access_key_id": self.access_key,
                    "aws_secret_access_key": self.secret_key}
            if self.session_token:
                keys["aws_session_token"] = self.session_token
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name=self.region, **keys,
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"},
                          signature_version="s3v4"))

    async def deliver(self, bag: Path, key: str) -> str:
        await asyncio.to_thread(self.deliver_blocking, bag, key)
        return f"s3://{self.bucket}/{self.prefix}{key}/"

    def deliver_blocking(self, bag: Path, key: str) -> None:
        from boto3.exceptions import Boto3Error
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        files = sorted((p for p in bag.rglob("*") if p.is_file()),
                       key=lambda p: (p.name in _TAG_FILES, p.name == _TAG_FILES[-1], str(p)))
        transfer = TransferConfig(multipart_threshold=self.multipart_bytes,
                                  multipart_chunksize=self.multipart_bytes, max_concurrency=4)
        s3 = self.client()
        for path in files:
            object_key = f"{self.prefix}{key}/{path.relative_to(bag).as_posix()}"
            try:
                s3.upload_file(str(path), self.bucket, object_key, Config=transfer,
                               ExtraArgs={"Metadata": {"sha256": _sha256(path)}})
            # upload_file wraps a refused part or PUT in S3UploadFailedError (Boto3Error).
            except (Boto3Error, BotoCoreError, ClientError) as err:
                raise DeliveryError(f"S3 upload of {object_key}: {err}") from err


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()
