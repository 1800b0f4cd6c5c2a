"""How an avatar answers: retrieve from its knowledge, then write through the LLM gateway.

Rules that are not obvious from the code:
* The answer is written by a background task, not by the request: a visitor who disconnects
  mid-stream still leaves a complete assistant message in the transcript (or a failed one that
  says why). The request only relays the task's events.
* Sources are found before any text is written and sent first; the same list is stored with
  the message, so the stream, the JSON reply and the history show identical sources.
* With nothing relevant in the avatar's knowledge the bot says so and the LLM is not called.
* The conversation so far (the last complete turns) is part of the prompt.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from parmenid.core.db import utcnow
from parmenid.core.errors import AppError
from parmenid.knowledge.models import SourceDocument
from parmenid.llm.gateway import CallContext
from parmenid.llm.types import ChatMessage as LLMMessage
from parmenid.llm.types import ChatRequest, ContextPassage, StreamEnd, TextDelta
from parmenid.runtime import Runtime
from parmenid.site.chat.models import ChatMessage, ChatSession, MessageStatus

log = logging.getLogger("parmenid.chat")

HISTORY_TURNS = 6
SEARCH_LIMIT = 6
SNIPPET_CHARS = 300

NO_KNOWLEDGE = {
    "ru": "К сожалению, в моих материалах нет ответа на этот вопрос. Попробуйте спросить иначе "
    "или оставьте контакт — специалист ответит лично.",
    "en": "I could not find the answer in my materials. Try asking differently, or leave a "
    "contact and a specialist will reply in person.",
}
LEAD_OFFER = {
    "ru": "\n\nЕсли хотите, оставьте email или Telegram — мы пришлём подробности и договоримся "
    "о демонстрации.",
    "en": "\n\nIf you like, leave your e-mail or Telegram and we will send details and arrange "
    "a demo.",
}
FAILED = {
    "ru": "Не удалось получить ответ: сервис временно недоступен. Попробуйте ещё раз через минуту.",
    "en": "Could not get an answer: the service is temporarily unavailable. Please try again "
    "in a minute.",
}
LEAD_WORDS = re.compile(
    r"(демо|демонстрац|цен[аыу]|стоимост|сколько стоит|тариф|прайс|купить|"
    r"\bdemo\b|pric|\bcost|\bplans?\b|\bbuy\b|\bquote\b)",
    re.IGNORECASE,
)


def wants_contact(question: str) -> bool:
    """A visitor asking for a demo or for prices is offered to leave a contact."""
    return LEAD_WORDS.search(question) is not None


@dataclass(frozen=True)
class AvatarBrief:
    """What the answering task needs of an avatar (no ORM object crosses into the task)."""

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    system_prompt: str
    language: str
    document_ids: list[str]


@dataclass
class Relay:
    """Events of one answer, for the request that streams them (if it is still there)."""

    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = field(default_factory=asyncio.Queue)

    def put(self, event: str, data: dict[str, Any]) -> None:
        self.queue.put_nowait((event, data))


async def find_sources(
    runtime: Runtime, avatar: AvatarBrief, question: str
) -> tuple[list[dict[str, Any]], list[ContextPassage]]:
    """The avatar's passages for `question`, as sources to show and as context to answer from."""
    if not avatar.document_ids:
        return [], []
    found = await runtime.index.search(
        str(avatar.organization_id), question, limit=SEARCH_LIMIT, document_ids=avatar.document_ids
    )
    if found.degraded:
        log.warning("knowledge search degraded for avatar %s: %s", avatar.id, found.reason)
    if not found.hits:
        return [], []
    names = await _document_names(runtime, {hit.document_id for hit in found.hits})
    sources = [
        {
            "document_id": hit.document_id,
            "document": names.get(hit.document_id, ""),
            "location": hit.location,
            "snippet": _snippet(hit.text),
            "score": round(hit.score, 4),
        }
        for hit in found.hits
    ]
    passages = [ContextPassage(hit.chunk_id, hit.text, hit.citation) for hit in found.hits]
    return sources, passages


_NAMES: dict[str, str] = {}  # document id → name; a document's name never changes


async def _document_names(runtime: Runtime, ids: set[str]) -> dict[str, str]:
    missing = ids - _NAMES.keys()
    if missing:
        async with runtime.db.session() as session:
            rows = await session.execute(
                select(SourceDocument.id, SourceDocument.title, SourceDocument.filename).where(
                    SourceDocument.id.in_({uuid.UUID(i) for i in missing})
                )
            )
            if len(_NAMES) > 100_000:
                _NAMES.clear()
            _NAMES.update({str(i): title or filename for i, title, filename in rows.all()})
    return {i: _NAMES.get(i, "") for i in ids}


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


async def history_of(
    runtime: Runtime, session_id: uuid.UUID, before: uuid.UUID
) -> list[LLMMessage]:
    """The last complete turns of the conversation, oldest first, without the new question."""
    async with runtime.db.session() as session:
        rows = (
            await session.scalars(
                select(ChatMessage)
                .where(
                    ChatMessage.session_id == session_id,
                    ChatMessage.status == MessageStatus.COMPLETE.value,
                    ChatMessage.id != before,
                )
                .order_by(ChatMessage.created_at.desc())
                .limit(HISTORY_TURNS * 2)
            )
        ).all()
    turns: list[LLMMessage] = []
    ordered = list(reversed(rows))
    for index, message in enumerate(ordered):
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        if message.role == "user" and (following is None or following.role != "assistant"):
            continue  # a question whose answer failed is not part of the conversation
        turns.append(LLMMessage("user" if message.role == "user" else "assistant", message.content))
    return turns


async def answer(
    runtime: Runtime,
    avatar: AvatarBrief,
    session_id: uuid.UUID,
    question_id: uuid.UUID,
    answer_id: uuid.UUID,
    question: str,
    relay: Relay,
    request_id: str | None,
    *,
    first_turn: bool = False,
) -> None:
    """Write the answer to `question`, store it, and tell `relay` as it goes.

    Events: `sources`, `chunk`…, then `done` or `error`. Never raises: a failure is stored on
    the message and sent as `error`.
    """
    language = avatar.language if avatar.language in NO_KNOWLEDGE else "ru"
    text, tokens, provider = "", 0, None
    sources: list[dict[str, Any]] = []
    try:
        sources, passages = await find_sources(runtime, avatar, question)
        relay.put("sources", {"sources": sources})
        if not passages:
            text = NO_KNOWLEDGE[language]
            relay.put("chunk", {"content": text})
        else:
            prompt = await runtime.prompts.pick("chat_answer")
            numbered = "\n".join(f"[{n}] {p.text}" for n, p in enumerate(passages, 1))
            persona = avatar.system_prompt or f"You are {avatar.name}, a helpful assistant."
            system, user = prompt.render(persona=persona, sources=numbered, question=question)
            history = [] if first_turn else await history_of(runtime, session_id, question_id)
            request = ChatRequest(
                [LLMMessage("system", system), *history, LLMMessage("user", user)],
                max_tokens=800,
                context=passages,
            )
            context = CallContext(avatar.organization_id, "chat", "chat_answer", prompt, request_id)
            async for event in runtime.gateway.stream(request, context):
                if isinstance(event, TextDelta):
                    text += event.text
                    relay.put("chunk", {"content": event.text})
                elif isinstance(event, StreamEnd):
                    tokens = event.usage.input_tokens + event.usage.output_tokens
                    provider = event.provider
        lead_offer = wants_contact(question)
        if lead_offer:
            text += LEAD_OFFER[language]
            relay.put("chunk", {"content": LEAD_OFFER[language]})
        await _store(
            runtime,
            session_id,
            answer_id,
            content=text,
            status=MessageStatus.COMPLETE,
            tokens=tokens,
            sources=sources,
            provider=provider,
            lead_offer=lead_offer,
        )
        relay.put(
            "done",
            {"message_id": str(answer_id), "tokens_used": tokens, "lead_offer": lead_offer},
        )
    except asyncio.CancelledError:  # shutting down mid-answer: leave no answer "generating"
        await asyncio.shield(
            _store(
                runtime,
                session_id,
                answer_id,
                content=text or FAILED[language],
                status=MessageStatus.FAILED,
                tokens=tokens,
                sources=sources,
                provider=provider,
                lead_offer=False,
            )
        )
        relay.put(
            "error",
            {"message_id": str(answer_id), "code": "CANCELLED", "message": FAILED[language]},
        )
        raise
    except Exception as exc:  # stored and reported, never lost
        code = exc.code if isinstance(exc, AppError) else "internal_error"
        retry_after = exc.extra.get("retry_after") if isinstance(exc, AppError) else None
        if not isinstance(exc, AppError):
            log.exception("chat answer %s failed", answer_id)
        try:
            await _store(
                runtime,
                session_id,
                answer_id,
                content=text or FAILED[language],
                status=MessageStatus.FAILED,
                tokens=tokens,
                sources=sources,  # as the stream showed them
                provider=provider,
                lead_offer=False,
            )
        except Exception:  # the stream still ends; the transcript settles it as failed later
            log.exception("could not store the failed chat answer %s", answer_id)
        relay.put(
            "error",
            {
                "message_id": str(answer_id),
                "code": code.upper(),
                "message": FAILED[language],
                **({"retry_after": retry_after} if retry_after else {}),
            },
        )


async def _store(
    runtime: Runtime,
    session_id: uuid.UUID,
    answer_id: uuid.UUID,
    *,
    content: str,
    status: MessageStatus,
    tokens: int,
    sources: list[dict[str, Any]],
    provider: str | None,
    lead_offer: bool,
) -> None:
    now = utcnow()
    async with runtime.db.session() as session:
        await session.execute(
            update(ChatMessage)
            .where(ChatMessage.id == answer_id)
            .values(
                content=content,
                status=status.value,
                tokens_used=tokens,
                sources={"items": sources},
                provider=provider,
                lead_offer=lead_offer,
                completed_at=now,
            )
        )
        await session.execute(
            update(ChatSession).where(ChatSession.id == session_id).values(last_message_at=now)
        )
