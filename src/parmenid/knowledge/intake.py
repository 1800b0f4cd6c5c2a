"""Taking a document in: an upload or a web address becomes a source document whose ingestion
is queued, with errors a person can act on (415 for an unsupported type, 422 for an empty,
damaged or protected file or an address that cannot be fetched, in English and Russian)."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.errors import (
    AppError,
    FieldProblem,
    Text,
    UnsupportedMediaType,
    ValidationFailed,
)
from parmenid.core.safe_fetch import FetchPolicy, FetchRefused, fetch
from parmenid.core.storage import ObjectStorage
from parmenid.core.uploads import CONTROL
from parmenid.knowledge.ingestion import add_document
from parmenid.knowledge.models import SourceDocument
from parmenid.knowledge.parsers import ParseError

# Russian for the parser's reasons (its English ones are written for the uploader already).
UNREADABLE_RU = {
    "unsupported": "Формат файла не поддерживается: загрузите PDF, DOCX, PPTX, XLSX, HTML, "
    "Markdown или текстовый файл.",
    "empty": "Файл пустой.",
    "password_protected": "Документ защищён паролем: снимите пароль и загрузите его снова.",
    "corrupt": "Файл повреждён или не соответствует своему формату.",
}
UNREADABLE_RU_OTHER = "Файл не удалось прочитать."


def unreadable(exc: ParseError) -> AppError:
    """An upload refused by content sniffing: 415 for an unsupported format, 422 otherwise."""
    text = Text(exc.reason, UNREADABLE_RU.get(exc.code, UNREADABLE_RU_OTHER))
    if exc.code == "unsupported":
        return UnsupportedMediaType(text, extra={"reason": exc.code})
    return ValidationFailed(
        text, extra={"reason": exc.code}, problems=[FieldProblem("file", text, exc.code)]
    )


FETCH_RU = {
    "bad_url": "адрес указан неверно",
    "scheme_not_allowed": "поддерживаются только адреса http и https",
    "address_not_allowed": "адрес ведёт во внутреннюю сеть, такие адреса запрещены",
    "dns_failed": "сайт с таким именем не найден",
    "connection_failed": "не удалось подключиться к сайту",
    "too_many_redirects": "слишком много перенаправлений",
    "too_large": "документ больше допустимого размера",
    "timeout": "сайт не ответил вовремя",
    "http_error": "сайт ответил ошибкой",
}


def not_fetched(exc: FetchRefused) -> ValidationFailed:
    text = Text(
        f"The document could not be downloaded: {exc.reason}",
        f"Не удалось загрузить документ по ссылке: {FETCH_RU.get(exc.code, 'ошибка загрузки')}.",
    )
    return ValidationFailed(
        text, extra={"reason": exc.code}, problems=[FieldProblem("url", text, exc.code)]
    )


def url_filename(url: str) -> str:
    """A document name for a downloaded page: the last path segment, else the host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return "document"
    name = CONTROL.sub("", parsed.path.rstrip("/").rsplit("/", 1)[-1]).strip()  # decoded
    return (name or parsed.host or "document")[:300]


async def add_upload(
    session: AsyncSession,
    storage: ObjectStorage,
    organization_id: uuid.UUID,
    filename: str,
    data: bytes,
    *,
    created_by: uuid.UUID | None,
    source_url: str | None = None,
    queue_job: bool = True,
) -> SourceDocument:
    """Store the file as a source document and queue its ingestion (the caller's transaction).
    The type is sniffed from the content first."""
    try:
        return await add_document(
            session,
            storage,
            organization_id,
            filename,
            data,
            created_by=created_by,
            source_url=source_url,
            queue_job=queue_job,
        )
    except ParseError as exc:
        raise unreadable(exc) from exc


async def download(
    url: str, *, client: httpx.AsyncClient, policy: FetchPolicy
) -> tuple[str, bytes]:
    """A document's name and content from `url`, under the SSRF guard (422 when refused)."""
    try:
        fetched = await fetch(url, client=client, policy=policy)
    except FetchRefused as exc:
        raise not_fetched(exc) from exc
    return url_filename(fetched.final_url), fetched.content
