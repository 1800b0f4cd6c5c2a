"""Connecting a person's outside account: OAuth 2.0 authorization code flow with PKCE (S256).

Rules that are not obvious from the code:
* `state` is 256 random bits, stored only as its SHA-256, valid for 10 minutes and used once:
  the callback deletes the row before anything else (`DELETE ... RETURNING` in a transaction of
  its own, so two callbacks racing with one state cannot both win, and the deletion stands even
  when the callback then fails). The state row names the user: the callback needs no bearer
  token.
* The PKCE verifier never leaves the server (Google sees only its S256 challenge) and is stored
  sealed like the tokens.
* Google lets the person untick scopes on the consent screen. Without the Slides scope the
  connection is useless, so it is not stored and the grant is revoked.
* Tokens are stored sealed (`crypto.TokenSealer`) and never appear in responses or logs.
* `redirect_after` may only point at this service (a path, or the PresentAI public URL or one of
  its CORS origins): the callback is not an open redirect.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.config import Settings
from parmenid.core.db import after_commit, new_id, utcnow
from parmenid.core.errors import (
    BadRequest,
    FieldProblem,
    NotFound,
    ServiceUnavailable,
    Text,
    ValidationFailed,
)
from parmenid.presentai.oauth.crypto import TokenSealer
from parmenid.presentai.oauth.google_api import GoogleApi, GoogleCallFailed, TokenGrant
from parmenid.presentai.oauth.models import OAuthConnection, OAuthState
from parmenid.runtime import Runtime

log = logging.getLogger("parmenid.oauth")

GOOGLE = "google"
PROVIDERS = (GOOGLE,)
SLIDES_SCOPE = "https://www.googleapis.com/auth/presentations"
DRIVE_FILE_SCOPE = "https://www.googleapis.com/auth/drive.file"
REQUESTED_SCOPES = (SLIDES_SCOPE, DRIVE_FILE_SCOPE, "openid", "email")
STATE_TTL = timedelta(minutes=10)
CALLBACK_PATH = "/api/v1/oauth/{provider}/callback"
GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})


class ProviderNotConfigured(ServiceUnavailable):
    code = "provider_not_configured"


def check_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        supported = ", ".join(PROVIDERS)
        raise NotFound(
            Text(
                f"Unknown OAuth provider {provider[:40]!r}; supported: {supported}.",
                f"Неизвестный OAuth-провайдер {provider[:40]!r}; поддерживается: {supported}.",
            )
        )


def check_configured(settings: Settings) -> None:
    if not settings.google.enabled:
        raise ProviderNotConfigured(
            Text(
                "Google is not configured on this server: an administrator must set "
                "PARMENID_GOOGLE__CLIENT_ID and PARMENID_GOOGLE__CLIENT_SECRET.",
                "Google не настроен на этом сервере: администратору нужно задать "
                "PARMENID_GOOGLE__CLIENT_ID и PARMENID_GOOGLE__CLIENT_SECRET.",
            )
        )


def redirect_uri(settings: Settings) -> str:
    """Where Google sends the browser back; must be registered in the Google client as is."""
    if settings.google.redirect_uri:
        return settings.google.redirect_uri
    base = settings.presentai.public_url.rstrip("/")
    return base + CALLBACK_PATH.format(provider=GOOGLE)


def sealer_of(settings: Settings) -> TokenSealer:
    return TokenSealer(settings.jwt_secret())


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode()


def _unb64(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value.encode())
    except ValueError:
        return b""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


BAD_REDIRECT = Text(
    "redirect_after must be a path on this service or a URL of the PresentAI web app.",
    "redirect_after должен быть путём на этом сервисе или адресом веб-приложения PresentAI.",
)


def safe_redirect(value: str | None, settings: Settings) -> str | None:
    """`value` if the callback may send the browser there (no open redirect); else 422."""
    if not value:
        return None
    ok = False
    if len(value) <= 2000 and "\\" not in value and not any(ord(c) < 32 for c in value):
        if value.startswith("/") and not value.startswith("//"):
            ok = True
        else:
            parts = urlsplit(value)
            allowed = {_origin(settings.presentai.public_url)}
            allowed.update(_origin(origin) for origin in settings.presentai.cors_origins)
            ok = parts.scheme in ("http", "https") and _origin(value) in allowed
    if not ok:
        raise ValidationFailed(
            BAD_REDIRECT, problems=[FieldProblem("redirect_after", BAD_REDIRECT, "invalid")]
        )
    return value


def _bad_callback(reason: str, en: str, ru: str, **extra: Any) -> BadRequest:
    return BadRequest(Text(en, ru), extra={"reason": reason, **extra})


@dataclass(frozen=True)
class Connected:
    user_id: uuid.UUID
    provider: str
    account_email: str | None
    scopes: list[str]
    redirect_after: str | None


class OAuthService:
    """The authorization flow and the list of a person's connections (never commits)."""

    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.settings = runtime.settings

    async def authorization_url(
        self, user_id: uuid.UUID, provider: str, redirect_after: str | None
    ) -> tuple[str, datetime]:
        """The provider's consent URL for a new pending authorization, and when it expires."""
        check_provider(provider)
        check_configured(self.settings)
        redirect_after = safe_redirect(redirect_after, self.settings)
        now = utcnow()
        await self.session.execute(delete(OAuthState).where(OAuthState.expires_at < now))
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]
        self.session.add(
            OAuthState(
                state_hash=hash_state(state),
                user_id=user_id,
                provider=provider,
                code_verifier=_b64(
                    sealer_of(self.settings).seal(verifier, user_id, provider, "pkce_verifier")
                ),
                redirect_after=redirect_after,
                expires_at=now + STATE_TTL,
            )
        )
        query = {
            "client_id": self.settings.google.client_id or "",
            "redirect_uri": redirect_uri(self.settings),
            "response_type": "code",
            "scope": " ".join(REQUESTED_SCOPES),
            "state": state,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
        }
        return f"{self.settings.google.auth_url}?{urlencode(query)}", now + STATE_TTL

    async def complete(
        self,
        provider: str,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        error_description: str | None,
    ) -> Connected:
        """Handles the browser's return from the provider; stores the connection."""
        check_provider(provider)
        pending = await self._take_state(provider, state)
        if error:
            description = (error_description or "").strip()[:300]
            raise _bad_callback(
                "provider_error",
                f"Google did not authorize the connection: {error[:100]}"
                + (f" ({description})" if description else "")
                + ". Start again from PresentAI.",
                f"Google не разрешил подключение: {error[:100]}"
                + (f" ({description})" if description else "")
                + ". Начните заново из PresentAI.",
                provider_error=error[:100],
            )
        if not code:
            raise _bad_callback(
                "code_missing",
                "Google sent no authorization code. Start again from PresentAI.",
                "Google не передал код авторизации. Начните заново из PresentAI.",
            )
        check_configured(self.settings)
        api = GoogleApi(self.runtime.http, self.settings.google)
        try:
            grant = await api.exchange_code(
                code, pending.code_verifier, redirect_uri(self.settings)
            )
        except GoogleCallFailed as exc:
            raise _exchange_error(exc) from exc
        scopes = grant.scopes or list(REQUESTED_SCOPES)  # no `scope`: all that was asked
        if SLIDES_SCOPE not in scopes:
            api = GoogleApi(self.runtime.http, self.settings.google)
            self.runtime.run_in_background(_revoke(api, grant.refresh_token or grant.access_token))
            raise _bad_callback(
                "scope_not_granted",
                "Google did not grant access to Google Slides. Connect again and allow "
                "PresentAI to create presentations.",
                "Google не предоставил доступ к Google Slides. Подключитесь снова и разрешите "
                "PresentAI создавать презентации.",
            )
        email = self._account_email(grant)
        await self._store(pending.user_id, provider, grant, scopes, email)
        return Connected(pending.user_id, provider, email, scopes, pending.redirect_after)

    async def _take_state(self, provider: str, state: str | None) -> OAuthState:
        invalid = _bad_callback(
            "state_invalid",
            "This authorization link is invalid or was already used. Start again from PresentAI.",
            "Ссылка авторизации недействительна или уже использована. Начните заново из PresentAI.",
        )
        if not state or len(state) > 200:
            raise invalid
        # In a transaction of its own, committed before Google is called: the state is spent
        # whatever happens next, and no write lock is held while Google answers.
        async with self.runtime.db.session() as own:
            row = (
                await own.execute(
                    delete(OAuthState)
                    .where(OAuthState.state_hash == hash_state(state))
                    .returning(
                        OAuthState.user_id,
                        OAuthState.provider,
                        OAuthState.code_verifier,
                        OAuthState.redirect_after,
                        OAuthState.expires_at,
                    )
                    .execution_options(synchronize_session=False)
                )
            ).first()
        if row is None or row.provider != provider:
            raise invalid
        if row.expires_at <= utcnow():
            raise _bad_callback(
                "state_expired",
                "This authorization link has expired (they last 10 minutes). Start again from "
                "PresentAI.",
                "Срок ссылки авторизации истёк (она действует 10 минут). Начните заново из "
                "PresentAI.",
            )
        verifier = sealer_of(self.settings).open(
            _unb64(row.code_verifier), row.user_id, provider, "pkce_verifier"
        )
        if verifier is None:  # sealed under another server secret
            raise invalid
        return OAuthState(
            user_id=row.user_id,
            provider=row.provider,
            code_verifier=verifier,
            redirect_after=row.redirect_after,
            expires_at=row.expires_at,
        )

    def _account_email(self, grant: TokenGrant) -> str | None:
        """The e-mail claim of the ID token. It came straight from Google's token endpoint over
        TLS, which OpenID Connect accepts in place of checking the signature; the audience and
        issuer are still checked. Display only: it authorizes nothing."""
        if not grant.id_token:
            return None
        try:
            claims = jwt.decode(grant.id_token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.settings.google.client_id not in audiences or claims.get("iss") not in (
            GOOGLE_ISSUERS
        ):
            return None
        email = claims.get("email")
        return email[:320] if isinstance(email, str) else None

    async def _store(
        self,
        user_id: uuid.UUID,
        provider: str,
        grant: TokenGrant,
        scopes: list[str],
        email: str | None,
    ) -> None:
        sealer = sealer_of(self.settings)
        now = utcnow()
        values = {
            "id": new_id(),
            "user_id": user_id,
            "provider": provider,
            "account_email": email,
            "scopes": " ".join(scopes),
            "access_token_sealed": sealer.seal(grant.access_token, user_id, provider, "access"),
            "refresh_token_sealed": (
                sealer.seal(grant.refresh_token, user_id, provider, "refresh")
                if grant.refresh_token
                else None
            ),
            "expires_at": grant.expires_at,
            "created_at": now,
            "updated_at": now,
        }
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(OAuthConnection).values(**values)
        excluded = statement.excluded
        # A reconnect replaces the tokens; Google may omit the refresh token if it issued one
        # before, and that one stays valid, so it is kept.
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[OAuthConnection.user_id, OAuthConnection.provider],
                set_={
                    "account_email": excluded.account_email,
                    "scopes": excluded.scopes,
                    "access_token_sealed": excluded.access_token_sealed,
                    "refresh_token_sealed": func.coalesce(
                        excluded.refresh_token_sealed, OAuthConnection.refresh_token_sealed
                    ),
                    "expires_at": excluded.expires_at,
                    "created_at": excluded.created_at,
                    "updated_at": excluded.updated_at,
                },
            )
        )

    async def disconnect(self, user_id: uuid.UUID, provider: str) -> bool:
        """Removes the connection; once committed, asks the provider to revoke the grant
        (a failure there is logged and ignored). False when there was none."""
        check_provider(provider)
        row = (
            await self.session.execute(
                delete(OAuthConnection)
                .where(OAuthConnection.user_id == user_id, OAuthConnection.provider == provider)
                .returning(
                    OAuthConnection.access_token_sealed, OAuthConnection.refresh_token_sealed
                )
                .execution_options(synchronize_session=False)
            )
        ).first()
        if row is None:
            return False
        sealer = sealer_of(self.settings)
        token = sealer.open(row.refresh_token_sealed, user_id, provider, "refresh") or (
            sealer.open(row.access_token_sealed, user_id, provider, "access")
        )
        if token is not None and self.settings.google.enabled:
            self._revoke_after_commit(token)
        return True

    def _revoke_after_commit(self, token: str) -> None:
        api = GoogleApi(self.runtime.http, self.settings.google)
        runtime = self.runtime

        def start() -> None:
            runtime.run_in_background(_revoke(api, token))

        after_commit(self.session, start)

    async def connections(self, user_id: uuid.UUID) -> list[OAuthConnection]:
        found = await self.session.scalars(
            select(OAuthConnection)
            .where(OAuthConnection.user_id == user_id)
            .order_by(OAuthConnection.provider)
        )
        return list(found)


async def _revoke(api: GoogleApi, token: str) -> None:
    try:
        await api.revoke(token)
    except GoogleCallFailed as exc:
        log.info("google revocation failed (ignored)", extra={"problem": exc.summary()})


def _exchange_error(exc: GoogleCallFailed) -> BadRequest | ServiceUnavailable:
    if exc.status == 400 and exc.error == "invalid_grant":
        return _bad_callback(
            "code_rejected",
            "Google refused the authorization code (it expired or was already used). Start "
            "again from PresentAI.",
            "Google отклонил код авторизации (истёк или уже использован). Начните заново из "
            "PresentAI.",
        )
    if exc.refused:
        log.error("google refused the code exchange", extra={"problem": exc.summary()})
        return ProviderNotConfigured(
            Text(
                f"Google refused this server's OAuth client ({exc.error or exc.status}): an "
                "administrator must check the Google client settings.",
                f"Google отклонил OAuth-клиент этого сервера ({exc.error or exc.status}): "
                "администратору нужно проверить настройки клиента Google.",
            )
        )
    return ServiceUnavailable(
        Text(
            "Google did not answer. Start again from PresentAI in a minute.",
            "Google не ответил. Начните заново из PresentAI через минуту.",
        ),
        extra={"retry_after": 60},
    )
