"""One settings tree for every process, read from `PARMENID_*` environment variables.

Nested groups use a double underscore: `PARMENID_TELEGRAM__BOT_TOKEN`, `PARMENID_SITE__PORT`.
A `.env` file in the working directory is read too.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Environment = Literal["development", "test", "staging", "production"]

DEFAULT_CORS_ORIGINS = [
    "https://parmenid.tech",
    "https://www.parmenid.tech",
    "https://admin.parmenid.tech",
]


def _split_csv(value: object) -> object:
    """Accept `a,b,c` from the environment as well as a JSON list."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


CsvList = Annotated[list[str], NoDecode]


class AppSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    access_token_ttl_seconds: int = 1800
    jwt_audience: str = "parmenid-site"


class SiteSettings(AppSettings):
    cors_origins: CsvList = Field(default_factory=lambda: list(DEFAULT_CORS_ORIGINS))
    public_url: str = "http://localhost:8000"

    _split = field_validator("cors_origins", mode="before")(_split_csv)


class PresentAISettings(AppSettings):
    port: int = 8001
    access_token_ttl_seconds: int = 900
    jwt_audience: str = "parmenid-presentai"
    cors_origins: CsvList = Field(default_factory=list)
    public_url: str = "http://localhost:8001"
    # API keys: how long a rotated-out secret keeps working unless the rotation asks otherwise
    # (0: it dies at once), and how long a verified key stays cached in a process. Revoking or
    # rotating clears the cache of the process that did it; others see it within the TTL.
    api_key_rotation_grace_seconds: int = Field(default=0, ge=0, le=7 * 86400)
    api_key_cache_seconds: float = Field(default=10.0, ge=0)
    # Signed download links (personal-data and audit-log exports) and their files.
    download_link_ttl_seconds: int = Field(default=3600, ge=60)
    export_retention_days: int = Field(default=7, ge=1)
    # Presentation exports (`POST /presentations/{id}/export`): how long each signed link to
    # the file stays valid (a fresh one comes with every status read; the file itself is kept
    # export_retention_days), and how many times a job is started before it fails for good.
    export_link_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    export_max_attempts: int = Field(default=3, ge=1, le=10)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    # A deleted presentation can be restored for this long, then it is deleted for good.
    presentation_retention_days: int = Field(default=30, ge=1, le=3650)
    # The progress WebSocket `/ws` (see `presentai.realtime`): the `auth` message must come
    # within ws_auth_timeout; a client that sends nothing for ws_idle_timeout is closed (clients
    # ping every 30 s). Per connection: message size, subscriptions, frames waiting to be sent,
    # and how long a full send queue is tolerated before the client is dropped as too slow.
    # A subscription to an unfinished job re-checks the job's row (and the caller's membership)
    # every ws_state_check seconds, so events lost on the way are noticed even if none follow.
    # Client messages are rate-limited per user (all their connections together).
    ws_auth_timeout_seconds: float = Field(default=10.0, gt=0)
    ws_idle_timeout_seconds: float = Field(default=90.0, gt=0)
    ws_max_message_bytes: int = Field(default=4096, ge=256)
    ws_max_subscriptions: int = Field(default=50, ge=1)
    ws_send_queue_frames: int = Field(default=256, ge=4)
    ws_slow_client_seconds: float = Field(default=10.0, gt=0)
    ws_state_check_seconds: float = Field(default=15.0, gt=0)
    ws_messages_per_minute: int = Field(default=120, ge=10)
    # Generation: slides written at once per job, source chunks an outline and a slide read,
    # how long a job waits for sources still being indexed, and attempts after a crash.
    slide_concurrency: int = Field(default=4, ge=1, le=32)
    outline_context_chunks: int = Field(default=60, ge=5, le=400)
    slide_context_chunks: int = Field(default=8, ge=1, le=50)
    source_wait_seconds: float = Field(default=600.0, ge=0)
    generation_max_attempts: int = Field(default=3, ge=1, le=10)
    # Public share links (`/share/{token}`): requests per client IP to all public share routes
    # together; wrong passwords per link and IP; how long the access token that a correct
    # password buys stays valid. Viewer analytics: the most one report may add to one slide,
    # and the most time one view may add up to (larger or impossible values are cut down).
    share_rate_limit: str = "120/minute"
    share_password_failures: str = "10/15minutes"
    share_access_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    share_dwell_event_max_ms: int = Field(default=30 * 60_000, ge=1000)
    share_dwell_view_max_ms: int = Field(default=4 * 3600_000, ge=1000)
    # Brand kits: kits per organization; a PPTX template's size, how long opening it may take
    # and how many layouts, masters and slides it may hold; a logo's size and its longest side.
    brand_kits_per_organization: int = Field(default=100, ge=1, le=10_000)
    template_max_bytes: int = Field(default=20 * 1024 * 1024, ge=64 * 1024)
    template_open_timeout_seconds: float = Field(default=30.0, gt=0)
    template_max_layouts: int = Field(default=200, ge=1)
    template_max_masters: int = Field(default=50, ge=1)
    template_max_slides: int = Field(default=200, ge=0)
    logo_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    logo_max_side_px: int = Field(default=4096, ge=16, le=16384)

    _split = field_validator("cors_origins", mode="before")(_split_csv)

    @field_validator("share_rate_limit", "share_password_failures")
    @classmethod
    def _a_rate_limit(cls, value: str) -> str:
        from limits import parse

        parse(value)  # "120/minute"; a malformed one is refused at start, not on a request
        return value


class AuthSettings(BaseModel):
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "parmenid"
    refresh_token_ttl_days: int = 30
    email_verification_ttl_hours: int = 48
    # argon2id cost; the floor (m >= 19 MiB, t >= 2) is OWASP's minimum and is enforced.
    argon2_memory_kib: int = Field(default=19456, ge=19456)
    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_parallelism: int = Field(default=1, ge=1)
    login_failures_per_account: str = "10/15minutes"
    # How long a process trusts a verified sign-in without asking the database again. Logout,
    # logout-all and account changes in the same process apply at once; in other processes
    # within this many seconds. 0 checks the database on every request.
    principal_cache_seconds: float = Field(default=5.0, ge=0)


class TelegramSettings(BaseModel):
    bot_token: SecretStr | None = None
    admin_chat_ids: CsvList = Field(default_factory=list)
    api_base_url: str = "https://api.telegram.org"
    timeout_seconds: float = 10.0

    _split = field_validator("admin_chat_ids", mode="before")(_split_csv)

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None and bool(self.admin_chat_ids)


class SmtpSettings(BaseModel):
    host: str | None = None
    port: int = 587
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = True
    use_tls: bool = False
    sender: str = "Parmenid <no-reply@parmenid.tech>"
    timeout_seconds: float = 15.0

    @property
    def enabled(self) -> bool:
        return self.host is not None


class JobSettings(BaseModel):
    poll_interval_seconds: float = 1.0
    lease_seconds: float = 60.0
    max_attempts: int = 8
    backoff_base_seconds: float = 5.0
    backoff_max_seconds: float = 3600.0
    concurrency: int = 4


class LLMSettings(BaseModel):
    """Providers are used in `fallback_chain` order, each only when configured (a key, or a base
    URL for OpenAI-compatible servers). With none configured the local extractive engine runs."""

    fallback_chain: CsvList = Field(default_factory=lambda: ["anthropic", "openai"])
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    anthropic_model: str = "claude-sonnet-4-6"
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o"
    compatible_base_url: str | None = None  # vLLM, Ollama, LM Studio: http://host:8000/v1
    compatible_api_key: SecretStr | None = None
    compatible_model: str = "llama3"
    timeout_seconds: float = 60.0
    retry_attempts: int = Field(default=3, ge=1)
    deadline_seconds: float = 120.0
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: float = 30.0
    plan_token_limits: dict[str, int] = Field(
        default_factory=lambda: {
            "free": 200_000,
            "starter": 2_000_000,
            "growth": 10_000_000,
            "scale": 50_000_000,
            "enterprise": 500_000_000,
        }
    )

    _split = field_validator("fallback_chain", mode="before")(_split_csv)


class KnowledgeSettings(BaseModel):
    qdrant_url: str | None = None  # a Qdrant server; local on-disk mode in DATA_DIR/qdrant if unset
    qdrant_api_key: SecretStr | None = None
    collection: str = "knowledge"
    max_upload_bytes: int = 50 * 1024 * 1024
    max_pages: int = 500
    parse_timeout_seconds: float = 120.0
    retry_after_index_failure_seconds: float = 300.0
    # Dense embeddings (hybrid search). Without a model only lexical vectors are used.
    embedding_model: str | None = None  # e.g. text-embedding-3-large, bge-m3
    embedding_base_url: str | None = None  # an OpenAI-compatible endpoint; OpenAI if unset
    embedding_api_key: SecretStr | None = None
    embedding_dimensions: int | None = None
    # Or a local sentence-transformers model directory (the `local-embeddings` extra).
    local_embedding_model: str | None = None
    # URL import may reach this machine only when explicitly allowed (development and tests).
    allow_loopback_urls: bool = False


class StorageSettings(BaseModel):
    """Object storage: the directory DATA_DIR/files unless `s3_bucket` is set, then that
    bucket of an S3-API server (AWS when `s3_endpoint_url` is unset; MinIO, Ceph, ... with
    it). Without an access key the SDK's default chain applies (environment, instance role).
    The bucket must exist and may stay private: files are served through the API's signed
    links, never by bucket URLs."""

    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_prefix: str = ""  # keys are stored under it, e.g. "parmenid/prod"
    s3_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    s3_read_timeout_seconds: float = Field(default=60.0, gt=0)
    s3_max_attempts: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def _keys_in_pairs(self) -> StorageSettings:
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError("set both s3_access_key_id and s3_secret_access_key, or neither")
        return self


class RateLimitSettings(BaseModel):
    enabled: bool = True
    # `memory://` or a Redis URL; empty means "Redis when PARMENID_REDIS_URL is set, else memory".
    storage_url: str = ""
    key_prefix: str = "parmenid"
    trusted_proxies: CsvList = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])

    _split = field_validator("trusted_proxies", mode="before")(_split_csv)

    def proxy_networks(self) -> list[IPv4Network | IPv6Network]:
        return [ip_network(item, strict=False) for item in self.trusted_proxies]


class GoogleSettings(BaseModel):
    """The Google OAuth client (a "Web application" client in Google Cloud Console) through
    which people connect their account for the Google Slides export. Unset `client_id`: the
    feature is off (`/oauth/google/authorize` answers 503). The URLs exist for tests and
    proxies; in production only the credentials (and perhaps `redirect_uri`) are set."""

    client_id: str | None = None
    client_secret: SecretStr | None = None
    # Default: PRESENTAI public_url + /api/v1/oauth/google/callback. Register it in the
    # Google client's "Authorized redirect URIs" exactly as it is.
    redirect_uri: str | None = None
    auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url: str = "https://oauth2.googleapis.com/token"
    revoke_url: str = "https://oauth2.googleapis.com/revoke"
    slides_api_url: str = "https://slides.googleapis.com"
    drive_api_url: str = "https://www.googleapis.com"
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Calls answered 429/5xx (or not answered) are tried this many times in all, waiting
    # backoff * 2^n seconds (or Google's Retry-After, at most 30 s) between tries.
    max_attempts: int = Field(default=4, ge=1, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)

    @property
    def enabled(self) -> bool:
        return bool(self.client_id) and self.client_secret is not None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PARMENID_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    environment: Environment = "development"
    data_dir: Path = Path("./data")
    database_url: str = ""
    # Connections kept per process; size it to the concurrency one process serves, within the
    # server's max_connections across all processes.
    database_pool_size: int = Field(default=30, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    redis_url: str | None = None
    log_level: str = "INFO"
    log_json: bool = True
    max_body_bytes: int = 64 * 1024
    default_phone_region: str = "RU"
    run_migrations_on_start: bool = True

    site: SiteSettings = Field(default_factory=SiteSettings)
    presentai: PresentAISettings = Field(default_factory=PresentAISettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    google: GoogleSettings = Field(default_factory=GoogleSettings)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'parmenid.db').as_posix()}"

    @property
    def effective_rate_limit_storage(self) -> str:
        if self.rate_limit.storage_url:
            return self.rate_limit.storage_url
        if self.redis_url:
            return "async+" + self.redis_url
        return "memory://"

    def jwt_secret(self) -> str:
        """The signing secret: configured, or generated once and kept in the data directory.

        Production refuses to start without an explicit secret (see `check_production`).
        """
        if self.auth.jwt_secret is not None:
            return self.auth.jwt_secret.get_secret_value()
        path = self.data_dir / "jwt-secret"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        path.write_text(secret)
        path.chmod(0o600)
        return secret

    def check_production(self) -> list[str]:
        """Settings that are acceptable in development but not in production."""
        problems: list[str] = []
        if self.environment == "production":
            if self.auth.jwt_secret is None:
                problems.append("PARMENID_AUTH__JWT_SECRET must be set in production")
            elif len(self.auth.jwt_secret.get_secret_value()) < 32:
                problems.append("PARMENID_AUTH__JWT_SECRET must be at least 32 characters")
            if self.effective_database_url.startswith("sqlite"):
                problems.append("production needs PARMENID_DATABASE_URL (PostgreSQL)")
        return problems


def normalize_database_url(url: str) -> str:
    """Let operators paste a plain `postgresql://` URL; we always talk through asyncpg."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
