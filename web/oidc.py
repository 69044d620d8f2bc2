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

Sign-out (OpenID Connect RP-Initiated Logout 1.0): when the discovery
document offers `end_session_endpoint`, POST /signout ends our session and
sends the browser there with `id_token_hint` (the ID token, kept in the
session when it is small enough for the cookie), `client_id`,
`post_logout_redirect_uri` (KANALVAKT_OIDC_POST_LOGOUT_REDIRECT_URL, default
our own /signed-out page) and `state`, which /signed-out checks. Without the
endpoint only our session ends, and the page says the provider's may not.
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
    """The sign-in cannot go on. The message (English, with the technical
    cause) is for the log; the page shows the text of `key` (`oidc.<key>` in
    the catalogs, texts/locale/) with `params` in the reader's language."""

    def __init__(self, message: str, key: str = "failed", **params: str) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


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


@dataclass(frozen=True)
class SignedIn:
    """What a finished sign-in gives: the verified claims, and the ID token
    itself (kept for the provider's sign-out, `id_token_hint`)."""

    claims: dict[str, Any]
    id_token: str


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
                    raise OidcError(f"the sign-in provider's discovery failed: {error}",
                                    "discovery") from None
            if not isinstance(meta, dict) or meta.get("issuer") != self.issuer:
                raise OidcError("the sign-in provider's discovery names another issuer",
                                "discovery")
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(meta.get(key), str):
                    raise OidcError(f"the sign-in provider's discovery lacks {key}", "discovery")
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
                    raise OidcError(f"the sign-in provider's keys could not be read: {error}",
                                    "keys") from None
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
                     error: str | None = None) -> SignedIn:
        """The verified ID token and its claims, or OidcError."""
        if error:
            raise OidcError(f"the sign-in provider answered {error}", "provider_error", error=error)
        if flow is None:
            raise OidcError("no sign-in was started in this browser", "no_flow")
        if not state or not secrets.compare_digest(state, flow.state):
            raise OidcError("the sign-in answer does not belong to this browser (state)", "state")
        if time.time() - flow.started > self.flow_lifetime:
            raise OidcError("the sign-in took too long; start again", "too_slow")
        if not code:
            raise OidcError("the sign-in provider sent no code", "no_code")
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
                raise OidcError(f"the token exchange failed: {failure}", "token_exchange") from None
        if response.status_code != 200:
            raise OidcError(f"the token exchange was refused ({response.status_code})",
                            "token_refused", status=str(response.status_code))
        try:
            id_token = response.json()["id_token"]
        except (ValueError, KeyError, TypeError):
            raise OidcError("the token answer holds no ID token", "no_id_token") from None
        claims = await self.verify_id_token(str(id_token), nonce=flow.nonce)
        return SignedIn(claims=claims, id_token=str(id_token))

    async def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        keys = await self._key_set()
        try:
            token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
        except (ValueError, JoseError) as first:
            # A key we do not know yet: the provider may have rotated.
            if "kid" not in str(first).lower() and "key" not in str(first).lower():
                raise OidcError(f"the ID token's signature is not valid: {first}",
                                "signature") from None
            try:
                token = jwt.decode(id_token, await self._key_set(refresh=True),
                                   algorithms=list(ALGORITHMS))
            except (ValueError, JoseError) as second:
                raise OidcError(f"the ID token's signature is not valid: {second}",
                                "signature") from None
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
            raise OidcError(f"the ID token is not for us: {invalid}", "not_for_us") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OidcError("the ID token names several audiences but not us as its azp",
                            "not_for_us")
        return claims

    async def end_session_endpoint(self) -> str | None:
        """The provider's `end_session_endpoint` (OpenID Connect RP-Initiated
        Logout 1.0), or None when its discovery document offers none."""
        endpoint = (await self.metadata()).get("end_session_endpoint")
        if isinstance(endpoint, str) and endpoint.startswith(("https://", "http://")):
            return endpoint
        return None

    def logout_url(self, endpoint: str, *, id_token_hint: str | None,
                   post_logout_redirect_uri: str, state: str) -> str:
        """Where to send the browser to end the session at the provider too.
        `client_id` always goes along: it names us when the ID token was too
        big to keep in the session cookie (no `id_token_hint`), and the
        provider checks it against the hint's audience otherwise."""
        params = {"client_id": self.client_id,
                  "post_logout_redirect_uri": post_logout_redirect_uri, "state": state}
        if id_token_hint:
            params = {"id_token_hint": id_token_hint, **params}
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{urlencode(params)}"

    def who(self, claims: dict[str, Any]) -> str:
        for name in self.claims:
            value = claims.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()
        raise OidcError("the ID token names no person (" + ", ".join(self.claims) + ")",
                        "no_person", claims=", ".join(self.claims))
