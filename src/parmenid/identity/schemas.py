"""Bodies of the authentication endpoints, shared by both apps."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator

from parmenid.core.errors import Text
from parmenid.core.web import field_error
from parmenid.identity.passwords import MAX_PASSWORD_LENGTH, PASSWORD_RULE, password_is_strong

BAD_EMAIL = Text("Please enter a valid e-mail address.", "Укажите корректный email.")

FIELD_LABELS = {
    "email": Text("E-mail", "Email"),
    "password": Text("Password", "Пароль"),
    "full_name": Text("Name", "Имя"),
    "refresh_token": Text("Refresh token", "Токен обновления"),
    "token": Text("Token", "Токен"),
}


class UserRegister(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "user@example.com",
                    "password": "SecurePass123!",
                    "full_name": "Иван Петров",
                }
            ]
        }
    )

    email: str = Field(max_length=320)
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    full_name: str | None = Field(default=None, max_length=200)

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return validate_email(value.strip(), check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise field_error("email_invalid", BAD_EMAIL) from exc

    @field_validator("password")
    @classmethod
    def _strong(cls, value: str) -> str:
        if not password_is_strong(value):
            raise field_error("password_weak", PASSWORD_RULE)
        return value

    @field_validator("full_name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value


class UserLogin(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "user@example.com", "password": "SecurePass123!"}]
        }
    )

    email: str = Field(max_length=320)
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class LogoutRequest(BaseModel):
    refresh_token: str | None = Field(default=None, max_length=200)


class EmailVerificationRequest(BaseModel):
    token: str = Field(min_length=1, max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
