"""The embeddable chat's public API (`site-api.md` §4): info, sessions, message, SSE stream,
and the history a widget restores after a reload."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import BaseModel, Field

from parmenid.core.observability import request_id_of
from parmenid.core.ratelimit import Limit
from parmenid.core.web import require_json
from parmenid.site.chat.answering import Relay, answer
from parmenid.site.chat.models import Avatar, ChatMessage, ChatSession
from parmenid.site.chat.service import ChatService, Turn, check_origin
from parmenid.site.deps import PlanRequestQuota, plan_request_attempts_limit
from parmenid.site.leads.endpoints import origin_of
from parmenid.site.leads.schemas import PlanRequestCreate, PlanRequestCreated
from parmenid.site.leads.service import PlanRequestService
from parmenid.webapp import RuntimeDep, SessionDep, ip_of, rate_limit

router = APIRouter(prefix="/chat", tags=["Chat widget"])

INFO_LIMIT = Depends(rate_limit(Limit.of("chat_info", "60/minute")))
SESSIONS_LIMIT = Depends(rate_limit(Limit.of("chat_sessions", "60/minute")))
MESSAGE_LIMIT = Depends(rate_limit(Limit.of("chat_message", "30/minute")))
STREAM_LIMIT = Depends(rate_limit(Limit.of("chat_stream", "30/minute")))
HISTORY_LIMIT = Depends(rate_limit(Limit.of("chat_history", "60/minute")))
KEEPALIVE_SECONDS = 15.0


class AvatarInfo(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    avatar_image_url: str | None
    primary_color: str
    welcome_message: str


class SessionOut(BaseModel):
    id: uuid.UUID
    avatar_id: uuid.UUID
    source: str
    is_active: bool
    messages_count: int
    created_at: datetime


class Source(BaseModel):
    document_id: str
    document: str
    location: dict[str, Any]
    snippet: str
    score: float


class UserMessageOut(BaseModel):
    id: uuid.UUID
    role: Literal["user"] = "user"
    content: str
    created_at: datetime


class AssistantMessageOut(BaseModel):
    id: uuid.UUID
    role: Literal["assistant"] = "assistant"
    content: str
    status: Literal["complete", "generating", "failed"]
    tokens_used: int | None
    sources: list[Source]
    lead_offer: bool = Field(description="The bot offered to take a contact (demo, prices).")
    created_at: datetime


class MessageReply(BaseModel):
    user_message: UserMessageOut
    assistant_message: AssistantMessageOut


class MessageIn(BaseModel):
    content: str = Field(min_length=1, max_length=10_000)


class History(BaseModel):
    session_id: uuid.UUID
    messages: list[UserMessageOut | AssistantMessageOut]


def message_out(message: ChatMessage) -> UserMessageOut | AssistantMessageOut:
    return user_out(message) if message.role == "user" else assistant_out(message)


def user_out(message: ChatMessage) -> UserMessageOut:
    return UserMessageOut(id=message.id, content=message.content, created_at=message.created_at)


def assistant_out(message: ChatMessage) -> AssistantMessageOut:
    return AssistantMessageOut(
        id=message.id,
        content=message.content,
        status=message.status,
        tokens_used=message.tokens_used,
        sources=[Source(**s) for s in message.sources.get("items", [])],
        lead_offer=message.lead_offer,
        created_at=message.created_at,
    )


async def _avatar(avatar_id: uuid.UUID, request: Request, session: SessionDep) -> Avatar:
    avatar = await ChatService(session).active_avatar(avatar_id)
    check_origin(avatar, request.headers.get("origin"))
    return avatar


ChatAvatar = Annotated[Avatar, Depends(_avatar)]
SessionId = Annotated[uuid.UUID, Query(description="The id from POST …/sessions")]


@router.get("/{avatar_id}/info", response_model=AvatarInfo, dependencies=[INFO_LIMIT])
async def avatar_info(avatar: ChatAvatar) -> AvatarInfo:
    """What the widget shows before the first message."""
    return AvatarInfo(
        id=avatar.id,
        name=avatar.name,
        description=avatar.description,
        avatar_image_url=avatar.avatar_image_url,
        primary_color=avatar.primary_color,
        welcome_message=avatar.welcome_message,
    )


def _session_out(chat: ChatSession) -> SessionOut:
    return SessionOut(
        id=chat.id,
        avatar_id=chat.avatar_id,
        source=chat.source,
        is_active=chat.is_active,
        messages_count=chat.messages_count,
        created_at=chat.created_at,
    )


@router.post(
    "/{avatar_id}/sessions",
    status_code=201,
    response_model=SessionOut,
    dependencies=[SESSIONS_LIMIT],
)
async def open_session(
    avatar: ChatAvatar,
    request: Request,
    session: SessionDep,
    source: Annotated[str, Query(pattern=r"^[a-z_]{1,20}$")] = "web",
) -> SessionOut:
    """Starts a conversation; keep its `id` (the widget keeps it across reloads)."""
    chat = await ChatService(session).open_session(
        avatar,
        source,
        ip=ip_of(request),
        user_agent=request.headers.get("user-agent"),
        origin=request.headers.get("origin"),
    )
    return _session_out(chat)


async def _start(
    avatar: Avatar,
    session_id: uuid.UUID,
    content: str,
    session: SessionDep,
    runtime: RuntimeDep,
    request_id: str,
) -> tuple[Turn, Relay, asyncio.Task[None]]:
    """Store the question and its placeholder answer, commit, and start writing the answer."""
    service = ChatService(session)
    chat = await service.session_of(avatar, session_id)
    first_turn = chat.messages_count == 0
    turn = await service.start_turn(avatar, chat, content)
    brief = await service.brief(avatar)
    await session.commit()  # the question is stored before generation starts
    relay = Relay()
    task = runtime.run_in_background(
        answer(
            runtime,
            brief,
            chat.id,
            turn.question.id,
            turn.answer.id,
            turn.question.content,
            relay,
            request_id,
            first_turn=first_turn,
        )
    )
    return turn, relay, task


@router.post(
    "/{avatar_id}/message",
    response_model=MessageReply,
    dependencies=[MESSAGE_LIMIT],
    responses={
        404: {"description": "NOT_FOUND: unknown or inactive bot, or unknown session"},
        422: {"description": "VALIDATION_ERROR: empty or too long"},
        429: {"description": "RATE_LIMIT: too many messages"},
    },
)
async def send_message(
    avatar: ChatAvatar,
    session_id: SessionId,
    body: MessageIn,
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
) -> MessageReply:
    """Asks the bot and waits for the whole answer (with `tokens_used` and `sources`)."""
    turn, _, task = await _start(
        avatar, session_id, body.content, session, runtime, request_id_of(request)
    )
    await asyncio.shield(task)
    answer_row = await session.get(ChatMessage, turn.answer.id, populate_existing=True)
    assert answer_row is not None
    return MessageReply(
        user_message=user_out(turn.question), assistant_message=assistant_out(answer_row)
    )


def _event(name: str, data: dict[str, Any]) -> bytes:
    return format_sse_event(event=name, data_str=json.dumps(data, ensure_ascii=False))


async def _relay(first: bytes, relay: Relay) -> AsyncIterator[bytes]:
    yield first
    while True:
        try:
            name, data = await asyncio.wait_for(relay.queue.get(), KEEPALIVE_SECONDS)
        except TimeoutError:
            yield b": keep-alive\n\n"
            continue
        yield _event(name, data)
        if name in ("done", "error"):
            return


@router.post(
    "/{avatar_id}/stream",
    response_class=Response,  # the answer is an EventSourceResponse built by hand
    dependencies=[STREAM_LIMIT],
    responses={
        200: {
            "description": (
                "`text/event-stream`: `message_received` {message_id}, `sources` {sources}, "
                "`chunk` {content}…, then `done` {message_id, tokens_used, lead_offer} or "
                "`error` {message_id, code, message, retry_after?}."
            ),
            "content": {"text/event-stream": {}},
        },
        404: {"description": "NOT_FOUND: unknown or inactive bot, or unknown session"},
        429: {"description": "RATE_LIMIT: too many messages"},
    },
)
async def stream_answer(
    avatar: ChatAvatar,
    session_id: SessionId,
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
    content: Annotated[str | None, Query(max_length=10_000)] = None,
    body: Annotated[MessageIn | None, Body()] = None,
) -> EventSourceResponse:
    """Streams the answer as it is written. The question goes in `content` (query, as in the
    contract) or in a JSON body. Disconnecting does not lose the answer: it is finished and
    stored, and the history shows it."""
    question = content if content is not None else (body.content if body else "")
    turn, relay, _ = await _start(
        avatar, session_id, question, session, runtime, request_id_of(request)
    )
    received = _event("message_received", {"message_id": str(turn.question.id)})
    return EventSourceResponse(
        _relay(received, relay),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/{avatar_id}/sessions/{session_id}/messages",
    response_model=History,
    dependencies=[HISTORY_LIMIT],
)
async def session_history(
    avatar: ChatAvatar, session_id: uuid.UUID, session: SessionDep
) -> History:
    """The conversation so far, oldest first, with the same sources as when it was answered."""
    service = ChatService(session)
    chat = await service.session_of(avatar, session_id)
    return History(
        session_id=chat.id, messages=[message_out(m) for m in await service.transcript(chat)]
    )


@router.post(
    "/{avatar_id}/sessions/{session_id}/lead",
    status_code=201,
    response_model=PlanRequestCreated,
    dependencies=[Depends(require_json), plan_request_attempts_limit],
    responses={
        404: {"description": "NOT_FOUND: unknown bot or session"},
        422: {"description": "VALIDATION_ERROR: no contact"},
        429: {"description": "RATE_LIMIT: more than 5 accepted requests an hour from one IP"},
    },
)
async def leave_contact(
    avatar: ChatAvatar,
    session_id: uuid.UUID,
    body: PlanRequestCreate,
    request: Request,
    response: Response,
    quota: PlanRequestQuota,
    session: SessionDep,
    runtime: RuntimeDep,
) -> PlanRequestCreated:
    """A lead left in the chat (after the bot offered it): the same request as the site's forms
    (`/plan-requests/`, the same 5-an-hour limit), recording the conversation it came from."""
    chat = await ChatService(session).session_of(avatar, session_id)
    lead = await PlanRequestService(session).create(
        body,
        origin_of(request, chat.id),
        runtime.settings.telegram,
    )
    await quota.spend(response)
    return PlanRequestCreated.model_validate(lead, from_attributes=True)
