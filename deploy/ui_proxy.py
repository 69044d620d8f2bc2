"""The Temporal UI and Kanalvakt's codec endpoint under one origin (issue
14, item 10): a small reverse proxy in front of the Temporal UI, so that an
authorised person reads decoded payloads without the UI's Codec Server
dialog.

    python -m deploy.ui_proxy --port 8233 --ui http://127.0.0.1:8234 \
        --web http://127.0.0.1:8000

- `/kanalvakt-codec/decode` and `/encode` go to the web app's codec
  endpoint (`/api/codec/...`, web/codec_api.py), with the browser's cookies:
  the UI's codec call is now a same-origin fetch, and the intranet's session
  cookie (host-only, and cookies ignore ports) goes along by itself. The web
  app decides per payload and per person as before: a person who may not
  read a case gets its payloads back still encrypted (ciphertext in the UI);
  someone not signed in gets 401.
- `/api/v1/settings` is the UI's own answer with its codec settings
  replaced: the endpoint is this proxy's `/kanalvakt-codec` on the origin
  the browser used (so `localhost` and `127.0.0.1` both work), with
  `IncludeCredentials` on. `temporal server start-dev` (UI 2.54) cannot set
  `includeCredentials` (it has only `--ui-codec-endpoint`), which is why each
  person had to use the dialog before.
- Everything else goes to the UI unchanged.

In production the same layout is the reverse proxy's job (nginx, the
ingress): the UI and `/kanalvakt-codec/` on one origin, and the UI server's
`codec.endpoint` set to it (a standalone UI server may instead keep the
codec cross-origin with `codec.includeCredentials: true`, README).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CODEC_PATH = "/kanalvakt-codec"
# Not passed on: hop-by-hop headers, and those httpx sets itself.
_DROP_REQUEST = {"host", "content-length", "connection", "keep-alive", "transfer-encoding",
                 "upgrade", "accept-encoding"}
_DROP_RESPONSE = {"content-length", "content-encoding", "transfer-encoding", "connection",
                  "keep-alive"}
# The UI's own settings answer carries its codec settings under "Codec".
SETTINGS_PATH = "/api/v1/settings"


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def _forward(client: httpx.AsyncClient, request: Request, url: str) -> Response:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP_REQUEST}
    upstream = await client.request(request.method, url, headers=headers,
                                    content=await request.body())
    return Response(upstream.content, status_code=upstream.status_code, headers={
        k: v for k, v in upstream.headers.items() if k.lower() not in _DROP_RESPONSE})


def with_codec_settings(settings: dict[str, Any], origin: str) -> dict[str, Any]:
    """The UI's settings with the codec endpoint on this origin, credentials on."""
    codec = dict(settings.get("Codec") or {})
    codec.update({"Endpoint": f"{origin}{CODEC_PATH}", "IncludeCredentials": True})
    return {**settings, "Codec": codec}


def create_ui_proxy(ui: str, web: str, *, timeout: float = 60.0) -> Starlette:
    """The proxy: `ui` the Temporal UI's base URL, `web` the web app's."""
    ui, web = ui.rstrip("/"), web.rstrip("/")
    state: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            state["client"] = client
            yield

    async def codec(request: Request) -> Response:
        rest = request.path_params["rest"]
        if rest not in ("decode", "encode"):
            return Response("not found", status_code=404)
        return await _forward(state["client"], request, f"{web}/api/codec/{rest}")

    async def settings(request: Request) -> Response:
        answer = await _forward(state["client"], request,
                                f"{ui}{SETTINGS_PATH}?{request.url.query}")
        if answer.status_code != 200:
            return answer
        body = with_codec_settings(json.loads(bytes(answer.body)), _origin(request))
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
        return Response(json.dumps(body), status_code=200, headers=headers)

    async def ui_pass(request: Request) -> Response:
        query = f"?{request.url.query}" if request.url.query else ""
        return await _forward(state["client"], request, f"{ui}{request.url.path}{query}")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    return Starlette(routes=[
        Route(f"{CODEC_PATH}/{{rest}}", codec, methods=["POST", "OPTIONS"]),
        Route(SETTINGS_PATH, settings, methods=["GET"]),
        Route("/{path:path}", ui_pass, methods=methods),
    ], lifespan=lifespan)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ui", required=True, help="the Temporal UI's base URL")
    parser.add_argument("--web", required=True, help="the web app's base URL")
    args = parser.parse_args(argv)
    uvicorn.run(create_ui_proxy(args.ui, args.web), host=args.host, port=args.port,
                log_level="warning")


if __name__ == "__main__":
    main()
