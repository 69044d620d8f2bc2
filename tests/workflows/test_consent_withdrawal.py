"""R-41 (issue 14) in the account workflow (time-skipping test server): a
guardian's uploaded consent recorded with a post is withdrawn through the
update `withdraw_consent`; the record names the upload, who and why, and the
admins are told at once (the plan's `consent_take_down`), once, to take the
image down. Anyone but the admins and the communications unit is refused
with nothing recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain import account as acc
from tests.support import COMMS, MANAGER, OUTSIDER, REQUESTER, eventually
from tests.workflows.conftest import Harness
from tests.workflows.test_account_lifecycle import W, today
from tests.workflows.test_monitoring import ADMINS, active, events_of, notified

UPLOAD = "5b1c0d4e-0000-4000-8000-000000000041"


async def test_r41_a_withdrawn_consent_is_recorded_and_the_admins_are_told_once(
        h: Harness) -> None:
    handle, state = await active(h)
    signed = acc.ConsentUpload(upload_id=UPLOAD, sha256="c0" * 32, file_name="samtycke.pdf")
    posted = await handle.execute_update(W.record_post, acc.RecordPost(
        actor=REQUESTER, post_id="p-41", published_at=await today(h),
        images=(acc.PostImage(rights="Foto: Lisa Berg", child_under_15=True,
                              guardian_consent_upload=signed),)))
    assert [c.upload_id for c in posted.consents] == [UPLOAD]

    command = acc.WithdrawConsent(actor=OUTSIDER, upload_id=UPLOAD,
                                  reason="Vårdnadshavaren ringde")
    for who in (OUTSIDER, MANAGER):
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(W.withdraw_consent,
                                        command.model_copy(update={"actor": who}))
    after = await handle.execute_update(W.withdraw_consent,
                                        command.model_copy(update={"actor": COMMS}))
    [consent] = after.consents
    assert (consent.ended, consent.ended_by) == ("withdrawn", COMMS)
    [event] = await events_of(h, state.account_id, "ConsentWithdrawn")
    assert event["data"]["upload_id"] == UPLOAD and event["data"]["post_id"] == "p-41"

    told = await eventually(lambda: notified(h, state.account_id, "consent_take_down"),
                            lambda got: len(got) >= len(ADMINS))
    assert told == [("reminder", admin) for admin in ADMINS]
    await h.env.sleep(timedelta(days=3))  # told once, not again
    assert await notified(h, state.account_id, "consent_take_down") == told
    # Again (the web app's retry to finish destroying the file): nothing new.
    await handle.execute_update(W.withdraw_consent,
                                command.model_copy(update={"actor": REQUESTER}))
    assert len(await events_of(h, state.account_id, "ConsentWithdrawn")) == 1
