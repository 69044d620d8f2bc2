"""Which connector acts for an account (the messages' activities and the
snapshot capture use it): Meta's Graph API where a Page token is configured,
else a person by hand. Kept apart from the package's models, so importing
`adapters.connectors` (workflows do) pulls in no HTTP client."""

from __future__ import annotations

import json

import httpx

import settings as app_settings
from adapters.connectors.base import PlatformConnector, PlatformTarget
from adapters.connectors.manual import ManualConnector
from adapters.connectors.meta_graph import MetaGraphConnector

_META_PLATFORMS = {"facebook", "instagram"}


class Connectors:
    """Picks the connector for an account: Meta's Graph API where a Page
    token is configured for it, else a person acts by hand (ManualConnector)."""

    def __init__(self, http: httpx.AsyncClient | None = None, *,
                 tokens: dict[str, str] | None = None, graph_url: str | None = None) -> None:
        self._http = http
        self._tokens = tokens or {}
        self._graph_url = graph_url
        self._manual = ManualConnector()

    @classmethod
    def from_env(cls, http: httpx.AsyncClient) -> Connectors:
        """`META_PAGE_TOKENS` is a JSON object of account id → Page token;
        `META_GRAPH_URL` points elsewhere than graph.facebook.com (tests)."""
        cfg = app_settings.load()
        tokens = json.loads(cfg.meta_page_tokens or "{}")
        return cls(http, tokens=tokens, graph_url=cfg.meta_graph_url or None)

    def for_target(self, target: PlatformTarget) -> PlatformConnector:
        if (target.platform in _META_PLATFORMS and target.account_ref in self._tokens
                and self._http is not None):
            kwargs = {"base_url": self._graph_url} if self._graph_url else {}
            return MetaGraphConnector(self._http, self._token, **kwargs)
        return self._manual

    async def _token(self, account_ref: str) -> str:
        return self._tokens[account_ref]
