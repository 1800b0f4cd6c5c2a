"""`parmenid demo seed`: a demo organization with a chat bot that knows the platform.

Idempotent: running it again finds the same organization and avatar and only adds what is
missing, so `make run` can call it every time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from parmenid.identity.models import Organization
from parmenid.knowledge.models import IngestionStatus
from parmenid.runtime import Runtime
from parmenid.site.chat.avatars import AvatarService
from parmenid.site.chat.models import Avatar

DEMO_SLUG = "parmenid-demo"
DEMO_AVATAR = "AI Консультант"
KNOWLEDGE_FILE = "parmenid-platform.md"

KNOWLEDGE = """# Платформа Parmenid

## Что такое Parmenid
Parmenid — платформа для команд, которые работают с документами и клиентами.
Parmenid включает PresentAI и чат-бота для сайта.
PresentAI строит презентации из ваших документов, веб-страниц и облачных дисков.
Чат-бот Parmenid отвечает посетителям сайта по вашим материалам и передаёт заявки менеджерам.

## Презентации PresentAI
PresentAI сначала предлагает план презентации, затем пишет слайды.
Каждый пункт слайда ссылается на источник, из которого он взят.
PresentAI принимает документы в форматах PDF, DOCX, PPTX, XLSX, HTML и TXT.
PresentAI также загружает веб-страницы по ссылке.
Готовую презентацию можно выгрузить в PPTX, PDF, PNG или Google Slides.
Публичная ссылка на презентацию показывает статистику просмотров.
Brand Kit задаёт цвета, шрифты и шаблон PPTX вашей компании.

## Тарифы и цены
Тариф Free стоит 0 рублей и включает 200 тысяч токенов в месяц.
Тариф Pro стоит 2900 рублей в месяц и включает 2 миллиона токенов в месяц.
Тариф Enterprise стоит от 49000 рублей в месяц: выделенный сервер, SSO и поддержка 24/7.
Оплатить тариф можно картой или по счёту для юридических лиц.

## Демо и связь
Демонстрация платформы проходит онлайн и занимает 30 минут.
Чтобы заказать демо, оставьте email или Telegram: менеджер свяжется в течение 24 часов.

## Интеграции
Интеграции Parmenid: Telegram, Slack, Microsoft Teams, Google Drive, CRM и вебхуки.
Уведомления о заявках приходят администраторам в Telegram.
API-ключи со scope позволяют подключить Parmenid к вашим системам.

## Безопасность и данные
Данные каждой организации хранятся отдельно и не видны другим клиентам.
Пароли хранятся в виде хэшей argon2id, доступ разграничен ролями owner, admin, editor и viewer.
Аккаунт и все персональные данные можно выгрузить или удалить по запросу (GDPR).
Parmenid можно развернуть на своём сервере с PostgreSQL, Redis, Qdrant и S3.
"""


@dataclass(frozen=True)
class SeedResult:
    organization_id: uuid.UUID
    avatar_id: uuid.UUID
    created: bool
    indexed: bool


async def seed_demo(runtime: Runtime) -> SeedResult:
    """The demo organization and avatar, with the knowledge indexed (now, in this process)."""
    assert runtime.storage is not None
    created = False
    async with runtime.db.session() as session:
        organization = await session.scalar(
            select(Organization).where(Organization.slug == DEMO_SLUG)
        )
        if organization is None:
            organization = Organization(name="Parmenid demo", slug=DEMO_SLUG)
            session.add(organization)
            await session.flush()
        avatar = await session.scalar(
            select(Avatar).where(
                Avatar.organization_id == organization.id, Avatar.name == DEMO_AVATAR
            )
        )
        service = AvatarService(session)
        if avatar is None:
            created = True
            avatar = await service.create(
                organization.id,
                None,
                {
                    "name": DEMO_AVATAR,
                    "description": "Помогу ответить на вопросы о платформе",
                    "primary_color": "#3B82F6",
                    "welcome_message": "Здравствуйте! Чем могу помочь?",
                    "system_prompt": (
                        "Ты консультант компании Parmenid. Отвечай кратко и дружелюбно, "
                        "только по материалам."
                    ),
                    "language": "ru",
                },
            )
        documents = await service.documents(avatar)
        pending = [d for d in documents if d.ingestion_status != IngestionStatus.INDEXED.value]
        if not documents:
            document = await service.add_document(
                avatar,
                runtime.storage,
                KNOWLEDGE_FILE,
                KNOWLEDGE.encode(),
                created_by=None,
                queue_job=False,
            )
            pending = [document]
        ids = (organization.id, avatar.id, [d.id for d in pending])
    indexed = True
    for document_id in ids[2]:
        document = await runtime.ingestor().ingest(document_id)
        indexed = indexed and document.ingestion_status == IngestionStatus.INDEXED.value
    return SeedResult(ids[0], ids[1], created, indexed)
