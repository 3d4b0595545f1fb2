"""tickerleague.metrics writes one EMF record per call (or nothing when metrics are disabled)."""

from __future__ import annotations

import pytest
from tickerleague import metrics

from tests.support.emf import emf_records as records


def test_count_writes_an_emf_record_with_its_dimensions(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics.count("OrdersRefused", code="INSUFFICIENT_CASH")
    (record,) = records(capsys.readouterr().out)
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "TickerLeague"
    assert directive["Metrics"] == [{"Name": "OrdersRefused", "Unit": "Count"}]
    assert record["OrdersRefused"] == [1.0] or record["OrdersRefused"] == 1.0
    assert record["code"] == "INSUFFICIENT_CASH"
    assert record["service"] == "tickerleague"


def test_timed_records_milliseconds_even_when_the_block_raises(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    with pytest.raises(ValueError), metrics.timed("RecomputeMs"):
        raise ValueError("boom")
    (record,) = records(capsys.readouterr().out)
    assert record["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "RecomputeMs", "Unit": "Milliseconds"}]


def test_disabled_metrics_write_nothing(capsys) -> None:  # type: ignore[no-untyped-def]
    metrics.count("OrdersPlaced")  # tests run with POWERTOOLS_METRICS_DISABLED=true
    assert records(capsys.readouterr().out) == []
