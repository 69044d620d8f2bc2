"""Starting an account's case: one place for its id, reuse policy and the
search attributes it is found by, used by the web app and the tests."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from domain import account as acc
from domain import crisis as cr
from domain import message as msg
from workflows import search_attributes as sa
from workflows.account import AccountLifecycleWorkflow, AccountWorkflowInput
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import CrisisWorkflowInput, StormReport
from workflows.message import InboundMessageWorkflow, MessageWorkflowInput


async def start_account_case(
    client: Client, command: acc.RequestAccount, *, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """Raises WorkflowAlreadyStartedError when an account of that name and
    platform has been requested before: the case name is the account's."""
    request = command.request
    slug = acc.account_slug(request.account_name, request.platform)
    return await client.start_workflow(
        AccountLifecycleWorkflow.run,
        AccountWorkflowInput(start=command),
        id=acc.workflow_id_for(command.municipality_id, slug),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes([
            SearchAttributePair(sa.MUNICIPALITY, command.municipality_id),
            SearchAttributePair(sa.ACCOUNT, command.account_id),
            SearchAttributePair(sa.UNIT, request.unit_id),
            SearchAttributePair(sa.PLATFORM, request.platform.value),
            SearchAttributePair(sa.STAGE, acc.Stage.AWAITING_MANAGER.value),
            SearchAttributePair(sa.ESCALATED, False),
        ]),
    )


async def refresh_running_accounts(client: Client, municipality_id: str) -> int:
    """After the directory is reloaded, tell every running account case of the
    municipality to reload its unit's authorities (a new manager decides from
    then on). Returns how many cases were told."""
    query = (
        'WorkflowType="AccountLifecycleWorkflow" AND ExecutionStatus="Running" '
        f'AND {sa.MUNICIPALITY.name}="{municipality_id}"'
    )
    told = 0
    async for execution in client.list_workflows(query):
        await client.get_workflow_handle(execution.id).signal(
            AccountLifecycleWorkflow.refresh_authorities)
        told += 1
    return told


async def start_message_case(
    client: Client, command: msg.ReceiveMessage, *, task_queue: str, diarium_prefix: str = "KS",
    receipt_recorded: bool = False, account_workflow_id: str | None = None,
) -> WorkflowHandle[Any, Any]:
    """Start the case of one inbound message, or find it: the id comes from
    the platform and its id for the message, so a redelivered webhook (or a
    feeder retrying) reaches the case already started (USE_EXISTING)."""
    m = command.message
    # The same pure decision the workflow takes, for the search attributes it
    # starts with (so its first task need not upsert them).
    received = msg.evolve(None, msg.decide(None, command, now=m.published_at)[0])
    due = msg.next_deadline(received)
    return await client.start_workflow(
        InboundMessageWorkflow.run,
        MessageWorkflowInput(receive=command, diarium_prefix=diarium_prefix,
                             receipt_recorded=receipt_recorded,
                             account_workflow_id=account_workflow_id),
        id=command.case_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        # The feeder runs beside the worker on the same client: the first
        # workflow task comes back with the start instead of through the task
        # queue (a poll and a dispatch fewer on the server per case;
        # docs/benchmarks.md). Without a local worker with a free slot (a
        # feeder-only process) it is an ordinary start.
        request_eager_start=True,
        search_attributes=TypedSearchAttributes([
            SearchAttributePair(sa.MUNICIPALITY, command.municipality_id),
            SearchAttributePair(sa.ACCOUNT, command.account_id),
            SearchAttributePair(sa.PLATFORM, m.platform.value),
            SearchAttributePair(sa.STAGE, received.stage.value),
            SearchAttributePair(sa.ESCALATED, False),
            *([SearchAttributePair(sa.NEXT_DEADLINE, due)] if due else []),
            *([SearchAttributePair(sa.CRISIS, True)] if command.crisis else []),
        ]),
    )


def _crisis_attributes(settings: cr.CrisisSettings, state: cr.CrisisState | None
                       ) -> TypedSearchAttributes:
    return TypedSearchAttributes([
        SearchAttributePair(sa.MUNICIPALITY, settings.municipality_id),
        SearchAttributePair(sa.CRISIS, state is not None and state.active is not None),
    ])


async def start_crisis_case(client: Client, settings: cr.CrisisSettings,
                            state: cr.CrisisState | None, *, task_queue: str
                            ) -> WorkflowHandle[Any, Any]:
    """The municipality's CrisisWorkflow (R-39, R-40), started unless it runs;
    a restarted one carries on from its record (`state`, folded from the
    crisis stream)."""
    return await client.start_workflow(
        CrisisWorkflow.run, CrisisWorkflowInput(settings=settings, state=state),
        id=cr.workflow_id_for(settings.municipality_id), task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=_crisis_attributes(settings, state))


async def signal_storm(client: Client, settings: cr.CrisisSettings,
                       state: cr.CrisisState | None, report: StormReport, *, task_queue: str
                       ) -> None:
    """R-40: report a storm to the crisis workflow, starting it if need be."""
    await client.start_workflow(
        CrisisWorkflow.run, CrisisWorkflowInput(settings=settings, state=state),
        id=cr.workflow_id_for(settings.municipality_id), task_queue=task_queue,
        start_signal="storm_detected", start_signal_args=[report],
        search_attributes=_crisis_attributes(settings, state))
