"""Google for tests: the OAuth 2.0 consent, token and revocation endpoints, the Slides API
(`presentations.create`, `.get`, `.batchUpdate`) and Drive `files.delete`, as Google answers.

The consent endpoint plays a person who clicks "Allow" (or "Cancel": `consent = "deny"`, or
unticks scopes: `withheld_scopes`) and redirects to the client's `redirect_uri` with a code.
The token endpoint checks the client, the code, the redirect URI and the PKCE verifier, and
issues opaque tokens and an ID token; refresh tokens work until revoked.

`batchUpdate` keeps a model of the presentation (`google_slides_model`) and validates every
request the way the API does, all or nothing: a refused batch answers 400 INVALID_ARGUMENT with
Google's message (`Invalid requests[3].insertText: ...`) and changes nothing. API calls check
the bearer token (401 UNAUTHENTICATED when unknown or expired) and its scopes (403 with
ACCESS_TOKEN_SCOPE_INSUFFICIENT).

Failure modes: `fail(kind, times, status)` makes the next `times` calls of a kind (`token`,
`create`, `get`, `batch`, `drive`, `revoke`) answer `status` (503 by default; 429 with
`Retry-After`); `times=None` fails them until `recover()`. `slow(kind, seconds)` answers a kind
only after a while (and still applies it, as Google does when the client has given up).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes.google_slides_model import (
    Invalid,
    Presentation,
    SlidesRules,
    create_slide,
    presentation_json,
)

SLIDES_SCOPE = "https://www.googleapis.com/auth/presentations"
DRIVE_FILE_SCOPE = "https://www.googleapis.com/auth/drive.file"
EMAIL_SCOPE = "https://www.googleapis.com/auth/userinfo.email"
SCOPE_ALIASES = {
    "email": EMAIL_SCOPE,
    "profile": "https://www.googleapis.com/auth/userinfo.profile",
}
ID_TOKEN_KEY = "fake-google-id-token-signing-key-0123456789"
Kind = Literal["token", "create", "get", "batch", "drive", "revoke"]


@dataclass
class Grant:
    code: str
    redirect_uri: str
    challenge: str
    scopes: list[str]
    expires_at: float
    used: bool = False


@dataclass
class Received:
    kind: str
    method: str
    path: str
    body: Any


@dataclass
class FakeGoogle:
    client_id: str = "fake-client-id.apps.googleusercontent.com"
    client_secret: str = "fake-client-secret"
    account_email: str = "ann.person@gmail.example"
    redirect_uris: set[str] = field(default_factory=set)  # empty: any
    consent: Literal["allow", "deny"] = "allow"
    withheld_scopes: set[str] = field(default_factory=set)
    access_ttl: int = 3599
    rules: SlidesRules = field(default_factory=SlidesRules)
    url: str = ""
    received: list[Received] = field(default_factory=list)
    batches: list[list[dict[str, Any]]] = field(default_factory=list)  # accepted
    rejected: list[str] = field(default_factory=list)  # messages of refused batches
    token_forms: list[dict[str, str]] = field(default_factory=list)
    presentations: dict[str, Presentation] = field(default_factory=dict)
    access_tokens: dict[str, tuple[float, list[str], str]] = field(default_factory=dict)
    refresh_tokens: dict[str, list[str]] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)
    grants: dict[str, Grant] = field(default_factory=dict)
    failures: dict[str, tuple[int | None, int]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # --- test controls -----------------------------------------------------------------------

    def fail(self, kind: Kind, times: int | None = None, status: int = 503) -> None:
        with self._lock:
            self.failures[kind] = (times, status)

    def recover(self) -> None:
        with self._lock:
            self.failures.clear()
            self.delays.clear()

    def slow(self, kind: Kind, seconds: float) -> None:
        with self._lock:
            self.delays[kind] = seconds

    def expire_access_tokens(self) -> None:
        with self._lock:
            for token, (_, scopes, refresh) in list(self.access_tokens.items()):
                self.access_tokens[token] = (0.0, scopes, refresh)

    def revoke_everything(self) -> None:
        """The person removes the app's access in their Google account settings."""
        with self._lock:
            self.revoked += list(self.refresh_tokens) + list(self.access_tokens)
            self.refresh_tokens.clear()
            self.access_tokens.clear()

    def calls(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.kind == kind]

    def issued_tokens(self) -> list[str]:
        return [*self.access_tokens, *self.refresh_tokens, *self.revoked]

    def reset(self) -> None:
        with self._lock:
            for name in ("received", "batches", "rejected", "token_forms", "revoked"):
                getattr(self, name).clear()
            self.presentations.clear()
            self.access_tokens.clear()
            self.refresh_tokens.clear()
            self.grants.clear()
            self.failures.clear()
            self.consent = "allow"
            self.withheld_scopes = set()
            self.delays.clear()
            self.rules = SlidesRules()

    # --- the app -------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/o/oauth2/v2/auth", self._consent, methods=["GET"]),
                Route("/token", self._token, methods=["POST"]),
                Route("/revoke", self._revoke, methods=["POST"]),
                Route("/v1/presentations", self._create, methods=["POST"]),
                Route("/v1/presentations/{pid}:batchUpdate", self._batch, methods=["POST"]),
                Route("/v1/presentations/{pid}", self._get, methods=["GET"]),
                Route("/drive/v3/files/{fid}", self._drive_delete, methods=["DELETE"]),
            ]
        )

    def _injected(self, kind: str) -> Response | None:
        with self._lock:
            found = self.failures.get(kind)
            if found is None:
                return None
            times, status = found
            if times is not None:
                if times <= 0:
                    del self.failures[kind]
                    return None
                self.failures[kind] = (times - 1, status)
        headers = {"Retry-After": "0"} if status == 429 else {}
        if kind in ("token", "revoke"):
            return JSONResponse(
                {"error": "server_error", "error_description": "Backend Error"}, status, headers
            )
        reason = "RESOURCE_EXHAUSTED" if status == 429 else "UNAVAILABLE"
        return _api_error(status, "The service is currently unavailable.", reason, headers)

    async def _record(self, kind: str, request: Request) -> Any:
        raw = await request.body()
        body: Any
        if request.headers.get("content-type", "").startswith("application/json"):
            body = json.loads(raw or b"null")
        else:
            body = dict((await request.form()).items())
        with self._lock:
            self.received.append(Received(kind, request.method, request.url.path, body))
            delay = self.delays.get(kind)
        if delay:
            await asyncio.sleep(delay)
        return body

    # --- OAuth -------------------------------------------------------------------------------

    async def _consent(self, request: Request) -> Response:
        query = request.query_params
        await self._record("consent", request)
        if query.get("client_id") != self.client_id:
            return Response("Error 401: invalid_client", 401, media_type="text/html")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri or (self.redirect_uris and redirect_uri not in self.redirect_uris):
            return Response("Error 400: redirect_uri_mismatch", 400, media_type="text/html")
        problems = []
        if query.get("response_type") != "code":
            problems.append("response_type")
        if query.get("code_challenge_method") != "S256" or not re.fullmatch(
            r"[A-Za-z0-9_-]{43}", query.get("code_challenge", "")
        ):
            problems.append("code_challenge")
        requested = [SCOPE_ALIASES.get(s, s) for s in query.get("scope", "").split()]
        if not requested:
            problems.append("scope")
        if problems:
            return Response(
                f"Error 400: invalid_request ({', '.join(problems)})", 400, media_type="text/html"
            )
        back: dict[str, str] = {"state": query.get("state", "")} if "state" in query else {}
        if self.consent == "deny":
            back["error"] = "access_denied"
            return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", 302)
        granted = [s for s in requested if s not in self.withheld_scopes]
        code = "4/0A" + secrets.token_urlsafe(30)
        with self._lock:
            self.grants[code] = Grant(
                code, redirect_uri, query["code_challenge"], granted, time.time() + 600
            )
        back.update(code=code, scope=" ".join(granted), authuser="0", prompt="consent")
        return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", 302)

    async def _token(self, request: Request) -> Response:
        form: dict[str, str] = await self._record("token", request)
        with self._lock:
            self.token_forms.append(dict(form))
        failed = self._injected("token")
        if failed is not None:
            return failed
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return _oauth_error(401, "invalid_client", "Unauthorized")
        grant_type = form.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                grant = self.grants.get(form.get("code", ""))
                if grant is None or grant.used or grant.expires_at < time.time():
                    return _oauth_error(400, "invalid_grant", "Bad Request")
                if form.get("redirect_uri") != grant.redirect_uri:
                    return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
                verifier = form.get("code_verifier", "")
                if not verifier:
                    return _oauth_error(400, "invalid_grant", "Missing code verifier.")
                digest = hashlib.sha256(verifier.encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                    return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
                grant.used = True
                refresh = "1//0" + secrets.token_urlsafe(40)
                self.refresh_tokens[refresh] = grant.scopes
                return JSONResponse(
                    self._issue(grant.scopes, refresh) | {"refresh_token": refresh},
                    headers={"Cache-Control": "no-store"},
                )
            if grant_type == "refresh_token":
                refresh = form.get("refresh_token", "")
                if refresh not in self.refresh_tokens:
                    return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
                return JSONResponse(self._issue(self.refresh_tokens[refresh], refresh))
        return _oauth_error(400, "unsupported_grant_type", "Invalid grant_type: " + str(grant_type))

    def _issue(self, scopes: list[str], refresh: str) -> dict[str, Any]:
        access = "ya29.a0" + secrets.token_urlsafe(60)
        self.access_tokens[access] = (time.time() + self.access_ttl, scopes, refresh)
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.access_ttl,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
        }
        if "openid" in scopes:
            now = int(time.time())
            claims = {
                "iss": "https://accounts.google.com",
                "aud": self.client_id,
                "azp": self.client_id,
                "sub": "110248495921238986420",
                "iat": now,
                "exp": now + 3600,
            }
            if EMAIL_SCOPE in scopes:
                claims |= {"email": self.account_email, "email_verified": True}
            body["id_token"] = jwt.encode(claims, ID_TOKEN_KEY, algorithm="HS256")
        return body

    async def _revoke(self, request: Request) -> Response:
        form: dict[str, str] = await self._record("revoke", request)
        failed = self._injected("revoke")
        if failed is not None:
            return failed
        token = form.get("token", "")
        with self._lock:
            if token in self.refresh_tokens:
                del self.refresh_tokens[token]
                for access, (_, _, refresh) in list(self.access_tokens.items()):
                    if refresh == token:
                        del self.access_tokens[access]
            elif token in self.access_tokens:
                del self.access_tokens[token]
            else:
                return _oauth_error(400, "invalid_token", "Token expired or revoked")
            self.revoked.append(token)
        return JSONResponse({})

    def _authorized(self, request: Request, scope: str) -> Response | None:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        with self._lock:
            found = self.access_tokens.get(token)
        if found is None or found[0] < time.time():
            return _api_error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
                "UNAUTHENTICATED",
            )
        if scope not in found[1] and not (
            scope == DRIVE_FILE_SCOPE and "https://www.googleapis.com/auth/drive" in found[1]
        ):
            return _api_error(
                403,
                "Request had insufficient authentication scopes.",
                "PERMISSION_DENIED",
                reason="ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            )
        return None

    # --- Slides ------------------------------------------------------------------------------

    async def _create(self, request: Request) -> Response:
        body = await self._record("create", request)
        refused = self._injected("create") or self._authorized(request, SLIDES_SCOPE)
        if refused is not None:
            return refused
        if not isinstance(body, dict) or set(body) - {"title", "presentationId", "locale"}:
            return _api_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
        with self._lock:
            pid = "1" + secrets.token_urlsafe(32).replace("-", "x").replace("_", "y")
            presentation = Presentation(pid, str(body.get("title") or "Untitled presentation"))
            self.presentations[pid] = presentation
            # A new presentation has one title slide, "p", as Google's does.
            create_slide(presentation, "p", 0, "TITLE", {}, self.rules)
            return JSONResponse(presentation_json(presentation))

    async def _get(self, request: Request) -> Response:
        await self._record("get", request)
        refused = self._injected("get") or self._authorized(request, SLIDES_SCOPE)
        if refused is not None:
            return refused
        with self._lock:
            presentation = self.presentations.get(request.path_params["pid"])
            if presentation is None or presentation.deleted:
                return _api_error(404, "Requested entity was not found.", "NOT_FOUND")
            return JSONResponse(presentation_json(presentation))

    async def _batch(self, request: Request) -> Response:
        body = await self._record("batch", request)
        refused = self._injected("batch") or self._authorized(request, SLIDES_SCOPE)
        if refused is not None:
            return refused
        with self._lock:
            presentation = self.presentations.get(request.path_params["pid"])
            if presentation is None or presentation.deleted:
                return _api_error(404, "Requested entity was not found.", "NOT_FOUND")
            requests = body.get("requests") if isinstance(body, dict) else None
            if not isinstance(requests, list) or not requests:
                return _api_error(400, "Must specify at least one request.", "INVALID_ARGUMENT")
            required = (body.get("writeControl") or {}).get("requiredRevisionId")
            if required is not None and required != str(presentation.revision):
                return _api_error(
                    400,
                    "The provided revision ID does not match the latest revision.",
                    "FAILED_PRECONDITION",
                )
            draft = copy.deepcopy(presentation)
            replies: list[dict[str, Any]] = []
            for number, item in enumerate(requests):
                kind = next(iter(item), "?") if isinstance(item, dict) else "?"
                try:
                    replies.append(self.rules.apply(draft, item))
                except Invalid as exc:
                    message = f"Invalid requests[{number}].{kind}: {exc}"
                    self.rejected.append(message)
                    return _api_error(400, message, "INVALID_ARGUMENT")
            draft.revision += 1
            self.presentations[presentation.presentation_id] = draft
            self.batches.append(requests)
            return JSONResponse(
                {
                    "presentationId": draft.presentation_id,
                    "replies": replies,
                    "writeControl": {"requiredRevisionId": str(draft.revision)},
                }
            )

    async def _drive_delete(self, request: Request) -> Response:
        await self._record("drive", request)
        refused = self._injected("drive") or self._authorized(request, DRIVE_FILE_SCOPE)
        if refused is not None:
            return refused
        with self._lock:
            presentation = self.presentations.get(request.path_params["fid"])
            if presentation is None or presentation.deleted:
                return _api_error(404, "File not found.", "NOT_FOUND")
            presentation.deleted = True
        return Response(status_code=204)


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


def _api_error(
    status: int,
    message: str,
    code: str,
    headers: dict[str, str] | None = None,
    *,
    reason: str | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"code": status, "message": message, "status": code}
    if reason:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
            }
        ]
    return JSONResponse({"error": error}, status, headers)
