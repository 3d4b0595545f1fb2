"""Nightly: reconcile the day's Stripe PaymentIntents and refunds with the table (services.payments_reconciliation).
Repairs are counted in `PaymentReconciliationRepairs`; every other difference in `ReconciliationDifferences`, the
metric the existing alarm watches (namespace TickerLeague)."""

from __future__ import annotations

from typing import Any

from tickerleague import correlation, tracing
from tickerleague.clock import utcnow
from tickerleague.logs import logger  # noqa: F401 - imported for its effect: this function's lines are JSON
from tickerleague.services import payments_reconciliation


@tracing.handler
@correlation.per_run
def nightly(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace="TickerLeague", service="tickerleague")
    metrics.clear_metrics()
    try:
        report = payments_reconciliation.reconcile_payments(utcnow())
        metrics.add_metric(name="ReconciliationDifferences", unit=MetricUnit.Count, value=len(report.differences))
        metrics.add_metric(name="PaymentReconciliationRepairs", unit=MetricUnit.Count, value=report.repaired)
    finally:
        metrics.flush_metrics()
    return {"intents": report.intents, "repaired": report.repaired,
            "differences": [{"kind": kind, "paymentIntentId": intent} for kind, intent in report.differences]}
