"""`/api/v1/oauth`: a person connects their Google account (for the Google Slides export).

`authorize` (signed in) answers the Google consent URL; the browser goes there, and Google sends
it back to `callback` (public: the `state` names the person) which stores the connection and
shows a "connected" page or redirects to `redirect_after`. `DELETE` disconnects.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from parmenid.core.observability import request_id_of
from parmenid.core.ratelimit import Limit
from parmenid.core.web import preferred_language
from parmenid.identity.audit import Actor, AuditLog
from parmenid.presentai.authz import PresentAIUser, Public
from parmenid.presentai.oauth.service import Connected, OAuthService
from parmenid.webapp import RuntimeDep, SessionDep, ip_of, rate_limit

router = APIRouter(prefix="/oauth", tags=["OAuth"])

AUTHORIZE_LIMIT = Depends(rate_limit(Limit.of("oauth_authorize", "30/minute")))
CALLBACK_LIMIT = Depends(rate_limit(Limit.of("oauth_callback", "30/minute")))
# The callback URL carries the authorization code: it must not leak through Referer.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


class AuthorizationOut(BaseModel):
    authorization_url: str = Field(
        description="Open this in the browser; Google sends it back to the callback."
    )
    expires_at: datetime = Field(description="The link works once, until this time.")


class ConnectionOut(BaseModel):
    provider: str
    account_email: str | None
    scopes: list[str]
    connected_at: datetime
    updated_at: datetime


class ConnectionList(BaseModel):
    items: list[ConnectionOut]


@router.get("/connections", response_model=ConnectionList)
async def list_connections(
    user: PresentAIUser, session: SessionDep, runtime: RuntimeDep
) -> ConnectionList:
    """The signed-in person's connected accounts (tokens are never shown)."""
    found = await OAuthService(session, runtime).connections(user.user.id)
    return ConnectionList(
        items=[
            ConnectionOut(
                provider=connection.provider,
                account_email=connection.account_email,
                scopes=connection.scopes.split(),
                connected_at=connection.created_at,
                updated_at=connection.updated_at,
            )
            for connection in found
        ]
    )


@router.get(
    "/{provider}/authorize",
    response_model=AuthorizationOut,
    dependencies=[AUTHORIZE_LIMIT],
    responses={
        302: {"description": "with `redirect=true`: a redirect to the consent page"},
        404: {"description": "not_found: an unknown provider"},
        503: {"description": "provider_not_configured"},
    },
)
async def authorize(
    provider: str,
    user: PresentAIUser,
    session: SessionDep,
    runtime: RuntimeDep,
    redirect: Annotated[bool, Query(description="Answer 302 to the consent page.")] = False,
    redirect_after: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="Where the callback sends the browser afterwards: a path here or a "
            "URL of the PresentAI web app. Without it the callback shows a small page.",
        ),
    ] = None,
) -> AuthorizationOut | Response:
    """Starts connecting the account: Google's consent URL with a one-time `state` (10
    minutes) and a PKCE challenge, asking for offline access to Slides and app-created Drive
    files. API keys cannot do this."""
    service = OAuthService(session, runtime)
    url, expires_at = await service.authorization_url(user.user.id, provider, redirect_after)
    if redirect:
        return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
    return AuthorizationOut(authorization_url=url, expires_at=expires_at)


@router.get(
    "/{provider}/callback",
    response_class=HTMLResponse,
    dependencies=[CALLBACK_LIMIT, Public],
    responses={
        303: {"description": "to `redirect_after`, when the authorization asked for one"},
        400: {
            "description": "bad_request with `reason`: state_invalid, state_expired, "
            "provider_error, code_missing, code_rejected, scope_not_granted"
        },
    },
)
async def callback(
    provider: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=2000)] = None,
    error: Annotated[str | None, Query(max_length=2000)] = None,
    error_description: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    """Where Google sends the browser back. Exchanges the code (with the PKCE verifier) for
    tokens, stores them sealed, and answers a "connected" page or redirects."""
    connected = await OAuthService(session, runtime).complete(
        provider, state=state, code=code, error=error, error_description=error_description
    )
    await AuditLog(session).record(
        actor=Actor.user(connected.user_id),
        action="oauth.connected",
        target_type="oauth_connection",
        target_id=provider,
        changes={"provider": provider, "scopes": connected.scopes},
        ip=ip_of(request),
        user_agent=request.headers.get("user-agent"),
        request_id=request_id_of(request),
    )
    if connected.redirect_after:
        return RedirectResponse(connected.redirect_after, status_code=303, headers=PAGE_HEADERS)
    return HTMLResponse(
        _connected_page(connected, preferred_language(request, ("en", "ru"))), headers=PAGE_HEADERS
    )


@router.delete("/{provider}", status_code=204, response_class=Response)
async def disconnect(
    provider: str, user: PresentAIUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Removes the connection (204 also when there was none) and asks Google to revoke the
    grant; Google being unreachable does not stop the disconnection."""
    removed = await OAuthService(session, runtime).disconnect(user.user.id, provider)
    user.caller.audit(
        "oauth.disconnected",
        target_type="oauth_connection",
        target_id=provider,
        changes={"provider": provider, "removed": removed},
    )
    return Response(status_code=204)


def _connected_page(connected: Connected, language: str) -> str:
    email = html.escape(connected.account_email or "")
    if language == "ru":
        title = "Аккаунт Google подключён"
        line = f"Аккаунт {email} подключён к PresentAI." if email else "Аккаунт подключён."
        close = "Это окно можно закрыть."
    else:
        title = "Google account connected"
        line = f"{email} is now connected to PresentAI." if email else "The account is connected."
        close = "You can close this window."
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;"
        "padding:0 1rem;color:#1f2937}h1{font-size:1.4rem}</style></head>"
        f"<body><h1>{title}</h1><p>{line}</p><p>{close}</p></body></html>"
    )
