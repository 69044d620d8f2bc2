"""The codec endpoint for the Temporal UI and `temporal workflow show
--codec-endpoint` (DESIGN "Data protection"): POST /api/codec/decode and
/api/codec/encode in Temporal's codec-server shape, {"payloads": [{"metadata":
{name: base64}, "data": base64}]}.

Only signed-in staff (the session cookie; with the development sign-in on,
the X-Kanalvakt-Actor header too) may use it: 401 otherwise. CORS with
credentials for the Temporal UI's origin(s) (KANALVAKT_CODEC_CORS_ORIGINS,
default http://localhost:8233), answered here rather than app-wide. Under
/api/ so the CSRF middleware treats it as the JSON API (a JSON body needs a
CORS preflight, which only the allowed origins pass).

The UI's call is a cross-origin fetch: the browser sends the session cookie
only when the UI's codec setting "includeCredentials" is on, and (the cookie
being SameSite=Lax) only when the UI and the intranet are the same site.
`temporal server start-dev` cannot set it; each person turns on "Include
cross-origin credentials" in the UI's Codec Server dialog (browser setting).
A standalone UI server sets it for everyone (codec.includeCredentials /
TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true). Proved in a browser by
tests/e2e/test_temporal_ui_codec.py.

Decoding is per payload and per person (issue 10): a payload under a
workflow's data key (codec.py) is decrypted only for a person of the
municipality it belongs to, who may read it:
- a message case (`message:...`): who may read the case in the intranet
  (web.messages_api.may_read_case: the account's admins, its unit's manager
  and deputy, the case's officer, crisis management approving its reply,
  the communications unit and the registrars);
- an account (`account:<m>:<slug>`): the municipality's people, as
  GET /api/accounts/{id} (staff data: the request, admins, decisions);
- a crisis (`crisis:<m>`): crisis management and the communications unit,
  as the crisis digests (web/crisis_api.py);
- anything else of a municipality (snapshots): its communications unit and
  registrars, as the records exports;
- no municipality (the system key: schedules, the directory, calls outside a
  workflow): members of a communications unit;
- written by the single-key scheme (no scope in the metadata): nobody here,
  since nothing tells whose it is; operators who hold the keys read it with
  a codec client (README "Payload encryption").
Any other payload comes back as it was sent (still encrypted), so the UI
shows ciphertext for it and the rest of the page still works; so does a
payload whose key is unknown or destroyed (a disposed case, R-35).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from temporalio.api.common.v1 import Payload

import settings as app_settings
from codec import (
    DEK,
    KEY_ID,
    SYSTEM,
    DataKey,
    EncryptionCodec,
    PayloadDecryptionError,
    ScopedCodec,
    codec_from_settings,
    scope_of,
)
from domain import readers
from readviews import messages as mq
from web.deps import AppContext
from web.identity import Actor, api_actor, known_actor
from web.messages_api import may_read_case
from web.page_texts import Refused

log = structlog.get_logger("kanalvakt.codec")

MAX_PAYLOADS = 1000


def _cors_headers(request: Request) -> dict[str, str]:
    cfg: app_settings.Settings = request.app.state.settings
    origin = request.headers.get("origin", "").rstrip("/")
    if not origin or origin not in cfg.codec_cors_origins:
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin"}


def _codec(request: Request) -> EncryptionCodec:
    codec: EncryptionCodec | None = getattr(request.app.state, "payload_codec", None)
    if codec is None:
        cfg: app_settings.Settings = request.app.state.settings
        codec = codec_from_settings(cfg.payload_keys, cfg.production, cfg.database_url)
        if codec is None:
            raise HTTPException(404, detail="payload encryption is off "
                                "(KANALVAKT_PAYLOAD_KEYS is not set)")
        request.app.state.payload_codec = codec
    return codec


async def _staff(request: Request) -> Actor:
    """Who asks: the session's person, or the development header; 401 for
    anyone else."""
    actor = await api_actor(request)
    if actor is None:
        raise HTTPException(401, detail="sign in to the intranet first")
    return actor


async def may_decrypt(ctx: AppContext, actor: Actor, scope: str | None,
                      key: DataKey | None) -> bool:
    """The rule of the module docstring for one scope."""
    try:
        if scope is None:
            return False  # the single-key scheme: whose, nothing says
        if scope == SYSTEM or (key is not None and key.municipality_id is None
                               and not scope.startswith("message:")):
            if actor.municipality_id is None:
                return False
            who = await known_actor(ctx, actor.municipality_id, actor)
            return readers.COMMUNICATIONS in await ctx.directory.roles_of(
                actor.municipality_id, who)
        if scope.startswith("message:"):
            case = await mq.case(ctx.pool, scope)
            if case is None:
                return False
            await known_actor(ctx, case["municipality_id"], actor)
            await may_read_case(ctx, case, actor.person_id)
            return True
        if key is None or key.municipality_id is None:
            return False
        municipality_id = key.municipality_id
        who = await known_actor(ctx, municipality_id, actor)
        if scope.startswith("account:"):
            return True  # as GET /api/accounts/{id}: the municipality's people
        return readers.may_open_sealed(scope, await ctx.directory.roles_of(municipality_id, who))
    except Refused:
        return False


async def decode_for(ctx: AppContext, codec: EncryptionCodec, actor: Actor,
                     payloads: list[Payload]) -> tuple[list[Payload], int]:
    """Each payload decrypted if `actor` may read it, else as it came;
    returns them and how many were decrypted."""
    scopes = {scope_of(p) for p in payloads}
    keys: dict[str, DataKey] = {}
    dek_scopes = [s for s in scopes if s and s != SYSTEM]
    if isinstance(codec, ScopedCodec) and dek_scopes:
        # read again, not from the cache: a key destroyed a moment ago is gone
        keys = await codec.data_keys.for_decoding(dek_scopes, fresh=True)
    allowed = {s: await may_decrypt(ctx, actor, s, keys.get(s or "")) for s in scopes}
    out, opened = [], 0
    for p in payloads:
        if not _encrypted(p) or not allowed[scope_of(p)]:
            out.append(p)
            continue
        try:
            [plain] = await codec.decode([p])
        except PayloadDecryptionError as e:
            log.info("codec payload left encrypted", reason=str(e))
            out.append(p)
            continue
        out.append(plain)
        opened += 1
    return out, opened


def _encrypted(p: Payload) -> bool:
    return p.metadata.get("encoding") == b"binary/encrypted" and bool(p.metadata.get(KEY_ID))


def _kinds(payloads: Iterable[Payload]) -> str:
    return ",".join(sorted({"dek" if p.metadata.get(KEY_ID) == DEK.encode() else "key"
                            for p in payloads if _encrypted(p)}))


def _payloads(body: Any) -> list[Payload]:
    if not isinstance(body, dict) or not isinstance(body.get("payloads"), list):
        raise HTTPException(400, detail='expected {"payloads": [...]}')
    if len(body["payloads"]) > MAX_PAYLOADS:
        raise HTTPException(413, detail=f"at most {MAX_PAYLOADS} payloads per call")
    try:
        return [ParseDict(p, Payload()) for p in body["payloads"]]
    except (ParseError, TypeError, ValueError) as e:
        raise HTTPException(400, detail=f"not a payload: {e}") from e


def codec_router() -> APIRouter:
    router = APIRouter(prefix="/api/codec", tags=["codec"])

    @router.options("/{operation}")
    async def preflight(operation: str, request: Request) -> Response:
        headers = _cors_headers(request)
        if "Access-Control-Allow-Origin" in headers:
            headers |= {"Access-Control-Allow-Methods": "POST, OPTIONS",
                        "Access-Control-Allow-Headers":
                            "content-type, x-namespace, authorization",
                        "Access-Control-Max-Age": "600"}
        return Response(status_code=204, headers=headers)

    async def run(operation: str, request: Request) -> JSONResponse:
        cors = _cors_headers(request)
        try:
            who = await _staff(request)
            codec = _codec(request)
            try:
                body = await request.json()
            except ValueError as e:
                raise HTTPException(400, detail="the body is not JSON") from e
            payloads = _payloads(body)
            opened = 0
            if operation == "decode":
                out, opened = await decode_for(request.app.state.ctx, codec, who, payloads)
            else:
                out = await codec.encode(payloads)  # unbound: the system key
        except HTTPException as e:
            return JSONResponse({"detail": e.detail}, status_code=e.status_code, headers=cors)
        log.info("codec", operation=operation, payloads=len(payloads), decrypted=opened,
                 kinds=_kinds(payloads), by=f"{who.municipality_id or '?'}/{who.person_id}",
                 namespace=request.headers.get("x-namespace"))
        return JSONResponse({"payloads": [MessageToDict(p) for p in out]}, headers=cors)

    @router.post("/decode")
    async def decode(request: Request) -> JSONResponse:
        return await run("decode", request)

    @router.post("/encode")
    async def encode(request: Request) -> JSONResponse:
        return await run("encode", request)

    return router
