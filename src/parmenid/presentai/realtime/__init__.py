"""PresentAI's progress WebSocket, `/ws` (see `websocket`)."""

from parmenid.presentai.realtime.websocket import router

__all__ = ["router"]
