"""argon2id password hashing, with a constant-time answer for unknown accounts."""

from __future__ import annotations

import asyncio
import re
from functools import cached_property

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from parmenid.core.errors import Text

PASSWORD_RULE = Text(
    "The password must be at least 8 characters long and contain a capital letter and a digit.",
    "Пароль должен быть не короче 8 символов и содержать хотя бы одну заглавную букву "
    "и одну цифру.",
)
MAX_PASSWORD_LENGTH = 256


def password_is_strong(password: str) -> bool:
    """The contract's rule: at least 8 characters, one capital letter, one digit."""
    return (
        len(password) >= 8
        and any(ch.isupper() for ch in password)
        and re.search(r"\d", password) is not None
    )


class Passwords:
    """Hashing runs in a thread so a burst of logins does not stall the event loop."""

    def __init__(self, memory_kib: int, time_cost: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )

    @cached_property
    def _dummy_hash(self) -> str:
        return self.hasher.hash("timing-equaliser-for-unknown-accounts")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Check `password`; with no hash (unknown account) spend the same time and say no."""
        target = password_hash or self._dummy_hash
        try:
            ok = await asyncio.to_thread(self.hasher.verify, target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return ok and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)
