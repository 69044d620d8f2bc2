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
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from temporalio.api.common.v1 import Payload

import settings as app_settings
from codec import EncryptionCodec, PayloadDecryptionError, codec_from_settings
from web.identity import ACTOR_HEADER, current_viewer, dev_signin_enabled

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
        codec = codec_from_settings(cfg.payload_keys, cfg.production)
        if codec is None:
            raise HTTPException(404, detail="payload encryption is off "
                                "(KANALVAKT_PAYLOAD_KEYS is not set)")
        request.app.state.payload_codec = codec
    return codec


async def _staff(request: Request) -> str:
    """Who asks: a signed-in person of the directory, or the development
    header; 401 for anyone else."""
    named = request.headers.get(ACTOR_HEADER)
    if named and dev_signin_enabled(request):
        return f"header:{named}"
    viewer = await current_viewer(request)
    if viewer is None:
        raise HTTPException(401, detail="sign in to the intranet first")
    return f"{viewer.municipality_id}/{viewer.person_id}"


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
            try:
                out = await (codec.decode(payloads) if operation == "decode"
                             else codec.encode(payloads))
            except PayloadDecryptionError as e:
                raise HTTPException(422, detail=str(e)) from e
        except HTTPException as e:
            return JSONResponse({"detail": e.detail}, status_code=e.status_code, headers=cors)
        log.info("codec", operation=operation, payloads=len(payloads), by=who,
                 namespace=request.headers.get("x-namespace"))
        return JSONResponse({"payloads": [MessageToDict(p) for p in out]}, headers=cors)

    @router.post("/decode")
    async def decode(request: Request) -> JSONResponse:
        return await run("decode", request)

    @router.post("/encode")
    async def encode(request: Request) -> JSONResponse:
        return await run("encode", request)

    return router
