"""Verification e-mails go through the outbox: over SMTP when configured, logged otherwise."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from parmenid.core.jobs import SUCCEEDED, Job
from parmenid.runtime import Runtime
from tests.conftest import run_jobs
from tests.fakes.server import free_port
from tests.helpers import register


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append((envelope, message_from_bytes(content)))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class TestWithSmtp:
    @pytest.fixture
    def settings_overrides(self, smtp_server: tuple[_Inbox, int]) -> dict[str, Any]:
        return {"smtp": {"host": "127.0.0.1", "port": smtp_server[1], "starttls": False}}

    async def test_registration_mails_a_working_verification_link(
        self,
        site_client: httpx.AsyncClient,
        runtime: Runtime,
        smtp_server: tuple[_Inbox, int],
    ) -> None:
        inbox, _ = smtp_server
        inbox.messages.clear()
        await register(site_client, "reader@example.com", full_name="Анна")
        await run_jobs(runtime)

        assert len(inbox.messages) == 1
        envelope, message = inbox.messages[0]
        assert envelope.rcpt_tos == ["reader@example.com"]
        assert "Parmenid" in message["Subject"]
        body = message.get_payload(decode=True)
        assert isinstance(body, bytes)
        text = body.decode("utf-8")
        match = re.search(r"/verify-email\?token=([A-Za-z0-9_\-]+)", text)
        assert match is not None

        verified = await site_client.post(
            "/api/v1/auth/verify-email", json={"token": match.group(1)}
        )
        assert verified.status_code == 200
        assert verified.json()["status"] == "active"
        assert verified.json()["is_email_verified"] is True


async def test_without_smtp_the_mail_stays_in_the_outbox_and_is_logged(
    site_client: httpx.AsyncClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    await register(site_client, "nomail@example.com")
    with caplog.at_level(logging.INFO, logger="parmenid.email"):
        await run_jobs(runtime)
    async with runtime.db.session() as session:
        job = await session.scalar(select(Job).where(Job.name == "notify.email"))
    assert job is not None
    assert job.status == SUCCEEDED
    assert job.payload["to"] == "nomail@example.com"
    assert job.result == {"delivered": False, "reason": "smtp_not_configured"}
    logged = [record for record in caplog.records if record.name == "parmenid.email"]
    assert logged
    assert "verify-email?token=" in getattr(logged[0], "body", "")
