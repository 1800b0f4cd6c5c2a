"""An answer whose writer died (the process stopped mid-answer) does not stay "generating"."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import update

from parmenid.core.db import utcnow
from parmenid.runtime import Runtime
from parmenid.site.chat.models import ChatMessage, ChatSession, MessageStatus
from tests.site.chat_support import make_avatar


async def test_an_abandoned_answer_is_settled_as_failed(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    avatar_id = await make_avatar(runtime, knowledge=None)
    session_id = (await site_client.post(f"/api/v1/chat/{avatar_id}/sessions")).json()["id"]
    chat_id = uuid.UUID(session_id)
    async with runtime.db.session() as session:
        question = ChatMessage(session_id=chat_id, role="user", content="Есть кто?")
        session.add(question)
        await session.flush()
        session.add(
            ChatMessage(
                session_id=chat_id,
                role="assistant",
                status=MessageStatus.GENERATING.value,
                created_at=utcnow() - timedelta(minutes=10),
            )
        )
        session.add(
            ChatMessage(
                session_id=chat_id,
                role="assistant",
                status=MessageStatus.GENERATING.value,
                created_at=utcnow() + timedelta(seconds=1),  # still being written
            )
        )
        await session.execute(
            update(ChatSession)
            .where(ChatSession.id == question.session_id)
            .values(messages_count=2)
        )
    history = await site_client.get(f"/api/v1/chat/{avatar_id}/sessions/{session_id}/messages")
    answers = [m for m in history.json()["messages"] if m["role"] == "assistant"]
    assert [a["status"] for a in answers] == ["failed", "generating"]
    assert "задайте вопрос ещё раз" in answers[0]["content"]
