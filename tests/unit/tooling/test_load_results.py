"""The load benchmark's verdicts (benchmarks/load/results.py): what counts as a refusal by rule or limit, what is an
unexpected error, and the per-route percentiles and table `make bench-load` prints."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.load.results import (
    Outcome,
    Sample,
    classify,
    documented_statuses,
    percentile,
    read_samples,
    summarize,
    table,
)

ROOT = Path(__file__).resolve().parents[3]
ORDERS = "POST /v1/contests/{contestId}/orders"
SPEC = {"paths": {"/v1/contests/{contestId}/orders": {
    "parameters": [{"name": "contestId"}],
    "post": {"responses": {"201": {}, "200": {}, "409": {}, "422": {}, "429": {}, "500": {}, "503": {}}},
    "get": {"responses": {"200": {}, "404": {}}},
}}}
DOCUMENTED = documented_statuses(SPEC)


def _verdict(route: str, status: int, code: str | None = None, error: str | None = None) -> tuple[Outcome, str]:
    found = classify(Sample(route, status, 1.0, code, error), DOCUMENTED)
    return found.outcome, found.reason


def test_documented_statuses_reads_operations_not_path_parameters() -> None:
    expected = {ORDERS: frozenset({200, 201, 409, 422, 429, 500, 503}),
                "GET /v1/contests/{contestId}/orders": frozenset({200, 404})}
    assert expected == DOCUMENTED


@pytest.mark.parametrize(("status", "code", "outcome", "reason"), [
    (201, None, Outcome.OK, "201"),
    (200, None, Outcome.OK, "200"),
    (422, "INSUFFICIENT_SHARES", Outcome.RULE, "422 INSUFFICIENT_SHARES"),
    (422, "INSUFFICIENT_CASH", Outcome.RULE, "422 INSUFFICIENT_CASH"),
    (409, "ORDER_NOT_CANCELLABLE", Outcome.RULE, "409 ORDER_NOT_CANCELLABLE"),
    (429, "RATE_LIMITED", Outcome.LIMIT, "429 RATE_LIMITED"),
    # documented statuses the profile's well-formed requests must never meet
    (422, "VALIDATION_FAILED", Outcome.UNEXPECTED, "422 VALIDATION_FAILED"),
    (409, "IDEMPOTENCY_KEY_IN_USE", Outcome.UNEXPECTED, "409 IDEMPOTENCY_KEY_IN_USE"),
    (429, None, Outcome.UNEXPECTED, "429"),
    (500, "INTERNAL", Outcome.UNEXPECTED, "500 INTERNAL"),
    (503, "SERVICE_UNAVAILABLE", Outcome.UNEXPECTED, "503 SERVICE_UNAVAILABLE"),
    (502, None, Outcome.UNEXPECTED, "502"),
    (404, "NOT_FOUND", Outcome.UNEXPECTED, "404 NOT_FOUND (undocumented)"),
    (501, None, Outcome.UNEXPECTED, "501"),
])
def test_classify_an_order_answer(status: int, code: str | None, outcome: Outcome, reason: str) -> None:
    assert _verdict(f"{ORDERS} [market buy]", status, code) == (outcome, reason)


def test_no_answer_and_unknown_routes_are_unexpected() -> None:
    assert _verdict(ORDERS, 0, error="ConnectionError: refused") == (
        Outcome.UNEXPECTED, "no answer: ConnectionError: refused")
    assert _verdict("GET /v1/nowhere", 200) == (Outcome.UNEXPECTED, "200 (route not in the spec)")


def test_calls_outside_the_api_allow_only_success() -> None:
    assert _verdict("localstripe POST /v1/payment_methods", 200)[0] is Outcome.OK
    assert _verdict("localstripe POST /v1/payment_methods", 402, "card_declined")[0] is Outcome.UNEXPECTED
    assert _verdict("flow paid join: 202 -> payment succeeded", 0, error="not succeeded within 20 s") == (
        Outcome.UNEXPECTED, "no answer: not succeeded within 20 s")


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50.0, 95.0, 99.0)
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([1.0, 2.0, 3.0], 0.0) == 1.0
    assert math.isnan(percentile([], 0.5))


def test_summary_counts_outcomes_per_route_and_in_total() -> None:
    samples = [Sample(f"{ORDERS} [market buy]", 201, float(ms)) for ms in range(1, 11)]
    samples += [Sample(f"{ORDERS} [market sell]", 422, 5.0, "INSUFFICIENT_SHARES"),
                Sample(f"{ORDERS} [market sell]", 429, 2.0, "RATE_LIMITED"),
                Sample(f"{ORDERS} [market sell]", 500, 9.0, "INTERNAL")]
    summary = summarize(samples, DOCUMENTED, seconds=10.0)
    assert list(summary.routes) == [f"{ORDERS} [market buy]", f"{ORDERS} [market sell]"]
    assert summary.routes[f"{ORDERS} [market buy]"].quantiles() == (5.0, 10.0, 10.0)
    sell = summary.routes[f"{ORDERS} [market sell]"]
    assert sell.counts == {Outcome.OK: 0, Outcome.RULE: 1, Outcome.LIMIT: 1, Outcome.UNEXPECTED: 1}
    assert summary.unexpected == 1
    total = summary.total
    assert total.requests == 13 and total.counts[Outcome.OK] == 10
    text = table(summary)
    assert "| **all routes** | 13 | 1.3 | 5 | 10 | 10 | 1 (422 INSUFFICIENT_SHARES x1) | 1 (429 RATE_LIMITED x1) | " \
           "1 (500 INTERNAL x1) |" in text
    assert f"| `{ORDERS} [market buy]` | 10 | 1.0 | 5 | 10 | 10 | 0 | 0 | 0 |" in text


def test_samples_round_trip_through_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps({"route": ORDERS, "status": 201, "millis": 3.5, "code": None, "error": None})
                    + "\n\n", encoding="utf-8")
    assert read_samples(path) == [Sample(ORDERS, 201, 3.5)]
    assert read_samples(tmp_path / "missing.jsonl") == []


def test_every_route_the_profile_names_is_in_the_spec() -> None:
    """The locustfile's route names are spec operations (or outside calls), so none is classified 'not in the spec'
    by a typo."""
    import re

    from benchmarks.load.results import EXTERNAL_PREFIXES, operation

    spec = documented_statuses(json.loads((ROOT / "api-specification.json").read_text(encoding="utf-8")))
    source = (ROOT / "benchmarks" / "load" / "locustfile.py").read_text(encoding="utf-8")
    names = set(re.findall(r'name=f?"([^"]+)"', source)) | set(re.findall(r'record\("([^"]+)"', source))
    names = {name.replace("{ORDERS}", "/v1/contests/{contestId}/orders").replace("{variant}", "x") for name in names}
    assert len(names) >= 10, names
    for name in names:
        assert name.startswith(EXTERNAL_PREFIXES) or operation(name) in spec, name
