"""Chat sessions and turns: who may talk to which avatar, and the caps that keep it sane.

Rules that are not obvious from the code:
* Sessions are issued by the server. An unknown session, one of another avatar, or any
  session of an inactive avatar answers 404, like an unknown avatar.
* An avatar with an origin allow-list serves only those origins, and a request with no
  `Origin` at all is refused too (the list fails closed).
* A session takes at most `max_messages_per_session` questions (429 after), each at most
  `max_message_chars` long (422). The count is raised atomically, so parallel requests cannot
  slip past the cap.
* The question is stored, with an empty answer marked `generating`, before any generation
  starts; the answer is filled in when it is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import utcnow
from parmenid.core.errors import (
    FieldProblem,
    Forbidden,
    RateLimited,
    Text,
    ValidationFailed,
    not_found,
)
from parmenid.knowledge.models import IngestionStatus, SourceDocument
from parmenid.site.chat.answering import AvatarBrief
from parmenid.site.chat.models import (
    Avatar,
    AvatarDocument,
    ChatMessage,
    ChatSession,
    MessageStatus,
)

ORIGIN_REFUSED = Text(
    "This chat is not available on this site.", "Этот чат недоступен на данном сайте."
)
SESSION_FULL = Text(
    "This conversation has reached its message limit. Please start a new one.",
    "В этом диалоге исчерпан лимит сообщений. Начните новый диалог.",
)
EMPTY = Text("The message is empty.", "Сообщение пустое.")
# An answer is written within the gateway's deadline; one older than this lost its writer.
STALE_ANSWER = timedelta(minutes=5)
ABANDONED = "Ответ не был получен из-за сбоя сервера. Пожалуйста, задайте вопрос ещё раз."


def too_long(limit: int) -> ValidationFailed:
    text = Text(
        f"The message is too long: at most {limit} characters.",
        f"Сообщение слишком длинное: не более {limit} символов.",
    )
    return ValidationFailed(text, problems=[FieldProblem("content", text, "too_long")])


def check_origin(avatar: Avatar, origin: str | None) -> None:
    allowed = avatar.origins
    if allowed and (origin is None or origin.rstrip("/") not in allowed):
        raise Forbidden(ORIGIN_REFUSED)


@dataclass(frozen=True)
class Turn:
    question: ChatMessage
    answer: ChatMessage


class ChatService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_avatar(self, avatar_id: uuid.UUID) -> Avatar:
        avatar = await self.session.get(Avatar, avatar_id)
        if avatar is None or not avatar.is_active:
            raise not_found("Chat bot", "Чат-бот")
        return avatar

    async def open_session(
        self,
        avatar: Avatar,
        source: str,
        *,
        ip: str | None,
        user_agent: str | None,
        origin: str | None,
    ) -> ChatSession:
        chat = ChatSession(
            avatar_id=avatar.id,
            source=source,
            client_ip=ip,
            user_agent=(user_agent or "")[:400] or None,
            origin=(origin or "")[:300] or None,
        )
        self.session.add(chat)
        await self.session.flush()
        return chat

    async def session_of(self, avatar: Avatar, session_id: uuid.UUID) -> ChatSession:
        chat = await self.session.get(ChatSession, session_id)
        if chat is None or chat.avatar_id != avatar.id or not chat.is_active:
            raise not_found("Chat session", "Сессия чата")
        return chat

    async def start_turn(self, avatar: Avatar, chat: ChatSession, content: str) -> Turn:
        """Store the question and a placeholder answer (caps enforced)."""
        content = content.strip()
        if not content:
            raise ValidationFailed(EMPTY, problems=[FieldProblem("content", EMPTY, "missing")])
        if len(content) > avatar.max_message_chars:
            raise too_long(avatar.max_message_chars)
        counted = await self.session.execute(
            update(ChatSession)
            .where(
                ChatSession.id == chat.id,
                ChatSession.messages_count + 2 <= 2 * avatar.max_messages_per_session,
            )
            .values(messages_count=ChatSession.messages_count + 2, last_message_at=utcnow())
        )
        if getattr(counted, "rowcount", 0) != 1:
            raise RateLimited(SESSION_FULL)
        question = ChatMessage(session_id=chat.id, role="user", content=content)
        self.session.add(question)
        await self.session.flush()  # the question is older than its answer
        answer = ChatMessage(
            session_id=chat.id,
            role="assistant",
            status=MessageStatus.GENERATING.value,
            created_at=utcnow(),
        )
        self.session.add(answer)
        await self.session.flush()
        return Turn(question, answer)

    async def brief(self, avatar: Avatar) -> AvatarBrief:
        """The avatar as the answering task sees it: only documents that are indexed."""
        ids = await self.session.scalars(
            select(AvatarDocument.document_id)
            .join(SourceDocument, SourceDocument.id == AvatarDocument.document_id)
            .where(
                AvatarDocument.avatar_id == avatar.id,
                SourceDocument.ingestion_status == IngestionStatus.INDEXED.value,
            )
        )
        return AvatarBrief(
            id=avatar.id,
            organization_id=avatar.organization_id,
            name=avatar.name,
            system_prompt=avatar.system_prompt,
            language=avatar.language,
            document_ids=[str(i) for i in ids.all()],
        )

    async def transcript(self, chat: ChatSession) -> list[ChatMessage]:
        """The conversation, oldest first. An answer still `generating` long after its writer
        should have finished (the process died) is settled as failed here, so none stays
        "generating" forever."""
        await self.session.execute(
            update(ChatMessage)
            .where(
                ChatMessage.session_id == chat.id,
                ChatMessage.status == MessageStatus.GENERATING.value,
                ChatMessage.created_at < utcnow() - STALE_ANSWER,
            )
            .values(content=ABANDONED, status=MessageStatus.FAILED.value, completed_at=utcnow())
        )
        rows = await self.session.scalars(
            select(ChatMessage)
            .where(ChatMessage.session_id == chat.id)
            .order_by(ChatMessage.created_at, ChatMessage.role.desc())
        )
        return list(rows.all())
