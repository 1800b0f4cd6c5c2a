"""What a `job_id` of the WebSocket's `subscribe` is: its organization, stream and state.

A job id is looked up by a registry of resolvers, one per kind of job: generation jobs
(stream `gen_progress:{id}`) and source documents being ingested (`ingestion:{id}`). Another
kind (an export job, say) adds its own:

    @jobs.register
    async def export_job(session: AsyncSession, job_id: uuid.UUID) -> JobTarget | None: ...

The caller may follow a job only as a member (any role) of the job's organization; anything
else, another tenant's job included, is "not found", so a job's existence is never revealed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.identity.organizations import OrganizationService
from parmenid.knowledge import ingestion
from parmenid.knowledge.models import IngestionStatus, SourceDocument
from parmenid.presentai.generation import progress
from parmenid.presentai.generation.models import GenerationJob, GenerationStatus

FINISHED_GENERATION = frozenset({GenerationStatus.SUCCEEDED.value, GenerationStatus.FAILED.value})
# A failed ingestion is retried later, so its stream may still get a new outcome.
FINISHED_INGESTION = frozenset({IngestionStatus.INDEXED.value, IngestionStatus.FAILED.value})


@dataclass(frozen=True)
class JobState:
    """A job's state as its row says, at the moment it was read."""

    status: str
    finished: bool
    progress_pct: int | None = None
    # How many events the job has published, when its events carry a `seq` (generation jobs);
    # a subscriber that has seen fewer, with nothing more in the stream, has lost some.
    events_published: int | None = None


@dataclass(frozen=True)
class JobTarget:
    job_id: uuid.UUID
    kind: str  # generation | ingestion | ...
    organization_id: uuid.UUID
    stream: str
    state: JobState


Resolver = Callable[[AsyncSession, uuid.UUID], Awaitable[JobTarget | None]]


@dataclass
class JobRegistry:
    """The resolvers a job id is tried against, in the order they were registered."""

    resolvers: list[Resolver] = field(default_factory=list)

    def register(self, resolver: Resolver) -> Resolver:
        self.resolvers.append(resolver)
        return resolver

    async def resolve(self, session: AsyncSession, job_id: uuid.UUID) -> JobTarget | None:
        for resolver in self.resolvers:
            target = await resolver(session, job_id)
            if target is not None:
                return target
        return None

    async def authorize(
        self, session: AsyncSession, user_id: uuid.UUID, job_id: uuid.UUID
    ) -> JobTarget | None:
        """The job if `user_id` may follow it (a member of its organization), else None."""
        target = await self.resolve(session, job_id)
        if target is None:
            return None
        membership = await OrganizationService(session).membership(target.organization_id, user_id)
        return target if membership is not None else None


jobs = JobRegistry()


@jobs.register
async def generation_job(session: AsyncSession, job_id: uuid.UUID) -> JobTarget | None:
    row = (
        await session.execute(
            select(
                GenerationJob.organization_id,
                GenerationJob.status,
                GenerationJob.progress_pct,
                GenerationJob.events_published,
            ).where(GenerationJob.id == job_id)
        )
    ).one_or_none()
    if row is None:
        return None
    organization_id, status, progress_pct, events_published = row
    state = JobState(status, status in FINISHED_GENERATION, progress_pct, events_published)
    return JobTarget(job_id, "generation", organization_id, progress.stream_of(job_id), state)


@jobs.register
async def source_document(session: AsyncSession, job_id: uuid.UUID) -> JobTarget | None:
    row = (
        await session.execute(
            select(SourceDocument.organization_id, SourceDocument.ingestion_status).where(
                SourceDocument.id == job_id
            )
        )
    ).one_or_none()
    if row is None:
        return None
    organization_id, status = row
    state = JobState(status, status in FINISHED_INGESTION)
    return JobTarget(job_id, "ingestion", organization_id, ingestion.stream_of(job_id), state)
