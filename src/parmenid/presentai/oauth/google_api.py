"""Google's OAuth 2.0 endpoints and REST APIs over the shared outbound client (no Google SDK).

Every call has the configured timeout. Answers 429 and 5xx, and requests that never reached
Google (connection refused, connect timeout), are tried again with exponential backoff and
jitter (or after Google's `Retry-After`), `max_attempts` times in all. A request that reached
Google but got no answer is tried again only if repeating it is harmless (`idempotent`): a
repeated `batchUpdate` or code exchange could act twice.

Tokens travel in headers and form bodies only, never in URLs, so request logs stay clean; error
messages carry Google's error code and description, never a request or response body.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from parmenid.config import GoogleSettings
from parmenid.core.db import utcnow

log = logging.getLogger("parmenid.oauth.google")

RETRYABLE = frozenset({429, 500, 502, 503, 504})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAX_RETRY_AFTER_SECONDS = 30.0


class GoogleCallFailed(Exception):
    """Google refused a call (`status` 4xx), or kept failing (`status` 429/5xx, or None when it
    did not answer). `error` is Google's code (`invalid_grant`, `PERMISSION_DENIED`, ...)."""

    def __init__(
        self, what: str, status: int | None, error: str, description: str, reason: str = ""
    ) -> None:
        super().__init__(f"{what}: {status or 'no answer'} {error} {description}".strip())
        self.what = what
        self.status = status
        self.error = error
        self.description = description
        self.reason = reason  # ErrorInfo.reason, e.g. ACCESS_TOKEN_SCOPE_INSUFFICIENT

    @property
    def refused(self) -> bool:
        """Google answered and said no: trying again will not help."""
        return self.status is not None and self.status not in RETRYABLE

    def summary(self) -> str:
        if self.status is None:
            return f"{self.what}: Google did not answer ({self.description})"
        text = f"{self.what}: HTTP {self.status}"
        if self.error:
            text += f" {self.error}"
        if self.description:
            text += f": {self.description[:300]}"
        return text


class TokenRejected(Exception):
    """An API answered 401: the access token expired early or was revoked."""


@dataclass(frozen=True)
class TokenGrant:
    """An answer of the token endpoint."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None
    scopes: list[str]
    id_token: str | None = field(repr=False, default=None)


class GoogleApi:
    def __init__(self, http: httpx.AsyncClient, settings: GoogleSettings) -> None:
        self.http = http
        self.settings = settings

    # --- OAuth 2.0 --------------------------------------------------------------------------

    def _client_credentials(self) -> dict[str, str]:
        secret = self.settings.client_secret
        return {
            "client_id": self.settings.client_id or "",
            "client_secret": secret.get_secret_value() if secret else "",
        }

    async def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> TokenGrant:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
            **self._client_credentials(),
        }
        # A code is single-use: a repeat after a lost answer would be refused anyway.
        return await self._token("the code exchange", form, idempotent=False)

    async def refresh(self, refresh_token: str) -> TokenGrant:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            **self._client_credentials(),
        }
        return await self._token("the token refresh", form, idempotent=True)

    async def revoke(self, token: str) -> None:
        response = await self._send(
            "POST",
            self.settings.revoke_url,
            "the revocation",
            idempotent=True,
            data={"token": token},
        )
        if response.status_code >= 400:
            raise _failure("the revocation", response)

    async def _token(self, what: str, form: dict[str, str], *, idempotent: bool) -> TokenGrant:
        response = await self._send(
            "POST", self.settings.token_url, what, idempotent=idempotent, data=form
        )
        if response.status_code != 200:
            raise _failure(what, response)
        body = _json(response)
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise GoogleCallFailed(what, 502, "invalid_response", "no access_token in the answer")
        expires_in = body.get("expires_in")
        expires_at = (
            utcnow() + timedelta(seconds=float(expires_in))
            if isinstance(expires_in, int | float)
            else None
        )
        refresh = body.get("refresh_token")
        id_token = body.get("id_token")
        return TokenGrant(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=expires_at,
            scopes=str(body.get("scope") or "").split(),
            id_token=id_token if isinstance(id_token, str) else None,
        )

    # --- REST APIs ----------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        url: str,
        what: str,
        token: str,
        *,
        idempotent: bool,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A JSON API call with a bearer token; its JSON answer ({} when it has none)."""
        response = await self._send(
            method,
            url,
            what,
            idempotent=idempotent,
            json=json,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code == 401:
            raise TokenRejected(what)
        if response.status_code >= 400:
            raise _failure(what, response)
        return _json(response) if response.content else {}

    async def _send(
        self, method: str, url: str, what: str, *, idempotent: bool, **kwargs: Any
    ) -> httpx.Response:
        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            delay = self.settings.backoff_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
            try:
                response = await self.http.request(
                    method, url, timeout=self.settings.timeout_seconds, **kwargs
                )
            except NOT_SENT as exc:
                status: int | None = None
                problem = type(exc).__name__
            except httpx.TransportError as exc:
                if not idempotent:
                    raise GoogleCallFailed(
                        what,
                        None,
                        "",
                        f"{type(exc).__name__}; not repeated, it may have been applied",
                    ) from exc
                status, problem = None, type(exc).__name__
            else:
                if response.status_code not in RETRYABLE:
                    return response
                status, problem = response.status_code, f"HTTP {response.status_code}"
                delay = _retry_after(response) or delay
                if attempt == attempts:
                    raise _failure(what, response, attempts=attempts)
            if attempt == attempts:
                raise GoogleCallFailed(what, status, "", f"{problem} after {attempts} attempts")
            log.warning(
                "google call failed, trying again",
                extra={"call": what, "problem": problem, "attempt": attempt, "delay": delay},
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _failure(what: str, response: httpx.Response, *, attempts: int = 1) -> GoogleCallFailed:
    """Google's error, in either of its shapes: OAuth `{"error", "error_description"}` or API
    `{"error": {"code", "message", "status", "details": [{"reason"}]}}`."""
    body = _json(response)
    error, description, reason = "", "", ""
    found = body.get("error")
    if isinstance(found, str):
        error, description = found, str(body.get("error_description") or "")
    elif isinstance(found, dict):
        error = str(found.get("status") or "")
        description = str(found.get("message") or "")
        for detail in found.get("details") or []:
            if isinstance(detail, dict) and detail.get("reason"):
                reason = str(detail["reason"])
    if attempts > 1:
        description = f"{description} (after {attempts} attempts)".strip()
    return GoogleCallFailed(what, response.status_code, error, description, reason)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
