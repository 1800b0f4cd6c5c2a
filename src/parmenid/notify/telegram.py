"""Telegram alerts through the Bot API's `sendMessage`, run as durable outbox jobs.

Each admin chat gets its own job, so a chat that fails never makes another chat get the same
message twice. A 429 is retried after Telegram's own `retry_after`; 5xx and network errors are
retried with backoff; a 4xx such as "chat not found" fails the job for good (retrying cannot help).
"""

from __future__ import annotations

import html
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.config import TelegramSettings
from parmenid.core.jobs import Handler, JobContext, PermanentFailure, RetryLater, enqueue

MAX_MESSAGE_LENGTH = 4096


class TelegramError(Exception):
    pass


def enqueue_admin_alert(session: AsyncSession, settings: TelegramSettings, text: str) -> int:
    """Queue `text` (Telegram HTML) for every admin chat; returns how many were queued."""
    if not settings.enabled:
        return 0
    for chat_id in settings.admin_chat_ids:
        enqueue(session, "notify.telegram", {"chat_id": chat_id, "text": text[:MAX_MESSAGE_LENGTH]})
    return len(settings.admin_chat_ids)


def escape(value: object) -> str:
    return html.escape(str(value), quote=False)


async def send_message(
    client: httpx.AsyncClient, settings: TelegramSettings, chat_id: str, text: str
) -> dict[str, Any]:
    if settings.bot_token is None:
        raise PermanentFailure("Telegram bot token is not configured")
    token = settings.bot_token.get_secret_value()
    url = f"{settings.api_base_url.rstrip('/')}/bot{token}/sendMessage"
    response = await client.post(
        url,
        json={
            "chat_id": chat_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        },
        timeout=settings.timeout_seconds,
    )
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and body.get("ok"):
        result: dict[str, Any] = body.get("result", {})
        return result
    description = str(body.get("description") or response.reason_phrase)
    if response.status_code == 429:
        retry_after = float((body.get("parameters") or {}).get("retry_after") or 5)
        raise RetryLater(f"Telegram rate limit: {description}", retry_after)
    if response.status_code >= 500:
        raise TelegramError(f"Telegram API {response.status_code}: {description}")
    raise PermanentFailure(
        f"Telegram API refused the message ({response.status_code}): {description}"
    )


def telegram_handler(settings: TelegramSettings, client: httpx.AsyncClient) -> Handler:
    async def handle(payload: dict[str, Any], context: JobContext) -> dict[str, Any]:
        result = await send_message(client, settings, str(payload["chat_id"]), str(payload["text"]))
        return {"message_id": result.get("message_id"), "chat_id": payload["chat_id"]}

    return handle
