"""The JSON API for crisis mode (R-39) and storm flags (R-40).

POST /api/municipalities/{m}/crisis          crisis management declares (whole or units)
POST /api/municipalities/{m}/crisis/end      crisis management ends it
GET  /api/municipalities/{m}/crisis          the crisis in force (null) and earlier ones
GET  /api/municipalities/{m}/crisis/digests  R-39 digests, with the questions' texts
GET  /api/municipalities/{m}/storms          R-40 storm flags
GET  /api/crisis/notices                     the crisis notices in force: public, no sign-in

Identity as web.messages_api: the signed-in person (or, with the development
sign-in on, the `X-Kanalvakt-Actor` header), checked against the
municipality's directory. Who may switch is the CrisisWorkflow's rule
(its Update validators: a refusal records nothing); who may read digests
(personal data: the questions' texts) is checked here: crisis management and
the communications unit.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from domain import crisis as cr
from domain import readers
from readviews import crisis as crisis_reads
from web.deps import AppContext, Ctx, send_update
from web.identity import Actor, ApiActor, known_actor
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import CrisisResult
from workflows.starter import start_crisis_case

log = structlog.get_logger("kanalvakt.web.crisis")


class DeclareBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    units: list[str] = Field(default_factory=list, max_length=100,
                             description="Empty: the whole municipality")


class EndBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class CrisisView(BaseModel):
    municipality_id: str
    active: cr.CrisisMode | None
    reason: str | None = None
    declared_by: str | None = None
    accounts_informed: int | None = None
    cases_informed: int | None = None


def _view(result: CrisisResult) -> CrisisView:
    s, told = result.state, result.informed
    return CrisisView(municipality_id=s.municipality_id, active=s.active, reason=s.reason,
                      declared_by=s.declared_by,
                      accounts_informed=told.accounts if told else None,
                      cases_informed=told.cases if told else None)


async def switch_handle(ctx: AppContext, municipality_id: str, who: str) -> Any:
    """The running CrisisWorkflow with the directory's settings as they are
    now (an update, so the switch is validated against them), once `who` is
    in crisis management: anyone else is refused (403) before the workflow
    is started or its settings recorded, so a refusal changes nothing. The
    workflow's validator decides again. Shared with web/crisis_pages.py."""
    settings = await crisis_reads.crisis_settings(ctx.pool, municipality_id)
    if settings is None:
        raise HTTPException(404, detail=f"no municipality {municipality_id}")
    if not cr.may_switch(settings, who):
        raise HTTPException(403, detail={
            "code": "NotAuthorised", "key": "crisis.management_only",  # web/rule_texts.py
            "message": f"R-39: only crisis management may switch crisis mode; {who} is not in "
                       f"{municipality_id}'s crisis management"})
    state = await crisis_reads.crisis_record(ctx.pool, municipality_id)
    handle = await start_crisis_case(ctx.client, settings, state, task_queue=ctx.task_queue)
    await handle.execute_update(CrisisWorkflow.load_settings,
                                cr.LoadSettings(actor=cr.SYSTEM, settings=settings))
    return handle


def crisis_router() -> APIRouter:
    router = APIRouter(tags=["crisis"])

    @router.post("/api/municipalities/{municipality_id}/crisis", response_model=CrisisView)
    async def declare(municipality_id: str, body: DeclareBody, ctx: Ctx,
                      actor: ApiActor) -> CrisisView:
        """R-39: crisis management switches the municipality (or units) into
        crisis mode; its accounts and their open cases follow."""
        who = await known_actor(ctx, municipality_id, actor)
        handle = await switch_handle(ctx, municipality_id, who)
        result: CrisisResult = await send_update(handle, CrisisWorkflow.declare_crisis,
                                                 cr.DeclareCrisis(actor=who, reason=body.reason,
                                                                  units=frozenset(body.units)))
        log.info("crisis declared", municipality=municipality_id, actor=who,
                 crisis_id=result.state.active.crisis_id if result.state.active else None)
        return _view(result)

    @router.post("/api/municipalities/{municipality_id}/crisis/end", response_model=CrisisView)
    async def end(municipality_id: str, body: EndBody, ctx: Ctx,
                  actor: ApiActor) -> CrisisView:
        """R-39: back to the normal rules."""
        who = await known_actor(ctx, municipality_id, actor)
        handle = await switch_handle(ctx, municipality_id, who)
        result: CrisisResult = await send_update(handle, CrisisWorkflow.end_crisis,
                                                 cr.EndCrisis(actor=who, reason=body.reason))
        log.info("crisis ended", municipality=municipality_id, actor=who)
        return _view(result)

    @router.get("/api/municipalities/{municipality_id}/crisis")
    async def current(municipality_id: str, ctx: Ctx, actor: ApiActor
                      ) -> dict[str, Any]:
        await known_actor(ctx, municipality_id, actor)
        history = await crisis_reads.crises(ctx.pool, municipality_id)
        active = next((c for c in history if c["ended_at"] is None), None)
        return {"municipality_id": municipality_id, "active": active, "history": history}

    async def _reader(ctx: AppContext, municipality_id: str, actor: Actor | None) -> str:
        who = await known_actor(ctx, municipality_id, actor)
        if not readers.may_read_crisis(await ctx.directory.roles_of(municipality_id, who)):
            raise HTTPException(403, detail=f"{who} is neither in crisis management nor in the "
                                "communications unit")
        return who

    @router.get("/api/municipalities/{municipality_id}/crisis/digests")
    async def digests(municipality_id: str, ctx: Ctx, actor: ApiActor,
                      crisis_id: str | None = None) -> list[dict[str, Any]]:
        """R-39: questions and moods, compiled at the set interval."""
        await _reader(ctx, municipality_id, actor)
        return await crisis_reads.digests(ctx.pool, municipality_id, crisis_id=crisis_id,
                                          texts=True, data_keys=ctx.data_keys)

    @router.get("/api/municipalities/{municipality_id}/storms")
    async def storm_flags(municipality_id: str, ctx: Ctx, actor: ApiActor
                          ) -> list[dict[str, Any]]:
        """R-40: storms of criticism flagged to the communications unit."""
        await _reader(ctx, municipality_id, actor)
        return await crisis_reads.storms(ctx.pool, municipality_id)

    @router.get("/api/crisis/notices")
    async def notices(ctx: Ctx, municipality: str | None = None) -> list[dict[str, Any]]:
        """R-39: what the accounts point to while in crisis mode; public, like
        the register of channels."""
        return [{"municipality_id": c["municipality_id"], "units": c["units"],
                 "notice": c["mode"]["notice"], "since": c["declared_at"]}
                for c in await crisis_reads.crises(ctx.pool, municipality, current=True)]

    return router
