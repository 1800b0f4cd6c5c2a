"""The frames waiting to be sent to one WebSocket client: a bounded queue.

Readers of the event streams wait while it is full, so a client that reads slowly holds them
back instead of growing memory: the events stay in the stream, where a lagging reader finds
them later (or, if the stream has dropped them meanwhile, sees the gap and says so). A client
that leaves the queue full for longer than `patience` seconds is given up on: `overflowed` is
set, and the connection closes with 1013.
"""

from __future__ import annotations

import asyncio
from typing import Any


class ClientTooSlow(Exception):
    """The client has not read its frames for too long."""


class Outbox:
    def __init__(self, size: int, patience: float) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=size)
        self.patience = patience
        self.overflowed = asyncio.Event()

    async def put(self, frame: dict[str, Any]) -> None:
        """Queue `frame`, waiting for room; `ClientTooSlow` when none frees up in time."""
        if self.overflowed.is_set():
            raise ClientTooSlow
        try:
            self.queue.put_nowait(frame)
            return
        except asyncio.QueueFull:
            pass
        try:
            await asyncio.wait_for(self.queue.put(frame), self.patience)
        except TimeoutError:
            self.overflowed.set()
            raise ClientTooSlow from None

    async def get(self) -> dict[str, Any]:
        return await self.queue.get()
