"""OAuth tokens at rest: sealed with AES-256-GCM under a key derived from the server's secret.

The key is HKDF-SHA256 of `settings.jwt_secret()` with `info=b"parmenid oauth tokens"`, so it
is never the signing key itself and needs no setting of its own. Each sealed value is bound
(as associated data) to its owner, provider and kind: a sealed refresh token copied into
another user's row, or into the access-token column, does not open.

The PKCE verifier of a pending authorization is sealed the same way (so it shows neither in
the table nor in SQL debug logs).

Layout: one version byte, a 12-byte random nonce, the ciphertext with its tag. Changing the
server secret makes existing tokens unreadable; `open` then answers None and the connection is
treated as gone (the person connects again), never as an error page.
"""

from __future__ import annotations

import os
import uuid
from functools import lru_cache
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
INFO = b"parmenid oauth tokens"
TokenKind = Literal["access", "refresh", "pkce_verifier"]


@lru_cache(maxsize=8)
def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(secret.encode())


class TokenSealer:
    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(_key(secret))

    @staticmethod
    def _context(user_id: uuid.UUID, provider: str, kind: TokenKind) -> bytes:
        return f"{user_id}:{provider}:{kind}".encode()

    def seal(self, token: str, user_id: uuid.UUID, provider: str, kind: TokenKind) -> bytes:
        nonce = os.urandom(12)
        context = self._context(user_id, provider, kind)
        return VERSION + nonce + self._aead.encrypt(nonce, token.encode(), context)

    def open(
        self, sealed: bytes | None, user_id: uuid.UUID, provider: str, kind: TokenKind
    ) -> str | None:
        """The token, or None when there is none or it cannot be opened (another secret)."""
        if not sealed or sealed[:1] != VERSION or len(sealed) < 1 + 12 + 16:
            return None
        context = self._context(user_id, provider, kind)
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], context).decode()
        except (InvalidTag, UnicodeDecodeError):
            return None
