"""R-38: archive packages delivered to S3-compatible storage with boto3
(issue 12 part 6), against a local S3 server (moto's server mode, in-process
on loopback) with IAM authentication switched on, so moto recomputes every
signature and checks the credentials: temporary credentials (an assumed
role's key, secret and session token) are accepted and a wrong or missing
session token refused; a package file over 5 MiB goes up as a multipart
upload and comes back byte for byte."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bagit
import httpx
import pytest

from adapters.archive import BagFile, write_bag
from adapters.snapshot_delivery import MIB, DeliveryError, S3Delivery

BUCKET = "registrator-arkiv"
PACKAGE = "exempelby-kulturhuset-angen-facebook-snapshot-2026-03-16"


@dataclass(frozen=True)
class LocalS3:
    endpoint: str
    access_key: str  # a permanent IAM user key
    secret_key: str
    temporary: dict[str, str]  # an assumed role's AccessKeyId, SecretAccessKey, SessionToken

    def client(self) -> Any:
        return S3Delivery(endpoint=self.endpoint, bucket=BUCKET, access_key=self.access_key,
                          secret_key=self.secret_key).client()


@pytest.fixture
def local_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalS3]:
    """A moto server that authenticates every request once set up: an IAM
    user allowed s3:* and a role allowed s3:* that the user assumed (STS), so
    its temporary credentials are known to the server; the bucket exists."""
    import boto3
    from moto import settings as moto_settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.server import ThreadedMotoServer

    # Port 0: the server binds a port the system chooses (no race for it).
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    allow_s3 = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    try:
        # moto keeps its accounts per process: start from none.
        httpx.post(f"{endpoint}/moto-api/reset").raise_for_status()
        setup = {"endpoint_url": endpoint, "region_name": "us-east-1",
                 "aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
        iam = boto3.client("iam", **setup)
        iam.create_user(UserName="arkivleverans")
        iam.put_user_policy(UserName="arkivleverans", PolicyName="s3", PolicyDocument=allow_s3)
        key = iam.create_access_key(UserName="arkivleverans")["AccessKey"]
        role = iam.create_role(RoleName="kanalvakt-worker", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                "AWS": "*"}, "Action": "sts:AssumeRole"}]}))["Role"]
        iam.put_role_policy(RoleName="kanalvakt-worker", PolicyName="s3",
                            PolicyDocument=allow_s3)
        temporary = boto3.client("sts", **setup).assume_role(
            RoleArn=role["Arn"], RoleSessionName="worker-1")["Credentials"]
        boto3.client("s3", **setup).create_bucket(Bucket=BUCKET)
        # From here on every request is authenticated (moto recomputes the
        # signature with botocore, and checks an assumed role's session token).
        monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
        yield LocalS3(endpoint, key["AccessKeyId"], key["SecretAccessKey"], {
            k: temporary[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")})
    finally:
        server.stop()


def _bag(tmp_path: Path, extra: list[BagFile] | None = None) -> Path:
    target = tmp_path / PACKAGE
    write_bag(target, [BagFile(path="content/snapshot.html", content="<p>Åsa</p>".encode()),
                       *(extra or [])],
              {"Source-Organization": "Exempelby kommun", "Bagging-Date": "2026-03-16"})
    return target


def _keys(s3: LocalS3) -> list[str]:
    listing = s3.client().list_objects_v2(Bucket=BUCKET)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def _fetch_bag(s3: LocalS3, prefix: str, into: Path) -> Path:
    client = s3.client()
    for key in _keys(s3):
        rel = key.removeprefix(prefix)
        obj = client.get_object(Bucket=BUCKET, Key=key)
        content = obj["Body"].read()
        assert obj["Metadata"]["sha256"] == hashlib.sha256(content).hexdigest(), key
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        (into / rel).write_bytes(content)
    return into


async def test_r38_delivery_with_temporary_credentials_and_their_session_token(
        local_s3: LocalS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An assumed role's credentials (key, secret, session token, as a pod's
    role or an STS session gives them) deliver the bag, read from the
    settings; the same key with a wrong session token, or none, is refused
    (moto: InvalidToken / unknown key) and nothing is stored."""
    bag = _bag(tmp_path)
    creds = local_s3.temporary
    wrong = S3Delivery(endpoint=local_s3.endpoint, bucket=BUCKET,
                       access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                       session_token=creds["SessionToken"][:-4] + "AAAA", prefix="kanalvakt/")
    with pytest.raises(DeliveryError, match="403|Forbidden|InvalidToken"):
        await wrong.deliver(bag, f"exempelby/{bag.name}")
    without = S3Delivery(endpoint=local_s3.endpoint, bucket=BUCKET,
                         access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                         prefix="kanalvakt/")
    with pytest.raises(DeliveryError):
        await without.deliver(bag, f"exempelby/{bag.name}")
    assert _keys(local_s3) == []

    for name, value in {"KANALVAKT_ARCHIVE_S3_ENDPOINT": local_s3.endpoint,
                        "KANALVAKT_ARCHIVE_S3_BUCKET": BUCKET,
                        "KANALVAKT_ARCHIVE_S3_PREFIX": "kanalvakt/",
                        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
                        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                        "AWS_SESSION_TOKEN": creds["SessionToken"]}.items():
        monkeypatch.setenv(name, value)
    delivery = S3Delivery.from_env()
    assert delivery.session_token == creds["SessionToken"]
    assert creds["SessionToken"] not in repr(delivery)
    location = await delivery.deliver(bag, f"exempelby/{bag.name}")
    assert location == f"s3://{BUCKET}/kanalvakt/exempelby/{bag.name}/"
    assert await delivery.deliver(bag, f"exempelby/{bag.name}") == location  # a retry
    keys = _keys(local_s3)
    assert f"kanalvakt/exempelby/{bag.name}/tagmanifest-sha256.txt" in keys
    back = _fetch_bag(local_s3, f"kanalvakt/exempelby/{bag.name}/", tmp_path / "back" / bag.name)
    bagit.Bag(str(back)).validate()


async def test_r38_a_package_over_5_mib_goes_up_as_a_multipart_upload(
        local_s3: LocalS3, tmp_path: Path) -> None:
    """A 12 MiB recording in the bag with 5 MiB parts: S3 stores it as a
    multipart object (its ETag ends in -<parts>: 3), with its SHA-256, and the
    bag read back is valid; a wrong secret is refused (signature checked)."""
    video = os.urandom(12 * MIB)
    bag = _bag(tmp_path, [BagFile(path="content/screenshots/001.webm", content=video)])
    wrong = S3Delivery(endpoint=local_s3.endpoint, bucket=BUCKET,
                       access_key=local_s3.access_key, secret_key=local_s3.secret_key[:-1] + (
                           "A" if local_s3.secret_key[-1] != "A" else "B"),
                       multipart_bytes=5 * MIB)
    with pytest.raises(DeliveryError, match="SignatureDoesNotMatch|403"):
        await wrong.deliver(bag, f"exempelby/{bag.name}")
    assert _keys(local_s3) == []

    delivery = S3Delivery(endpoint=local_s3.endpoint, bucket=BUCKET,
                          access_key=local_s3.access_key, secret_key=local_s3.secret_key,
                          multipart_bytes=5 * MIB)
    await delivery.deliver(bag, f"exempelby/{bag.name}")
    key = f"exempelby/{bag.name}/data/content/screenshots/001.webm"
    head = local_s3.client().head_object(Bucket=BUCKET, Key=key)
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]
    assert head["ContentLength"] == len(video)
    small = local_s3.client().head_object(Bucket=BUCKET, Key=f"exempelby/{bag.name}/bagit.txt")
    assert "-" not in small["ETag"]  # a small file is one PUT
    back = _fetch_bag(local_s3, f"exempelby/{bag.name}/", tmp_path / "back" / bag.name)
    assert (back / "data/content/screenshots/001.webm").read_bytes() == video
    bagit.Bag(str(back)).validate()
