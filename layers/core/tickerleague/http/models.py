"""Wire models shared by several routes (each capability keeps its own in `tickerleague.http.schemas_*`)."""

from __future__ import annotations

from typing import Literal

from tickerleague.http.validation import WireModel


class HealthStatus(WireModel):
    status: Literal["ok", "degraded"]
    version: str
    checks: dict[str, str]
    durationMs: int


class Page[T](WireModel):
    """A list page: `nextCursor` is null on the last page."""

    items: list[T]
    nextCursor: str | None
