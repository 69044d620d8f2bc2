"""A tiny OpenID provider for the tests, served over real HTTP (uvicorn on a
free port): discovery, JWKS, authorize and token, with RS256-signed ID
tokens and PKCE (S256) checked as a real provider would. The only stand-in
here is for the third party (Entra ID or the like), never for our code.

    provider = FakeOidcProvider(client_id="kanalvakt", client_secret="s3cret",
                                redirect_uri="http://127.0.0.1:8000/auth/oidc/callback")
    async with provider.serving() as issuer: ...
    provider.login = {"preferred_username": "anna.lind@exempelby.se"}

`provider.mischief` makes the next ID token wrong in one way ("signature":
signed with a key not in the JWKS; "audience"; "nonce"; "expired";
"issuer"), so tests can show each is refused.

Sign-out (RP-Initiated Logout 1.0): the discovery document offers
`end_session_endpoint` (GET /logout) unless `end_session=False`. The handler
checks what a real provider checks (the id_token_hint is its own, for this
client; client_id; post_logout_redirect_uri registered, when
`post_logout_redirect_uri` is set), records the call in `logout_requests`
and sends the browser back with `state`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from tests.servers import held_socket, port_of, serve_app


@dataclass
class _Grant:
    claims: dict[str, Any]
    nonce: str | None
    challenge: str
    redirect_uri: str


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                    ).rstrip(b"=").decode()


@dataclass
class FakeOidcProvider:
    client_id: str
    client_secret: str
    redirect_uri: str
    login: dict[str, Any] = field(default_factory=dict)
    mischief: str | None = None
    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(
        2048, parameters={"kid": "fake-1", "use": "sig", "alg": "RS256"}))
    grants: dict[str, _Grant] = field(default_factory=dict)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    end_session: bool = True
    post_logout_redirect_uri: str = ""
    logout_requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            extra = {"end_session_endpoint": f"{self.issuer}/logout"} if self.end_session \
                else {}
            return {**extra,
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }

        @app.get("/logout")
        async def logout(request: Request) -> Response:
            if not self.end_session:
                return JSONResponse({"error": "not_found"}, status_code=404)
            query = dict(request.query_params)
            hint = query.get("id_token_hint")
            sub = None
            if hint:
                try:  # its own token for this client; an expired one is fine
                    claims = jwt.decode(hint, self.key).claims
                except (ValueError, JoseError):
                    return JSONResponse({"error": "invalid_request",
                                         "error_description": "id_token_hint"}, 400)
                if claims.get("aud") != self.client_id or claims.get("iss") != self.issuer:
                    return JSONResponse({"error": "invalid_request",
                                         "error_description": "id_token_hint aud"}, 400)
                sub = claims.get("sub")
            if query.get("client_id", self.client_id) != self.client_id:
                return JSONResponse({"error": "invalid_client"}, status_code=400)
            back = query.get("post_logout_redirect_uri")
            if back and not (hint or query.get("client_id")):
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            if back and self.post_logout_redirect_uri and back != self.post_logout_redirect_uri:
                return JSONResponse({"error": "invalid_request",
                                     "error_description": "post_logout_redirect_uri"}, 400)
            self.logout_requests.append({**query, "sub": sub})
            if not back:
                return JSONResponse({"signed_out": True})
            state = query.get("state")
            target = back + (("&" if "?" in back else "?") + urlencode({"state": state})
                             if state else "")
            return RedirectResponse(target, status_code=302)

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return KeySet([self.key]).as_dict(private=False)

        @app.get("/authorize")
        async def authorize(response_type: str = Query(), client_id: str = Query(),
                            redirect_uri: str = Query(), state: str = Query(),
                            code_challenge: str = Query(),
                            code_challenge_method: str = Query(),
                            nonce: str | None = Query(None), scope: str = Query("")
                            ) -> Response:
            if (response_type != "code" or client_id != self.client_id
                    or redirect_uri != self.redirect_uri or code_challenge_method != "S256"
                    or "openid" not in scope.split()):
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(24)
            self.grants[code] = _Grant(claims=dict(self.login), nonce=nonce,
                                       challenge=code_challenge, redirect_uri=redirect_uri)
            query = urlencode({"code": code, "state": state})
            return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)

        @app.post("/token")
        async def token(request: Request, grant_type: str = Form(), code: str = Form(),
                        redirect_uri: str = Form(), code_verifier: str = Form()) -> Response:
            self.token_requests.append({"code": code, "verifier": code_verifier})
            expected = "Basic " + base64.b64encode(
                f"{self.client_id}:{self.client_secret}".encode()).decode()
            if request.headers.get("authorization") != expected:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self.grants.pop(code, None)  # a code is good once
            if (grant_type != "authorization_code" or grant is None
                    or grant.redirect_uri != redirect_uri
                    or _s256(code_verifier) != grant.challenge):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            return JSONResponse({"access_token": secrets.token_urlsafe(16),
                                 "token_type": "Bearer", "expires_in": 300,
                                 "id_token": self.id_token(grant)})

        return app

    def id_token(self, grant: _Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": secrets.token_hex(8), "aud": self.client_id,
            "iat": now, "exp": now + 300, "nonce": grant.nonce, **grant.claims}
        key = self.key
        match self.mischief:
            case "signature":
                key = RSAKey.generate_key(2048, parameters={"kid": "fake-1"})
            case "audience":
                claims["aud"] = "someone-else"
            case "nonce":
                claims["nonce"] = "not-the-one"
            case "expired":
                claims["iat"], claims["exp"] = now - 3600, now - 1800
            case "issuer":
                claims["iss"] = "https://evil.example"
        return jwt.encode({"alg": "RS256", "kid": "fake-1"}, claims, key)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        with held_socket() as sock:
            # The issuer is in the app's answers: known before it serves.
            self.issuer = f"http://127.0.0.1:{port_of(sock)}"
            async with serve_app(self.app(), sock):
                yield self.issuer
