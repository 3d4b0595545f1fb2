"""Reading the CloudWatch EMF records that tickerleague/metrics.py writes to stdout, in tests.

    metrics = MetricsCapture(monkeypatch, capsys)  # metrics on (tests run with POWERTOOLS_METRICS_DISABLED=true)
    ...the code under test...
    assert metrics.take() == [("EntriesJoined", 1.0, {"paid": "false"})]
"""

from __future__ import annotations

import json
from typing import Any

import pytest

Emitted = tuple[str, float, dict[str, str]]


def emf_records(out: str) -> list[dict[str, Any]]:
    """Every EMF record (a JSON line with an `_aws` directive) in captured output, in order."""
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and "_aws" in line]


def emf(out: str) -> list[Emitted]:
    """(metric name, value, dimensions without `service`) of every EMF record, sorted by name, dimensions, value."""
    found = []
    for record in emf_records(out):
        directive = record["_aws"]["CloudWatchMetrics"][0]
        for metric in directive["Metrics"]:
            name = metric["Name"]
            value = record[name][0] if isinstance(record[name], list) else record[name]
            dimensions = {key: record[key] for key in directive["Dimensions"][0] if key != "service"}
            found.append((name, float(value), dimensions))
    return sorted(found, key=lambda row: (row[0], sorted(row[2].items()), row[1]))


class MetricsCapture:
    """Metrics switched on for this test; `take()` returns what was written since the last take (or creation)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        capsys.readouterr()  # what came before is not ours
        monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")

    def take(self, *names: str) -> list[Emitted]:
        """What was written, only the metrics named (all of them when none is named)."""
        written = emf(self._capsys.readouterr().out)
        return [row for row in written if not names or row[0] in names]

    def units(self) -> dict[str, str]:
        """Metric name -> unit of what was written since the last take (consumes it, like take)."""
        found: dict[str, str] = {}
        for record in emf_records(self._capsys.readouterr().out):
            for metric in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                found[metric["Name"]] = metric["Unit"]
        return found
