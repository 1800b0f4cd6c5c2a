"""E-mail through SMTP (aiosmtplib), run as durable outbox jobs.

With no SMTP server configured the message stays in the outbox row and is written to the log, so
a developer can follow the link without a mail server.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from parmenid.config import SmtpSettings
from parmenid.core.jobs import Handler, JobContext

log = logging.getLogger("parmenid.email")


def email_handler(settings: SmtpSettings) -> Handler:
    async def handle(payload: dict[str, Any], context: JobContext) -> dict[str, Any]:
        if not settings.enabled:
            log.info(
                "e-mail not sent: no SMTP server configured",
                extra={"to": payload["to"], "subject": payload["subject"], "body": payload["text"]},
            )
            return {"delivered": False, "reason": "smtp_not_configured"}
        message = EmailMessage()
        message["From"] = settings.sender
        message["To"] = payload["to"]
        message["Subject"] = payload["subject"]
        message.set_content(payload["text"])
        await aiosmtplib.send(
            message,
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            start_tls=settings.starttls and not settings.use_tls,
            use_tls=settings.use_tls,
            timeout=settings.timeout_seconds,
        )
        return {"delivered": True}

    return handle
