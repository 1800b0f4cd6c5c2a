"""An avatar with a small knowledge base, for chat tests."""

from __future__ import annotations

import uuid
from typing import Any

from parmenid.identity.models import Organization
from parmenid.runtime import Runtime
from parmenid.site.chat.avatars import AvatarService

KNOWLEDGE = """Тарифы Parmenid

Тариф Free бесплатный и включает 200 тысяч токенов в месяц.
Тариф Pro стоит 2900 рублей в месяц и включает 2 миллиона токенов.
Тариф Enterprise включает выделенный сервер и поддержку 24/7.

Интеграции

PresentAI строит презентации из ваших документов: PDF, DOCX, PPTX и веб-страниц.
Каждый пункт слайда ссылается на источник, из которого он взят.
Чат-бот отвечает на вопросы посетителей сайта по загруженным материалам.
"""


async def make_avatar(
    runtime: Runtime, *, knowledge: str | None = KNOWLEDGE, **fields: Any
) -> uuid.UUID:
    """An active avatar of a fresh organization; its knowledge (if any) is indexed now."""
    assert runtime.storage is not None
    async with runtime.db.session() as session:
        organization = Organization(name="Demo", slug=f"demo-{uuid.uuid4().hex[:8]}")
        session.add(organization)
        await session.flush()
        service = AvatarService(session)
        avatar = await service.create(
            organization.id,
            None,
            {
                "name": "AI Консультант",
                "description": "Помогу ответить на вопросы о платформе",
                "primary_color": "#3B82F6",
                "welcome_message": "Здравствуйте! Чем могу помочь?",
                **fields,
            },
        )
        document = None
        if knowledge is not None:
            document = await service.add_document(
                avatar,
                runtime.storage,
                "parmenid.md",
                knowledge.encode(),
                created_by=None,
                queue_job=False,
            )
    if document is not None:
        indexed = await runtime.ingestor().ingest(document.id)
        assert indexed.ingestion_status == "indexed", indexed.error_message
    return avatar.id
