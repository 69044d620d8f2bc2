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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx

import settings as app_settings

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
        cfg = app_settings.load()
        missing = [app_settings.variable(name) for name in (
            "archive_s3_endpoint", "archive_s3_bucket", "aws_access_key_id",
            "aws_secret_access_key") if not getattr(cfg, name)]
        if missing:
            raise ValueError("S3 archive delivery needs " + ", ".join(missing))
        return cls(endpoint=cfg.archive_s3_endpoint, bucket=cfg.archive_s3_bucket,
                   access_key=cfg.aws_access_key_id, secret_key=cfg.aws_secret_access_key,
                   region=cfg.archive_s3_region, prefix=cfg.archive_s3_prefix)

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
        """The headers that sign a request to the bucket: x-amz-date,
        x-amz-content-sha256, `extra`, and the SigV4 authorization over them
        and the host (which httpx sends itself, with the same value)."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        parsed = httpx.URL(url)
        host = parsed.host + (f":{parsed.port}" if parsed.port else "")
        headers = {"x-amz-content-sha256": payload_sha256,
                   "x-amz-date": moment.strftime("%Y%m%dT%H%M%SZ"),
                   **{k.lower(): v for k, v in (extra or {}).items()}}
        headers["authorization"] = sigv4_authorization(
            method, url, {"host": host, **headers}, payload_sha256, moment,
            SigningKey(self.access_key, self.secret_key, self.region, "s3"))
        return headers


@dataclass(frozen=True)
class SigningKey:
    """Credentials and scope of an AWS Signature Version 4 signature."""

    access_key: str
    secret_key: str
    region: str
    service: str


def _uri_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_request(method: str, url: str, headers: dict[str, str],
                      payload_sha256: str) -> tuple[str, str]:
    """SigV4's canonical request and its signed-header list. The path is
    normalised to one encoding of each segment (as S3 wants: an already
    encoded URL is decoded first); the query is sorted by name and value,
    each encoded; every given header is signed, names lower-cased, values
    trimmed with inner runs of spaces folded to one."""
    parsed = urlsplit(url)
    path = "/".join(_uri_encode(unquote(part)) for part in (parsed.path or "/").split("/"))
    query = "&".join(f"{k}={v}" for k, v in sorted(
        (_uri_encode(k), _uri_encode(v))
        for k, v in parse_qsl(parsed.query, keep_blank_values=True)))
    lowered = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    signed = ";".join(sorted(lowered))
    return "\n".join([
        method.upper(), path, query, "".join(f"{k}:{lowered[k]}\n" for k in sorted(lowered)),
        signed, payload_sha256]), signed


def sigv4_authorization(method: str, url: str, headers: dict[str, str], payload_sha256: str,
                        at: datetime, key: SigningKey) -> str:
    """The `Authorization` header of AWS Signature Version 4 for a request:
    pure (time and credentials are arguments), so it is tested on AWS's
    published examples. `headers` are the headers to sign, `host` among them;
    their `x-amz-date` (if any) must be `at`."""
    moment = at.astimezone(UTC)
    amz_date, day = moment.strftime("%Y%m%dT%H%M%SZ"), moment.strftime("%Y%m%d")
    canonical, signed = canonical_request(method, url, headers, payload_sha256)
    scope = f"{day}/{key.region}/{key.service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    secret = ("AWS4" + key.secret_key).encode()
    for part in (day, key.region, key.service, "aws4_request"):
        secret = hmac.new(secret, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(secret, to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"AWS4-HMAC-SHA256 Credential={key.access_key}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}")
