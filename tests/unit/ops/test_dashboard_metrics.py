"""Every business or failure metric the code writes is on the dashboard and in the technical specification, and the
dashboard searches only metrics the specification describes (so a renamed metric cannot leave an empty widget)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from infra.local.cfn_yaml import load_cfn_file

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = load_cfn_file(ROOT / "template.yaml")
WRITES = (
    re.compile(r'metrics\.(?:count|milliseconds|timed)\(\s*"(\w+)"'),  # tickerleague/metrics.py
    re.compile(r'add_metric\(\s*name="(\w+)"'),  # Powertools Metrics in the jobs
)


def written() -> dict[str, set[str]]:
    """Metric name -> the files that write it (metrics.py itself only shows examples)."""
    found: dict[str, set[str]] = {}
    for base in (ROOT / "layers" / "core" / "tickerleague", ROOT / "functions"):
        for path in base.rglob("*.py"):
            if path.name == "metrics.py" and path.parent.name == "tickerleague":
                continue
            for pattern in WRITES:
                for name in pattern.findall(path.read_text()):
                    found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def widgets() -> list[dict]:
    body = TEMPLATE["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    rendered = re.sub(r"\$\{ApiLatencyP95ThresholdMs\}", "1000", body)
    rendered = re.sub(r"\$\{[A-Za-z:]+\}", "x", rendered)
    return list(json.loads(rendered)["widgets"])


def on_dashboard() -> set[str]:
    """The names in namespace TickerLeague the dashboard graphs: SEARCH terms and explicit metrics."""
    names: set[str] = set()
    for widget in widgets():
        namespace = None
        for row in widget["properties"].get("metrics", []):
            first = row[0]
            if isinstance(first, dict):
                expression = first.get("expression", "")
                if 'Namespace="TickerLeague"' in expression:
                    names |= set(re.findall(r'MetricName="(\w+)"', expression))
                continue
            namespace = first if first != "." else namespace
            if namespace == "TickerLeague":
                names.add(row[1])
    return names


def in_specification() -> set[str]:
    text = (ROOT / "docs" / "technical-specification.md").read_text()
    table = text.split("**Business and failure metrics**", 1)[1].split("\n\n", 2)[1]
    names: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names |= set(re.findall(r"`(\w+)`", first_cell))
    return names


def test_the_scan_finds_the_metrics_it_should() -> None:
    found = written()
    assert {"EntriesJoined", "PaymentsSucceeded", "WebhookLag", "LeaderboardRecomputeMs",
            "ReconciliationDifferences"} <= set(found)
    assert "tickerleague/services/payments.py" in " ".join(found["PaymentsSucceeded"])


def test_every_metric_written_is_on_the_dashboard() -> None:
    missing = sorted(set(written()) - on_dashboard())
    assert not missing, f"metrics nobody sees: add them to the Dashboard in template.yaml: {missing}"


def test_every_metric_written_is_in_the_specification() -> None:
    missing = sorted(set(written()) - in_specification())
    assert not missing, f"add a row to the metrics table in docs/technical-specification.md: {missing}"


def test_the_dashboard_searches_only_described_metrics() -> None:
    unknown = sorted(on_dashboard() - in_specification())
    assert not unknown, f"the dashboard graphs metrics the specification does not describe: {unknown}"


def test_business_searches_match_any_dimensions() -> None:
    # A schema ({TickerLeague,service}) matches only metrics with exactly those dimensions: kind, reason, type...
    # would never show. The business widgets search by namespace and name instead.
    for widget in widgets():
        for row in widget["properties"].get("metrics", []):
            if isinstance(row[0], dict):
                assert "{TickerLeague" not in row[0].get("expression", ""), widget["properties"]["title"]
