"""The routers of share links, for the PresentAI app to include.

`api_router` goes under `/api/v1` (the management endpoints and the public JSON API);
`page_router` serves the viewer page at `/share/{token}` and its assets, outside `/api/v1`.
"""

from __future__ import annotations

from fastapi import APIRouter

from parmenid.presentai.shares import endpoints, public, viewer

api_router = APIRouter()
api_router.include_router(endpoints.router)
api_router.include_router(public.router)

page_router = viewer.router
