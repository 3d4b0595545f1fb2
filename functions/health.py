"""GET /v1/health: liveness plus a real DynamoDB check (503 with the failing check when it is down)."""

from __future__ import annotations

from tickerleague.http.api import Access, Api, Reply, Request
from tickerleague.http.models import HealthStatus
from tickerleague.services import health as health_service

api = Api()


@api.route("GET", "/v1/health", access=Access.PUBLIC, summary="Service health with dependency checks",
           responses={200: HealthStatus, 503: HealthStatus}, tags=("operations",))
def check(request: Request) -> Reply:
    report = health_service.check()
    return Reply(200 if report.status == "ok" else 503, HealthStatus.of(report))
