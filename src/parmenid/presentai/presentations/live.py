"""A presentation that is not deleted: what every route but restore works on."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.errors import NotFound, Text
from parmenid.presentai.presentations.models import Presentation

NOT_FOUND_TEXT = Text("Presentation not found", "Презентация не найдена")


async def live_presentation(
    session: AsyncSession, presentation_id: uuid.UUID, *, reload: bool = False
) -> Presentation:
    """The presentation, or 404 when it does not exist or is in the trash (`reload`: read it
    again from the database)."""
    presentation = await session.get(Presentation, presentation_id, populate_existing=reload)
    if presentation is None or presentation.deleted_at is not None:
        raise NotFound(NOT_FOUND_TEXT)
    return presentation
