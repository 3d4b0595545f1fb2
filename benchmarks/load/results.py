"""What a load run's samples mean: each answer classified as a success, a refusal by rule or limit, or an unexpected
error; per-route percentiles and counts; the markdown table `make bench-load` prints. Pure functions, no locust
import (tests/unit/bench/test_load_results.py covers them; the locust process only writes the samples).

A sample is one request the profile made: its route name (``"POST /v1/contests/{contestId}/orders [limit buy]"``, the
spec's path template and optionally a variant in brackets; ``"localstripe ..."`` for the calls a client makes to
Stripe, ``"flow ..."`` for a timed sequence), the HTTP status (0 when no answer came), the error code of the envelope
when there was one, the exception text when the request failed without an answer, and its duration in milliseconds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

# 422 codes that are a trading or joining rule refusing a well-formed request (api-contract.md, "Orders" and "Entries"):
# the profile trades at random, so some buys meet a rule; they are counted apart from errors.
RULE_CODES_422 = frozenset({
    "INSUFFICIENT_CASH", "INSUFFICIENT_SHARES", "MARKET_CLOSED", "CONTEST_NOT_ACTIVE", "SYMBOL_NOT_ALLOWED",
    "POSITION_LIMIT_EXCEEDED", "TRADE_LIMIT_REACHED", "PRICE_BELOW_MINIMUM", "QUOTE_STALE",
})
# 409 codes a concurrent game loop can meet without any bug: a seat race, an order filled before its cancel arrived.
RULE_CODES_409 = frozenset({"CONTEST_FULL", "ORDER_NOT_CANCELLABLE"})
LIMIT_CODES_429 = frozenset({"RATE_LIMITED", "TOO_MANY_ATTEMPTS"})
# Not API routes (allowed: 2xx only): calls a client makes to Stripe, and whole flows the profile times.
EXTERNAL_PREFIXES = ("localstripe ", "flow ")


class Outcome(StrEnum):
    OK = "ok"
    RULE = "rule"  # refused by a documented rule (422 trading rules, 409 seat or cancel races)
    LIMIT = "limit"  # refused by a rate limit (429)
    UNEXPECTED = "unexpected"  # 5xx, no answer, an undocumented status, or a 4xx the profile should never cause


@dataclass(frozen=True)
class Sample:
    route: str
    status: int
    millis: float
    code: str | None = None
    error: str | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Sample:
        return cls(str(raw["route"]), int(raw["status"]), float(raw["millis"]), raw.get("code"), raw.get("error"))


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str  # what the table counts: "201", "422 INSUFFICIENT_CASH", "429 RATE_LIMITED", "connection: ..."


def documented_statuses(spec: Mapping[str, Any]) -> dict[str, frozenset[int]]:
    """``"METHOD /path"`` -> the statuses api-specification.json documents for that operation."""
    found: dict[str, frozenset[int]] = {}
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, Mapping) or "responses" not in operation:
                continue
            codes = frozenset(int(code) for code in operation["responses"] if str(code).isdigit())
            found[f"{method.upper()} {path}"] = codes
    return found


def operation(route: str) -> str:
    """The spec operation of a route name: ``"POST /v1/x [market buy]"`` -> ``"POST /v1/x"`` (the bracket names a
    variant the table shows on its own row)."""
    return route.split(" [", 1)[0]


def classify(sample: Sample, documented: Mapping[str, frozenset[int]]) -> Verdict:
    """One answer's outcome. An API route missing from the spec is itself unexpected (the profile names spec paths)."""
    if sample.status == 0:
        return Verdict(Outcome.UNEXPECTED, f"no answer: {sample.error or 'connection error'}")
    label = f"{sample.status} {sample.code}" if sample.code else str(sample.status)
    if sample.route.startswith(EXTERNAL_PREFIXES):
        allowed = frozenset(range(200, 300))
    elif operation(sample.route) in documented:
        allowed = documented[operation(sample.route)]
    else:
        return Verdict(Outcome.UNEXPECTED, f"{label} (route not in the spec)")
    if sample.status >= 500:
        return Verdict(Outcome.UNEXPECTED, label)
    if sample.status not in allowed:
        return Verdict(Outcome.UNEXPECTED, f"{label} (undocumented)")
    if 200 <= sample.status < 300:
        return Verdict(Outcome.OK, label)
    if sample.status == 429 and sample.code in LIMIT_CODES_429:
        return Verdict(Outcome.LIMIT, label)
    if (sample.status == 422 and sample.code in RULE_CODES_422) or (
            sample.status == 409 and sample.code in RULE_CODES_409):
        return Verdict(Outcome.RULE, label)
    return Verdict(Outcome.UNEXPECTED, label)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (the value at rank ceil(fraction * n)); NaN when empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class RouteStats:
    route: str
    millis: list[float] = field(default_factory=list)
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    reasons: dict[Outcome, dict[str, int]] = field(default_factory=lambda: {o: {} for o in Outcome})

    @property
    def requests(self) -> int:
        return sum(self.counts.values())

    def add(self, sample: Sample, verdict: Verdict) -> None:
        self.millis.append(sample.millis)
        self.counts[verdict.outcome] += 1
        bucket = self.reasons[verdict.outcome]
        bucket[verdict.reason] = bucket.get(verdict.reason, 0) + 1

    def quantiles(self) -> tuple[float, float, float]:
        ordered = sorted(self.millis)
        return percentile(ordered, 0.50), percentile(ordered, 0.95), percentile(ordered, 0.99)


@dataclass
class Summary:
    routes: dict[str, RouteStats]
    seconds: float

    @property
    def unexpected(self) -> int:
        return sum(stats.counts[Outcome.UNEXPECTED] for stats in self.routes.values())

    @property
    def total(self) -> RouteStats:
        everything = RouteStats("all routes")
        for stats in self.routes.values():
            everything.millis.extend(stats.millis)
            for outcome in Outcome:
                everything.counts[outcome] += stats.counts[outcome]
                for reason, count in stats.reasons[outcome].items():
                    everything.reasons[outcome][reason] = everything.reasons[outcome].get(reason, 0) + count
        return everything


def summarize(samples: Iterable[Sample], documented: Mapping[str, frozenset[int]], seconds: float) -> Summary:
    routes: dict[str, RouteStats] = {}
    for sample in samples:
        routes.setdefault(sample.route, RouteStats(sample.route)).add(sample, classify(sample, documented))
    return Summary(dict(sorted(routes.items())), seconds)


def _reasons(stats: RouteStats, outcome: Outcome) -> str:
    found = stats.reasons[outcome]
    if not found:
        return "0"
    detail = ", ".join(f"{reason} x{count}" for reason, count in sorted(found.items()))
    return f"{stats.counts[outcome]} ({detail})"


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def table(summary: Summary) -> str:
    """The markdown table: one row per route, then all routes; milliseconds; refusals apart from unexpected errors."""
    lines = [
        "| route | requests | req/s | p50 ms | p95 ms | p99 ms | refused by rule | refused by limit | unexpected |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for stats in [*summary.routes.values(), summary.total]:
        p50, p95, p99 = stats.quantiles()
        rate = stats.requests / summary.seconds if summary.seconds > 0 else math.nan
        name = f"**{stats.route}**" if stats.route == "all routes" else f"`{stats.route}`"
        lines.append(f"| {name} | {stats.requests} | {rate:.1f} | {_ms(p50)} | {_ms(p95)} | {_ms(p99)} | "
                     f"{_reasons(stats, Outcome.RULE)} | {_reasons(stats, Outcome.LIMIT)} | "
                     f"{_reasons(stats, Outcome.UNEXPECTED)} |")
    return "\n".join(lines)


def read_samples(path: Path) -> list[Sample]:
    """The JSON lines the locust process wrote (benchmarks/load/locustfile.py)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [Sample.from_json(json.loads(line)) for line in handle if line.strip()]
