"""One signed-in WebSocket connection: the client's messages, its subscriptions, its frames.

Three kinds of task share a connection: the receiver (client messages, in order), one relay per
subscription (`relay.Relay`), and the sender, the only one that writes to the socket; the others
queue frames in the connection's bounded `Outbox`. Whichever ends first ends the connection:
the client left, the client broke a rule (closed with a code), or the client stopped reading.
A database session is opened only for a lookup (subscribe, the periodic state check), never
held while streaming.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from parmenid.core.ratelimit import Limit
from parmenid.presentai.realtime.outbox import ClientTooSlow, Outbox
from parmenid.presentai.realtime.protocol import (
    AuthMessage,
    CloseCode,
    PingMessage,
    ProtocolError,
    SubscribeMessage,
    UnsubscribeMessage,
    encode,
    error_frame,
    parse_message,
)
from parmenid.presentai.realtime.relay import Relay
from parmenid.presentai.realtime.subscriptions import JobRegistry, JobTarget, jobs
from parmenid.runtime import Runtime

log = logging.getLogger("parmenid.realtime")

CLOSE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Closing:
    """Why the server ends the connection: the close code, its reason, and a last frame."""

    code: CloseCode
    reason: str
    frame: dict[str, Any] | None = None


def message_text(message: Mapping[str, Any]) -> str | None:
    """The text of a `websocket.receive` message (binary frames must hold UTF-8 JSON)."""
    text = message.get("text")
    if isinstance(text, str):
        return text
    data = message.get("bytes")
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def too_big(text: str, limit: int) -> bool:
    return len(text) > limit or len(text.encode("utf-8")) > limit


async def close_with(websocket: WebSocket, closing: Closing) -> None:
    """Send the last frame (if any) and close; a client that does not read is not waited for."""
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
            if closing.frame is not None:
                await websocket.send_text(encode(closing.frame))
            await websocket.close(int(closing.code), closing.reason)
    except (TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
        pass


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        runtime: Runtime,
        user_id: uuid.UUID,
        registry: JobRegistry = jobs,
    ) -> None:
        settings = runtime.settings.presentai
        self.websocket = websocket
        self.runtime = runtime
        self.user_id = user_id
        self.registry = registry
        self.idle_timeout = settings.ws_idle_timeout_seconds
        self.max_message_bytes = settings.ws_max_message_bytes
        self.max_subscriptions = settings.ws_max_subscriptions
        self.check_every = settings.ws_state_check_seconds
        self.rate = Limit.of("ws_messages", f"{settings.ws_messages_per_minute}/minute")
        self.outbox = Outbox(settings.ws_send_queue_frames, settings.ws_slow_client_seconds)
        self.subscriptions: dict[uuid.UUID, asyncio.Task[None]] = {}

    async def run(self) -> None:
        receiver = asyncio.create_task(self._receive())
        sender = asyncio.create_task(self._send())
        overflow = asyncio.create_task(self.outbox.overflowed.wait())
        closing: Closing | None = None
        try:
            await asyncio.wait({receiver, sender, overflow}, return_when=asyncio.FIRST_COMPLETED)
            if overflow.done():
                closing = Closing(CloseCode.CLIENT_TOO_SLOW, "client too slow")
            elif receiver.done():
                closing = receiver.result()
            elif not isinstance(sender.exception(), WebSocketDisconnect | OSError):
                log.error("websocket send failed", exc_info=sender.exception())
                closing = Closing(CloseCode.INTERNAL_ERROR, "internal error")
        except Exception:
            log.exception("websocket connection failed")
            closing = Closing(CloseCode.INTERNAL_ERROR, "internal error")
        finally:
            tasks = [receiver, sender, overflow, *self.subscriptions.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.subscriptions.clear()
        if closing is not None:
            await close_with(self.websocket, closing)

    async def _send(self) -> None:
        while True:
            frame = await self.outbox.get()
            await self.websocket.send_text(encode(frame))

    async def _receive(self) -> Closing | None:
        while True:
            try:
                message = await asyncio.wait_for(self.websocket.receive(), self.idle_timeout)
            except TimeoutError:
                return Closing(CloseCode.TIMEOUT, f"idle for {self.idle_timeout:g} s")
            if message["type"] == "websocket.disconnect":
                return None
            try:
                closing = await self._handle(message_text(message))
            except ClientTooSlow:
                return Closing(CloseCode.CLIENT_TOO_SLOW, "client too slow")
            if closing is not None:
                return closing

    async def _handle(self, raw: str | None) -> Closing | None:
        if raw is not None and too_big(raw, self.max_message_bytes):
            text = f"A message may be at most {self.max_message_bytes} bytes."
            return Closing(
                CloseCode.MESSAGE_TOO_BIG, "message too big", error_frame("bad_request", text)
            )
        if not await self._within_rate():
            return None
        try:
            if raw is None:
                raise ProtocolError("A message must be UTF-8 JSON text.")
            message = parse_message(raw)
        except ProtocolError as exc:
            await self.outbox.put(error_frame("bad_request", exc.message, exc.job_id))
            return None
        if isinstance(message, PingMessage):
            await self.outbox.put({"type": "pong"})
        elif isinstance(message, SubscribeMessage):
            await self._subscribe(message)
        elif isinstance(message, UnsubscribeMessage):
            await self._unsubscribe(message.job_id)
        elif isinstance(message, AuthMessage):
            await self.outbox.put(
                error_frame("bad_request", "This connection is already authenticated.")
            )
        return None

    async def _within_rate(self) -> bool:
        try:
            decision = await self.runtime.limiter.hit(self.rate, "ws", str(self.user_id))
        except Exception as exc:  # the counters' store is down: do not cut clients off for it
            log.warning("websocket rate limit unavailable", extra={"error": repr(exc)})
            return True
        if not decision.allowed:
            frame = error_frame("rate_limit_exceeded", "Too many messages; slow down.")
            await self.outbox.put({**frame, "retry_after": max(1, decision.reset_in)})
        return decision.allowed

    async def _subscribe(self, message: SubscribeMessage) -> None:
        job_id = message.job_id
        await self._cancel(job_id)  # subscribing again restarts from the new last_event_id
        if len(self.subscriptions) >= self.max_subscriptions:
            text = (
                f"At most {self.max_subscriptions} subscriptions per connection; "
                "unsubscribe from one first."
            )
            await self.outbox.put(error_frame("validation_error", text, str(job_id)))
            return
        try:
            target = await self._authorize(job_id)
        except Exception:
            log.exception("job lookup failed", extra={"job_id": str(job_id)})
            text = "The job could not be looked up; try again."
            await self.outbox.put(error_frame("internal_error", text, str(job_id)))
            return
        if target is None:
            await self.outbox.put(error_frame("not_found", "There is no such job.", str(job_id)))
            return
        await self.outbox.put(subscribed_frame(target))
        relay = Relay(
            target,
            last_event_id=message.last_event_id,
            streams=self.runtime.streams,
            outbox=self.outbox,
            check=lambda: self._authorize(job_id),
            check_every=self.check_every,
        )
        task = asyncio.create_task(self._relay(relay), name=f"ws-relay:{job_id}")
        self.subscriptions[job_id] = task
        task.add_done_callback(lambda done: self._forget(job_id, done))

    async def _authorize(self, job_id: uuid.UUID) -> JobTarget | None:
        async with self.runtime.db.session() as session:
            return await self.registry.authorize(session, self.user_id, job_id)

    async def _relay(self, relay: Relay) -> None:
        try:
            await relay.run()
        except ClientTooSlow:
            pass  # the outbox has flagged it; the connection closes with 1013
        except Exception:
            log.exception("relay failed", extra={"job_id": relay.job_id})
            text = "Following this job failed; subscribe again."
            with contextlib.suppress(ClientTooSlow):
                await self.outbox.put(error_frame("internal_error", text, relay.job_id))

    def _forget(self, job_id: uuid.UUID, task: asyncio.Task[None]) -> None:
        if self.subscriptions.get(job_id) is task:
            del self.subscriptions[job_id]

    async def _cancel(self, job_id: uuid.UUID) -> bool:
        task = self.subscriptions.pop(job_id, None)
        if task is None:
            return False
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return True

    async def _unsubscribe(self, job_id: uuid.UUID) -> None:
        await self._cancel(job_id)
        await self.outbox.put({"type": "unsubscribed", "job_id": str(job_id)})


def subscribed_frame(target: JobTarget) -> dict[str, Any]:
    state = target.state
    frame: dict[str, Any] = {
        "type": "subscribed",
        "job_id": str(target.job_id),
        "kind": target.kind,
        "status": state.status,
    }
    if state.progress_pct is not None:
        frame["progress_pct"] = state.progress_pct
    if state.events_published is not None:
        frame["events_published"] = state.events_published
    return frame
