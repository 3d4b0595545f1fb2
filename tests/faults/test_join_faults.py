"""Free and paid joins with DynamoDB and Stripe failing at each step: the caller sees 503 with Retry-After (or a
success), the seats stay counted exactly, and sending the same request again completes the join once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.faults import state
from tests.faults.conftest import STRIPE_FAULTS, FaultyStripe
from tests.support import faults
from tests.support.faults import Injector, assert_retryable
from tests.unit.contests.helpers import World, join, published

FEE = {"amount": "10.00", "currency": "usd"}


def _contest(world: World, **overrides: Any) -> str:
    return str(published(world, **{"maxEntries": 5, **overrides})["id"])


# ------------------------------------------------------------------------------------------------ free join
@pytest.mark.parametrize("fault", sorted(faults.TRANSACTION_FAULTS))
def test_a_failed_join_transaction_holds_no_seat_and_the_retry_joins_once(
    world: World, inject: Injector, fault: str
) -> None:
    contest_id = _contest(world)
    inject.fail("TransactWriteItems", faults.TRANSACTION_FAULTS[fault], times=faults.PERSISTENT)
    answer = join(world.alice, contest_id)
    assert_retryable(answer)
    assert state.entries(contest_id) == [] and state.entry_count(contest_id) == 0
    inject.clear()
    again = join(world.alice, contest_id)
    assert again.status == 201, again.body
    state.seats_reconcile(contest_id)
    assert state.entry_count(contest_id) == 1
    assert join(world.alice, contest_id).status == 200  # and once more: the same entry


def test_one_transaction_conflict_is_retried_inside_the_request(world: World, inject: Injector) -> None:
    contest_id = _contest(world)
    inject.fail("TransactWriteItems", faults.transaction_conflict(3, at=1))
    answer = join(world.alice, contest_id)
    assert answer.status == 201, answer.body
    assert inject.fired == 1
    state.seats_reconcile(contest_id)


def test_a_failed_read_before_the_join_is_503_and_writes_nothing(world: World, inject: Injector) -> None:
    contest_id = _contest(world)
    inject.fail("BatchGetItem", faults.throughput_exceeded(), times=5)  # contest, entry and profile in one read
    assert_retryable(join(world.alice, contest_id))
    assert inject.fired and state.entries(contest_id) == []
    inject.clear()
    assert join(world.alice, contest_id).status in (200, 201)
    state.seats_reconcile(contest_id)
    assert state.entry_count(contest_id) == 1


def test_a_join_committed_whose_answer_was_lost_is_the_same_entry_on_retry(world: World, inject: Injector) -> None:
    contest_id = _contest(world)
    inject.fail("TransactWriteItems", faults.read_timeout(), after=True)
    assert_retryable(join(world.alice, contest_id))
    first = state.entry(contest_id, world.alice.user_id)
    again = join(world.alice, contest_id)
    assert again.status == 200 and again.body["id"] == first["entryId"]
    state.seats_reconcile(contest_id)
    assert state.entry_count(contest_id) == 1


def test_a_full_contest_stays_full_through_faults(world: World, inject: Injector) -> None:
    contest_id = _contest(world, maxEntries=2)
    inject.fail("TransactWriteItems", faults.throttling())
    assert_retryable(join(world.alice, contest_id))
    assert join(world.bob, contest_id).status == 201
    assert join(world.admin, contest_id).status == 201
    assert (answer := join(world.alice, contest_id)).status == 409 and answer.error_code == "CONTEST_FULL"
    state.seats_reconcile(contest_id)
    assert state.entry_count(contest_id) == 2


# ------------------------------------------------------------------------------------------------ paid join
def _paid(world: World) -> str:
    return _contest(world, entryFee=FEE)


def _one_intent_per_entry(stripe: FaultyStripe, contest_id: str) -> None:
    pending = [item for item in state.entries(contest_id) if item["status"] == "pending_payment"]
    ours = [intent for intent in stripe.intents.values() if intent["metadata"].get("contestId") == contest_id]
    assert len(ours) == len(pending), (len(ours), len(pending))
    assert {item["paymentIntentId"] for item in pending} == {intent["id"] for intent in ours}


@pytest.mark.parametrize("fault", sorted(STRIPE_FAULTS))
def test_stripe_failing_at_the_intent_holds_the_seat_and_the_retry_attaches_one_intent(
    world: World, stripe: FaultyStripe, fault: str
) -> None:
    contest_id = _paid(world)
    stripe.fail("create", fault)
    answer = join(world.alice, contest_id)
    assert_retryable(answer)
    held = state.entry(contest_id, world.alice.user_id)
    assert held["status"] == "pending_payment" and "paymentIntentId" not in held
    state.seats_reconcile(contest_id)
    again = join(world.alice, contest_id)
    assert again.status in (200, 201), again.body
    assert again.body["payment"]["clientSecret"]
    _one_intent_per_entry(stripe, contest_id)
    state.seats_reconcile(contest_id)
    assert state.entry_count(contest_id) == 1


def test_an_intent_created_whose_answer_was_lost_is_the_same_intent_on_retry(
    world: World, stripe: FaultyStripe
) -> None:
    contest_id = _paid(world)
    stripe.fail("create", "timeout", after=True)
    assert_retryable(join(world.alice, contest_id))
    again = join(world.alice, contest_id)
    assert again.status in (200, 201), again.body
    _one_intent_per_entry(stripe, contest_id)  # Stripe's idempotency key gave the same PaymentIntent back


@pytest.mark.parametrize("fault", ["throttling", "read_timeout"])
def test_the_intent_not_recorded_is_attached_on_retry_and_never_twice(
    world: World, stripe: FaultyStripe, inject: Injector, fault: str
) -> None:
    contest_id = _paid(world)
    inject.fail("UpdateItem", faults.DYNAMODB_FAULTS[fault], times=3)
    answer = join(world.alice, contest_id)
    assert_retryable(answer)
    inject.clear()
    again = join(world.alice, contest_id)
    assert again.status in (200, 201), again.body
    _one_intent_per_entry(stripe, contest_id)
    state.seats_reconcile(contest_id)


@pytest.mark.parametrize("fault", ["conflict", "internal500", "connect_timeout"])
def test_a_failed_paid_join_transaction_holds_no_seat_and_creates_no_intent(
    world: World, stripe: FaultyStripe, inject: Injector, fault: str
) -> None:
    contest_id = _paid(world)
    inject.fail("TransactWriteItems", faults.TRANSACTION_FAULTS[fault], times=faults.PERSISTENT)
    assert_retryable(join(world.alice, contest_id))
    assert state.entries(contest_id) == [] and state.holds(contest_id) == [] and stripe.intents == {}
    inject.clear()
    assert join(world.alice, contest_id).status == 202  # a paid join: accepted, pending its payment
    _one_intent_per_entry(stripe, contest_id)
    state.seats_reconcile(contest_id)
