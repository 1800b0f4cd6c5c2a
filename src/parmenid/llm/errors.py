"""Gateway errors as PresentAI reports them (429 `token_limit_exceeded`, 503 `llm_unavailable`)."""

from __future__ import annotations

from parmenid.core.errors import AppError, Text


class TokenLimitExceeded(AppError):
    code = "token_limit_exceeded"
    status = 429


class LLMUnavailable(AppError):
    code = "llm_unavailable"
    status = 503


def token_limit_exceeded(limit: int, used: int, month: str) -> TokenLimitExceeded:
    return TokenLimitExceeded(
        Text(
            f"The monthly token limit of your plan ({limit:,}) is used up for {month}.",
            f"Месячный лимит токенов вашего тарифа ({limit:,}) за {month} исчерпан.",
        ),
        extra={"limit": limit, "used": used, "month": month},
    )


def llm_unavailable(retry_after: int = 60) -> LLMUnavailable:
    return LLMUnavailable(
        Text(
            "The language model providers are unavailable. Please retry later.",
            "Сервисы языковых моделей недоступны. Повторите попытку позже.",
        ),
        extra={"retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )
