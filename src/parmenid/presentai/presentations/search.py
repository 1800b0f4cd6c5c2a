"""What a presentation search finds: its title, outline and slide text, case-folded in Python
(SQLite's lower() knows only ASCII), kept in `Presentation.search_text`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.presentai.presentations.models import Presentation
from parmenid.presentai.slides.models import Slide

MAX_SEARCH_TEXT = 200_000


async def refresh_search_text(session: AsyncSession, presentation: Presentation) -> None:
    """Recompute `presentation.search_text` after its title, outline or slides changed."""
    parts = [presentation.title]
    for item in (presentation.outline or {}).get("items", []):
        parts.append(str(item.get("title", "")))
        parts.extend(str(p.get("text", "")) for p in item.get("key_points", []))
    slides = await session.scalars(
        select(Slide).where(Slide.presentation_id == presentation.id).order_by(Slide.position)
    )
    for slide in slides.all():
        parts.append(slide.title)
        parts.extend(str(b.get("text", "")) for b in (slide.content or {}).get("bullets", []))
    presentation.search_text = "\n".join(p for p in parts if p).casefold()[:MAX_SEARCH_TEXT]
