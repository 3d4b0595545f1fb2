"""Business and failure metrics as CloudWatch EMF (Powertools Metrics), for any module to call.

Each call writes one EMF record at once (`single_metric`), so callers need no handler decorator and no flush, and a
metric is never lost when a handler raises. Namespace and service come from POWERTOOLS_METRICS_NAMESPACE and
POWERTOOLS_SERVICE_NAME (template.yaml Globals); POWERTOOLS_METRICS_DISABLED=true (tests, local stack) writes nothing.
The dashboard finds metrics by name (SEARCH in namespace TickerLeague, any dimensions): a new name needs its term in
template.yaml's dashboard and its row in docs/technical-specification.md (tests/unit/ops/test_dashboard_metrics.py).

    from tickerleague import metrics
    metrics.count("OrdersPlaced", type="limit")
    with metrics.timed("LeaderboardRecomputeMs"):
        ...
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_NAMESPACE = "TickerLeague"


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """Add `value` to counter `name` (unit Count), split by the given dimensions (keep their values few)."""
    _emit(name, value, "Count", dimensions)


def milliseconds(name: str, value: float, **dimensions: str) -> None:
    """Record a duration or a lag in milliseconds."""
    _emit(name, value, "Milliseconds", dimensions)


@contextmanager
def timed(name: str, **dimensions: str) -> Iterator[None]:
    """Record how long the block took, also when it raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        milliseconds(name, (time.perf_counter() - started) * 1000, **dimensions)


def _emit(name: str, value: float, unit: str, dimensions: dict[str, str]) -> None:
    import os

    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    # single_metric writes even when metrics are disabled (Powertools checks the flag only in Metrics.flush).
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() in ("1", "true", "yes"):
        return
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
    with single_metric(name=name, unit=MetricUnit(unit), value=value, namespace=namespace) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=str(dimension))
