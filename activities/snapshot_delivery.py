"""Delivering an archive package to the registrar's archive location.

- `FolderDelivery` (the default): the bag is written straight into the
  archive folder (`KANALVAKT_ARCHIVE_DIR/<municipality>/<package>`), which
  is the registrar's location; delivery only confirms it is there and valid.
- `S3Delivery`: every file of the bag is PUT to an S3-compatible bucket under
  `<prefix><municipality>/<package>/...`, signed with AWS Signature V4 by a
  small httpx client (no AWS SDK), each object carrying its SHA-256 as
  `x-amz-content-sha256` (the server checks it) and `x-amz-meta-sha256`.
  The tag files go last, so a bag whose `tagmanifest-sha256.txt` is there is
  complete. A retry PUTs the same bytes again: S3 PUT is idempotent.

Settings (S3): KANALVAKT_ARCHIVE_S3_ENDPOINT (e.g. https://s3.eu-north-1.amazonaws.com
or a MinIO URL), KANALVAKT_ARCHIVE_S3_BUCKET, KANALVAKT_ARCHIVE_S3_PREFIX (optional),
KANALVAKT_ARCHIVE_S3_REGION (default us-east-1), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
Path-style URLs, so any S3-compatible server works.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import quote

import httpx

_TAG_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt")


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
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    prefix: str = ""
    kind: Literal["folder", "s3"] = "s3"

    @classmethod
    def from_env(cls) -> S3Delivery:
        missing = [name for name in ("KANALVAKT_ARCHIVE_S3_ENDPOINT", "KANALVAKT_ARCHIVE_S3_BUCKET",
                                     "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
                   if not os.environ.get(name)]
        if missing:
            raise ValueError("S3 archive delivery needs " + ", ".join(missing))
        return cls(endpoint=os.environ["KANALVAKT_ARCHIVE_S3_ENDPOINT"],
                   bucket=os.environ["KANALVAKT_ARCHIVE_S3_BUCKET"],
                   access_key=os.environ["AWS_ACCESS_KEY_ID"],
                   secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                   region=os.environ.get("KANALVAKT_ARCHIVE_S3_REGION", "us-east-1"),
                   prefix=os.environ.get("KANALVAKT_ARCHIVE_S3_PREFIX", ""))

    async def deliver(self, bag: Path, key: str) -> str:
        def listing() -> list[Path]:
            return sorted((p for p in bag.rglob("*") if p.is_file()),
                          key=lambda p: (p.name in _TAG_FILES, p.name == _TAG_FILES[-1], str(p)))

        files = await asyncio.to_thread(listing)
        async with httpx.AsyncClient(timeout=60) as http:
            for path in files:
                content = await asyncio.to_thread(path.read_bytes)
                object_key = f"{self.prefix}{key}/{path.relative_to(bag).as_posix()}"
                await self.put(http, object_key, content)
        return f"s3://{self.bucket}/{self.prefix}{key}/"

    def url(self, object_key: str) -> str:
        encoded = "/".join(quote(part, safe="-_.~") for part in object_key.split("/"))
        return f"{self.endpoint.rstrip('/')}/{quote(self.bucket, safe='-_.~')}/{encoded}"

    async def put(self, http: httpx.AsyncClient, object_key: str, content: bytes) -> None:
        digest = hashlib.sha256(content).hexdigest()
        url = self.url(object_key)
        headers = self.signed_headers("PUT", url, digest, extra={"x-amz-meta-sha256": digest})
        response = await http.put(url, content=content, headers=headers)
        if response.status_code >= 300:
            raise DeliveryError(f"S3 PUT {object_key}: HTTP {response.status_code} "
                                f"{response.text[:300]}")

    async def head(self, http: httpx.AsyncClient, object_key: str) -> httpx.Response:
        url = self.url(object_key)
        return await http.head(url, headers=self.signed_headers(
            "HEAD", url, hashlib.sha256(b"").hexdigest()))

    async def get(self, http: httpx.AsyncClient, object_key: str) -> bytes:
        url = self.url(object_key)
        response = await http.get(url, headers=self.signed_headers(
            "GET", url, hashlib.sha256(b"").hexdigest()))
        response.raise_for_status()
        return response.content

    def signed_headers(self, method: str, url: str, payload_sha256: str, *,
                       extra: dict[str, str] | None = None,
                       now: datetime | None = None) -> dict[str, str]:
        """AWS Signature Version 4 headers for a request without a query string."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        amz_date, day = moment.strftime("%Y%m%dT%H%M%SZ"), moment.strftime("%Y%m%d")
        parsed = httpx.URL(url)
        host = parsed.host + (f":{parsed.port}" if parsed.port else "")
        headers = {"host": host, "x-amz-content-sha256": payload_sha256, "x-amz-date": amz_date,
                   **{k.lower(): v for k, v in (extra or {}).items()}}
        signed = ";".join(sorted(headers))
        canonical = "\n".join([
            method, parsed.raw_path.decode().split("?")[0], "",
            "".join(f"{k}:{headers[k].strip()}\n" for k in sorted(headers)), signed,
            payload_sha256])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + self.secret_key).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}")
        del headers["host"]  # httpx sends it; it was signed with the same value
        return headers
