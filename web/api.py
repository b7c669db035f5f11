"""The JSON API under /api (OpenAPI at /api/docs)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["api"])
