"""Google Slides export: the deck built in the user's Google account with the Slides API.

(Interface fixed for the engineers working in parallel; the Google integration replaces the
bodies.)
"""

from __future__ import annotations

import uuid

from parmenid.core.errors import AppError
from parmenid.presentai.render.deck import Deck
from parmenid.runtime import Runtime


class GoogleNotConnected(AppError):
    """The user has not connected a Google account (or revoked it)."""

    code = "google_not_connected"
    status = 409


class GoogleSlidesFailed(AppError):
    """The Slides API refused or failed; the export fails, PPTX stays available."""

    code = "google_slides_unavailable"
    status = 503


async def publish_deck(runtime: Runtime, user_id: uuid.UUID, deck: Deck) -> str:
    """Create the deck in `user_id`'s Google account; the new presentation's file id."""
    raise NotImplementedError("the Google Slides export is being built")
