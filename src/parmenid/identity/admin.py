"""Platform administrators, made from the terminal (`parmenid admin create`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import utcnow
from parmenid.core.errors import AppError
from parmenid.identity.models import User, UserStatus
from parmenid.identity.passwords import password_is_strong
from parmenid.identity.service import IdentityConfig, IdentityService, normalize_email


async def make_platform_admin(
    session: AsyncSession,
    config: IdentityConfig,
    email: str,
    password: str | None,
    full_name: str | None,
) -> str:
    """Promote an existing account, or create an active, verified one. Returns what was done.

    Raises `ValueError` with a message for the terminal when the input cannot be used.
    """
    email = normalize_email(email)
    user = await session.scalar(select(User).where(User.email == email))
    if user is not None:
        user.is_platform_admin = True
        if password:
            if not password_is_strong(password):
                raise ValueError("the password needs 8+ characters, a capital letter and a digit")
            user.password_hash = await config.passwords.hash(password)
        return f"{email} is now a platform administrator"
    if not password:
        raise ValueError(
            "a new administrator needs a password (--password or PARMENID_ADMIN_PASSWORD)"
        )
    try:
        registration = await IdentityService(session, config).register(email, password, full_name)
    except AppError as exc:
        raise ValueError(exc.message.en) from exc
    user = registration.user
    user.is_platform_admin = True
    user.status = UserStatus.ACTIVE.value
    user.is_email_verified = True
    user.email_verified_at = utcnow()
    return f"created platform administrator {email}"
