"""Who is asking: the signed-in person of the intranet, and the acting person
of the JSON API.

The session (a signed, HttpOnly, SameSite=Lax cookie; web/security.py sets
it up) holds only the person's municipality and id. Every request loads the
person from the org directory again, with their roles, so a person who left
the directory, or lost a role, loses it at once.

Pages:   `viewer: Signed` (a `Viewer`, or a redirect to the sign-in page)
         `viewer: MaybeSigned` (a `Viewer` or None, for public pages)
API:     `actor: ApiActor` (an `Actor` or None), checked with `known_actor`.
         The `X-Kanalvakt-Actor` header names the actor only while the
         development sign-in is on (the local stack, the tests); otherwise
         the API acts as the session's person, and state-changing calls need
         a JSON body (web/security.py, the CSRF rule for the API).

Roles come from the directory: `communications`, `registrar` (roles table),
`manager` (manager or deputy of at least one active unit; the units are in
`Viewer.manages`). Relations (my unit, my account, my case) are checked by
the page against the case's own state, and again by the workflow.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from web.deps import AppContext, context_of
from web.page_texts import Refused

SESSION_KEY = "who"
ACTOR_HEADER = "X-Kanalvakt-Actor"


class SignInRequired(Exception):
    """A page needs a signed-in person: answered with a redirect to /signin."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, as the directory has them now."""

    municipality_id: str
    municipality_name: str
    country: str
    person_id: str
    name: str
    email: str
    unit: str | None
    roles: frozenset[str]
    manages: frozenset[str]  # unit ids where the person is manager or deputy
    via: str  # "dev" or "oidc"

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @property
    def is_communications(self) -> bool:
        return "communications" in self.roles

    @property
    def is_registrar(self) -> bool:
        return "registrar" in self.roles

    def manages_unit(self, unit_id: str) -> bool:
        return unit_id in self.manages


@dataclass(frozen=True)
class Actor:
    """The person an API call acts as. `municipality_id` is None for the
    development header, which names a person of whichever municipality the
    call concerns."""

    person_id: str
    municipality_id: str | None
    via: str  # "header" or "session"


def dev_signin_enabled(request: Request) -> bool:
    return bool(request.app.state.settings.dev_signin)


def session(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = request.session
    return data


# The ID token is kept for the provider's sign-out (`id_token_hint`) only when
# it leaves the session cookie well under the browsers' 4096-byte limit (the
# cookie is the session's JSON in base64, signed); a bigger one (Entra ID puts
# group ids in it) is dropped, and the sign-out names us by client_id alone.
ID_TOKEN_KEY = "idt"
ID_TOKEN_MAX = 2200


def sign_in(request: Request, municipality_id: str, person_id: str, via: str,
            id_token: str | None = None) -> None:
    """Start a fresh session for the person: everything the old session held
    (a half-done OIDC flow, the CSRF token) is dropped, so nothing carries
    over from before sign-in."""
    s = session(request)
    lang = s.get("lang")
    s.clear()
    s[SESSION_KEY] = {"m": municipality_id, "p": person_id, "via": via,
                      "at": datetime.now(UTC).isoformat(timespec="seconds")}
    s["csrf"] = secrets.token_urlsafe(32)
    if id_token and len(id_token) <= ID_TOKEN_MAX:
        s[ID_TOKEN_KEY] = id_token
    if lang:
        s["lang"] = lang


@dataclass(frozen=True)
class SignedOut:
    """What an ended session leaves for the provider's sign-out."""

    via: str | None  # "dev", "oidc", or None when nobody was signed in
    id_token: str | None


def sign_out(request: Request) -> SignedOut:
    """End Kanalvakt's session; what it held for the provider's sign-out."""
    s = session(request)
    who = s.get(SESSION_KEY)
    token = s.get(ID_TOKEN_KEY)
    s.clear()
    request.state.viewer = None
    return SignedOut(via=str(who.get("via")) if isinstance(who, dict) else None,
                     id_token=token if isinstance(token, str) else None)


async def current_viewer(request: Request) -> Viewer | None:
    """The signed-in person, or None; once per request."""
    if hasattr(request.state, "viewer"):
        cached: Viewer | None = request.state.viewer
        return cached
    viewer = await _load_viewer(request)
    request.state.viewer = viewer
    return viewer


async def _load_viewer(request: Request) -> Viewer | None:
    who = session(request).get(SESSION_KEY)
    if not isinstance(who, dict):
        return None
    ctx = context_of(request)
    municipality_id, person_id = str(who.get("m", "")), str(who.get("p", ""))
    person = await ctx.directory.person(municipality_id, person_id)
    municipality = await ctx.directory.municipality(municipality_id)
    if person is None or municipality is None:
        sign_out(request)  # gone from the directory: the session ends
        return None
    roles = await ctx.directory.roles_of(municipality_id, person_id)
    manages = frozenset(u.id for u in await ctx.directory.units(municipality_id)
                        if person_id in (u.manager, u.deputy))
    return Viewer(
        municipality_id=municipality_id, municipality_name=municipality.name,
        country=municipality.country.value, person_id=person.id, name=person.name,
        email=person.email, unit=person.unit, roles=frozenset(roles), manages=manages,
        via=str(who.get("via", "")),
    )


async def require_viewer(request: Request) -> Viewer:
    viewer = await current_viewer(request)
    if viewer is None:
        path = request.url.path
        if request.url.query:
            path += "?" + request.url.query
        raise SignInRequired(path if request.method == "GET" else "/")
    return viewer


Signed = Annotated[Viewer, Depends(require_viewer)]
MaybeSigned = Annotated[Viewer | None, Depends(current_viewer)]


async def api_actor(request: Request) -> Actor | None:
    """The one identity rule of the JSON API (web/app.py, web/messages_api.py)."""
    named = request.headers.get(ACTOR_HEADER)
    if named and dev_signin_enabled(request):
        return Actor(person_id=named, municipality_id=None, via="header")
    who = session(request).get(SESSION_KEY)
    if isinstance(who, dict) and who.get("p") and who.get("m"):
        return Actor(person_id=str(who["p"]), municipality_id=str(who["m"]), via="session")
    return None


ApiActor = Annotated[Actor | None, Depends(api_actor)]


async def known_actor(ctx: AppContext, municipality_id: str, actor: Actor | None) -> str:
    """The acting person's id, once they are an active person in the
    directory of the municipality the call concerns; 401 or 403 otherwise."""
    if actor is None:
        raise Refused(401, "sign_in_first", "sign in first (with the development sign-in on, "
                      f"the {ACTOR_HEADER} header may name the acting person)")
    if actor.municipality_id is not None and actor.municipality_id != municipality_id:
        raise Refused(403, "other_municipality", f"{actor.person_id} is signed in for "
                      f"{actor.municipality_id}, not {municipality_id}")
    if await ctx.directory.person(municipality_id, actor.person_id) is None:
        raise Refused(403, "not_in_directory", f"{actor.person_id} is not in "
                      f"{municipality_id}'s directory", who=actor.person_id)
    return actor.person_id
