"""An order placed with an Idempotency-Key is placed once, even when its first answer was lost after the order
committed (the Idempotency-Key record then holds no answer, and the retry runs the endpoint again): the key is the
order's implicit client id, kept in the clientOrderId marker machinery (domain/client_orders.py), on a moto table.
The same races on DynamoDB Local: tests/integration/trading/test_trading_concurrency.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from tickerleague.adapters.dynamodb import orders as orders_table
from tickerleague.clock import utcnow
from tickerleague.errors import DomainError

from functions import orders
from tests.support.events import Caller, HttpAnswer, api_event, call
from tests.support.trading import D, World

ALICE = Caller("alice")
BUY = {"symbol": "AAPL", "side": "buy", "quantity": "2", "type": "market"}


@pytest.fixture
def live(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The route on the real clock, a claim abandoned by a dead request reclaimable at once (no waiting)."""
    from tickerleague.config import settings
    from tickerleague.services.placement_memory import default_memory

    monkeypatch.setenv("IDEMPOTENCY_IN_FLIGHT_SECONDS", "0")
    settings.cache_clear()
    default_memory().clear()
    yield replace(world, now=utcnow())
    default_memory().clear()
    settings.cache_clear()


@pytest.fixture
def contest(live: World) -> Any:
    contest = live.contest(starting_cash="1000.00")
    live.join(contest, "alice")
    live.quote("AAPL", "100.00")
    return contest


def place(contest_id: str, body: Any, *, key: str | None) -> HttpAnswer:
    return call(
        orders.place,
        api_event(
            "POST",
            f"/v1/contests/{contest_id}/orders",
            resource="/v1/contests/{contestId}/orders",
            body=body,
            path_params={"contestId": contest_id},
            caller=ALICE,
            headers={"Idempotency-Key": key} if key else {},
        ),
    )


def _client_error(operation: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, operation)


def _idempotency_records() -> list[dict[str, Any]]:
    from tickerleague.adapters.dynamodb.entries import client
    from tickerleague.config import settings

    items = client().scan(TableName=settings().table_name)["Items"]
    return [item for item in items if item["PK"]["S"].startswith("IDEMPOTENCY#")]


# ------------------------------------------------------------------------------------------ ways to lose an answer
def lose_by_failed_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    """The order committed, then storing its answer failed (a 5xx from DynamoDB): nothing is stored."""
    from tickerleague.adapters.dynamodb import idempotency as records

    def failing(*args: Any, **kwargs: Any) -> None:
        raise _client_error("UpdateItem")

    monkeypatch.setattr(records, "complete", failing)


def lose_by_a_crash_after_the_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The order committed, then the request died before answering (500: the claim is dropped)."""
    real = orders.order_out
    calls = {"n": 0}

    def dying(order: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the container went away")
        return real(order)

    monkeypatch.setattr(orders, "order_out", dying)


def lose_by_a_deleted_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer was stored, then the record vanished (what any lost record looks like to the retry)."""
    from tickerleague.adapters.dynamodb import idempotency as records

    real = records.complete

    def completed_then_gone(scope: str, key: str, **kwargs: Any) -> None:
        real(scope, key, **kwargs)
        _delete_record(scope, key)

    monkeypatch.setattr(records, "complete", completed_then_gone)


def _delete_record(scope: str, key: str) -> None:
    from tickerleague.adapters.dynamodb import idempotency as records
    from tickerleague.adapters.dynamodb.entries import client, to_attribute_map
    from tickerleague.config import settings

    client().delete_item(TableName=settings().table_name, Key=to_attribute_map(records.record_key(scope, key)))


LOSSES: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "completion write failed": lose_by_failed_completion,
    "crash after the write": lose_by_a_crash_after_the_write,
    "record deleted": lose_by_a_deleted_record,
}


@pytest.mark.parametrize("lose", LOSSES.values(), ids=LOSSES.keys())
def test_a_retry_after_a_lost_answer_answers_the_first_order_and_places_no_second(
    live: World, contest: Any, monkeypatch: pytest.MonkeyPatch, lose: Callable[[pytest.MonkeyPatch], None]
) -> None:
    with monkeypatch.context() as lost:
        lose(lost)
        first = place(contest.contest_id, BUY, key="buy-once-7")
    assert first.status in (201, 500)
    assert not any(item["status"]["S"] == "completed" for item in _idempotency_records())  # nothing to replay
    retry = place(contest.contest_id, BUY, key="buy-once-7")
    stored = orders_table.orders_of_entry(contest.contest_id, "alice")
    assert len(stored) == 1, "the retry placed a second order"
    assert retry.status == 201 and retry.body["id"] == stored[0].order_id
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.body["clientOrderId"] is None
    assert live.entry(contest, "alice").portfolio.cash == D("800.00")  # charged once
    # The retry's own answer is stored now: the next retry is an ordinary replay.
    again = place(contest.contest_id, BUY, key="buy-once-7")
    assert again.body == retry.body and again.headers["Idempotent-Replayed"] == "true"
    assert len(orders_table.orders_of_entry(contest.contest_id, "alice")) == 1


def test_another_order_under_the_key_of_a_lost_answer_is_422_idempotency_key_reused(
    live: World, contest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as lost:
        lose_by_failed_completion(lost)
        place(contest.contest_id, BUY, key="k-1")
    other = place(contest.contest_id, {**BUY, "quantity": "3"}, key="k-1")
    assert (other.status, other.error_code) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert other.body["error"]["details"] == {"header": "Idempotency-Key"}
    assert len(orders_table.orders_of_entry(contest.contest_id, "alice")) == 1


def test_without_a_key_every_order_is_placed(live: World, contest: Any) -> None:
    assert [place(contest.contest_id, BUY, key=None).status for _ in range(2)] == [201, 201]
    assert len(orders_table.orders_of_entry(contest.contest_id, "alice")) == 2


# ------------------------------------------------------------------------------------------ the service's rules
def code_of(action: Callable[[], Any]) -> str:
    with pytest.raises(DomainError) as caught:
        action()
    return caught.value.code


def test_the_same_key_places_one_order_per_entry_and_says_so(world: World) -> None:
    contest = world.contest()
    world.join(contest, "alice")
    world.join(contest, "bob")
    world.quote("AAPL", "10")
    first = world.place("alice", contest, idempotency_key="k")
    again = world.place("alice", contest, idempotency_key="k", quantity="10.0")  # the same order, spelled otherwise
    assert first.created and not first.replayed
    assert not again.created and again.replayed and again.order == first.order
    assert world.place("bob", contest, idempotency_key="k").created  # another caller's key
    assert world.place("alice", contest, idempotency_key="k2").created
    assert code_of(lambda: world.place("alice", contest, idempotency_key="k", side="sell")) == "IDEMPOTENCY_KEY_REUSED"


def test_a_key_never_collides_with_a_client_order_id(world: World) -> None:
    contest = world.contest()
    world.join(contest, "alice")
    world.quote("AAPL", "10")
    by_key = world.place("alice", contest, idempotency_key="same-text")
    by_id = world.place("alice", contest, client_order_id="same-text")
    assert by_key.created and by_id.created and by_key.order.order_id != by_id.order.order_id


def test_with_both_the_client_order_id_names_the_order(world: World) -> None:
    """Given both, the clientOrderId's rule decides (200 and the original, 422 CLIENT_ORDER_ID_REUSED); the key is
    only the http layer's then."""
    contest = world.contest()
    world.join(contest, "alice")
    world.quote("AAPL", "10")
    first = world.place("alice", contest, client_order_id="c-1", idempotency_key="k-1")
    again = world.place("alice", contest, client_order_id="c-1", idempotency_key="k-2")
    assert not again.created and not again.replayed and again.order == first.order
    assert (
        code_of(lambda: world.place("alice", contest, client_order_id="c-1", idempotency_key="k-1", quantity="3"))
        == "CLIENT_ORDER_ID_REUSED"
    )
    assert world.place("alice", contest, client_order_id="c-2", idempotency_key="k-1").created


def test_a_keys_marker_expires_with_the_key(world: World) -> None:
    from tickerleague.config import settings

    contest = world.contest()
    world.join(contest, "alice")
    world.quote("AAPL", "10")
    first = world.place("alice", contest, idempotency_key="k")
    ttl = timedelta(seconds=settings().idempotency_ttl_seconds)
    before = world.place("alice", contest, idempotency_key="k", now=world.now + ttl - timedelta(seconds=1))
    assert before.replayed and before.order.order_id == first.order.order_id
    later = world.now + ttl
    world.quote("AAPL", "10", at=later)
    after = world.place("alice", contest, idempotency_key="k", now=later)
    assert after.created and after.order.order_id != first.order.order_id
    assert world.place("alice", contest, idempotency_key="k", now=later).replayed  # the new marker holds
