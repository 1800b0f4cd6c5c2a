"""Providers and the gateway, built from `PARMENID_LLM__*` settings."""

from __future__ import annotations

import logging

from parmenid.config import LLMSettings
from parmenid.core.db import Database
from parmenid.llm.gateway import LLMGateway, RetryPolicy
from parmenid.llm.providers import LLMProvider
from parmenid.llm.quotas import QuotaLedger

log = logging.getLogger("parmenid.llm")


def build_providers(settings: LLMSettings) -> list[LLMProvider]:
    """The configured providers in fallback-chain order; unconfigured ones are left out."""
    from parmenid.llm.providers.anthropic import AnthropicProvider
    from parmenid.llm.providers.openai import OpenAICompatibleProvider, OpenAIProvider

    providers: list[LLMProvider] = []
    for name in settings.fallback_chain:
        if name == "anthropic" and settings.anthropic_api_key is not None:
            providers.append(
                AnthropicProvider(
                    api_key=settings.anthropic_api_key.get_secret_value(),
                    base_url=settings.anthropic_base_url,
                    default_model=settings.anthropic_model,
                    timeout=settings.timeout_seconds,
                )
            )
        elif name == "openai" and settings.openai_api_key is not None:
            providers.append(
                OpenAIProvider(
                    api_key=settings.openai_api_key.get_secret_value(),
                    base_url=settings.openai_base_url,
                    default_model=settings.openai_model,
                    timeout=settings.timeout_seconds,
                )
            )
        elif name == "openai_compatible" and settings.compatible_base_url:
            key = settings.compatible_api_key
            providers.append(
                OpenAICompatibleProvider(
                    base_url=settings.compatible_base_url,
                    default_model=settings.compatible_model,
                    api_key=key.get_secret_value() if key else "not-needed",
                    timeout=settings.timeout_seconds,
                )
            )
        elif name not in ("anthropic", "openai", "openai_compatible"):
            log.warning("unknown LLM provider in the fallback chain", extra={"provider": name})
    return providers


def build_gateway(settings: LLMSettings, db: Database) -> LLMGateway:
    """The gateway over the configured providers; with none configured, over the local
    extractive engine (labelled `provider: "local"` in answers and traces)."""
    from parmenid.llm.providers.local import LocalProvider

    providers = build_providers(settings) or [LocalProvider()]
    return LLMGateway(
        providers,
        db,
        quotas=QuotaLedger(db, settings.plan_token_limits),
        retry=RetryPolicy(attempts=settings.retry_attempts, deadline=settings.deadline_seconds),
        breaker_threshold=settings.breaker_failures,
        breaker_cooldown=settings.breaker_cooldown_seconds,
    )
