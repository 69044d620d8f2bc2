"""The people picker's search (issue 14): the signed-in person's own
municipality's directory, by name, unit or id.

GET /api/people?q=elin
    [{"id": "elin.strand", "name": "Elin Strand", "unit": "Kulturförvaltningen"}]

Signed in only (the session; 401 otherwise), and only the viewer's own
municipality: another municipality's people are never in the answer (R-01:
decisions are authorised against the municipality's own directory). Case
and accents do not count; at most domain.directory.PICKER_LIMIT people.
web/static/site.js turns every field marked data-person-picker into a
combobox that asks this; without JavaScript the field takes the id (and the
page's <datalist> offers the names).
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from domain.directory import PersonChoice, find_people
from web.deps import Ctx
from web.identity import current_viewer
from web.page_texts import Refused


def people_router() -> APIRouter:
    router = APIRouter(tags=["people"])

    @router.get("/api/people", summary="Find people in my municipality's directory "
                                        "(the people picker)")
    async def find(request: Request, ctx: Ctx,
                   q: str = Query("", max_length=200)) -> list[PersonChoice]:
        viewer = await current_viewer(request)
        if viewer is None:
            raise Refused(401, "sign_in_first", "sign in first")
        units = {u.id: u.name for u in await ctx.directory.units(viewer.municipality_id)}
        return find_people(await ctx.directory.people(viewer.municipality_id), units, q)

    return router
