"""R-38: the S3 archive delivery signs its requests correctly (AWS Signature
Version 4). moto's default server does not check signatures, so the signer is
proved here: on AWS's published examples (fixed inputs, expected signatures
from the AWS documentation), against botocore's own signer for the requests
the delivery actually makes, and against a moto server with IAM
authentication switched on, which recomputes the signature and refuses a
wrong secret."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from adapters.archive import BagFile, write_bag
from adapters.snapshot_delivery import (
    DeliveryError,
    S3Delivery,
    SigningKey,
    canonical_request,
    sigv4_authorization,
)

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# AWS's example credentials: the general SigV4 examples and test suite use
# AKIDEXAMPLE; the S3 API reference's examples use AKIAIOSFODNN7EXAMPLE with
# a secret that differs in one character ("/bPxR" instead of "+bPxR").
GENERAL = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
S3_DOCS = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def _signature(authorization: str) -> str:
    return authorization.rsplit("Signature=", 1)[1]


def test_r38_sigv4_matches_the_documented_iam_list_users_example() -> None:
    """AWS General Reference, "Create a canonical request" / "Calculate the
    signature": GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08
    on 2015-08-30T12:36:00Z, service iam, region us-east-1."""
    headers = {"Host": "iam.amazonaws.com",
               "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
               "X-Amz-Date": "20150830T123600Z"}
    url = "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"
    canonical, signed = canonical_request("GET", url, headers, EMPTY_SHA256)
    assert canonical == (
        "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
        "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
        "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
        "content-type;host;x-amz-date\n" + EMPTY_SHA256)
    authorization = sigv4_authorization(
        "GET", url, headers, EMPTY_SHA256, datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
        SigningKey(*GENERAL, "us-east-1", "iam"))
    assert authorization == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")


def test_r38_sigv4_sorts_the_query_as_in_the_aws_test_suite() -> None:
    """The SigV4 test suite's get-vanilla-query-order-key-case: parameters
    given out of order are signed sorted."""
    headers = {"Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"}
    authorization = sigv4_authorization(
        "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", headers,
        EMPTY_SHA256, datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
        SigningKey(*GENERAL, "us-east-1", "service"))
    assert authorization == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")


S3_EXAMPLE_TIME = datetime(2013, 5, 24, tzinfo=UTC)
S3_KEY = SigningKey(*S3_DOCS, "us-east-1", "s3")


def test_r38_sigv4_matches_the_s3_get_object_with_range_example() -> None:
    """S3 API reference, "Signature calculations for the Authorization header",
    Example: GET Object (the first ten bytes of examplebucket/test.txt)."""
    headers = {"Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9",
               "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": "20130524T000000Z"}
    url = "https://examplebucket.s3.amazonaws.com/test.txt"
    canonical, _ = canonical_request("GET", url, headers, EMPTY_SHA256)
    assert canonical == (
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
        f"x-amz-content-sha256:{EMPTY_SHA256}\nx-amz-date:20130524T000000Z\n\n"
        f"host;range;x-amz-content-sha256;x-amz-date\n{EMPTY_SHA256}")
    # The documented StringToSign carries this hash of the canonical request.
    assert hashlib.sha256(canonical.encode()).hexdigest() == (
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972")
    assert _signature(sigv4_authorization("GET", url, headers, EMPTY_SHA256,
                                          S3_EXAMPLE_TIME, S3_KEY)) == (
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


def test_r38_sigv4_matches_the_s3_put_object_example() -> None:
    """S3 API reference, Example: PUT Object: a key with '$' (encoded once in
    the canonical URI), a Date header and a storage class, the body's hash."""
    body = b"Welcome to Amazon S3."
    digest = hashlib.sha256(body).hexdigest()
    headers = {"Host": "examplebucket.s3.amazonaws.com",
               "Date": "Fri, 24 May 2013 00:00:00 GMT",
               "x-amz-date": "20130524T000000Z", "x-amz-storage-class": "REDUCED_REDUNDANCY",
               "x-amz-content-sha256": digest}
    url = "https://examplebucket.s3.amazonaws.com/test$file.text"
    canonical, signed = canonical_request("PUT", url, headers, digest)
    assert canonical.split("\n")[1] == "/test%24file.text"
    assert signed == "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class"
    assert _signature(sigv4_authorization("PUT", url, headers, digest,
                                          S3_EXAMPLE_TIME, S3_KEY)) == (
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    # The same request from the already-encoded URL signs the same.
    assert sigv4_authorization("PUT", "https://examplebucket.s3.amazonaws.com/test%24file.text",
                               headers, digest, S3_EXAMPLE_TIME, S3_KEY) == (
        sigv4_authorization("PUT", url, headers, digest, S3_EXAMPLE_TIME, S3_KEY))


@pytest.mark.parametrize(("query", "expected"), [
    ("lifecycle", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
    ("max-keys=2&prefix=J", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
])
def test_r38_sigv4_matches_the_s3_bucket_query_examples(query: str, expected: str) -> None:
    """S3 API reference, Example: GET Bucket Lifecycle (a query parameter
    without a value) and Example: Get Bucket (List Objects)."""
    headers = {"Host": "examplebucket.s3.amazonaws.com", "x-amz-date": "20130524T000000Z",
               "x-amz-content-sha256": EMPTY_SHA256}
    url = f"https://examplebucket.s3.amazonaws.com/?{query}"
    assert _signature(sigv4_authorization("GET", url, headers, EMPTY_SHA256,
                                          S3_EXAMPLE_TIME, S3_KEY)) == expected


@pytest.mark.parametrize("object_key", [
    "kanalvakt/exempelby/kulturhuset-ängen-facebook-snapshot-2026-03-16/data/content/snapshot.html",
    "kanalvakt/exempelby/p/data/content/skärmbild 1 (Åsa's sida) $&+=.png",
    "kanalvakt/exempelby/p/tagmanifest-sha256.txt",
])
def test_r38_the_delivery_signs_as_botocore_does(object_key: str) -> None:
    """The requests the delivery makes (path-style PUT with the body's hash and
    metadata, at a non-default port, keys with Swedish letters, spaces and
    reserved characters) carry the signature botocore's S3 signer computes
    for the same request: an independent implementation of the same spec."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    delivery = S3Delivery(endpoint="http://127.0.0.1:9000", bucket="registrator-arkiv",
                          access_key="AKIDEXAMPLE", secret_key=GENERAL[1], region="eu-north-1")
    body = "<p>Åsa</p>".encode()
    digest = hashlib.sha256(body).hexdigest()
    at = datetime(2026, 3, 16, 9, 30, 5, tzinfo=UTC)
    url = delivery.url(object_key)
    ours = delivery.signed_headers("PUT", url, digest, extra={"x-amz-meta-sha256": digest},
                                   now=at)

    # botocore's add_auth reads the clock; its parts take the time from the
    # request (as a server checking a signature calls them).
    request = AWSRequest(method="PUT", url=url, data=body, headers={
        "Host": "127.0.0.1:9000", "x-amz-meta-sha256": digest, "X-Amz-Content-SHA256": digest,
        "X-Amz-Date": "20260316T093005Z"})
    request.context["timestamp"] = "20260316T093005Z"
    auth = S3SigV4Auth(Credentials("AKIDEXAMPLE", GENERAL[1]), "s3", "eu-north-1")
    theirs = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)),
                            request)
    assert _signature(ours["authorization"]) == theirs
    assert ("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-sha256"
            in ours["authorization"])


# ----------------------------------------------------------------- moto with auth on


@pytest.fixture
def s3_with_auth(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str]]:
    """A moto server that checks signatures (IAM authentication on, as moto's
    INITIAL_NO_AUTH_ACTION_COUNT does after the first requests): an IAM user
    with an access key allowed s3:*; yields (endpoint, access key, secret)."""
    import boto3
    from moto import settings as moto_settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.server import ThreadedMotoServer

    # Port 0: the server binds a port the system chooses (no race for it).
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    endpoint = f"http://127.0.0.1:{port}"
    try:
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="arkivleverans")
        iam.put_user_policy(UserName="arkivleverans", PolicyName="s3", PolicyDocument=(
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
            '"Action": "s3:*", "Resource": "*"}]}'))
        key = iam.create_access_key(UserName="arkivleverans")["AccessKey"]
        # From here on every request is authenticated (moto recomputes the
        # signature with botocore and compares).
        monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
        yield endpoint, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        server.stop()


async def test_r38_a_signature_checking_s3_server_accepts_the_delivery_and_refuses_a_wrong_secret(
        s3_with_auth: tuple[str, str, str], tmp_path: Path) -> None:
    """With signatures checked, the delivery's requests go through; the same
    requests signed with a wrong secret are refused (403
    SignatureDoesNotMatch) and nothing is stored."""
    endpoint, access_key, secret = s3_with_auth
    good = S3Delivery(endpoint=endpoint, bucket="registrator-arkiv", access_key=access_key,
                      secret_key=secret, prefix="kanalvakt/")
    wrong = S3Delivery(endpoint=endpoint, bucket="registrator-arkiv", access_key=access_key,
                       secret_key=secret[:-1] + ("A" if secret[-1] != "A" else "B"),
                       prefix="kanalvakt/")
    target = tmp_path / "exempelby-kulturhuset-angen-facebook-snapshot-2026-03-16"
    write_bag(target, [BagFile(path="content/snapshot.html", content="<p>Åsa</p>".encode())],
              {"Source-Organization": "Exempelby kommun", "Bagging-Date": "2026-03-16"})
    async with httpx.AsyncClient() as http:
        bucket_url = f"{endpoint}/registrator-arkiv"
        refused = await http.put(bucket_url, headers=wrong.signed_headers(
            "PUT", bucket_url, EMPTY_SHA256))
        assert refused.status_code == 403 and "SignatureDoesNotMatch" in refused.text
        created = await http.put(bucket_url, headers=good.signed_headers(
            "PUT", bucket_url, EMPTY_SHA256))
        assert created.status_code == 200, created.text

        with pytest.raises(DeliveryError, match="HTTP 403") as refusal:
            await wrong.deliver(target, f"exempelby/{target.name}")
        assert "SignatureDoesNotMatch" in str(refusal.value)
        listing = await _list(http, good, endpoint)
        assert "<Key>" not in listing

        location = await good.deliver(target, f"exempelby/{target.name}")
        assert location == f"s3://registrator-arkiv/kanalvakt/exempelby/{target.name}/"
        key = f"kanalvakt/exempelby/{target.name}/data/content/snapshot.html"
        assert await good.get(http, key) == "<p>Åsa</p>".encode()
        refused_get = await http.get(good.url(key), headers=wrong.signed_headers(
            "GET", good.url(key), EMPTY_SHA256))
        assert refused_get.status_code == 403


async def _list(http: httpx.AsyncClient, delivery: S3Delivery, endpoint: str) -> str:
    url = f"{endpoint}/registrator-arkiv?list-type=2"
    response = await http.get(url, headers=delivery.signed_headers("GET", url, EMPTY_SHA256))
    assert response.status_code == 200, response.text
    return response.text
