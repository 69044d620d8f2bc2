"""The message cases read model (R-28, R-35), with its rows shared with the
fast rebuild."""

from __future__ import annotations

from typing import Any

import asyncpg

from domain import message as msg
from store.eventstore import RecordedEvent
from store.projections.accounts import _notify, _state


def case_head(state: msg.MessageState) -> tuple[Any, ...]:
    """The first columns of the case's message_cases row (case_row), up to
    received_at: cheap, without the deadline plan or the state's JSON."""
    m = state.message
    return (state.case_id, state.account_id, state.municipality_id, m.platform.value,
            m.kind.value, m.from_staff, state.stage.value, state.received_at)


def case_row(state: msg.MessageState, version: int, *, raw: bool = False) -> tuple[Any, ...]:
    """The message_cases row after the case's event `version`, without
    crisis_id, in the order of the table's columns."""
    return (*case_head(state),
            msg.next_deadline(state), state.escalated, state.officer, state.diarium_number,
            [f.model_dump(mode="json") for f in state.flags], state.first_response_at,
            state.closed_at, version, _state(state, raw))


def approval_rows(event: RecordedEvent,
                  typed: msg.ReplySubmittedForApproval | msg.ReplySentBack,
                  state: msg.MessageState) -> list[tuple[Any, ...]]:
    """R-39: crisis management hears of a reply to approve, its writer of a
    reply sent back."""
    recipients = (typed.approvers if isinstance(typed, msg.ReplySubmittedForApproval)
                  else [typed.submitted_by])
    kind = "approval" if isinstance(typed, msg.ReplySubmittedForApproval) else "sent_back"
    return [(event.event_id, who, state.account_id, kind, f"{kind}@{typed.at.isoformat()}",
             state.stage.value, msg.next_deadline(state), event.occurred_at, state.case_id)
            for who in recipients]


class MessageCasesProjection:
    """The moderation inbox, the diarium and the disposal log (R-28, R-35),
    folded with domain.message.evolve; message reminders notify like
    account ones. Content is not here: it lives in message_contents."""

    tables = ("message_cases", "diarium", "disposal_log")

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if not event.stream_id.startswith(msg.STREAM_PREFIX):
            return
        typed = msg.parse_event(event.data)
        if isinstance(typed, msg.MessageReceived | msg.StaffPostRecorded):
            before = None
        else:
            raw = await conn.fetchval("SELECT state FROM message_cases WHERE case_id = $1",
                                      event.stream_id)
            before = msg.MessageState.model_validate(raw)
        state = msg.evolve(before, typed)
        await conn.execute(
            """
            INSERT INTO message_cases (case_id, account_id, municipality_id, platform, kind,
                from_staff, stage, received_at, next_deadline, escalated, officer,
                diarium_number, flags, first_response_at, closed_at, version, state)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
            ON CONFLICT (case_id) DO UPDATE SET
                stage = EXCLUDED.stage, next_deadline = EXCLUDED.next_deadline,
                escalated = EXCLUDED.escalated, officer = EXCLUDED.officer,
                diarium_number = EXCLUDED.diarium_number, flags = EXCLUDED.flags,
                first_response_at = EXCLUDED.first_response_at,
                closed_at = EXCLUDED.closed_at, version = EXCLUDED.version,
                state = EXCLUDED.state
            """,
            *case_row(state, event.version),
        )
        match typed:
            case msg.MessageRegistered():
                await conn.execute(
                    """
                    INSERT INTO diarium (diarium_number, case_id, municipality_id, account_id,
                        record_class, confidential, registered_by, registered_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING
                    """,
                    typed.diarium_number, state.case_id, state.municipality_id,
                    state.account_id, typed.record_class, typed.confidential, typed.actor,
                    typed.at,
                )
            case msg.MessageDisposed():
                await conn.execute(
                    """
                    INSERT INTO disposal_log (case_id, municipality_id, account_id, decision_id,
                        decided_by, disposed_at)
                    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
                    """,
                    state.case_id, state.municipality_id, state.account_id, typed.decision_id,
                    typed.decided_by, typed.at,
                )
            case msg.MessageReminderSent() | msg.MessageEscalated():
                await _notify(conn, event, state.account_id, state.case_id, typed.due)
            case msg.ReplySubmittedForApproval() | msg.ReplySentBack():
                await conn.executemany(
                    """
                    INSERT INTO notifications (event_id, recipient, account_id, kind, step,
                        stage, due, created_at, case_id)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING
                    """,
                    approval_rows(event, typed, state))
