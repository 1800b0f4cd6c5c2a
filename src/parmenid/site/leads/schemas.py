"""Request and response bodies of plan requests, with visitor-friendly validation."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from parmenid.config import get_settings
from parmenid.core.errors import Text
from parmenid.core.web import field_error
from parmenid.site.leads.models import Plan, PlanRequestStatus, RequestType

MAX_MESSAGE_LENGTH = 2000
PLANS = ", ".join(plan.value for plan in Plan)
REQUEST_TYPES = ", ".join(kind.value for kind in RequestType)

CONTACT_REQUIRED = Text(
    "Please give a way to contact you (e-mail, phone or Telegram).",
    "Пожалуйста, укажите способ связи (email, телефон или Telegram)",
)
PLAN_REQUIRED = Text(
    f"Please choose a plan: {PLANS}.",
    f"Укажите тариф: {PLANS}.",
)
PLAN_ONLY_FOR_UPGRADE = Text(
    "A plan is only given with a plan_upgrade request.",
    "Тариф указывается только в заявке plan_upgrade.",
)
UNKNOWN_PLAN = Text(
    f"Unknown plan. Choose one of: {PLANS}.", f"Неизвестный тариф. Выберите: {PLANS}."
)
UNKNOWN_TYPE = Text(
    f"Unknown request type. Use one of: {REQUEST_TYPES}.",
    f"Неизвестный тип заявки. Допустимо: {REQUEST_TYPES}.",
)
BAD_EMAIL = Text("Please enter a valid e-mail address.", "Укажите корректный email.")
BAD_PHONE = Text(
    "Please enter a valid phone number, for example +7 999 123 45 67.",
    "Укажите корректный номер телефона, например +7 999 123 45 67.",
)
BAD_TELEGRAM = Text(
    "Please enter a Telegram username such as @username (5–32 letters, digits or _).",
    "Укажите имя пользователя Telegram, например @username (5–32 латинские буквы, цифры или _).",
)
MESSAGE_TOO_LONG = Text(
    f"The message is too long (at most {MAX_MESSAGE_LENGTH} characters).",
    f"Сообщение слишком длинное (не более {MAX_MESSAGE_LENGTH} символов).",
)
NOT_TEXT = Text("must be text", "должно быть строкой")

FIELD_LABELS = {
    "request_type": Text("Request type", "Тип заявки"),
    "contact_email": Text("E-mail", "Email"),
    "contact_phone": Text("Phone", "Телефон"),
    "contact_telegram": Text("Telegram", "Telegram"),
    "message": Text("Message", "Сообщение"),
    "requested_plan": Text("Plan", "Тариф"),
    "status": Text("Status", "Статус"),
}

_TELEGRAM = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")
_TELEGRAM_LINK = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/", re.IGNORECASE)


def _blank_to_none(value: Any) -> Any:
    """Forms send "" (or whitespace) for a field the visitor left empty: that means absent."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _text(value: Any, label: Text) -> str | None:
    value = _blank_to_none(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise field_error(
            "string_required", Text(f"{label.en}: {NOT_TEXT.en}", f"{label.ru}: {NOT_TEXT.ru}")
        )
    return value


def normalize_phone(value: str, region: str) -> str:
    """E.164 form of a phone number typed by a person (spaces, dashes, brackets, 8 for +7)."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise field_error("phone_invalid", BAD_PHONE) from exc
    if not phonenumbers.is_possible_number(number):
        raise field_error("phone_invalid", BAD_PHONE)
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_telegram(value: str) -> str:
    handle = _TELEGRAM_LINK.sub("", value).lstrip("@").rstrip("/")
    if not _TELEGRAM.match(handle):
        raise field_error("telegram_invalid", BAD_TELEGRAM)
    return "@" + handle


class PlanRequestCreate(BaseModel):
    """A lead from the site: at least one contact; `requested_plan` only with plan_upgrade."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_type": "demo_request",
                    "contact_email": "client@company.com",
                    "contact_phone": "+7 999 123 45 67",
                    "message": "Интересует интеграция в CRM",
                }
            ]
        }
    )

    request_type: RequestType
    contact_email: str | None = None
    contact_phone: str | None = None
    contact_telegram: str | None = None
    message: str | None = None
    requested_plan: Plan | None = None

    @field_validator("request_type", mode="before")
    @classmethod
    def _known_type(cls, value: Any) -> Any:
        if not isinstance(value, str) or value not in {kind.value for kind in RequestType}:
            raise field_error("request_type_invalid", UNKNOWN_TYPE)
        return value

    @field_validator("contact_email", mode="before")
    @classmethod
    def _email(cls, value: Any) -> str | None:
        text = _text(value, FIELD_LABELS["contact_email"])
        if text is None:
            return None
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise field_error("email_invalid", BAD_EMAIL) from exc

    @field_validator("contact_phone", mode="before")
    @classmethod
    def _phone(cls, value: Any) -> str | None:
        text = _text(value, FIELD_LABELS["contact_phone"])
        if text is None:
            return None
        return normalize_phone(text, get_settings().default_phone_region)

    @field_validator("contact_telegram", mode="before")
    @classmethod
    def _telegram(cls, value: Any) -> str | None:
        text = _text(value, FIELD_LABELS["contact_telegram"])
        return None if text is None else normalize_telegram(text)

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, value: Any) -> str | None:
        text = _text(value, FIELD_LABELS["message"])
        if text is not None and len(text) > MAX_MESSAGE_LENGTH:
            raise field_error("message_too_long", MESSAGE_TOO_LONG)
        return text

    @field_validator("requested_plan", mode="before")
    @classmethod
    def _plan(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is not None and (
            not isinstance(value, str) or value not in {plan.value for plan in Plan}
        ):
            raise field_error("plan_invalid", UNKNOWN_PLAN)
        return value

    @model_validator(mode="after")
    def _rules(self) -> PlanRequestCreate:
        if not (self.contact_email or self.contact_phone or self.contact_telegram):
            raise field_error("contact_required", CONTACT_REQUIRED)
        if self.request_type == RequestType.PLAN_UPGRADE and self.requested_plan is None:
            raise field_error("plan_required", PLAN_REQUIRED)
        if self.request_type != RequestType.PLAN_UPGRADE and self.requested_plan is not None:
            raise field_error("plan_not_allowed", PLAN_ONLY_FOR_UPGRADE)
        return self


class PlanRequestCreated(BaseModel):
    """Exactly the contract's 201 body."""

    id: uuid.UUID
    request_type: RequestType
    status: PlanRequestStatus
    requested_plan: Plan | None
    created_at: datetime


class PlanRequestDetail(PlanRequestCreated):
    """What the admin panel sees."""

    contact_email: str | None
    contact_phone: str | None
    contact_telegram: str | None
    message: str | None
    language: str | None
    chat_session_id: uuid.UUID | None
    handled_by_id: uuid.UUID | None
    status_changed_at: datetime | None
    updated_at: datetime

    model_config = ConfigDict(from_attributes=True)


class PlanRequestPage(BaseModel):
    items: list[PlanRequestDetail]
    total: int
    limit: int
    offset: int


class PlanRequestStatusChange(BaseModel):
    status: Literal["new", "in_progress", "completed"]
