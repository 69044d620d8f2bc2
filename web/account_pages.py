"""The account lifecycle's pages (placeholder until they land)."""

from __future__ import annotations

from fastapi import APIRouter


def account_pages_router() -> APIRouter:
    return APIRouter(include_in_schema=False)
