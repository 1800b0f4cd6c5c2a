"""A 20-slide deck that exercises every layout: long Russian and English bullets (some far too
long for one slide), citations, speaker notes, a table, charts, a quote and a picture."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from parmenid.presentai.render.deck import (
    BrandStyle,
    Chart,
    ChartSeries,
    Deck,
    DeckBullet,
    DeckSlide,
    Table,
)

RUSSIAN_BULLET = (
    "Выручка во втором квартале выросла на 18 % благодаря новым корпоративным клиентам "
    "в Казани и Новосибирске"
)
LONG_RU = (
    "Компания завершила переход на новую платформу обработки заказов, что позволило "
    "сократить среднее время ответа клиенту с четырёх часов до сорока минут, снизить долю "
    "ошибок при оформлении на треть и высвободить около двенадцати сотрудников для работы "
    "с ключевыми заказчиками; при этом затраты на сопровождение остались на прежнем уровне, "
    "а удовлетворённость клиентов по итогам опроса выросла с 71 до 84 процентов"
)
LONG_EN = (
    "The migration to the new order platform cut the average response time from four hours "
    "to forty minutes, reduced entry errors by a third and freed about twelve people to work "
    "with key accounts, while maintenance costs stayed flat and customer satisfaction in the "
    "quarterly survey rose from 71 to 84 percent across every region we serve"
)
HUGE = " ".join([LONG_EN] * 10)  # one bullet longer than a whole slide


def picture(width: int = 640, height: int = 420, color: str = "#3B82F6") -> bytes:
    image = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill="#F59E0B")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def logo() -> bytes:
    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 90, 100), fill="#0F766E")
    draw.rectangle((110, 30, 300, 70), fill="#F97316")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _b(text: str, citation: str | None = "report.pdf, p. 3") -> DeckBullet:
    return DeckBullet(text, citation)


def sample_deck(style: BrandStyle | None = None, language: str = "ru") -> Deck:
    slides = [
        DeckSlide(
            1,
            "Итоги года: рост, клиенты и планы на 2027 год",
            "title",
            [DeckBullet("Совет директоров · декабрь 2026", None)],
            speaker_notes="Поприветствовать зал.",
        ),
        DeckSlide(
            2,
            "Agenda",
            "bullets",
            [
                _b("Results of the year", None),
                _b("Customers and markets", None),
                _b("Product and platform", None),
                _b("Plans for 2027", None),
            ],
        ),
        DeckSlide(3, "Часть 1. Результаты", "section", [DeckBullet("Цифры и факты", None)]),
        DeckSlide(
            4,
            "Ключевые результаты",
            "bullets",
            [
                _b(RUSSIAN_BULLET),
                _b("Маржинальность удержана на уровне 32 %", "finance.xlsx, Итоги!B4"),
                _b("Число активных клиентов достигло 1 240"),
                _b(LONG_RU, "survey.docx"),
            ],
            speaker_notes="Подчеркнуть рост в регионах.",
        ),
        DeckSlide(
            5,
            "What changed on the platform, and why it matters to customers",
            "bullets",
            [
                _b(LONG_EN, "platform.pdf, p. 12"),
                _b(LONG_EN, "platform.pdf, p. 14"),
                _b(LONG_EN, "ops.docx"),
                _b(LONG_EN, "survey.docx"),
                _b(LONG_EN, "platform.pdf, p. 12"),
                _b(LONG_EN, "ops.docx"),
            ],
            speaker_notes="This one continues on the next slide.",
        ),
        DeckSlide(
            6,
            "Сравнение: до и после",
            "two_columns",
            [
                _b("До: ответ клиенту за 4 часа"),
                _b("До: треть заказов с ошибками"),
                _b("До: ручная сверка остатков"),
                _b("После: ответ за 40 минут"),
                _b("После: ошибок на 33 % меньше"),
                _b("После: сверка автоматически"),
            ],
        ),
        DeckSlide(
            7,
            "«Клиент должен получать ответ быстрее, чем успевает заварить чай»",
            "quote",
            [
                DeckBullet(
                    "Клиент должен получать ответ быстрее, чем успевает "
                    "заварить чай. Всё остальное — детали.",
                    "interview.docx",
                )
            ],
            quote_author="Анна Смирнова, директор по клиентскому сервису",
        ),
        DeckSlide(
            8,
            "Новый офис в Казани",
            "image_text",
            [
                _b("Открыт в марте 2026 года"),
                _b("42 сотрудника, из них 30 — поддержка"),
                _b(RUSSIAN_BULLET),
            ],
            image=picture(),
        ),
        DeckSlide(
            9,
            "Выручка по регионам",
            "table",
            [_b("Москва остаётся крупнейшим рынком")],
            table=Table(
                ["Регион", "Выручка, млн ₽", "Расходы, млн ₽", "Комментарий"],
                [
                    ["Москва", "1 250,5", "800", "Основной рынок"],
                    ["Казань", "430", "310", "Новый офис с марта"],
                    ["Новосибирск", "512", "350", "Рост за счёт B2B"],
                    ["Екатеринбург", "288", "190", "—"],
                ],
            ),
            data_source="sales.xlsx, Sales!A1:D5",
        ),
        DeckSlide(
            10,
            "Revenue by quarter",
            "chart",
            [
                _b("Q2 was the strongest quarter", "sales.xlsx, Q!A1:C5"),
                _b("Costs grew slower than revenue", "sales.xlsx, Q!A1:C5"),
            ],
            chart=Chart(
                "column",
                ["Q1", "Q2", "Q3", "Q4"],
                [
                    ChartSeries("Revenue", [410, 560, 495, 530]),
                    ChartSeries("Cost", [300, 350, 340, 360]),
                ],
            ),
            data_source="sales.xlsx, Q!A1:C5",
        ),
        DeckSlide(
            11,
            "Доля клиентов по сегментам",
            "chart",
            [],
            chart=Chart(
                "pie",
                ["Крупный бизнес", "Средний", "Малый", "Госсектор"],
                [ChartSeries("Доля", [45, 30, 15, 10])],
            ),
            data_source="crm.xlsx, Segments!A1:B5",
        ),
        DeckSlide(
            12,
            "Время ответа, минуты",
            "chart",
            [_b("Снижение в 6 раз за год", None)],
            chart=Chart(
                "line",
                ["Янв", "Мар", "Май", "Июл", "Сен", "Ноя"],
                [ChartSeries("Время ответа", [240, 200, 120, 80, 55, 40])],
            ),
        ),
        DeckSlide(
            13,
            "Top accounts by revenue",
            "chart",
            [],
            chart=Chart(
                "bar",
                ["Northwind Traders", "Contoso", "Fabrikam", "Tailspin"],
                [ChartSeries("Revenue, $k", [820, 640, 410, 230])],
            ),
        ),
        DeckSlide(14, "Часть 2. Планы", "section", []),
        DeckSlide(
            15, "Planned work for the first half of 2027", "bullets", [_b(HUGE, "plan.docx")]
        ),
        DeckSlide(
            16,
            "Риски",
            "two_columns",
            [
                _b(LONG_RU, "risks.docx"),
                _b(LONG_RU, "risks.docx"),
                _b(LONG_RU, "risks.docx"),
                _b(LONG_RU, "risks.docx"),
                _b(LONG_RU, "risks.docx"),
                _b(LONG_RU, "risks.docx"),
            ],
        ),
        DeckSlide(
            17,
            "Бюджет на 2027 год",
            "table",
            [],
            table=Table(
                ["Статья", "2026", "2027"],
                [[f"Статья расходов номер {i}", f"{i * 10}", f"{i * 12}"] for i in range(1, 31)],
            ),
        ),
        DeckSlide(
            18,
            "Команда",
            "image_text",
            [_b("Продукт: 14 человек", None), _b("Поддержка: 60 человек", None)],
            image=picture(400, 600, "#0F766E"),
        ),
        DeckSlide(
            19,
            "Что дальше",
            "bullets",
            [
                _b("Запуск в Екатеринбурге", None),
                _b("Мобильное приложение", None),
                _b("Сертификация ISO 27001", None),
            ],
        ),
        DeckSlide(20, "Спасибо!", "closing", [DeckBullet("Вопросы: ir@example.com", None)]),
    ]
    return Deck(
        title="Итоги года 2026",
        slides=slides,
        style=style or BrandStyle(footer_text="ООО «Пример» · конфиденциально", logo=logo()),
        language=language,
        subtitle="Совет директоров",
    )
