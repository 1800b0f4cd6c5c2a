"""Access tokens (JWT, HS256 pinned) and opaque secrets stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"


def opaque_token(prefix: str = "") -> str:
    """256 random bits, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    token_version: int
    audience: str
    expires_at: datetime


class InvalidToken(Exception):
    """The token is malformed, forged, expired or meant for another audience."""


class AccessTokens:
    """Issues and checks access tokens.

    A token that passed the full check is remembered (by its exact text) until it expires, so
    the next request with it skips parsing and the signature check; the expiry is still
    checked on every use. Only genuine tokens enter this memory, and it is bounded.
    """

    MEMORY = 20_000

    def __init__(self, secret: str, issuer: str) -> None:
        if len(secret) < 16:
            raise ValueError("the JWT secret is too short")
        self.secret = secret
        self.issuer = issuer
        self._verified: dict[tuple[str, str], AccessClaims] = {}

    def issue(
        self,
        *,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        token_version: int,
        audience: str,
        ttl_seconds: int,
    ) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": self.issuer,
            "aud": audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "ver": token_version,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def decode(self, token: str, *, audience: str) -> AccessClaims:
        known = self._verified.get((token, audience))
        if known is not None:
            if known.expires_at > datetime.now(UTC):
                return known
            del self._verified[(token, audience)]
        claims = self._decode(token, audience)
        if len(self._verified) >= self.MEMORY:
            self._verified.clear()
        self._verified[(token, audience)] = claims
        return claims

    def _decode(self, token: str, audience: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "sid"]},
            )
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                session_id=uuid.UUID(claims["sid"]),
                token_version=int(claims.get("ver", 0)),
                audience=audience,
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken(str(exc)) from exc
