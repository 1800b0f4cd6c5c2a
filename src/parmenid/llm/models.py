"""Tables of the LLM gateway: token quotas, call traces and prompt templates."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id, utcnow


class TokenQuota(Base):
    """Tokens of one organization in one calendar month (UTC).

    `reserved` holds the estimates of calls in flight: a call reserves before it starts and
    settles (moves its actual use into `used`) when it ends, so concurrent calls cannot together
    run past the limit.
    """

    __tablename__ = "llm_token_quotas"
    __table_args__ = (UniqueConstraint("organization_id", "month"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    month: Mapped[str] = mapped_column(String(7))  # "2026-11"
    used: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LLMTrace(TimestampMixin, Base):
    """One gateway call: who, which provider and template, how long, how many tokens, errors."""

    __tablename__ = "llm_traces"
    __table_args__ = (Index("ix_llm_traces_org_created", "organization_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    source: Mapped[str] = mapped_column(String(40))  # generation, chat, ...
    purpose: Mapped[str] = mapped_column(String(60))  # outline, slide, chat_answer, ...
    provider: Mapped[str | None] = mapped_column(String(40), default=None)
    model: Mapped[str | None] = mapped_column(String(100), default=None)
    template_name: Mapped[str | None] = mapped_column(String(60), default=None)
    template_version: Mapped[int | None] = mapped_column(default=None)
    streamed: Mapped[bool] = mapped_column(default=False)
    latency_ms: Mapped[float] = mapped_column(default=0.0)
    ttft_ms: Mapped[float | None] = mapped_column(default=None)
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    fallback_triggered: Mapped[bool] = mapped_column(default=False)
    providers_tried: Mapped[str | None] = mapped_column(String(200), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)


class PromptTemplate(TimestampMixin, Base):
    """A version of the prompt for one purpose. Among the active versions of a purpose, one is
    drawn per call with probability proportional to `ab_weight`."""

    __tablename__ = "prompt_templates"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(60), index=True)
    version: Mapped[int]
    system_template: Mapped[str] = mapped_column(Text)
    user_template: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    ab_weight: Mapped[float] = mapped_column(default=1.0)
    description: Mapped[str | None] = mapped_column(Text, default=None)
