"""Typed application errors.

Services raise these; each app renders them in its own envelope and vocabulary. `code` is the
canonical, product-neutral name (PresentAI's lower-case table uses it as is, the site maps it to
its upper-case codes). Messages come in English and Russian so the site can show them to
visitors as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Text:
    """A message in the languages we answer in."""

    en: str
    ru: str

    def get(self, lang: str) -> str:
        return self.ru if lang == "ru" else self.en


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input field, for forms that highlight fields."""

    field: str
    message: Text
    kind: str = "invalid"


@dataclass
class AppError(Exception):
    """Base of every error a client may see. Subclasses fix `code` and `status`."""

    message: Text
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    problems: list[FieldProblem] = field(default_factory=list)
    # Overrides the site's upper-case code where a contract names a specific one.
    site_code: str | None = None

    code = "internal_error"
    status = 500

    def __str__(self) -> str:
        return f"{self.code}: {self.message.en}"


class BadRequest(AppError):
    code = "bad_request"
    status = 400


class Unauthorized(AppError):
    code = "unauthorized"
    status = 401


class Forbidden(AppError):
    code = "forbidden"
    status = 403


class InsufficientRole(AppError):
    code = "insufficient_role"
    status = 403


class InsufficientScope(AppError):
    code = "insufficient_scope"
    status = 403


class NotFound(AppError):
    code = "not_found"
    status = 404


class Conflict(AppError):
    code = "conflict"
    status = 409


class Gone(AppError):
    code = "gone"
    status = 410


class PayloadTooLarge(AppError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(AppError):
    code = "unsupported_media_type"
    status = 415


class ValidationFailed(AppError):
    code = "validation_error"
    status = 422


class RateLimited(AppError):
    code = "rate_limit_exceeded"
    status = 429


class ServiceUnavailable(AppError):
    code = "service_unavailable"
    status = 503


def not_found(what_en: str = "Resource", what_ru: str = "Ресурс") -> NotFound:
    return NotFound(Text(f"{what_en} not found", f"{what_ru} {not_found_ru(what_ru)}"))


def not_found_ru(noun: str) -> str:
    """ "не найден" agreeing with the noun's gender: feminine nouns of our vocabulary end in
    а/я ("Презентация", "Задача", "Ссылка"), neuter ones in о/е ("Приглашение")."""
    last = noun.rstrip()[-1:].lower()
    if last in "ая":
        return "не найдена"
    if last in "ое":
        return "не найдено"
    return "не найден"
