"""Portfolio valuation at the latest quotes, and the nightly ledger replay (metrics and audit included)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from tickerleague.adapters.dynamodb import entries as entries_table
from tickerleague.adapters.dynamodb import orders as orders_table
from tickerleague.adapters.dynamodb import plumbing
from tickerleague.adapters.dynamodb.active_symbols import active_symbols
from tickerleague.config import settings
from tickerleague.domain.contests import ContestRules
from tickerleague.services import portfolio as portfolio_service
from tickerleague.services import reconciliation
from tickerleague.services.reconciliation import EntryDifference

from tests.support.trading import D, World, principal


@pytest.fixture
def contest(world: World) -> Any:
    contest = world.contest(rules=ContestRules(commission_per_trade=D("1.00")), starting_cash="10000.00")
    world.join(contest, "alice")
    world.quote("AAPL", "100")
    world.quote("MSFT", "200")
    return contest


def count_round_trips() -> tuple[list[str], Any]:
    """Every DynamoDB call from any botocore client (boto3's and PynamoDB's sessions alike)."""
    from botocore.client import BaseClient

    calls: list[str] = []
    original = BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(operation_name)
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counting  # type: ignore[method-assign]

    def stop() -> None:
        BaseClient._make_api_call = original  # type: ignore[method-assign]

    return calls, stop


def test_the_portfolio_is_valued_at_the_latest_quotes(world: World, contest: Any) -> None:
    world.place("alice", contest, quantity="10")
    world.place("alice", contest, symbol="MSFT", quantity="5")
    world.place("alice", contest, order_type="limit", limit_price="50", quantity="2")  # reserves 101.00
    world.quote("AAPL", "110.5")
    view = portfolio_service.get_portfolio(principal("alice"), contest.contest_id, world.now)
    assert view.cash == D("7998.00")  # reserved cash included
    aapl, msft = view.positions
    assert (aapl.symbol, aapl.quantity, aapl.avg_cost, aapl.last_price) == (
        "AAPL",
        D("10"),
        D("100.0000"),
        D("110.5000"),
    )
    assert aapl.market_value == D("1105.00") and aapl.unrealized_pnl == D("105.00") and aapl.realized_pnl == 0
    assert msft.market_value == D("1000.00") and msft.unrealized_pnl == 0
    assert view.total_value == D("10103.00") and view.return_pct == D("1.0300")
    assert view.as_of.endswith("Z")


def test_valuing_a_portfolio_takes_two_round_trips(world: World, contest: Any) -> None:
    world.place("alice", contest, quantity="10")
    world.place("alice", contest, symbol="MSFT", quantity="5")
    calls, stop = count_round_trips()
    try:
        portfolio_service.get_portfolio(principal("alice"), contest.contest_id, world.now)
    finally:
        stop()
    assert calls == ["GetItem", "BatchGetItem"]


def test_not_joined_is_404(world: World, contest: Any) -> None:
    from tickerleague.errors import NotFound

    with pytest.raises(NotFound):
        portfolio_service.get_portfolio(principal("bob"), contest.contest_id, world.now)


def test_placing_a_market_order_takes_at_most_three_round_trips(world: World, contest: Any) -> None:
    world.place("alice", contest, quantity="1")  # the symbol is now active: steady state
    calls, stop = count_round_trips()
    try:
        world.place("alice", contest, quantity="1")
    finally:
        stop()
    assert calls == ["BatchGetItem", "TransactWriteItems"]


# ---------------------------------------------------------------------------------------------------- reconciliation
def run_reconciliation(world: World, contest: Any) -> tuple[Any, list[EntryDifference]]:
    found: list[EntryDifference] = []
    report = reconciliation.reconcile(world.now, on_difference=found.append, contests=[contest])
    return report, found


def busy_session(world: World, contest: Any) -> None:
    world.place("alice", contest, quantity="10")
    world.place("alice", contest, symbol="MSFT", quantity="3")
    world.place("alice", contest, side="sell", quantity="4")
    world.place("alice", contest, order_type="limit", limit_price="50", quantity="2")
    world.place("alice", contest, side="sell", order_type="limit", limit_price="500", quantity="1")


def test_a_consistent_ledger_has_no_differences(world: World, contest: Any) -> None:
    busy_session(world, contest)
    report, found = run_reconciliation(world, contest)
    assert report.entries == 1 and report.busy == 0 and found == []


def tamper(contest: Any, user: str, expression: str, values: dict[str, Any]) -> None:
    plumbing.client().update_item(
        TableName=settings().table_name,
        Key=plumbing.to_attribute_map(entries_table.entry_key(contest.contest_id, user)),
        UpdateExpression=expression,
        ExpressionAttributeValues=plumbing.to_attribute_map(values),
    )


def test_every_difference_is_reported_and_nothing_is_changed(world: World, contest: Any) -> None:
    busy_session(world, contest)
    tamper(
        contest,
        "alice",
        "SET cash = cash + :cent, positions.AAPL.quantity = :qty",
        {":cent": Decimal("0.01"), ":qty": Decimal("7")},
    )
    before = world.entry(contest, "alice")
    _, found = run_reconciliation(world, contest)
    assert {item.difference.field for item in found} == {"cash", "positions.AAPL.quantity"}
    cash = next(item for item in found if item.difference.field == "cash")
    assert cash.difference.stored - cash.difference.expected == D("0.01")
    assert world.entry(contest, "alice") == before


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_the_job_writes_an_audit_record_and_a_metric_per_difference(
    world: World, contest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickerleague.adapters.dynamodb.audit import AuditItem

    from functions.jobs import reconcile as job

    busy_session(world, contest)
    tamper(contest, "alice", "SET feesPaid = :fees", {":fees": Decimal("0")})
    monkeypatch.setattr(reconciliation, "_contests_to_check", lambda now: [contest])
    metrics: list[tuple[str, float]] = []

    from aws_lambda_powertools import Metrics

    monkeypatch.setattr(Metrics, "add_metric", lambda self, name, unit, value, **_: metrics.append((name, value)))
    answer = job.nightly({}, None)
    assert answer["differences"] == 1 and answer["entries"] == 1
    assert ("ReconciliationDifferences", 1) in metrics
    audits = list(AuditItem.query("AUDIT#ACTOR#system:reconciliation"))
    assert len(audits) == 1 and audits[0].action == "reconciliation.difference"
    assert audits[0].target_id == world.entry(contest, "alice").entry_id and '"feesPaid"' in str(audits[0].before)


def test_a_portfolio_changing_while_read_is_skipped_not_misreported(world: World, contest: Any) -> None:
    busy_session(world, contest)
    calls = {"n": 0}
    real = orders_table.get_entry

    class Moving:
        def __getattr__(self, name: str) -> Any:
            return getattr(orders_table.OrderTable, name)

        def get_entry(self, contest_id: str, user_id: str) -> Any:
            calls["n"] += 1
            world.place("alice", contest, quantity="1")  # someone trades while we read
            return real(contest_id, user_id)

    found: list[EntryDifference] = []
    report = reconciliation.reconcile(world.now, on_difference=found.append, contests=[contest], store=Moving())  # type: ignore[arg-type]
    assert report.busy == 1 and found == [] and calls["n"] == reconciliation.READ_ATTEMPTS


def test_the_nightly_run_prunes_the_active_symbols(world: World, contest: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    world.place("alice", contest, quantity="1")
    world.place("alice", contest, symbol="MSFT", quantity="1")
    world.place("alice", contest, symbol="MSFT", side="sell", quantity="1")
    world.quote("KO", "60")
    world.place("alice", contest, symbol="KO", order_type="limit", limit_price="1", quantity="1")
    assert active_symbols()[0] == {"AAPL", "MSFT", "KO"}
    monkeypatch.setattr(reconciliation, "_contests_to_check", lambda now: [contest])
    report = reconciliation.reconcile(world.now + timedelta(hours=1), on_difference=lambda _: None)
    assert report.symbols_pruned and active_symbols()[0] == {"AAPL", "KO"}
