"""Token use of an organization this month: the quota counters and the traces behind them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from parmenid.core.db import Database, utcnow
from parmenid.llm.models import LLMTrace
from parmenid.llm.quotas import QuotaLedger, month_of


@dataclass(frozen=True)
class UsageReport:
    organization_id: uuid.UUID
    month: str
    plan: str
    limit: int
    used: int
    reserved: int
    by_day: list[tuple[str, int]] = field(default_factory=list)
    by_source: dict[str, int] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used - self.reserved)


async def monthly_usage(
    db: Database, ledger: QuotaLedger, organization_id: uuid.UUID
) -> UsageReport:
    now = utcnow()
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    quota = await ledger.usage(organization_id, month_of(now))
    tokens = LLMTrace.input_tokens + LLMTrace.output_tokens
    in_month = (LLMTrace.organization_id == organization_id, LLMTrace.created_at >= start)
    async with db.session() as session:
        day = func.date(LLMTrace.created_at)
        days = await session.execute(
            select(day, func.sum(tokens)).where(*in_month).group_by(day).order_by(day)
        )
        sources = await session.execute(
            select(LLMTrace.source, func.sum(tokens)).where(*in_month).group_by(LLMTrace.source)
        )
        by_day = [(str(d), int(t or 0)) for d, t in days.all()]
        by_source = {str(s): int(t or 0) for s, t in sources.all()}
    return UsageReport(
        organization_id,
        quota.month,
        quota.plan,
        quota.limit,
        quota.used,
        quota.reserved,
        by_day,
        by_source,
    )
