"""Nightly: replay every entry's order ledger and report each difference as a `ReconciliationDifferences` metric
(namespace TickerLeague; the alarm in template.yaml) and an audit record by "system:reconciliation". Balances
are never changed."""

from __future__ import annotations

from typing import Any

from tickerleague import correlation, tracing
from tickerleague.clock import utcnow
from tickerleague.logs import logger  # noqa: F401 - imported for its effect: this function's lines are JSON
from tickerleague.services import reconciliation
from tickerleague.services.audit import RequestOrigin, record

ACTOR = "system:reconciliation"


def _audit(found: reconciliation.EntryDifference) -> None:
    difference = found.difference
    record(
        actor_id=ACTOR, action="reconciliation.difference", target_type="entry", target_id=found.entry_id,
        origin=RequestOrigin(),
        before={"contestId": found.contest_id, "userId": found.user_id, "field": difference.field,
                "stored": f"{difference.stored:f}"},
        after={"field": difference.field, "expected": f"{difference.expected:f}"},
    )


@tracing.handler
@correlation.per_run
def nightly(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace="TickerLeague", service="tickerleague")
    # Metrics instances share one store, and a flush while metrics are disabled (locally) leaves it full: start clean.
    metrics.clear_metrics()
    try:
        report = reconciliation.reconcile(utcnow(), on_difference=_audit)
        # Always emitted, zero included, so the alarm sees a datapoint every night.
        metrics.add_metric(name="ReconciliationDifferences", unit=MetricUnit.Count, value=len(report.differences))
        metrics.add_metric(name="ReconciliationBusyEntries", unit=MetricUnit.Count, value=report.busy)
    finally:
        metrics.flush_metrics()
    return {"contests": report.contests, "entries": report.entries, "busy": report.busy,
            "differences": len(report.differences), "symbolsPruned": report.symbols_pruned}
