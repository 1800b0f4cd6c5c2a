"""Every change of a slide's title, layout or content becomes a new version.

`write_slide` is the only way slide content changes, for people (PATCH, restore) and jobs
(generation, regeneration) alike: it bumps `Slide.version` and stores the new state with who made
it and why, in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import new_id
from parmenid.presentai.slides.models import Slide, SlideLayout, SlideStatus, SlideVersion

Reason = Literal["created", "edited", "generated", "regenerated", "restored", "duplicated"]


@dataclass(frozen=True)
class Author:
    kind: Literal["user", "api_key", "job"]
    user_id: uuid.UUID | None = None
    key_id: uuid.UUID | None = None
    job_id: uuid.UUID | None = None

    @classmethod
    def job(cls, job_id: uuid.UUID, user_id: uuid.UUID | None = None) -> Author:
        """A job, on behalf of the person who started it."""
        return cls("job", user_id=user_id, job_id=job_id)


def write_slide(
    session: AsyncSession,
    slide: Slide,
    *,
    author: Author,
    reason: Reason,
    title: str | None = None,
    layout: str | None = None,
    content: dict[str, Any] | None = None,
    note: str | None = None,
) -> SlideVersion:
    """Apply the given parts to `slide` and record the result as its next version."""
    if slide.id is None:  # a new slide: column defaults apply only at the flush
        slide.id = new_id()
        slide.layout = slide.layout or SlideLayout.BULLETS.value
        slide.title = slide.title or ""
        slide.content = slide.content or {}
        slide.status = slide.status or SlideStatus.EMPTY.value
    if title is not None:
        slide.title = title
    if layout is not None:
        slide.layout = layout
    if content is not None:
        slide.content = content
    slide.version = (slide.version or 0) + 1
    version = SlideVersion(
        slide_id=slide.id,
        version=slide.version,
        title=slide.title,
        layout=slide.layout,
        content=dict(slide.content or {}),
        author_kind=author.kind,
        author_user_id=author.user_id,
        author_key_id=author.key_id,
        job_id=author.job_id,
        reason=reason,
        note=note,
    )
    session.add(version)
    return version
