"""OpenID Connect sign-in: the authorization code flow with PKCE (S256),
state and nonce, for Entra ID and any other conforming provider.

    GET /auth/oidc/start      make state, nonce and a PKCE verifier, keep them in
                              the session, send the browser to the provider
    GET /auth/oidc/callback   check the state, exchange the code (with the
                              verifier and the client secret), verify the ID
                              token (signature against the provider's JWKS,
                              RS256/ES256 only; iss, aud, azp, exp, iat, nonce)
                              and sign the person in

The provider's discovery document and keys are fetched over HTTPS (httpx) and
cached; an unknown `kid` refetches the keys once (key rotation). The person
is the first ID-token claim of `KANALVAKT_OIDC_CLAIMS` that is present
(default `preferred_username`, then `email`), matched against the
directory's e-mail addresses, then its person ids. Settings: settings.py
(`KANALVAKT_OIDC_*`).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
CLOCK_SKEW = 120  # seconds


class OidcError(Exception):
    """The sign-in cannot go on; the message is safe to show."""


@dataclass
class OidcFlow:
    """What the session keeps between start and callback."""

    state: str
    nonce: str
    verifier: str
    next_path: str
    started: float

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "nonce": self.nonce, "verifier": self.verifier,
                "next": self.next_path, "started": self.started}

    @classmethod
    def from_dict(cls, data: object) -> OidcFlow | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(state=str(data["state"]), nonce=str(data["nonce"]),
                       verifier=str(data["verifier"]), next_path=str(data.get("next", "/")),
                       started=float(data["started"]))
        except (KeyError, TypeError, ValueError):
            return None


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class OidcClient:
    issuer: str
    client_id: str
    client_secret: str
    redirect_url: str
    scopes: str = "openid profile email"
    claims: tuple[str, ...] = ("preferred_username", "email")
    flow_lifetime: float = 600.0
    _metadata: dict[str, Any] | None = field(default=None, repr=False)
    _keys: KeySet | None = field(default=None, repr=False)

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=10, follow_redirects=False)

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            async with self._http() as http:
                try:
                    response = await http.get(url)
                    response.raise_for_status()
                    meta = response.json()
                except (httpx.HTTPError, ValueError) as error:
                    raise OidcError(f"the sign-in provider's discovery failed: {error}") from None
            if not isinstance(meta, dict) or meta.get("issuer") != self.issuer:
                raise OidcError("the sign-in provider's discovery names another issuer")
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(meta.get(key), str):
                    raise OidcError(f"the sign-in provider's discovery lacks {key}")
            self._metadata = meta
        return self._metadata

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            meta = await self.metadata()
            async with self._http() as http:
                try:
                    response = await http.get(meta["jwks_uri"])
                    response.raise_for_status()
                    self._keys = KeySet.import_key_set(response.json())
                except (httpx.HTTPError, ValueError, JoseError) as error:
                    raise OidcError(f"the sign-in provider's keys could not be read: {error}"
                                    ) from None
        return self._keys

    async def start(self, next_path: str) -> tuple[str, OidcFlow]:
        """The provider's authorization URL, and the flow to keep in the session."""
        meta = await self.metadata()
        flow = OidcFlow(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                        verifier=secrets.token_urlsafe(64), next_path=next_path,
                        started=time.time())
        query = urlencode({
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": self.redirect_url, "scope": self.scopes, "state": flow.state,
            "nonce": flow.nonce, "code_challenge": pkce_challenge(flow.verifier),
            "code_challenge_method": "S256",
        })
        separator = "&" if "?" in meta["authorization_endpoint"] else "?"
        return f"{meta['authorization_endpoint']}{separator}{query}", flow

    async def finish(self, flow: OidcFlow | None, *, state: str | None, code: str | None,
                     error: str | None = None) -> dict[str, Any]:
        """The verified ID token's claims, or OidcError."""
        if error:
            raise OidcError(f"the sign-in provider answered {error}")
        if flow is None:
            raise OidcError("no sign-in was started in this browser")
        if not state or not secrets.compare_digest(state, flow.state):
            raise OidcError("the sign-in answer does not belong to this browser (state)")
        if time.time() - flow.started > self.flow_lifetime:
            raise OidcError("the sign-in took too long; start again")
        if not code:
            raise OidcError("the sign-in provider sent no code")
        meta = await self.metadata()
        async with self._http() as http:
            try:
                response = await http.post(
                    meta["token_endpoint"],
                    data={"grant_type": "authorization_code", "code": code,
                          "redirect_uri": self.redirect_url, "code_verifier": flow.verifier,
                          "client_id": self.client_id},
                    auth=(self.client_id, self.client_secret),
                    headers={"Accept": "application/json"})
            except httpx.HTTPError as failure:
                raise OidcError(f"the token exchange failed: {failure}") from None
        if response.status_code != 200:
            raise OidcError(f"the token exchange was refused ({response.status_code})")
        try:
            id_token = response.json()["id_token"]
        except (ValueError, KeyError, TypeError):
            raise OidcError("the token answer holds no ID token") from None
        return await self.verify_id_token(str(id_token), nonce=flow.nonce)

    async def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        keys = await self._key_set()
        try:
            token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
        except (ValueError, JoseError) as first:
            # A key we do not know yet: the provider may have rotated.
            if "kid" not in str(first).lower() and "key" not in str(first).lower():
                raise OidcError(f"the ID token's signature is not valid: {first}") from None
            try:
                token = jwt.decode(id_token, await self._key_set(refresh=True),
                                   algorithms=list(ALGORITHMS))
            except (ValueError, JoseError) as second:
                raise OidcError(f"the ID token's signature is not valid: {second}") from None
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_SKEW,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as invalid:
            raise OidcError(f"the ID token is not for us: {invalid}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OidcError("the ID token names several audiences but not us as its azp")
        return claims

    def who(self, claims: dict[str, Any]) -> str:
        for name in self.claims:
            value = claims.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()
        raise OidcError("the ID token names no person (" + ", ".join(self.claims) + ")")
