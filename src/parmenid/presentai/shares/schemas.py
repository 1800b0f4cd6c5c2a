"""Requests and responses of share links, the shared deck and its analytics."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parmenid.presentai.slides.schemas import LayoutName

ShareStatus = Literal["active", "expired", "revoked"]
MAX_DAYS = 365


class ShareCreate(BaseModel):
    expires_at: datetime | None = Field(
        default=None,
        description="When the link stops working (within a year); without a time zone: UTC.",
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, le=MAX_DAYS, description="Instead of expires_at: days from now."
    )
    password: str | None = Field(
        default=None,
        min_length=8,
        max_length=128,
        description="Viewers must enter it; stored as an argon2id hash only.",
    )

    @model_validator(mode="after")
    def _one_expiry(self) -> ShareCreate:
        if self.expires_at is not None and self.expires_in_days is not None:
            raise ValueError("give expires_at or expires_in_days, not both")
        return self


class ShareOut(BaseModel):
    id: uuid.UUID
    presentation_id: uuid.UUID
    url: str | None = Field(
        description="The public link (PresentAI public_url + /share/ + token); null once the "
        "link is revoked or expired."
    )
    token: str | None = Field(description="The token in the link; null when url is null.")
    token_hint: str = Field(description="The token's last characters, to tell links apart.")
    status: ShareStatus
    has_password: bool
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    created_by: uuid.UUID | None
    views: int
    unique_viewers: int = Field(description="Distinct viewers per UTC day, summed over days.")
    last_viewed_at: datetime | None


class ShareListOut(BaseModel):
    items: list[ShareOut]


# -- the shared deck, as anyone with the link sees it -----------------------------------------


class SharedBullet(BaseModel):
    text: str
    citation: str | None = Field(description="Where it comes from, e.g. 'report.pdf, p. 3'.")
    document: str | None = Field(description="The source document's name.")


class SharedTable(BaseModel):
    columns: list[str]
    rows: list[list[str]]


class SharedChartSeries(BaseModel):
    name: str
    values: list[float]


class SharedChart(BaseModel):
    kind: str
    categories: list[str]
    series: list[SharedChartSeries]


class SharedSlide(BaseModel):
    slide_number: int
    title: str
    layout: LayoutName
    bullets: list[SharedBullet]
    table: SharedTable | None = None
    chart: SharedChart | None = None
    data_source: str | None = Field(
        default=None, description="The citation of the table's or chart's data"
    )


class SharedDeckOut(BaseModel):
    title: str
    language: str | None
    slide_count: int
    expires_at: datetime | None
    slides: list[SharedSlide]


class UnlockIn(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


class ShareAccessOut(BaseModel):
    access_token: str = Field(description="Send it as the X-Share-Access header.")
    token_type: Literal["share"] = "share"
    expires_at: datetime
    expires_in: int


class ViewStartedOut(BaseModel):
    view_id: uuid.UUID


class ViewUpdatedOut(BaseModel):
    view_id: uuid.UUID
    total_ms: int
    dwell_ms: dict[str, int]


# -- analytics -------------------------------------------------------------------------------


class Totals(BaseModel):
    views: int
    unique_viewers: int = Field(
        description="Distinct viewers per UTC day, summed over the days: viewer hashes are "
        "salted per day, so one person on two days counts twice."
    )
    total_time_ms: int
    avg_time_ms: int


class DayOut(BaseModel):
    day: date
    views: int
    unique_viewers: int
    total_time_ms: int


class SlideDwellOut(BaseModel):
    slide_number: int
    views: int = Field(description="Views that spent time on this slide.")
    total_dwell_ms: int
    avg_dwell_ms: int = Field(description="total_dwell_ms / views (0 without views).")


class ShareCountsOut(BaseModel):
    share_id: uuid.UUID
    token_hint: str
    status: ShareStatus
    views: int
    unique_viewers: int
    total_time_ms: int


class AnalyticsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    totals: Totals
    daily: list[DayOut] = Field(description="Every day of the period, oldest first.")
    slides: list[SlideDwellOut]
    shares: list[ShareCountsOut]
