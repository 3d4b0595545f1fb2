"""Wire models shared by several routes (each capability keeps its own in `tickerleague.http.schemas_*`)."""

from __future__ import annotations

from typing import Literal

from tickerleague.http.validation import WireModel
from tickerleague.services.health import Health


class HealthStatus(WireModel):
    status: Literal["ok", "degraded"]
    version: str
    checks: dict[str, str]
    durationMs: int

    @classmethod
    def of(cls, health: Health) -> HealthStatus:
        return cls(status=health.status, version=health.version, checks=health.checks, durationMs=health.duration_ms)


class Page[T](WireModel):
    """A list page: `nextCursor` is null on the last page."""

    items: list[T]
    nextCursor: str | None
