"""The secrets of share links: the token, its lookup hash, its sealed copy, access tokens.

* A token is 32 random bytes (256 bits) in URL-safe base64: 43 characters.
* It is found by its SHA-256. A fast hash is right here: the token has full entropy, so there
  is nothing to guess, and a lookup must be cheap.
* It is also kept sealed (AES-256-GCM) so its owners can copy the link again. The key is
  derived with HKDF-SHA256 from the server secret (`jwt_secret`) under its own `info` label,
  and the share's id is the associated data: a sealed token opens only on its own row. A
  changed server secret makes old sealed tokens unreadable (the list shows no URL for them);
  the links themselves keep working, since they are looked up by hash.
* A correct password buys a short-lived access token: a JWT signed with another derived key,
  for the audience `parmenid-share`, naming the share. It unlocks that share only.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOKEN_BYTES = 32
# What a token may look like in a URL; anything else is not looked up at all.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,128}")
SEAL_INFO = b"parmenid/presentai/share-token-seal/v1"
ACCESS_INFO = b"parmenid/presentai/share-access/v1"
ACCESS_AUDIENCE = "parmenid-share"
ACCESS_ALGORITHM = "HS256"
NONCE_BYTES = 12


def derive_key(secret: str, info: bytes) -> bytes:
    """A 256-bit key for one purpose (`info`), derived from the server secret with HKDF."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(value: str) -> bool:
    return TOKEN_SHAPE.fullmatch(value) is not None


@dataclass(frozen=True)
class ShareKeys:
    seal_key: bytes
    access_key: bytes

    def seal(self, share_id: uuid.UUID, token: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.seal_key).encrypt(nonce, token.encode(), share_id.bytes)

    def open(self, share_id: uuid.UUID, sealed: bytes | None) -> str | None:
        """The token, or None when there is none or it cannot be opened (another secret)."""
        if not sealed or len(sealed) <= NONCE_BYTES:
            return None
        try:
            plain = AESGCM(self.seal_key).decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], share_id.bytes
            )
        except InvalidTag:
            return None
        return plain.decode()

    def access_token(self, share_id: uuid.UUID, ttl_seconds: int) -> tuple[str, datetime]:
        now = datetime.now(UTC).replace(microsecond=0)
        expires = now + timedelta(seconds=ttl_seconds)
        claims = {"sub": str(share_id), "aud": ACCESS_AUDIENCE, "iat": now, "exp": expires}
        return jwt.encode(claims, self.access_key, algorithm=ACCESS_ALGORITHM), expires

    def access_share_id(self, token: str) -> uuid.UUID | None:
        """The share a genuine, unexpired access token names, else None."""
        try:
            claims = jwt.decode(
                token,
                self.access_key,
                algorithms=[ACCESS_ALGORITHM],
                audience=ACCESS_AUDIENCE,
                options={"require": ["sub", "aud", "exp"]},
            )
            return uuid.UUID(str(claims["sub"]))
        except (jwt.PyJWTError, ValueError):
            return None


@lru_cache(maxsize=4)
def share_keys(secret: str) -> ShareKeys:
    return ShareKeys(derive_key(secret, SEAL_INFO), derive_key(secret, ACCESS_INFO))
