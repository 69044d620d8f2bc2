"""R-37, R-38: the connectors' account capture (profile, recent posts and
their comments) against the local fake of Meta's Graph API, and the manual
connector's refusal that sends a person to upload screenshots."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

from activities.connectors import PlatformError
from activities.connectors.base import SCREENSHOTS_NEEDED
from activities.connectors.manual import ManualConnector
from activities.connectors.meta_graph import MetaGraphConnector
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
