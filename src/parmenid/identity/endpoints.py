"""Session endpoints that both apps expose alike: login, refresh, logout, logout-all.

No `from __future__ import annotations` here: FastAPI must see the closure's dependency types.

Registration and e-mail verification answer differently per contract and stay in each app.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from parmenid.identity.auth import sign_in, signed_in
from parmenid.identity.schemas import LogoutRequest, RefreshRequest, TokenResponse, UserLogin
from parmenid.identity.service import Audience, IdentityService, Principal
from parmenid.runtime import Runtime
from parmenid.webapp import RuntimeDep, SessionDep


def add_session_routes(
    router: APIRouter,
    audience_of: Callable[[Runtime], Audience],
    limit: Any,
    *,
    lifetime: str,
    login_responses: dict[int | str, dict[str, Any]] | None = None,
    principal_dependency: Callable[..., Any] | None = None,
    open_dependencies: list[Any] | None = None,
) -> None:
    """Add `/login`, `/refresh`, `/logout` and `/logout-all` for `audience_of`'s tokens.

    `principal_dependency` replaces the plain JWT check for logout (an app's own mechanism);
    `open_dependencies` are added to the routes anyone may call (login, refresh)."""
    open_to_all = [limit, *(open_dependencies or [])]
    current_user = Annotated[Principal, Depends(principal_dependency or signed_in(audience_of))]

    @router.post(
        "/login",
        response_model=TokenResponse,
        dependencies=open_to_all,
        responses=login_responses or {},
        description=f"Returns a JWT access token ({lifetime}) and an opaque refresh token.",
    )
    async def login(
        body: UserLogin,
        request: Request,
        response: Response,
        session: SessionDep,
        runtime: RuntimeDep,
    ) -> TokenResponse:
        tokens = await sign_in(request, session, body, audience_of(runtime))
        response.headers["Cache-Control"] = "no-store"
        return TokenResponse(**tokens.__dict__)

    @router.post("/refresh", response_model=TokenResponse, dependencies=open_to_all)
    async def refresh(
        body: RefreshRequest, response: Response, session: SessionDep, runtime: RuntimeDep
    ) -> TokenResponse:
        """Rotates the refresh token; each works once. Reusing an old one ends the session."""
        tokens = await IdentityService(session, runtime.identity).refresh(
            body.refresh_token, audience_of(runtime)
        )
        response.headers["Cache-Control"] = "no-store"
        return TokenResponse(**tokens.__dict__)

    @router.post("/logout", status_code=204, response_class=Response)
    async def logout(
        principal: current_user,
        session: SessionDep,
        runtime: RuntimeDep,
        body: LogoutRequest | None = None,
    ) -> Response:
        """Ends this session: its refresh token and access tokens stop working."""
        await IdentityService(session, runtime.identity).logout(
            principal, body.refresh_token if body else None
        )
        return Response(status_code=204)

    @router.post("/logout-all", status_code=204, response_class=Response)
    async def logout_all(
        principal: current_user,
        session: SessionDep,
        runtime: RuntimeDep,
    ) -> Response:
        """Ends every session of the user, including live access tokens."""
        await IdentityService(session, runtime.identity).logout_all(principal.user)
        return Response(status_code=204)
