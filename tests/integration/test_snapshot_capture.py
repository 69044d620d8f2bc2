"""R-37, R-38: the connectors' account capture (profile, recent posts and
their comments) against the local fake of Meta's Graph API, and the manual
connector's refusal that sends a person to upload screenshots."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

from adapters.connectors import PlatformError
from adapters.connectors.base import SCREENSHOTS_NEEDED
from adapters.connectors.manual import ManualConnector
from adapters.connectors.meta_graph import MetaGraphConnector
from tests.fakes.meta_graph import FakeGraph, seed_page, serve

PAGE = "104000000000001"
IG = "17841400000000001"
TOKEN = "EAAGkulturhuset-page-token"
NOW = datetime(2026, 3, 16, 5, 0, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def graph() -> AsyncIterator[tuple[FakeGraph, MetaGraphConnector]]:
    fake = FakeGraph()
    async def tokens(ref: str) -> str:
        return TOKEN
    async with serve(fake) as base_url, httpx.AsyncClient(timeout=5) as http:
        yield fake, MetaGraphConnector(http, tokens, base_url=base_url)


async def test_r37_facebook_page_capture_has_profile_posts_and_comments(
        graph: tuple[FakeGraph, MetaGraphConnector]) -> None:
    fake, connector = graph
    seed_page(fake, PAGE, TOKEN, posts=30, comments_per_post=2)

    capture = await connector.capture_account("facebook", PAGE, now=NOW, max_posts=27)

    assert capture.profile.name == "Kulturhuset Ängen"
    assert capture.profile.handle == "kulturhusetangen" and capture.profile.followers == 1234
    assert len(capture.posts) == 27 and capture.posts_truncated
    assert capture.posts[0].created_time > capture.posts[-1].created_time  # newest first
    assert all(len(p.comments) == 2 for p in capture.posts)
    assert capture.posts[0].comments[0].author_name
    assert capture.comment_count == 54 and capture.captured_at == NOW
    # Paged by cursor (25 + 2), the token in the header, never in the URL.
    listed = [r for r in fake.requests if r.path.endswith(f"{PAGE}/posts")]
    assert [r.query.get("after") for r in listed] == [None, "25"]
    assert [r.query["limit"] for r in listed] == ["25", "2"]
    assert all(r.authorization == f"Bearer {TOKEN}" and "access_token" not in r.query
               for r in fake.requests)


async def test_r37_instagram_capture_reads_media_and_their_comments(
        graph: tuple[FakeGraph, MetaGraphConnector]) -> None:
    fake, connector = graph
    fake.grant(IG, TOKEN)
    fake.add_instagram_account(IG, username="kulturhusetangen", name="Kulturhuset Ängen",
                               biography="En verksamhet inom Exempelby kommun", followers=88)
    fake.add_instagram_media(IG, "17890000000000001", caption="Vårens program!",
                             timestamp="2026-03-01T09:00:00+0000")
    fake.add_instagram_comment(IG, "17900000000000001", text="Bästa konserten i år!",
                               from_id="1784", username="medborgare_1",
                               timestamp="2026-03-01T20:01:00+0000", media_id="17890000000000001")

    capture = await connector.capture_account("instagram", IG, now=NOW)

    assert capture.profile.handle == "kulturhusetangen"
    assert capture.profile.link == "https://www.instagram.com/kulturhusetangen/"
    assert [p.text for p in capture.posts] == ["Vårens program!"]
    assert [(c.text, c.author_name) for c in capture.posts[0].comments] == [
        ("Bästa konserten i år!", "medborgare_1")]
    assert not capture.posts_truncated


async def test_r37_capture_failures_are_classified(
        graph: tuple[FakeGraph, MetaGraphConnector]) -> None:
    fake, connector = graph
    seed_page(fake, PAGE, TOKEN, posts=1)
    fake.fail_next("rate_limit", path_suffix="/posts")
    with pytest.raises(PlatformError) as limited:
        await connector.capture_account("facebook", PAGE, now=NOW)
    assert limited.value.retryable
    with pytest.raises(PlatformError) as unknown:
        await connector.capture_account("facebook", "999", now=NOW)
    assert not unknown.value.retryable


async def test_r37_manual_platforms_ask_for_screenshots() -> None:
    with pytest.raises(PlatformError) as refused:
        await ManualConnector().capture_account("tiktok", "kulturhuset", now=NOW)
    assert not refused.value.retryable
    assert SCREENSHOTS_NEEDED in refused.value.message and "skärmbilder" in refused.value.message


async def test_r37_facebook_capture_keeps_the_replies_under_their_comment_paged(
        graph: tuple[FakeGraph, MetaGraphConnector]) -> None:
    """R-37: the replies to a comment are part of the account's face: read
    from the comment's own edge (`/{comment-id}/comments`), paged by cursor
    like the comments, nested under their comment, counted; only comments
    that have replies cost a request; a reply limit marks truncation."""
    fake, connector = graph
    seed_page(fake, PAGE, TOKEN, posts=2, comments_per_post=2, replies_per_comment=0)
    busy = f"{120000000000000 + 1}_{130000000000000 + 1}"  # post 1, comment 1
    for r in range(1, 31):
        fake.add_facebook_reply(PAGE, busy, f"1_9{r:04d}", message=f"Svar nummer {r}",
                                from_id="555777", from_name="Per Holm",
                                created_time=f"2026-03-01T12:{r:02d}:00+0000")
    quiet = f"{120000000000000 + 2}_{130000000000000 + 2}"  # post 2, comment 2
    fake.add_facebook_reply(PAGE, quiet, "2_90001", message="Vi svarar: klockan 18.",
                            from_id=PAGE, from_name="Kulturhuset Ängen",
                            created_time="2026-03-02T13:00:00+0000")

    capture = await connector.capture_account("facebook", PAGE, now=NOW)

    comments = {c.id: c for p in capture.posts for c in p.comments}
    assert len(comments) == 4  # replies are not listed as top-level comments
    assert [r.text for r in comments[busy].replies] == [f"Svar nummer {r}" for r in range(1, 31)]
    assert not comments[busy].replies_truncated
    assert [(r.text, r.author_name) for r in comments[quiet].replies] == [
        ("Vi svarar: klockan 18.", "Kulturhuset Ängen")]
    assert all(not c.replies for i, c in comments.items() if i not in (busy, quiet))
    assert capture.reply_count == 31 and capture.comment_count == 4 + 31
    # Paged 25 + 5 on the busy comment's edge; the comments without replies
    # (comment_count 0) were not asked.
    busy_pages = fake.requests_to("GET", f"/v21.0/{busy}/comments")
    assert [r.query.get("after") for r in busy_pages] == [None, "25"]
    assert len(fake.requests_to("GET", f"/v21.0/{quiet}/comments")) == 1
    reply_edges = [r for r in fake.requests if r.path.endswith("/comments")
                   and r.path.split("/")[2] in comments]
    assert len(reply_edges) == 3
    # The platform's answers are kept as received, by comment.
    post_1 = next(p.id for p in capture.posts if busy in {c.id for c in p.comments})
    assert len(capture.raw["posts"][post_1]["replies"][busy]) == 30

    # A limit: the first 10 replies, marked as truncated.
    limited = await connector.capture_account("facebook", PAGE, now=NOW, max_replies=10)
    busy_limited = next(c for p in limited.posts for c in p.comments if c.id == busy)
    assert len(busy_limited.replies) == 10 and busy_limited.replies_truncated


async def test_r37_instagram_capture_reads_the_replies_edge(
        graph: tuple[FakeGraph, MetaGraphConnector]) -> None:
    """R-37: Instagram's replies come from `/{ig-comment-id}/replies`."""
    fake, connector = graph
    fake.grant(IG, TOKEN)
    fake.add_instagram_account(IG, username="kulturhusetangen", name="Kulturhuset Ängen",
                               biography="En verksamhet inom Exempelby kommun")
    fake.add_instagram_media(IG, "17890000000000001", caption="Vårens program!",
                             timestamp="2026-03-01T09:00:00+0000")
    fake.add_instagram_comment(IG, "17900000000000001", text="När börjar det?",
                               from_id="1784", username="medborgare_1",
                               timestamp="2026-03-01T20:01:00+0000", media_id="17890000000000001")
    fake.add_instagram_reply(IG, "17900000000000001", "17900000000000002",
                             text="Klockan 19, välkommen!", from_id=IG,
                             username="kulturhusetangen", timestamp="2026-03-01T20:30:00+0000")

    capture = await connector.capture_account("instagram", IG, now=NOW)

    [comment] = capture.posts[0].comments
    assert comment.text == "När börjar det?"
    assert [(r.text, r.author_name) for r in comment.replies] == [
        ("Klockan 19, välkommen!", "kulturhusetangen")]
    assert len(fake.requests_to("GET", "/v21.0/17900000000000001/replies")) == 1
    assert capture.comment_count == 2 and capture.reply_count == 1


async def test_r37_a_failing_replies_edge_fails_the_capture_as_the_platform_said(
        graph: tuple[FakeGraph, MetaGraphConnector]) -> None:
    """R-37: a rate limit on a replies edge is retryable like any other read,
    so the snapshot is retried rather than taken without the replies."""
    fake, connector = graph
    seed_page(fake, PAGE, TOKEN, posts=1, comments_per_post=1, replies_per_comment=2)
    comment = f"{120000000000000 + 1}_{130000000000000 + 1}"
    fake.fail_next("rate_limit", path_suffix=f"/{comment}/comments")
    with pytest.raises(PlatformError) as limited:
        await connector.capture_account("facebook", PAGE, now=NOW)
    assert limited.value.retryable
    again = await connector.capture_account("facebook", PAGE, now=NOW)
    assert [len(c.replies) for c in again.posts[0].comments] == [2]


def test_r37_the_snapshot_page_shows_replies_nested_under_their_comment() -> None:
    """R-37 "showing layout and content": the rendered snapshot page lists
    each reply inside its comment's item, oldest first, with its author and
    local time, and says when replies were left out."""
    from adapters.connectors.base import (
        AccountProfile,
        CapturedComment,
        CapturedPost,
        CapturedReply,
    )
    from adapters.snapshot_render import render_html

    reply = CapturedReply(id="r2", text="Klockan 18 <b>i</b> foajén.",
                          author_name="Kulturhuset Ängen",
                          created_time=datetime(2026, 3, 1, 13, 5, tzinfo=UTC))
    earlier = CapturedReply(id="r1", text="Samma fråga!", author_name="Åsa Öberg",
                            created_time=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    post = CapturedPost(id="p1", text="Vårens program", created_time=NOW, comments=[
        CapturedComment(id="c1", text="När börjar det?", author_name="Karin Ek",
                        created_time=datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
                        replies=[reply, earlier], replies_truncated=True),
        CapturedComment(id="c2", text="Utan svar", author_name="Per Holm",
                        created_time=datetime(2026, 3, 1, 11, 30, tzinfo=UTC))])
    html = render_html({
        "account": {"account_name": "Kulturhuset Ängen", "timezone": "Europe/Stockholm"},
        "platform_name": "Facebook",
        "profile": AccountProfile(id=PAGE, name="Kulturhuset Ängen").model_dump(),
        "posts": [{**post.model_dump(), "created_local": "2026-03-16 06:00",
                   "comments": [{**c.model_dump(), "created_local": "x"}
                                for c in post.comments]}],
        "shots": [], "notes": [], "reason_text": "på begäran", "source_text": "plattformen",
        "taken_local": "2026-03-16 06:00", "municipality_name": "Exempelby",
        "unit_name": "Kultur", "snapshot_id": "snapshot:x", "diarium_number": None})

    first = html.index("När börjar det?")
    nested = html.index('<ul class="replies"', first)
    assert first < nested < html.index("Samma fråga!") < html.index("Klockan 18")
    assert html.index("Klockan 18") < html.index("</ul>", nested) < html.index("Utan svar")
    assert "Klockan 18 &lt;b&gt;i&lt;/b&gt; foajén." in html  # escaped, as all content
    assert "2026-03-01 14:05" in html  # the reply's time in Stockholm
    assert "Fler svar finns" in html
    assert html.count('<ul class="replies"') == 1  # the comment without replies has none
