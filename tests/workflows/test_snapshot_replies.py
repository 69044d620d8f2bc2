"""R-37: a snapshot keeps the replies to comments: captured through the Graph
API (the local fake), nested under their comment on the rendered page,
counted in SnapshotTaken's comments, and kept in the BagIt package that the
reference `bagit` validator accepts. The pipeline and its environment are
those of tests/workflows/test_snapshot_workflow.py (fixture `s`)."""

from __future__ import annotations

import json
from pathlib import Path

from domain import snapshot as snap
from tests.fakes.meta_graph import seed_page
from tests.workflows.test_snapshot_workflow import (
    PAGE,
    TOKEN,
    Env,
    check_package,
    put_active_account,
)
from tests.workflows.test_snapshot_workflow import s as s  # noqa: F401 - the fixture
from workflows.snapshot_models import SnapshotResult
from workflows.snapshot_starter import start_snapshot


async def test_r37_snapshot_packages_replies_nested_under_their_comments(s: Env) -> None:  # noqa: F811
    now = await s.env.get_current_time()
    seed_page(s.graph, PAGE, TOKEN, posts=2, comments_per_post=2, replies_per_comment=3)
    state = await put_active_account(s, name="Kulturhuset Ängen", platform="facebook",
                                     platform_account_id=PAGE, at=now)
    handle = await start_snapshot(
        s.client, account_id=state.account_id, municipality_id="exempelby", slug=state.slug,
        reason=snap.SnapshotReason.ON_DEMAND, day=snap.local_date(now, "Europe/Stockholm"),
        task_queue=s.task_queue, label="replies")
    result = SnapshotResult.model_validate(await handle.result())

    # 4 comments and 12 replies: SnapshotTaken's comments count both.
    assert (result.source, result.posts, result.comments) == ("platform", 2, 16)
    row = await s.pool.fetchrow("SELECT comments FROM snapshots WHERE snapshot_id = $1",
                                handle.id)
    assert row["comments"] == 16
    bag = check_package(result.package.path)  # bagit validates; METS lists every file
    content = Path(result.package.path) / "data/content"
    capture = json.loads((content / "capture.json").read_text("utf-8"))
    comment = capture["posts"][0]["comments"][0]
    assert [r["text"] for r in comment["replies"]][:1] == [
        f"Svar 1 på kommentar {comment['id'][-1]} på inlägg 2: klockan 18."]
    assert sum(len(c["replies"]) for p in capture["posts"] for c in p["comments"]) == 12
    assert bag.entries["data/content/capture.json"]["sha256"]
    page = (content / "snapshot.html").read_text("utf-8")
    for p in (1, 2):
        for c in (1, 2):
            start = page.index(f"Kommentar {c} på inlägg {p}:")
            nested = page.index('<ul class="replies"', start)
            for r in (1, 2, 3):
                assert nested < page.index(f"Svar {r} på kommentar {c} på inlägg {p}:")
    assert page.count('<ul class="replies"') == 4
