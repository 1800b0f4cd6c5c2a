"""The corporate site's API (`site-api.md`): leads, sign-up and sign-in, health."""

from __future__ import annotations

import re

from fastapi import FastAPI

from parmenid.config import get_settings
from parmenid.identity.schemas import FIELD_LABELS as ACCOUNT_LABELS
from parmenid.runtime import Runtime
from parmenid.site import accounts, health
from parmenid.site.admin import endpoints as admin
from parmenid.site.chat import admin as avatars_admin
from parmenid.site.chat import endpoints as chat
from parmenid.site.chat.cors import ChatCORS
from parmenid.site.errors import render_site_error
from parmenid.site.leads import endpoints as leads
from parmenid.site.leads.schemas import FIELD_LABELS as LEAD_LABELS
from parmenid.site.ui import pages
from parmenid.webapp import build_app

API_PREFIX = "/api/v1"


def create_app(runtime: Runtime | None = None) -> FastAPI:
    settings = runtime.settings if runtime is not None else get_settings()
    app = build_app(
        title="Parmenid site API",
        description=(
            "Public API of the corporate website: lead requests, registration and login, "
            'health. Errors: `{"error": {"code", "message"}}`, messages in Russian '
            "(English with `Accept-Language: en`)."
        ),
        metrics_name="site",
        renderer=render_site_error,
        runtime=runtime,
        cors_origins=settings.site.cors_origins,
        field_labels={**LEAD_LABELS, **ACCOUNT_LABELS},
        body_limit_exempt=re.compile(re.escape(API_PREFIX) + avatars_admin.UPLOAD_PATH),
    )
    # Routes are matched in order (each included router costs a few microseconds to pass over),
    # so the busiest come first: monitors' health checks, then the lead form.
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(leads.router, prefix=API_PREFIX)
    app.include_router(chat.router, prefix=API_PREFIX)
    app.include_router(avatars_admin.router, prefix=API_PREFIX)
    app.include_router(accounts.router, prefix=API_PREFIX)
    app.include_router(admin.router, prefix=API_PREFIX)
    app.include_router(pages.router)
    app.add_middleware(ChatCORS)  # outermost: widgets on other sites call the chat API
    return app
