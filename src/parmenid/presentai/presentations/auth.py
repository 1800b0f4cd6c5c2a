"""Who may read and change a presentation and its slides (typed route dependencies).

A presentation or slide of another organization answers 404, like one that does not exist. The
locators find soft-deleted presentations too: the handlers decide what a deleted one answers
(404 everywhere except restore).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.errors import Text
from parmenid.identity.models import Role
from parmenid.presentai.authz import OrgAccess, on_resource, owned_by
from parmenid.presentai.presentations.models import Presentation
from parmenid.presentai.slides.models import Slide

PRESENTATION = Text("Presentation", "Презентация")
SLIDE = Text("Slide", "Слайд")
READ, WRITE = "presentations:read", "presentations:write"


async def _slide_organization(session: AsyncSession, slide_id: uuid.UUID) -> uuid.UUID | None:
    """The organization of a slide whose presentation is not deleted."""
    found: uuid.UUID | None = await session.scalar(
        select(Slide.organization_id)
        .join(Presentation, Presentation.id == Slide.presentation_id)
        .where(Slide.id == slide_id, Presentation.deleted_at.is_(None))
    )
    return found


_presentation = owned_by(Presentation)

PresentationReader = Annotated[
    OrgAccess,
    Depends(on_resource("presentation_id", _presentation, PRESENTATION, Role.VIEWER, READ)),
]
PresentationEditor = Annotated[
    OrgAccess,
    Depends(on_resource("presentation_id", _presentation, PRESENTATION, Role.EDITOR, WRITE)),
]
SlideReader = Annotated[
    OrgAccess, Depends(on_resource("slide_id", _slide_organization, SLIDE, Role.VIEWER, READ))
]
SlideEditor = Annotated[
    OrgAccess, Depends(on_resource("slide_id", _slide_organization, SLIDE, Role.EDITOR, WRITE))
]
