"""The platform connectors: MetaGraphConnector's real HTTP client code against
a local fake of the Graph API (served by uvicorn on loopback), and the manual
connector's instructions.

Every test checks the exact requests the fake received: method, path,
parameters or body, and the Page token in the Authorization header (never in
the URL)."""

from __future__ import annotations

import hashlib
import hmac
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio

from adapters.connectors import (
    ActionResult,
    Capture,
    KnownContent,
    PlatformConnector,
    PlatformError,
    PlatformTarget,
    as_activity_error,
    is_retryable,
)
from adapters.connectors.manual import ManualConnector
from adapters.connectors.meta_graph import MetaGraphConnector
from tests.fakes.meta_graph import FailureKind, FakeGraph, RecordedRequest, serve

PAGE = "104000000000001"  # Kulturhuset Ängen's Facebook Page
IG_ACCOUNT = "17841400000000001"  # its Instagram professional account, linked to the Page
TOKEN = "EAAGkulturhuset-page-token"
POST = f"{PAGE}_120000000000001"
FB_COMMENT = "120000000000001_130000000000001"
IG_COMMENT = "17900000000000001"
PSID = "7000000000000001"
MESSENGER_MESSAGE = "m_AbCd-Ef_gh=="  # "=" must survive the URL path
IGSID = "8000000000000001"
IG_MESSAGE = "aWdfZAG1faXRlbToxOklHTWVzc2FnZA=="
NOW = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)

FB_TARGET = PlatformTarget(
    platform="facebook", object_id=FB_COMMENT, kind="comment", account_ref=PAGE, thread_id=POST
)
IG_TARGET = PlatformTarget(
    platform="instagram",
    object_id=IG_COMMENT,
    kind="comment",
    account_ref=IG_ACCOUNT,
    thread_id="17890000000000001",
)
MESSENGER_TARGET = PlatformTarget(
    platform="facebook",
    object_id=MESSENGER_MESSAGE,
    kind="private_message",
    account_ref=PAGE,
    thread_id="t_100000000000001",
    author_id=PSID,
)
IG_MESSAGE_TARGET = PlatformTarget(
    platform="instagram",
    object_id=IG_MESSAGE,
    kind="private_message",
    account_ref=PAGE,
    author_id=IGSID,
)


async def page_tokens(account_ref: str) -> str:
    return {PAGE: TOKEN, IG_ACCOUNT: TOKEN}[account_ref]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def graph_server() -> AsyncIterator[tuple[FakeGraph, str]]:
    fake = FakeGraph()
    async with serve(fake) as base_url:
        yield fake, base_url


@pytest.fixture
def fake(graph_server: tuple[FakeGraph, str]) -> FakeGraph:
    fake = graph_server[0]
    fake.reset()
    fake.grant(PAGE, TOKEN)
    fake.grant(IG_ACCOUNT, TOKEN)
    fake.grant("104000000000002", "EAAGanother-page-token")
    fake.add_facebook_comment(
        PAGE,
        FB_COMMENT,
        message="Varför är biblioteket stängt i dag?",
        from_id="5550001",
        from_name="Karin Ek",
        created_time="2026-03-01T18:42:07+0000",
        post_id=POST,
    )
    fake.add_instagram_comment(
        IG_ACCOUNT,
        IG_COMMENT,
        text="Bästa konserten i år!",
        from_id="17841455500001",
        username="medborgare_1",
        timestamp="2026-03-01T20:01:00+0000",
        media_id="17890000000000001",
    )
    fake.add_message(
        PAGE,
        MESSENGER_MESSAGE,
        text="Hej, när öppnar simhallen?",
        from_id=PSID,
        from_name="Per Holm",
        created_time="2026-03-02T07:30:00+0000",
    )
    fake.add_message(
        PAGE,
        IG_MESSAGE,
        text="Finns det lediga platser på kursen?",
        from_id=IGSID,
        from_username="anna_i_byn",
        created_time="2026-03-02T08:05:00+0000",
    )
    return fake


@pytest.fixture
def base_url(graph_server: tuple[FakeGraph, str]) -> str:
    return graph_server[1]


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def connector(http: httpx.AsyncClient, base_url: str, fake: FakeGraph) -> MetaGraphConnector:
    return MetaGraphConnector(http, page_tokens, base_url=base_url)


def sent_with_page_token(request: RecordedRequest) -> None:
    assert request.authorization == f"Bearer {TOKEN}"
    assert "access_token" not in request.query and "access_token" not in request.form


def the_request(fake: FakeGraph) -> RecordedRequest:
    assert len(fake.requests) == 1, fake.requests
    sent_with_page_token(fake.requests[0])
    return fake.requests[0]


def test_both_connectors_fit_the_protocol(connector: MetaGraphConnector) -> None:
    # Checked by mypy; here so the test run fails too if a signature drifts.
    connectors: list[PlatformConnector] = [connector, ManualConnector()]
    assert len(connectors) == 2


# -- Facebook comments -----------------------------------------------------------


async def test_facebook_reply_returns_the_platform_id_to_record(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    """R-21: the municipality's reply is a record, so the platform's id of the
    published reply comes back for the activity layer to record as a staff post."""
    text = "Hej Karin! Biblioteket har stängt för inventering i dag och öppnar i morgon kl 10."
    result = await connector.reply(FB_TARGET, text, idempotency_key="evt-1")

    reply = fake.objects[fake.objects[FB_COMMENT].replies[0]]
    assert result == ActionResult(
        action="reply",
        status="done",
        platform_object_id=reply.id,
        detail=f"Svaret är publicerat som kommentar {reply.id}.",
    )
    assert reply.fields["message"] == text
    assert reply.fields["from"]["id"] == PAGE
    assert reply.fields["parent"] == {"id": FB_COMMENT}
    request = the_request(fake)
    assert (request.method, request.path) == ("POST", f"/v21.0/{FB_COMMENT}/comments")
    assert request.form == {"message": text}
    assert request.query == {} and request.json is None


async def test_facebook_hide_and_unhide(connector: MetaGraphConnector, fake: FakeGraph) -> None:
    hidden = await connector.hide(FB_TARGET)
    assert hidden.status == "done" and hidden.action == "hide"
    assert hidden.platform_object_id == FB_COMMENT
    assert fake.objects[FB_COMMENT].hidden

    shown = await connector.unhide(FB_TARGET)
    assert shown.status == "done" and shown.action == "unhide"
    assert not fake.objects[FB_COMMENT].hidden

    assert [(r.method, r.path, r.form) for r in fake.requests] == [
        ("POST", f"/v21.0/{FB_COMMENT}", {"is_hidden": "true"}),
        ("POST", f"/v21.0/{FB_COMMENT}", {"is_hidden": "false"}),
    ]
    for request in fake.requests:
        sent_with_page_token(request)


async def test_facebook_capture_before_delete_keeps_the_copy(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    """R-30: unpublishing keeps a copy. The comment is captured (text, author,
    time, link and the platform's own JSON) before it is deleted, and the copy
    outlives the comment on the platform."""
    copy = await connector.capture(FB_TARGET, now=NOW)
    deleted = await connector.delete(FB_TARGET)

    assert copy == Capture(
        object_id=FB_COMMENT,
        text="Varför är biblioteket stängt i dag?",
        author_id="5550001",
        author_name="Karin Ek",
        created_time=datetime(2026, 3, 1, 18, 42, 7, tzinfo=UTC),
        permalink=f"https://www.facebook.com/{POST}?comment_id={FB_COMMENT}",
        raw={
            "id": FB_COMMENT,
            "message": "Varför är biblioteket stängt i dag?",
            "from": {"name": "Karin Ek", "id": "5550001"},
            "created_time": "2026-03-01T18:42:07+0000",
            "permalink_url": f"https://www.facebook.com/{POST}?comment_id={FB_COMMENT}",
        },
        captured_at=NOW,
        source="platform",
    )
    assert deleted == ActionResult(
        action="delete",
        status="done",
        platform_object_id=FB_COMMENT,
        detail=f"Kommentaren {FB_COMMENT} är borttagen.",
    )
    assert fake.objects[FB_COMMENT].deleted

    get, delete = fake.requests
    assert (get.method, get.path) == ("GET", f"/v21.0/{FB_COMMENT}")
    assert get.query == {"fields": "id,message,from,created_time,permalink_url,parent,attachment"}
    assert (delete.method, delete.path, delete.query, delete.form) == (
        "DELETE",
        f"/v21.0/{FB_COMMENT}",
        {},
        {},
    )
    for request in fake.requests:
        sent_with_page_token(request)

    # Gone from the platform: reading it again fails for good; the copy is what remains.
    with pytest.raises(PlatformError) as gone:
        await connector.capture(FB_TARGET, now=NOW)
    assert gone.value.object_missing and not gone.value.retryable
    assert copy.text == "Varför är biblioteket stängt i dag?"


# -- Instagram comments ------------------------------------------------------------


async def test_instagram_reply_hide_unhide_delete(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    reply = await connector.reply(IG_TARGET, "Tack! Välkommen tillbaka i vår.")
    comment = fake.objects[IG_COMMENT]
    assert reply.platform_object_id == comment.replies[0]
    assert fake.objects[comment.replies[0]].fields["text"] == "Tack! Välkommen tillbaka i vår."

    assert (await connector.hide(IG_TARGET)).status == "done"
    assert comment.hidden
    assert (await connector.unhide(IG_TARGET)).status == "done"
    assert not comment.hidden
    assert (await connector.delete(IG_TARGET)).status == "done"
    assert comment.deleted

    assert [(r.method, r.path, r.form) for r in fake.requests] == [
        ("POST", f"/v21.0/{IG_COMMENT}/replies", {"message": "Tack! Välkommen tillbaka i vår."}),
        ("POST", f"/v21.0/{IG_COMMENT}", {"hide": "true"}),
        ("POST", f"/v21.0/{IG_COMMENT}", {"hide": "false"}),
        ("DELETE", f"/v21.0/{IG_COMMENT}", {}),
    ]
    for request in fake.requests:
        sent_with_page_token(request)


async def test_instagram_capture_reads_text_username_and_timestamp(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    """R-30: the Instagram copy keeps text, author and time before unpublishing."""
    copy = await connector.capture(IG_TARGET, now=NOW)

    assert (copy.object_id, copy.text, copy.author_id, copy.author_name) == (
        IG_COMMENT,
        "Bästa konserten i år!",
        "17841455500001",
        "medborgare_1",
    )
    assert copy.created_time == datetime(2026, 3, 1, 20, 1, tzinfo=UTC)
    assert copy.permalink is None
    assert copy.raw["username"] == "medborgare_1" and copy.captured_at == NOW
    request = the_request(fake)
    assert (request.method, request.path) == ("GET", f"/v21.0/{IG_COMMENT}")
    assert request.query == {"fields": "id,text,username,timestamp,from,like_count,parent_id"}


# -- private messages ----------------------------------------------------------------


async def test_messenger_reply_goes_through_the_send_api(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    """R-21: the sent message's id comes back to be recorded; the idempotency
    key rides along as metadata, which Meta echoes in `message_echoes`."""
    result = await connector.reply(
        MESSENGER_TARGET, "Simhallen öppnar kl 06.30.", idempotency_key="evt-42"
    )

    assert result.status == "done" and result.platform_object_id is not None
    sent = fake.objects[result.platform_object_id]
    assert sent.fields["message"] == "Simhallen öppnar kl 06.30."
    assert sent.fields["to"] == {"data": [{"id": PSID}]}
    request = the_request(fake)
    assert (request.method, request.path, request.query) == ("POST", f"/v21.0/{PAGE}/messages", {})
    assert request.json == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Simhallen öppnar kl 06.30.", "metadata": "evt-42"},
    }


async def test_message_reply_looks_up_the_sender_when_unknown(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    target = MESSENGER_TARGET.model_copy(update={"author_id": None})
    result = await connector.reply(target, "Simhallen öppnar kl 06.30.")

    assert result.status == "done"
    lookup, send = fake.requests
    assert (lookup.method, lookup.path, lookup.query) == (
        "GET",
        f"/v21.0/{MESSENGER_MESSAGE}",
        {"fields": "from"},
    )
    assert send.json["recipient"] == {"id": PSID}
    assert send.json["message"] == {"text": "Simhallen öppnar kl 06.30."}  # no key, no metadata
    for request in fake.requests:
        sent_with_page_token(request)


async def test_instagram_message_reply_is_sent_through_the_linked_page(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    result = await connector.reply(
        IG_MESSAGE_TARGET, "Ja, två platser kvar.", idempotency_key="evt-43"
    )

    assert result.status == "done"
    request = the_request(fake)
    assert (request.method, request.path) == ("POST", f"/v21.0/{PAGE}/messages")
    # Message metadata is a Messenger feature; Instagram gets the text only.
    assert request.json == {
        "recipient": {"id": IGSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Ja, två platser kvar."},
    }


async def test_message_capture(connector: MetaGraphConnector, fake: FakeGraph) -> None:
    copy = await connector.capture(MESSENGER_TARGET, now=NOW)
    ig_copy = await connector.capture(IG_MESSAGE_TARGET, now=NOW)

    assert (copy.text, copy.author_id, copy.author_name, copy.created_time) == (
        "Hej, när öppnar simhallen?",
        PSID,
        "Per Holm",
        datetime(2026, 3, 2, 7, 30, tzinfo=UTC),
    )
    assert (ig_copy.text, ig_copy.author_id, ig_copy.author_name) == (
        "Finns det lediga platser på kursen?",
        IGSID,
        "anna_i_byn",
    )
    assert [(r.method, r.path, r.query) for r in fake.requests] == [
        (
            "GET",
            f"/v21.0/{MESSENGER_MESSAGE}",
            {"fields": "id,message,from,created_time,attachments"},
        ),
        ("GET", f"/v21.0/{IG_MESSAGE}", {"fields": "id,message,from,created_time,attachments"}),
    ]


async def test_messages_cannot_be_hidden_or_deleted(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    for action in (connector.hide, connector.unhide, connector.delete):
        with pytest.raises(PlatformError) as refused:
            await action(MESSENGER_TARGET)
        assert not refused.value.retryable
        assert "not supported for private messages" in refused.value.message
    assert fake.requests == []


async def test_a_platform_without_graph_api_is_refused(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    tiktok = FB_TARGET.model_copy(update={"platform": "tiktok"})
    with pytest.raises(PlatformError) as refused:
        await connector.hide(tiktok)
    assert not refused.value.retryable
    assert fake.requests == []


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "code", "retryable"),
    [
        ("rate_limit", 429, 4, True),
        ("page_rate_limit", 400, 80001, True),  # throttled with HTTP 400: the code decides
        ("server_error", 500, 1, True),
        ("bad_gateway", 502, None, True),  # no Graph envelope: the status decides
        ("unknown_object", 400, 100, False),
        ("expired_token", 400, 190, False),
        ("permission_denied", 403, 200, False),
    ],
)
async def test_graph_failures_are_retryable_or_permanent(
    connector: MetaGraphConnector,
    fake: FakeGraph,
    kind: FailureKind,
    status: int,
    code: int | None,
    retryable: bool,
) -> None:
    fake.fail_next(kind)
    with pytest.raises(PlatformError) as caught:
        await connector.hide(FB_TARGET)

    err = caught.value
    assert (err.retryable, err.status, err.code) == (retryable, status, code)
    assert err.fbtrace_id == (None if kind == "bad_gateway" else "AbCdEfFakeTrace")
    assert TOKEN not in str(err)
    activity_error = as_activity_error(err)
    assert activity_error.non_retryable is not retryable
    assert activity_error.type == (
        "PlatformTransientError" if retryable else "PlatformPermanentError"
    )
    assert not fake.objects[FB_COMMENT].hidden  # the failed call changed nothing
    request = the_request(fake)
    assert (request.method, request.path, request.form) == (
        "POST",
        f"/v21.0/{FB_COMMENT}",
        {"is_hidden": "true"},
    )


async def test_a_page_rate_limit_says_how_long_to_wait(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    fake.fail_next("page_rate_limit")
    with pytest.raises(PlatformError) as caught:
        await connector.hide(FB_TARGET)
    assert caught.value.retry_after == timedelta(minutes=3)
    assert as_activity_error(caught.value).next_retry_delay == timedelta(minutes=3)


async def test_a_retry_after_a_rate_limit_succeeds(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    fake.fail_next("rate_limit")
    with pytest.raises(PlatformError) as caught:
        await connector.delete(FB_TARGET)
    assert caught.value.retryable and not caught.value.outcome_unknown
    assert not fake.objects[FB_COMMENT].deleted

    assert (await connector.delete(FB_TARGET)).status == "done"
    assert len(fake.requests_to("DELETE", f"/v21.0/{FB_COMMENT}")) == 2


async def test_a_retried_delete_that_already_happened_reports_the_object_missing(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    await connector.delete(FB_TARGET)
    with pytest.raises(PlatformError) as caught:
        await connector.delete(FB_TARGET)
    # Permanent, and recognisable, so the activity can call a retried delete done.
    assert caught.value.object_missing and not caught.value.retryable
    assert (caught.value.status, caught.value.code, caught.value.subcode) == (400, 100, 33)


async def test_a_message_outside_the_24_hour_window_is_permanent(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    fake.fail_next("outside_window", path_suffix="/messages")
    with pytest.raises(PlatformError) as caught:
        await connector.reply(MESSENGER_TARGET, "Simhallen öppnar kl 06.30.")
    assert not caught.value.retryable
    assert (caught.value.code, caught.value.subcode) == (10, 2018278)
    assert "outside of allowed window" in caught.value.message
    assert as_activity_error(caught.value).non_retryable


async def test_a_token_the_platform_rejects_is_permanent(
    http: httpx.AsyncClient, base_url: str, fake: FakeGraph
) -> None:
    async def revoked(account_ref: str) -> str:
        return "EAAGrevoked-token"

    connector = MetaGraphConnector(http, revoked, base_url=base_url)
    with pytest.raises(PlatformError) as caught:
        await connector.reply(FB_TARGET, "Hej!")
    assert (caught.value.retryable, caught.value.code) == (False, 190)
    assert "EAAGrevoked-token" not in str(caught.value)
    assert fake.requests[0].authorization == "Bearer EAAGrevoked-token"
    assert fake.objects[FB_COMMENT].replies == []


async def test_a_reply_whose_answer_is_lost_may_have_been_published(
    base_url: str, fake: FakeGraph
) -> None:
    """Why the activity layer must not blindly resend a reply: the answer timed
    out, yet the platform published it."""
    fake.delay_next(1.0, path_suffix="/comments")
    async with httpx.AsyncClient(timeout=0.2) as impatient:
        connector = MetaGraphConnector(impatient, page_tokens, base_url=base_url)
        with pytest.raises(PlatformError) as caught:
            await connector.reply(FB_TARGET, "Hej Karin!")
    assert caught.value.retryable and caught.value.outcome_unknown
    assert as_activity_error(caught.value).details[0]["outcome_unknown"] is True
    assert len(fake.objects[FB_COMMENT].replies) == 1


async def test_no_connection_is_retryable_and_nothing_was_sent(http: httpx.AsyncClient) -> None:
    # Bound but not listening, and kept so while the connector tries: a
    # connection is refused, and no other server can take the port meanwhile
    # (bind-and-close would free it for anyone's bind(:0)).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
        connector = MetaGraphConnector(
            http, page_tokens, base_url=f"http://127.0.0.1:{closed_port}/v21.0"
        )
        with pytest.raises(PlatformError) as caught:
            await connector.reply(FB_TARGET, "Hej!")
    assert caught.value.retryable and not caught.value.outcome_unknown
    assert caught.value.status is None


async def test_appsecret_proof_is_sent_when_configured(
    http: httpx.AsyncClient, base_url: str, fake: FakeGraph
) -> None:
    fake.app_secret = "app-secret"
    proof = hmac.new(b"app-secret", TOKEN.encode(), hashlib.sha256).hexdigest()

    without = MetaGraphConnector(http, page_tokens, base_url=base_url)
    with pytest.raises(PlatformError) as caught:
        await without.hide(FB_TARGET)
    assert caught.value.code == 100 and not caught.value.retryable

    with_proof = MetaGraphConnector(http, page_tokens, base_url=base_url, app_secret="app-secret")
    assert (await with_proof.hide(FB_TARGET)).status == "done"
    assert fake.requests[-1].query == {"appsecret_proof": proof}
    sent_with_page_token(fake.requests[-1])


@pytest.mark.parametrize(
    ("status", "code", "transient", "retryable"),
    [
        (400, 17, False, True),  # user request limit
        (400, 32, False, True),  # Page request limit
        (400, 613, False, True),  # calls within one hour exceeded
        (400, 80006, False, True),  # Messenger business use case limit
        (500, 2, False, True),  # service temporarily unavailable
        (400, 341, False, True),  # application limit reached
        (400, 9999, True, True),  # unknown code, but Graph says transient
        (400, 102, False, False),  # session invalid
        (400, 10, False, False),  # permission denied
        (403, 299, False, False),  # a missing permission
        (400, 368, False, False),  # blocked for policy violations: a person must look
        (400, 506, False, False),  # duplicate post
        (404, None, False, False),
        (503, None, False, True),
        (None, None, False, True),  # no answer at all
    ],
)
def test_graph_error_classification(
    status: int | None, code: int | None, transient: bool, retryable: bool
) -> None:
    assert is_retryable(status, code, transient=transient) is retryable


# -- the manual connector -----------------------------------------------------------------

TIKTOK_COMMENT = PlatformTarget(
    platform="tiktok",
    object_id="7301234567890",
    kind="comment",
    account_ref="@kulturhusetangen",
    thread_id="7300000000001",
)
LINKEDIN_MESSAGE = PlatformTarget(
    platform="linkedin",
    object_id="msg-77",
    kind="private_message",
    account_ref="exempelby-kommun",
    thread_id="conv-5",
)


async def test_manual_connector_asks_a_person_and_awaits_confirmation() -> None:
    manual = ManualConnector()
    text = "Hej! Föreställningen börjar kl 19. Välkommen!"

    reply = await manual.reply(TIKTOK_COMMENT, text)
    hide = await manual.hide(TIKTOK_COMMENT)
    unhide = await manual.unhide(TIKTOK_COMMENT)
    delete = await manual.delete(TIKTOK_COMMENT)

    for result, action in (
        (reply, "reply"),
        (hide, "hide"),
        (unhide, "unhide"),
        (delete, "delete"),
    ):
        assert result.action == action
        assert result.status == "awaiting_person" and result.platform_object_id is None
        assert "TikTok" in result.detail
        assert "7301234567890" in result.detail and "@kulturhusetangen" in result.detail
        assert "Bekräfta sedan i Kanalvakt" in result.detail
    assert reply.detail == (
        "Logga in på TikTok med kommunens konto och svara på kommentaren med id 7301234567890 "
        "under inlägget 7300000000001 på kontot @kulturhusetangen med exakt den här texten:"
        f"\n\n{text}\n\n"
        "Bekräfta sedan i Kanalvakt att svaret är publicerat och klistra in länken till ditt svar."
    )
    assert "dölj kommentaren" in hide.detail
    assert "synlig igen" in unhide.detail
    # the copy comes before the removal, in the instruction too.
    assert delete.detail.index("skärmbild") < delete.detail.index("Ta sedan bort")


async def test_manual_reply_to_a_private_message() -> None:
    result = await ManualConnector().reply(LINKEDIN_MESSAGE, "Skicka gärna e-post till oss.")
    assert result.status == "awaiting_person"
    assert result.detail.startswith(
        "Logga in på LinkedIn med kommunens konto och svara "
        "avsändaren av meddelandet med id msg-77 i konversationen "
        "conv-5 i inkorgen för kontot exempelby-kommun"
    )
    assert "Skicka gärna e-post till oss." in result.detail
    for action in (ManualConnector().hide, ManualConnector().delete):
        with pytest.raises(PlatformError) as refused:
            await action(LINKEDIN_MESSAGE)
        assert not refused.value.retryable


async def test_manual_capture_is_built_from_what_kanalvakt_holds() -> None:
    """R-30: on a platform Kanalvakt cannot read, the copy is what intake
    recorded; without it, a screenshot is required before unpublishing."""
    manual = ManualConnector()
    known = KnownContent(
        text="Kommunen borde skämmas",
        author_id="tt-991",
        author_name="bybon",
        created_time=datetime(2026, 3, 1, 12, tzinfo=UTC),
    )

    copy = await manual.capture(TIKTOK_COMMENT, now=NOW, known=known)
    assert copy.source == "kanalvakt" and copy.captured_at == NOW
    assert (copy.object_id, copy.text, copy.author_id, copy.author_name, copy.created_time) == (
        "7301234567890",
        "Kommunen borde skämmas",
        "tt-991",
        "bybon",
        datetime(2026, 3, 1, 12, tzinfo=UTC),
    )
    assert copy.raw["known"]["text"] == "Kommunen borde skämmas"

    with pytest.raises(PlatformError) as refused:
        await manual.capture(TIKTOK_COMMENT, now=NOW)
    assert not refused.value.retryable and "skärmbild" in refused.value.message
    assert as_activity_error(refused.value).type == "PlatformPermanentError"


async def test_meta_capture_ignores_what_kanalvakt_holds(
    connector: MetaGraphConnector, fake: FakeGraph
) -> None:
    """The platform's current text is what gets unpublished, so it is the copy."""
    stale = KnownContent(text="an older wording", created_time=NOW)
    copy = await connector.capture(FB_TARGET, now=NOW, known=stale)
    assert copy.text == "Varför är biblioteket stängt i dag?" and copy.source == "platform"
