"""Meta webhook deliveries read into inbound messages: the signature check and
the parser, with bodies in the shapes Meta documents (Webhooks reference for
the Page `feed` and Instagram `comments` fields; Messenger Platform
`messages` and `message_echoes` events; Instagram Messaging webhooks)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.account import Platform
from domain.inbound import MessageKind, message_workflow_id
from domain.meta_webhooks import (
    EntryError,
    MalformedDelivery,
    SkippedEntry,
    parse_delivery,
    sign,
    verify_signature,
)

SECRET = "6d1f0c1b2e9a4f7d8c3b5a6e7f809112"
PAGE_ID = "104729355318624"  # Exempelby kommun's Facebook Page
PSID = "6817226141654323"  # a citizen, as Messenger identifies them to our Page
IG_ID = "17841405822304914"  # Exempelby's Instagram professional account
IGSID = "1144233186826405"  # a citizen, as Instagram identifies them to us


# --------------------------------------------------------------------------- payloads


def facebook_comment(*, comment_id: str = f"{PAGE_ID}_811_2207", from_id: str = "10229870",
                     name: str = "Karin Ek", verb: str = "add",
                     message: str = "När öppnar badhuset igen?") -> dict[str, Any]:
    """Page `feed` webhook, a new comment on the Page's post (Webhooks reference: Page)."""
    return {
        "object": "page",
        "entry": [{
            "id": PAGE_ID,
            "time": 1717405201,
            "changes": [{
                "field": "feed",
                "value": {
                    "from": {"id": from_id, "name": name},
                    "post": {
                        "status_type": "added_photos",
                        "is_published": True,
                        "updated_time": "2024-06-03T09:00:01+0000",
                        "permalink_url": "https://www.facebook.com/exempelby/posts/811",
                        "promotion_status": "inactive",
                        "id": f"{PAGE_ID}_811",
                    },
                    "message": message,
                    "post_id": f"{PAGE_ID}_811",
                    "comment_id": comment_id,
                    "created_time": 1717405200,
                    "item": "comment",
                    "parent_id": f"{PAGE_ID}_811",
                    "verb": verb,
                },
            }],
        }],
    }


def messenger_message(*, mid: str = "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU",
                      **message: Any) -> dict[str, Any]:
    """Messenger `messages` event (Messenger Platform: Webhook Events Reference)."""
    return {
        "object": "page",
        "entry": [{
            "id": PAGE_ID,
            "time": 1717405300920,
            "messaging": [{
                "sender": {"id": PSID},
                "recipient": {"id": PAGE_ID},
                "timestamp": 1717405300478,
                "message": {"mid": mid, "text": "Hej! Var lämnar jag grovsopor?", **message},
            }],
        }],
    }


def messenger_echo() -> dict[str, Any]:
    """Messenger `message_echoes`: a message our Page sent."""
    return {
        "object": "page",
        "entry": [{
            "id": PAGE_ID,
            "time": 1717405400120,
            "messaging": [{
                "sender": {"id": PAGE_ID},
                "recipient": {"id": PSID},
                "timestamp": 1717405400001,
                "message": {
                    "is_echo": True,
                    "app_id": 1517776481860111,
                    "metadata": "kanalvakt:reply:7",
                    "mid": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplw",
                    "text": "Hej! Till återvinningscentralen på Industrivägen.",
                },
            }],
        }],
    }


def instagram_comment(*, comment_id: str = "17865799348089039", from_id: str = IGSID,
                      username: str = "karin.ek", parent_id: str | None = None
                      ) -> dict[str, Any]:
    """Instagram `comments` webhook (Webhooks reference: Instagram); no time in the value."""
    value: dict[str, Any] = {
        "from": {"id": from_id, "username": username},
        "media": {"id": "18023345989012587", "media_product_type": "FEED"},
        "id": comment_id,
        "text": "Så fint! Gäller det även helgerna?",
    }
    if parent_id is not None:
        value["parent_id"] = parent_id
    return {
        "object": "instagram",
        "entry": [{"id": IG_ID, "time": 1717405500,
                   "changes": [{"field": "comments", "value": value}]}],
    }


IG_MID = ("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMw"
          "MTI0NDI1OTg1MTY2NDE4MDgwOTA5MzozMjMzMzA3NTkxNTM1NDMwNzQ0MTgzNzQyNzk3MzQyMzEwNAZDZD")


def instagram_message(*, echo: bool = False) -> dict[str, Any]:
    """Instagram Messaging `messages` webhook; an echo when our account sent it."""
    sender, recipient = (IG_ID, IGSID) if echo else (IGSID, IG_ID)
    message: dict[str, Any] = {"mid": IG_MID, "text": "Hur söker jag sommarjobb?"}
    if echo:
        message["is_echo"] = True
    return {
        "object": "instagram",
        "entry": [{
            "id": IG_ID,
            "time": 1717405600900,
            "messaging": [{"sender": {"id": sender}, "recipient": {"id": recipient},
                           "timestamp": 1717405600500, "message": message}],
        }],
    }


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


# --------------------------------------------------------------------------- signature


def header_for(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


BODY = json.dumps(facebook_comment()).encode()


def test_a_body_signed_with_the_app_secret_verifies() -> None:
    assert verify_signature(SECRET, BODY, header_for(BODY))
    assert sign(SECRET, BODY) == header_for(BODY)


def test_a_signature_made_with_another_secret_does_not_verify() -> None:
    assert not verify_signature(SECRET, BODY, header_for(BODY, secret="another-app-secret"))


def test_a_tampered_body_does_not_verify() -> None:
    tampered = BODY.replace(b"badhuset", b"badhusen")
    assert tampered != BODY
    assert not verify_signature(SECRET, tampered, header_for(BODY))


@pytest.mark.parametrize("header", [None, ""])
def test_a_missing_signature_does_not_verify(header: str | None) -> None:
    assert not verify_signature(SECRET, BODY, header)


@pytest.mark.parametrize("header", [
    "sha256",                                    # no value
    "sha256=",                                   # empty value
    header_for(BODY)[:-2],                       # truncated digest
    header_for(BODY) + "00",                     # too long
    "sha256=" + "zz" * 32,                       # not hex
    header_for(BODY).removeprefix("sha256="),    # bare digest, no algorithm
    "sha256:" + header_for(BODY)[7:],            # wrong separator
    "sha256=" + "é" * 64,                        # non-ASCII
])
def test_a_malformed_signature_header_does_not_verify(header: str) -> None:
    assert not verify_signature(SECRET, BODY, header)


def test_another_algorithm_does_not_verify_even_when_its_digest_is_right() -> None:
    sha1 = hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    assert not verify_signature(SECRET, BODY, f"sha1={sha1}")
    digest = header_for(BODY).removeprefix("sha256=")
    assert not verify_signature(SECRET, BODY, f"sha512={digest}")


def test_without_an_app_secret_nothing_verifies() -> None:
    assert not verify_signature("", BODY, header_for(BODY, secret=""))


# --------------------------------------------------------------------------- one shape each


def test_a_citizens_facebook_comment() -> None:
    parsed = parse_delivery(facebook_comment())
    assert parsed.platform is Platform.FACEBOOK
    assert parsed.skipped == [] and parsed.errors == []
    [m] = parsed.messages
    assert m.platform is Platform.FACEBOOK
    assert m.kind is MessageKind.COMMENT
    assert m.external_id == f"{PAGE_ID}_811_2207"
    assert m.account_ref == PAGE_ID
    assert m.parent_id == f"{PAGE_ID}_811"
    assert m.thread_id == f"{PAGE_ID}_811"
    assert (m.author_id, m.author_name) == ("10229870", "Karin Ek")
    assert m.from_staff is False
    assert m.text == "När öppnar badhuset igen?"
    assert m.published_at == at(1717405200)
    assert m.permalink == "https://www.facebook.com/exempelby/posts/811"
    assert message_workflow_id(m.platform, m.external_id) == (
        f"message:facebook:{PAGE_ID}_811_2207")


def test_r21_a_comment_by_the_page_itself_is_a_staff_post() -> None:
    """R-21: staff and citizen posts are kept distinguishable."""
    [staff] = parse_delivery(facebook_comment(from_id=PAGE_ID, name="Exempelby kommun")).messages
    [citizen] = parse_delivery(facebook_comment()).messages
    assert staff.from_staff is True and staff.author_id == PAGE_ID
    assert citizen.from_staff is False


def test_a_messenger_message() -> None:
    [m] = parse_delivery(messenger_message()).messages
    assert m.platform is Platform.FACEBOOK
    assert m.kind is MessageKind.PRIVATE_MESSAGE
    assert m.external_id == "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU"
    assert m.account_ref == PAGE_ID
    assert (m.author_id, m.thread_id, m.author_name) == (PSID, PSID, None)
    assert m.from_staff is False
    assert m.text == "Hej! Var lämnar jag grovsopor?"
    assert m.published_at == datetime(2024, 6, 3, 9, 1, 40, 478000, tzinfo=UTC)
    assert m.parent_id is None


def test_r21_a_messenger_echo_is_a_staff_post_in_the_citizens_thread() -> None:
    [m] = parse_delivery(messenger_echo()).messages
    assert m.from_staff is True
    assert m.author_id == PAGE_ID
    assert m.thread_id == PSID  # the same conversation as the citizen's messages
    assert m.published_at == datetime(2024, 6, 3, 9, 3, 20, 1000, tzinfo=UTC)


def test_a_reply_in_messenger_names_the_message_it_answers() -> None:
    payload = messenger_message(reply_to={"mid": "m_earlier", "is_self_reply": False})
    [m] = parse_delivery(payload).messages
    assert m.parent_id == "m_earlier"


def test_an_attachment_without_text_is_kept_with_empty_text() -> None:
    """A photo is a message to answer and record; its content is captured later."""
    payload = messenger_message(mid="m_photo1")
    payload["entry"][0]["messaging"][0]["message"] = {
        "mid": "m_photo1",
        "attachments": [{"type": "image",
                         "payload": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/1"}}],
    }
    [m] = parse_delivery(payload).messages
    assert (m.external_id, m.text) == ("m_photo1", "")


def test_a_citizens_instagram_comment_is_dated_by_the_entry() -> None:
    parsed = parse_delivery(instagram_comment(parent_id="17858893269000001"))
    assert parsed.platform is Platform.INSTAGRAM
    [m] = parsed.messages
    assert m.platform is Platform.INSTAGRAM
    assert m.kind is MessageKind.COMMENT
    assert m.external_id == "17865799348089039"
    assert m.account_ref == IG_ID
    assert m.parent_id == "17858893269000001"
    assert m.thread_id == "18023345989012587"  # the media commented on
    assert (m.author_id, m.author_name) == (IGSID, "karin.ek")
    assert m.from_staff is False
    assert m.text == "Så fint! Gäller det även helgerna?"
    assert m.published_at == at(1717405500)  # the value has no time of its own
    assert m.permalink is None


def test_r21_an_instagram_comment_by_our_account_is_a_staff_post() -> None:
    [m] = parse_delivery(instagram_comment(from_id=IG_ID, username="exempelby")).messages
    assert m.from_staff is True


def test_an_instagram_direct_message() -> None:
    [m] = parse_delivery(instagram_message()).messages
    assert m.platform is Platform.INSTAGRAM
    assert m.kind is MessageKind.PRIVATE_MESSAGE
    assert m.external_id == IG_MID  # Instagram's long base64-like ids fit as they are
    assert (m.account_ref, m.author_id, m.thread_id) == (IG_ID, IGSID, IGSID)
    assert m.from_staff is False
    assert m.published_at == datetime(2024, 6, 3, 9, 6, 40, 500000, tzinfo=UTC)


def test_r21_an_instagram_echo_is_a_staff_post() -> None:
    [m] = parse_delivery(instagram_message(echo=True)).messages
    assert m.from_staff is True
    assert (m.author_id, m.thread_id) == (IG_ID, IGSID)


def test_messages_under_standby_are_taken_too() -> None:
    """Handover protocol: another app had the thread, but the citizen wrote to us."""
    payload = messenger_message()
    entry = payload["entry"][0]
    entry["standby"] = entry.pop("messaging")
    [m] = parse_delivery(payload).messages
    assert m.external_id == "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU"


def test_the_app_dashboards_test_message_is_read_like_a_messaging_event() -> None:
    """The dashboard's "Test" button sends `messages` as a change, time in seconds as a string."""
    payload = {"object": "page", "entry": [{"id": "0", "time": 1717405700, "changes": [{
        "field": "messages",
        "value": {"sender": {"id": "12334"}, "recipient": {"id": "23245"},
                  "timestamp": "1717405700",
                  "message": {"mid": "test_message_id", "text": "test_message"}},
    }]}]}
    [m] = parse_delivery(payload).messages
    assert (m.external_id, m.published_at) == ("test_message_id", at(1717405700))


def page_post(*, item: str = "status", verb: str = "add", post_id: str = f"{PAGE_ID}_812",
              from_id: str = PAGE_ID, published: int = 1) -> dict[str, Any]:
    """Page `feed` webhook: the Page published a post on its own feed."""
    value: dict[str, Any] = {
        "item": item, "verb": verb, "post_id": post_id, "message": "Badhuset öppnar 1 juli!",
        "published": published, "from": {"id": from_id, "name": "Exempelby kommun"},
        "created_time": 1717405800}
    if item == "photo":
        value |= {"photo_id": "812000", "link": "https://scontent.example/812.jpg"}
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": 1717405801, "changes": [{
        "field": "feed", "value": value}]}]}


@pytest.mark.parametrize("item", ["status", "post", "photo", "video"])
def test_r18_r21_the_pages_own_post_is_a_staff_post_of_kind_post(item: str) -> None:
    """R-18: the account's own published posts come from the connector (the
    feeder records them on the account); R-21: recorded as a staff post, apart
    from citizens' messages, under the platform's post id."""
    parsed = parse_delivery(page_post(item=item))
    assert parsed.skipped == [] and parsed.errors == []
    [post] = parsed.messages
    assert post.kind is MessageKind.POST and post.from_staff is True
    assert post.external_id == post.thread_id == f"{PAGE_ID}_812" and post.parent_id is None
    assert post.author_id == PAGE_ID and post.account_ref == PAGE_ID
    assert post.text == "Badhuset öppnar 1 juli!"
    assert post.published_at == at(1717405800)
    assert message_workflow_id(post.platform, post.external_id) == f"message:facebook:{PAGE_ID}_812"


def test_r18_a_post_without_post_id_is_an_error_of_its_own() -> None:
    payload = page_post()
    del payload["entry"][0]["changes"][0]["value"]["post_id"]
    parsed = parse_delivery(payload)
    assert parsed.messages == [] and [e.reason for e in parsed.errors] == [
        "`post_id` is missing or not an id"]


# --------------------------------------------------------------------------- skipped events


@pytest.mark.parametrize(("payload", "reason"), [
    (facebook_comment(verb="edited"), "comment `edited` is not a new comment"),
    (facebook_comment(verb="remove"), "comment `remove` is not a new comment"),
    (facebook_comment(verb="hide"), "comment `hide` is not a new comment"),
    ({"object": "page", "entry": [{"id": PAGE_ID, "time": 1717405800, "changes": [{
        "field": "feed", "value": {"item": "reaction", "verb": "add", "reaction_type": "like",
                                   "from": {"id": "10229870", "name": "Karin Ek"},
                                   "post_id": f"{PAGE_ID}_811", "created_time": 1717405800}}]}]},
     "feed item `reaction` is not a comment"),
    ({"object": "page", "entry": [{"id": PAGE_ID, "time": 1717405800, "changes": [{
        "field": "feed", "value": {"item": "status", "verb": "add", "post_id": f"{PAGE_ID}_812",
                                   "message": "Varför stänger badhuset?", "published": 1,
                                   "from": {"id": "10229870", "name": "Karin Ek"},
                                   "created_time": 1717405800}}]}]},
     "feed item `status` by a visitor is not the account's own post"),
    (page_post(verb="edited"), "status `edited` is not a new post"),
    (page_post(verb="remove"), "status `remove` is not a new post"),
    (page_post(published=0), "feed item `status` is not published yet"),
    ({"object": "page", "entry": [{"id": PAGE_ID, "time": 1717405900000, "messaging": [{
        "sender": {"id": PSID}, "recipient": {"id": PAGE_ID},
        "delivery": {"mids": ["m_1fTq8oLumEyIp3Q2MR"], "watermark": 1717405899000}}]}]},
     "messaging event `delivery` is not a message"),
    ({"object": "page", "entry": [{"id": PAGE_ID, "time": 1717405900000, "messaging": [{
        "sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": 1717405900000,
        "reaction": {"mid": "m_1fTq8oLumEyIp3Q2MR", "action": "react", "reaction": "love",
                     "emoji": "\u2764"}}]}]},
     "messaging event `reaction` is not a message"),
    ({"object": "page", "entry": [{"id": PAGE_ID, "time": 1717405900000, "messaging": [{
        "sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": 1717405900000,
        "message_edit": {"mid": "m_1fTq8oLumEyIp3Q2MR", "text": "rättat", "num_edit": 1}}]}]},
     "messaging event `message_edit` is not a message"),
    ({"object": "instagram", "entry": [{"id": IG_ID, "time": 1717405900000, "messaging": [{
        "sender": {"id": IGSID}, "recipient": {"id": IG_ID}, "timestamp": 1717405900000,
        "message": {"mid": IG_MID, "is_deleted": True}}]}]},
     "message was unsent by its sender (`is_deleted`)"),
    ({"object": "instagram", "entry": [{"id": IG_ID, "time": 1717405900, "changes": [{
        "field": "mentions", "value": {"media_id": "18023345989012587",
                                       "comment_id": "17865799348089040"}}]}]},
     "field `mentions` is not a comment or a message"),
])
def test_valid_events_that_are_not_new_messages_are_skipped(payload: dict[str, Any],
                                                             reason: str) -> None:
    parsed = parse_delivery(payload)
    assert parsed.messages == [] and parsed.errors == []
    assert [s.reason for s in parsed.skipped] == [reason]


# --------------------------------------------------------------------------- a mixed batch


def test_one_bad_event_costs_only_itself_in_a_mixed_batch() -> None:
    """Three entries: two good messages around a skip and three malformed events,
    plus an entry that is not an object. Every valid message comes out."""
    ok_first = facebook_comment()["entry"][0]
    mixed = facebook_comment(comment_id=f"{PAGE_ID}_811_2208", from_id=PAGE_ID,
                             name="Exempelby kommun")["entry"][0]
    mixed["changes"] += [
        {"field": "feed", "value": {"item": "comment", "verb": "add",  # no comment_id
                                    "post_id": f"{PAGE_ID}_811", "created_time": 1717405210,
                                    "message": "Hallå?"}},
        facebook_comment(verb="remove")["entry"][0]["changes"][0],
        {"field": "feed"},  # no value
    ]
    messaging = messenger_message()["entry"][0]
    messaging["messaging"] += [
        {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": 1717405301000,
         "message": "inte ett objekt"},
        messenger_echo()["entry"][0]["messaging"][0],
    ]
    payload = {"object": "page", "entry": [ok_first, mixed, "not an entry", messaging]}

    parsed = parse_delivery(payload)

    assert [m.external_id for m in parsed.messages] == [
        f"{PAGE_ID}_811_2207", f"{PAGE_ID}_811_2208",
        "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU",
        "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplw",
    ]
    assert [m.from_staff for m in parsed.messages] == [False, True, False, True]
    assert parsed.skipped == [
        SkippedEntry(path="entry[1].changes[2]", reason="comment `remove` is not a new comment"),
    ]
    assert parsed.errors == [
        EntryError(path="entry[1].changes[1]", reason="`comment_id` is missing or not an id"),
        EntryError(path="entry[1].changes[3]", reason="`feed` change has no `value` object"),
        EntryError(path="entry[2]", reason="entry is not an object"),
        EntryError(path="entry[3].messaging[1]", reason="`message` is not an object"),
    ]


@pytest.mark.parametrize(("entry", "reason"), [
    ({"time": 1717405200, "changes": []}, "entry `id` is missing or not an id"),
    ({"id": PAGE_ID, "time": 1717405200}, "entry has none of `changes`, `messaging`, `standby`"),
])
def test_a_malformed_entry_is_an_error_of_its_own(entry: dict[str, Any], reason: str) -> None:
    payload = facebook_comment()
    payload["entry"].append(entry)
    parsed = parse_delivery(payload)
    assert len(parsed.messages) == 1
    assert parsed.errors == [EntryError(path="entry[1]", reason=reason)]


def test_a_list_that_is_not_a_list_costs_only_itself() -> None:
    entry = messenger_message()["entry"][0]
    entry["changes"] = {"field": "feed"}
    parsed = parse_delivery({"object": "page", "entry": [entry]})
    assert [m.external_id for m in parsed.messages] == [
        "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU"]
    assert parsed.errors == [EntryError(path="entry[0].changes", reason="`changes` is not a list")]


def test_a_comment_without_any_time_is_an_error() -> None:
    payload = instagram_comment()
    del payload["entry"][0]["time"]
    parsed = parse_delivery(payload)
    assert parsed.messages == []
    assert parsed.errors == [EntryError(
        path="entry[0].changes[0]",
        reason="no time: neither comment time nor a readable entry `time`")]


def test_a_facebook_comment_without_created_time_falls_back_to_the_entry_time() -> None:
    payload = facebook_comment()
    del payload["entry"][0]["changes"][0]["value"]["created_time"]
    [m] = parse_delivery(payload).messages
    assert m.published_at == at(1717405201)


def test_an_unreadable_event_time_is_an_error_not_a_guess() -> None:
    payload = facebook_comment()
    payload["entry"][0]["changes"][0]["value"]["created_time"] = "igår"
    assert parse_delivery(payload).errors == [
        EntryError(path="entry[0].changes[0]", reason="`created_time` is not a time")]


def test_error_reasons_never_repeat_the_message_text() -> None:
    """Reasons are logged and returned; a citizen's words are personal data."""
    words = "Mitt personnummer är 19800101-1234 " * 700  # over InboundMessage's 20 000
    parsed = parse_delivery(facebook_comment(message=words))
    [error] = parsed.errors
    assert error.reason.startswith("not a valid message (text:")
    assert "personnummer" not in error.reason


def test_r21_a_legacy_messenger_mid_is_received_unaltered() -> None:
    """Meta's own docs still show `mid.$cAAJ...` ids: received as they are
    (an altered id would break redelivery), not turned away after a 200."""
    mid = "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c"
    parsed = parse_delivery(messenger_message(mid=mid))
    assert parsed.errors == []
    assert [m.external_id for m in parsed.messages] == [mid]


def test_parsing_the_same_delivery_twice_gives_the_same_messages() -> None:
    """A redelivery names the same messages, so it is the same case."""
    payload = {"object": "page", "entry": [facebook_comment()["entry"][0],
                                           messenger_message()["entry"][0]]}
    assert parse_delivery(payload).messages == parse_delivery(payload).messages


# --------------------------------------------------------------------------- unusable bodies


@pytest.mark.parametrize(("payload", "reason"), [
    ([facebook_comment()], "body is not a JSON object"),
    ("page", "body is not a JSON object"),
    ({"entry": []}, "`object` is missing"),
    ({"object": "user", "entry": []}, "`object` must be \"page\" or \"instagram\""),
    ({"object": "whatsapp_business_account", "entry": []},
     "`object` must be \"page\" or \"instagram\""),
    ({"object": None, "entry": []}, "`object` must be \"page\" or \"instagram\""),
    ({"object": "page"}, "`entry` must be a list"),
    ({"object": "page", "entry": {"id": PAGE_ID}}, "`entry` must be a list"),
])
def test_an_unusable_body_is_malformed_as_a_whole(payload: Any, reason: str) -> None:
    with pytest.raises(MalformedDelivery) as raised:
        parse_delivery(payload)
    assert raised.value.reason == reason


def test_an_empty_entry_list_is_a_valid_empty_delivery() -> None:
    parsed = parse_delivery({"object": "instagram", "entry": []})
    assert (parsed.messages, parsed.skipped, parsed.errors) == ([], [], [])
