"""The composition root: everything a process needs, built once from the settings.

`parmenid serve` builds one `Runtime` and shares it between both apps and the in-process worker;
an app started on its own (`uvicorn --factory parmenid.site.app:create_app`) builds its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network
from typing import Any

import httpx

from parmenid.config import Settings
from parmenid.core.db import Database
from parmenid.core.http import outbound_client
from parmenid.core.idempotency import IdempotencyStore
from parmenid.core.jobs import (
    Handler,
    JobContext,
    RedisWakeup,
    WakeupChannel,
    Worker,
    use_wakeup_channel,
)
from parmenid.core.ratelimit import RateLimiter, open_storage
from parmenid.core.storage import LocalStorage, ObjectStorage, S3Storage
from parmenid.core.streams import EventStreams, MemoryStreams, RedisStreams
from parmenid.identity.api_keys import ApiKeyCache
from parmenid.identity.passwords import Passwords
from parmenid.identity.service import Audience, IdentityConfig, PrincipalCache
from parmenid.identity.tokens import AccessTokens
from parmenid.knowledge.embeddings import DenseEmbedder
from parmenid.knowledge.index import KnowledgeIndex
from parmenid.knowledge.ingestion import Ingestor
from parmenid.knowledge.parsers import ParseLimits
from parmenid.llm.gateway import LLMGateway
from parmenid.llm.prompts import PromptLibrary

log = logging.getLogger("parmenid.runtime")


@dataclass
class Runtime:
    settings: Settings
    db: Database
    limiter: RateLimiter
    identity: IdentityConfig
    http: httpx.AsyncClient
    site_audience: Audience
    presentai_audience: Audience
    handlers: dict[str, Handler] = field(default_factory=dict)
    trusted_proxies: list[IPv4Network | IPv6Network] = field(default_factory=list)
    wakeup: WakeupChannel | None = None
    storage: ObjectStorage | None = None
    streams: EventStreams = field(default_factory=MemoryStreams)
    api_key_cache: ApiKeyCache = field(default_factory=lambda: ApiKeyCache(10.0))
    _index: KnowledgeIndex | None = None
    _gateway: LLMGateway | None = None
    _prompts: PromptLibrary | None = None
    # Work that must finish even if the request that started it goes away (a chat answer
    # whose visitor disconnected); awaited on shutdown.
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def gateway(self) -> LLMGateway:
        """The LLM gateway over the configured providers (the local engine when none)."""
        if self._gateway is None:
            from parmenid.llm.setup import build_gateway

            self._gateway = build_gateway(self.settings.llm, self.db)
        return self._gateway

    @property
    def prompts(self) -> PromptLibrary:
        if self._prompts is None:
            self._prompts = PromptLibrary(self.db)
        return self._prompts

    def run_in_background(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    @property
    def index(self) -> KnowledgeIndex:
        """The knowledge index, opened on first use (local mode locks its directory, so
        processes that never search do not take the lock)."""
        if self._index is None:
            knowledge = self.settings.knowledge
            dense: DenseEmbedder | None = None
            if knowledge.local_embedding_model:
                from parmenid.knowledge.embeddings import SentenceTransformerEmbedder

                dense = SentenceTransformerEmbedder(knowledge.local_embedding_model)
            elif knowledge.embedding_model:
                from parmenid.knowledge.embeddings import OpenAIDenseEmbedder

                secret = knowledge.embedding_api_key
                dense = OpenAIDenseEmbedder(
                    model=knowledge.embedding_model,
                    api_key=secret.get_secret_value() if secret else "not-needed",
                    base_url=knowledge.embedding_base_url,
                    dimensions=knowledge.embedding_dimensions,
                )
            if knowledge.qdrant_url:
                key = knowledge.qdrant_api_key
                self._index = KnowledgeIndex(
                    url=knowledge.qdrant_url,
                    api_key=key.get_secret_value() if key else None,
                    collection=knowledge.collection,
                    dense=dense,
                )
            else:
                self._index = KnowledgeIndex(
                    path=str(self.settings.data_dir / "qdrant"),
                    collection=knowledge.collection,
                    dense=dense,
                )
        return self._index

    def ingestor(self) -> Ingestor:
        knowledge = self.settings.knowledge
        assert self.storage is not None
        return Ingestor(
            db=self.db,
            storage=self.storage,
            index=self.index,
            streams=self.streams,
            limits=ParseLimits(
                max_bytes=knowledge.max_upload_bytes,
                max_pages=knowledge.max_pages,
                timeout_seconds=knowledge.parse_timeout_seconds,
            ),
            retry_after=knowledge.retry_after_index_failure_seconds,
        )

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        problems = settings.check_production()
        if problems:
            raise RuntimeError("refusing to start: " + "; ".join(problems))
        auth = settings.auth
        runtime = cls(
            settings=settings,
            db=Database(
                settings.effective_database_url,
                pool_size=settings.database_pool_size,
                max_overflow=settings.database_max_overflow,
            ),
            limiter=RateLimiter(
                open_storage(settings.effective_rate_limit_storage, settings.rate_limit.key_prefix),
                enabled=settings.rate_limit.enabled,
            ),
            identity=IdentityConfig(
                passwords=Passwords(
                    auth.argon2_memory_kib, auth.argon2_time_cost, auth.argon2_parallelism
                ),
                tokens=AccessTokens(settings.jwt_secret(), auth.jwt_issuer),
                refresh_ttl=timedelta(days=auth.refresh_token_ttl_days),
                verification_ttl=timedelta(hours=auth.email_verification_ttl_hours),
                verification_url=settings.site.public_url.rstrip("/") + "/verify-email",
                principals=PrincipalCache(auth.principal_cache_seconds),
            ),
            http=outbound_client(),
            site_audience=Audience(
                settings.site.jwt_audience, settings.site.access_token_ttl_seconds
            ),
            presentai_audience=Audience(
                settings.presentai.jwt_audience, settings.presentai.access_token_ttl_seconds
            ),
        )
        runtime.trusted_proxies = settings.rate_limit.proxy_networks()
        runtime.api_key_cache = ApiKeyCache(settings.presentai.api_key_cache_seconds)
        runtime.storage = _object_storage(settings)
        runtime.handlers = _job_handlers(runtime)
        if settings.redis_url:
            runtime.wakeup = RedisWakeup(settings.redis_url)
            runtime.streams = RedisStreams(settings.redis_url)
        use_wakeup_channel(runtime.wakeup)
        return runtime

    @property
    def idempotency(self) -> IdempotencyStore:
        return IdempotencyStore(
            self.db, timedelta(hours=self.settings.presentai.idempotency_ttl_hours)
        )

    def worker(self) -> Worker:
        jobs = self.settings.jobs
        return Worker(
            self.db,
            concurrency=jobs.concurrency,
            poll_interval=jobs.poll_interval_seconds,
            lease_seconds=jobs.lease_seconds,
            backoff_base=jobs.backoff_base_seconds,
            backoff_max=jobs.backoff_max_seconds,
            handlers=self.handlers,
            wakeup_channel=self.wakeup,
        )

    async def close(self) -> None:
        if self.background:
            await asyncio.wait(list(self.background), timeout=30)
        if self._gateway is not None:
            await self._gateway.close()
        if self._index is not None:
            dense = self._index.dense
            await self._index.close()
            if dense is not None and hasattr(dense, "close"):
                await dense.close()
        await self.streams.close()
        if self.storage is not None:
            await self.storage.close()
        if self.wakeup is not None:
            await self.wakeup.close()
        await self.http.aclose()
        await self.db.dispose()


def _object_storage(settings: Settings) -> ObjectStorage:
    """The S3 bucket when one is configured, else the directory DATA_DIR/files."""
    config = settings.storage
    if not config.s3_bucket:
        return LocalStorage(settings.data_dir / "files")
    secret = config.s3_secret_access_key
    return S3Storage(
        config.s3_bucket,
        prefix=config.s3_prefix,
        endpoint_url=config.s3_endpoint_url,
        region=config.s3_region,
        access_key_id=config.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
        connect_timeout=config.s3_connect_timeout_seconds,
        read_timeout=config.s3_read_timeout_seconds,
        max_attempts=config.s3_max_attempts,
    )


def _job_handlers(runtime: Runtime) -> dict[str, Handler]:
    from parmenid.identity.exports import EXPIRE_JOB, expire_handler, prepare_handler, purge_handler
    from parmenid.identity.exports import JOB_NAME as PREPARE_JOB
    from parmenid.identity.privacy import PURGE_JOB
    from parmenid.knowledge.ingestion import DELETE_JOB, deletion_handler, ingestion_handler
    from parmenid.knowledge.ingestion import JOB_NAME as INGEST_JOB
    from parmenid.notify.email import email_handler
    from parmenid.notify.telegram import telegram_handler
    from parmenid.presentai.exports.tasks import export_handlers
    from parmenid.presentai.generation.tasks import JOB_NAME as GENERATE_JOB
    from parmenid.presentai.generation.tasks import generation_handler
    from parmenid.presentai.presentations import purge as presentations
    from parmenid.presentai.shares.analytics import FORGET_SALTS_JOB, forget_salts_handler

    storage = runtime.storage
    assert storage is not None

    async def ingest(payload: dict[str, Any], context: JobContext) -> dict[str, Any] | None:
        return await ingestion_handler(runtime.ingestor())(payload, context)

    return {
        "notify.telegram": telegram_handler(runtime.settings.telegram, runtime.http),
        "notify.email": email_handler(runtime.settings.smtp),
        INGEST_JOB: ingest,
        PREPARE_JOB: prepare_handler(
            runtime.db,
            storage,
            timedelta(days=runtime.settings.presentai.export_retention_days),
        ),
        EXPIRE_JOB: expire_handler(runtime.db, storage),
        DELETE_JOB: deletion_handler(storage, lambda: runtime.index),
        PURGE_JOB: purge_handler(storage, lambda: runtime.index),
        GENERATE_JOB: generation_handler(runtime),
        **export_handlers(runtime),  # presentation.export, presentation.export_expire
        presentations.PURGE_JOB: presentations.purge_handler(
            timedelta(days=runtime.settings.presentai.presentation_retention_days)
        ),
        FORGET_SALTS_JOB: forget_salts_handler(),
    }
