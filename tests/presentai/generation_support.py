"""Set-up shared by the generation tests: a signed-in owner, an organization, a project and a
presentation whose source is a sample document uploaded through `/files/upload`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from parmenid.presentai.presentations.models import Presentation, PresentationSource
from parmenid.presentai.projects.models import Project
from parmenid.runtime import Runtime
from tests.helpers import bearer

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
API = "/api/v1"


@dataclass
class Deck:
    headers: dict[str, str]
    organization_id: str
    presentation_id: str
    document_id: str


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    org: str,
    sample: str,
    data: bytes | None = None,
) -> dict[str, Any]:
    data = data if data is not None else (SAMPLES / sample).read_bytes()
    response = await client.post(
        f"{API}/files/upload",
        params={"organization_id": org},
        files={"file": (sample, data)},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def deck_with_source(
    client: httpx.AsyncClient,
    runtime: Runtime,
    *,
    sample: str = "pep-0008.pdf",
    title: str = "Python code style",
    slides: int = 5,
    email: str = "owner@example.com",
    data: bytes | None = None,
) -> Deck:
    headers = await bearer(client, email)
    org = (
        await client.post(f"{API}/organizations", json={"name": "Acme"}, headers=headers)
    ).json()["id"]
    document = await upload(client, headers, org, sample, data)
    async with runtime.db.session() as session:
        project = Project(organization_id=uuid.UUID(org), name="P", search_text="p")
        session.add(project)
        await session.flush()
        presentation = Presentation(
            organization_id=project.organization_id,
            project_id=project.id,
            title=title,
            parameters={"slide_count": slides, "language": "en", "tone": "neutral"},
        )
        session.add(presentation)
        await session.flush()
        session.add(
            PresentationSource(
                organization_id=project.organization_id,
                presentation_id=presentation.id,
                document_id=uuid.UUID(document["id"]),
            )
        )
        presentation_id = str(presentation.id)
    return Deck(headers, org, presentation_id, document["id"])
