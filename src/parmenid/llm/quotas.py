"""Monthly token quotas per organization, reserved atomically before a call.

A call may start while the organization's month has budget left (`used + reserved < limit`); it
reserves its estimate (prompt + `max_tokens`) in the same UPDATE that checks the condition, so
concurrent calls see each other's reservations and together overrun the limit by at most one
call. When the call ends its actual use replaces the reservation (`settle`), or the reservation
is dropped (`release`) when it failed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import Database, new_id, utcnow
from parmenid.identity.models import Organization
from parmenid.llm.errors import token_limit_exceeded
from parmenid.llm.models import TokenQuota


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


@dataclass(frozen=True)
class Reservation:
    organization_id: uuid.UUID
    month: str
    tokens: int


@dataclass(frozen=True)
class MonthlyUsage:
    organization_id: uuid.UUID
    month: str
    plan: str
    limit: int
    used: int
    reserved: int


class QuotaLedger:
    def __init__(self, db: Database, plan_limits: dict[str, int]) -> None:
        """`plan_limits` maps plan names to monthly tokens (`PARMENID_LLM__PLAN_TOKEN_LIMITS`);
        an unknown plan gets the smallest limit."""
        self.db = db
        self.plan_limits = plan_limits

    async def limit_of(self, organization_id: uuid.UUID) -> tuple[str, int]:
        async with self.db.session() as session:
            return await self._limit_in(session, organization_id)

    async def _limit_in(self, session: AsyncSession, organization_id: uuid.UUID) -> tuple[str, int]:
        plan = await session.scalar(
            select(Organization.plan).where(Organization.id == organization_id)
        )
        plan = plan or "free"
        return plan, self.plan_limits.get(plan, min(self.plan_limits.values(), default=0))

    async def reserve(self, organization_id: uuid.UUID, tokens: int) -> Reservation:
        """Reserve `tokens` or raise `TokenLimitExceeded` (429 `token_limit_exceeded`).
        One transaction: read the plan, make sure the month's row exists, reserve."""
        month = month_of(utcnow())
        async with self.db.session() as session:
            _, limit = await self._limit_in(session, organization_id)
            await self._ensure_row(session, organization_id, month)
            result = await session.execute(
                update(TokenQuota)
                .where(
                    TokenQuota.organization_id == organization_id,
                    TokenQuota.month == month,
                    TokenQuota.used + TokenQuota.reserved < limit,
                )
                .values(reserved=TokenQuota.reserved + tokens, updated_at=utcnow())
            )
            granted = getattr(result, "rowcount", 0) == 1
        if not granted:
            usage = await self.usage(organization_id)
            raise token_limit_exceeded(limit, usage.used, month)
        return Reservation(organization_id, month, tokens)

    async def settle(
        self, reservation: Reservation, used_tokens: int, session: AsyncSession | None = None
    ) -> None:
        """Turn the reservation into `used_tokens` (in `session`'s transaction when given)."""
        await self._apply(reservation, used=used_tokens, session=session)

    async def release(self, reservation: Reservation, session: AsyncSession | None = None) -> None:
        await self._apply(reservation, used=0, session=session)

    async def _apply(
        self, reservation: Reservation, *, used: int, session: AsyncSession | None
    ) -> None:
        if session is None:
            async with self.db.session() as own:
                await self._apply(reservation, used=used, session=own)
            return
        await session.execute(
            update(TokenQuota)
            .where(
                TokenQuota.organization_id == reservation.organization_id,
                TokenQuota.month == reservation.month,
            )
            .values(
                used=TokenQuota.used + used,
                reserved=TokenQuota.reserved - reservation.tokens,
                updated_at=utcnow(),
            )
        )

    async def usage(self, organization_id: uuid.UUID, month: str | None = None) -> MonthlyUsage:
        month = month or month_of(utcnow())
        plan, limit = await self.limit_of(organization_id)
        async with self.db.session() as session:
            row = await session.scalar(
                select(TokenQuota).where(
                    TokenQuota.organization_id == organization_id, TokenQuota.month == month
                )
            )
        used, reserved = (row.used, row.reserved) if row else (0, 0)
        return MonthlyUsage(organization_id, month, plan, limit, used, reserved)

    async def _ensure_row(
        self, session: AsyncSession, organization_id: uuid.UUID, month: str
    ) -> None:
        values = {
            "id": new_id(),
            "organization_id": organization_id,
            "month": month,
            "used": 0,
            "reserved": 0,
            "updated_at": utcnow(),
        }
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        await session.execute(
            insert(TokenQuota)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["organization_id", "month"])
        )
