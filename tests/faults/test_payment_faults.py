"""Refunds, the Stripe webhook receiver, the event processor, seat holds running out and a cancelled contest's
settlement, with DynamoDB, SQS and Stripe failing at each step: no refund twice, no event applied twice, seats
counted exactly, and the retry (the same request, the redelivered message, the next sweep) completes the work."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import stripe as stripe_library
from tickerleague.clock import utcnow
from tickerleague.domain.principal import Principal
from tickerleague.ids import new_ulid

from tests.faults import state
from tests.faults.conftest import STRIPE_FAULTS, FaultyStripe
from tests.support import faults
from tests.support.events import HttpAnswer, api_event, call
from tests.support.faults import Injector, assert_retryable
from tests.unit.contests.helpers import World, action, published
from tests.unit.payments.recorded_stripe import event

FEE = {"amount": "10.00", "currency": "usd"}
SECRET = "whsec_fault_tests"


def paid_contest(world: World) -> str:
    return str(published(world, entryFee=FEE, maxEntries=5)["id"])


def join(user_id: str, contest_id: str) -> Any:
    from tickerleague.services.entries import join_contest

    return join_contest(Principal(user_id, "user", "s"), contest_id, None)


def paid_entry(world: World, stripe: FaultyStripe) -> tuple[str, str, str]:
    """A paid, active entry of Alice's: (contestId, entryId, paymentIntentId)."""
    from tickerleague.services import payments

    contest_id = paid_contest(world)
    answer = join(world.alice.user_id, contest_id)
    stripe.pay(answer.payment.intent_id)
    assert payments.my_payment(world.alice.user_id, contest_id).entry_status == "active"
    return contest_id, answer.entry.entry_id, answer.payment.intent_id


def refund(world: World, contest_id: str, entry_id: str) -> HttpAnswer:
    from functions import payments

    path = f"/v1/admin/contests/{contest_id}/entries/{entry_id}/refund"
    return call(
        payments.refund_entry,
        api_event(
            "POST",
            path,
            resource="/v1/admin/contests/{contestId}/entries/{entryId}/refund",
            path_params={"contestId": contest_id, "entryId": entry_id},
            body={"reason": "goodwill"},
            caller=world.admin.caller,
        ),
    )


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Any:
    """later(seconds): the payment services' clock moves on (a client or the next sweep retrying a while after)."""
    from tickerleague.services import payments, payments_cancellation

    def move(seconds: float) -> None:
        for module in (payments, payments_cancellation):
            monkeypatch.setattr(module, "utcnow", lambda: utcnow() + timedelta(seconds=seconds))

    return move


def refunded_once(stripe: FaultyStripe, contest_id: str, user_id: str, intent_id: str) -> None:
    item = state.entry(contest_id, user_id)
    assert item["status"] == "refunded" and item["paymentStatus"] == "refunded" and item.get("refundId")
    assert len(stripe.refunds) == 1
    assert stripe.intents[intent_id]["latest_charge"]["amount_refunded"] == stripe.intents[intent_id]["amount"]
    state.seats_reconcile(contest_id)


# ------------------------------------------------------------------------------------------------ refunds
@pytest.mark.parametrize("fault", ["throttling", "conflict", "internal500", "read_timeout"])
def test_a_refund_whose_claim_fails_refunds_nothing_and_the_retry_refunds_once(
    world: World, stripe: FaultyStripe, inject: Injector, fault: str
) -> None:
    contest_id, entry_id, intent_id = paid_entry(world, stripe)
    inject.fail("TransactWriteItems", faults.TRANSACTION_FAULTS[fault], times=faults.PERSISTENT)
    assert_retryable(refund(world, contest_id, entry_id))
    assert stripe.refunds == [] and state.entry(contest_id, world.alice.user_id)["status"] == "active"
    inject.clear()
    assert refund(world, contest_id, entry_id).status == 200
    refunded_once(stripe, contest_id, world.alice.user_id, intent_id)


@pytest.mark.parametrize(("operation", "fault"), [("refund", f) for f in sorted(STRIPE_FAULTS)] + [("retrieve", "500")])
def test_stripe_failing_at_the_refund_is_503_until_a_retry_refunds_once(
    world: World, stripe: FaultyStripe, later: Any, operation: str, fault: str
) -> None:
    contest_id, entry_id, intent_id = paid_entry(world, stripe)
    stripe.fail(operation, fault)
    assert_retryable(refund(world, contest_id, entry_id))
    assert stripe.refunds == []
    # At once again: the first request may still be running, so this one must not answer "refunded" either.
    assert_retryable(refund(world, contest_id, entry_id))
    assert stripe.refunds == []
    later(31)  # the claim is old: its request has surely given up, this retry completes it
    done = refund(world, contest_id, entry_id)
    assert done.status == 200 and done.body["status"] == "refunded"
    refunded_once(stripe, contest_id, world.alice.user_id, intent_id)
    assert refund(world, contest_id, entry_id).status == 200
    assert len(stripe.refunds) == 1


def test_a_refund_made_at_stripe_whose_answer_was_lost_is_not_made_twice(
    world: World, stripe: FaultyStripe, later: Any
) -> None:
    contest_id, entry_id, intent_id = paid_entry(world, stripe)
    stripe.fail("refund", "timeout", after=True)
    assert_retryable(refund(world, contest_id, entry_id))
    later(31)
    assert refund(world, contest_id, entry_id).status == 200
    refunded_once(stripe, contest_id, world.alice.user_id, intent_id)


@pytest.mark.parametrize("fault", ["throttling", "read_timeout"])
def test_a_refund_made_at_stripe_but_not_recorded_is_recorded_on_retry_without_a_second_refund(
    world: World, stripe: FaultyStripe, inject: Injector, later: Any, fault: str
) -> None:
    contest_id, entry_id, intent_id = paid_entry(world, stripe)
    inject.fail("TransactWriteItems", faults.DYNAMODB_FAULTS[fault], nth=2, times=faults.PERSISTENT)  # the record
    assert_retryable(refund(world, contest_id, entry_id))
    assert len(stripe.refunds) == 1
    inject.clear()
    later(31)
    assert refund(world, contest_id, entry_id).status == 200
    refunded_once(stripe, contest_id, world.alice.user_id, intent_id)


# ------------------------------------------------------------------------------------------------ webhook receiver
@pytest.fixture
def queue(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    import boto3
    from tickerleague.config import settings
    from tickerleague.services import stripe_webhooks

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName=f"stripe-events-{utcnow().timestamp():.0f}")["QueueUrl"]
    monkeypatch.setenv("STRIPE_EVENTS_QUEUE_URL", url)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET_ID", "")
    monkeypatch.setenv("LOCAL_STRIPE_WEBHOOK_SECRET", SECRET)
    settings.cache_clear()
    stripe_webhooks._client.cache_clear()
    yield sqs, url
    sqs.delete_queue(QueueUrl=url)
    stripe_webhooks._client.cache_clear()


def deliver(payload: str) -> HttpAnswer:
    from functions import webhooks

    signature = str(stripe_library.WebhookSignature.generate_signature_header(payload, SECRET))
    return call(
        webhooks.stripe_webhook,
        api_event("POST", "/v1/webhooks/stripe", raw_body=payload, headers={"Stripe-Signature": signature}),
    )


def drain(queue: tuple[Any, str]) -> list[str]:
    sqs, url = queue
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


@pytest.mark.parametrize("fault", ["sqs_throttled", "sqs_internal", "read_timeout", "connect_timeout"])
def test_a_webhook_that_cannot_be_queued_is_503_for_stripe_to_redeliver_and_applies_once(
    world: World,
    stripe: FaultyStripe,
    queue: tuple[Any, str],
    inject: Injector,
    published: list[Any],
    fault: str,
) -> None:
    from tickerleague.services import stripe_events

    contest_id = paid_contest(world)
    intent_id = join(world.alice.user_id, contest_id).payment.intent_id
    stripe.pay(intent_id)
    payload = event(
        f"evt_queued_once_{new_ulid()}", "payment_intent.succeeded", intent_id, created=int(utcnow().timestamp())
    )
    chosen = {"sqs_throttled": faults.sqs_throttled(), "sqs_internal": faults.sqs_internal()}.get(fault)
    inject.fail("SendMessage", chosen or faults.DYNAMODB_FAULTS[fault])
    assert_retryable(deliver(payload))
    assert drain(queue) == []
    assert deliver(payload).status == 200  # Stripe's redelivery
    assert deliver(payload).status == 200  # and once more: at least once
    outcomes = [stripe_events.process(body) for body in drain(queue)]
    assert outcomes == ["activated", "duplicate_event"]
    assert [kind for kind, _ in published if kind == "EntryConfirmed"] == ["EntryConfirmed"]
    state.seats_reconcile(contest_id)


def test_a_webhook_queued_whose_answer_was_lost_is_applied_once(
    world: World, stripe: FaultyStripe, queue: tuple[Any, str], inject: Injector, published: list[Any]
) -> None:
    from tickerleague.services import stripe_events

    contest_id = paid_contest(world)
    intent_id = join(world.alice.user_id, contest_id).payment.intent_id
    stripe.pay(intent_id)
    payload = event(
        f"evt_lost_answer_{new_ulid()}", "payment_intent.succeeded", intent_id, created=int(utcnow().timestamp())
    )
    inject.fail("SendMessage", faults.read_timeout(), after=True)
    assert_retryable(deliver(payload))
    assert deliver(payload).status == 200
    assert [stripe_events.process(body) for body in drain(queue)] == ["activated", "duplicate_event"]
    assert [kind for kind, _ in published if kind == "EntryConfirmed"] == ["EntryConfirmed"]


# ------------------------------------------------------------------------------------------------ event processor
@pytest.mark.parametrize(
    ("where", "fault"),
    [
        ("GetItem", "throttling"),
        ("TransactWriteItems", "throughput"),
        ("TransactWriteItems", "conflict"),
        ("TransactWriteItems", "internal500"),
        ("TransactWriteItems", "read_timeout"),
        ("stripe", "429"),
        ("stripe", "timeout"),
    ],
)
def test_an_event_that_fails_midway_is_redelivered_and_applied_once(
    world: World, stripe: FaultyStripe, inject: Injector, published: list[Any], where: str, fault: str
) -> None:
    from tickerleague.http.unavailable import is_transient
    from tickerleague.services import stripe_events

    contest_id = paid_contest(world)
    intent_id = join(world.alice.user_id, contest_id).payment.intent_id
    stripe.pay(intent_id)
    body = event(f"evt_midway_{new_ulid()}", "payment_intent.succeeded", intent_id, created=int(utcnow().timestamp()))
    if where == "stripe":
        stripe.fail("retrieve", fault)
    else:
        inject.fail(where, faults.TRANSACTION_FAULTS[fault], times=faults.PERSISTENT)
    with pytest.raises(Exception) as raised:  # the record fails: SQS delivers it again
        stripe_events.process(body)
    assert is_transient(raised.value) or raised.value.__class__.__name__ == "ServiceUnavailable", raised.value
    with inject.off():
        assert state.entry(contest_id, world.alice.user_id)["status"] == "pending_payment"
        state.seats_reconcile(contest_id)
    inject.clear()
    assert stripe_events.process(body) == "activated"
    assert stripe_events.process(body) == "duplicate_event"
    assert state.entry(contest_id, world.alice.user_id)["status"] == "active"
    assert [kind for kind, _ in published if kind == "EntryConfirmed"] == ["EntryConfirmed"]
    state.seats_reconcile(contest_id)


def test_an_event_applied_whose_answer_was_lost_is_a_duplicate_on_redelivery(
    world: World, stripe: FaultyStripe, inject: Injector, published: list[Any]
) -> None:
    from tickerleague.services import stripe_events

    contest_id = paid_contest(world)
    intent_id = join(world.alice.user_id, contest_id).payment.intent_id
    stripe.pay(intent_id)
    body = event(
        f"evt_applied_lost_{new_ulid()}", "payment_intent.succeeded", intent_id, created=int(utcnow().timestamp())
    )
    inject.fail("TransactWriteItems", faults.read_timeout(), after=True)
    with pytest.raises(Exception):
        stripe_events.process(body)
    assert stripe_events.process(body) == "duplicate_event"
    assert state.entry(contest_id, world.alice.user_id)["status"] == "active"
    state.seats_reconcile(contest_id)


# ------------------------------------------------------------------------------------------------ holds, cancel
@pytest.mark.parametrize(
    ("where", "fault"), [("cancel", "500"), ("TransactWriteItems", "throttling"), ("Query", "internal500")]
)
def test_a_hold_sweep_that_fails_is_finished_by_the_next_sweep_and_frees_the_seat_once(
    world: World, stripe: FaultyStripe, inject: Injector, where: str, fault: str
) -> None:
    from tickerleague.services import payments

    contest_id = paid_contest(world)
    intent_id = join(world.alice.user_id, contest_id).payment.intent_id
    moment = utcnow() + timedelta(seconds=3600)
    if where == "cancel":
        stripe.fail("cancel", fault)
    else:
        inject.fail(where, faults.DYNAMODB_FAULTS[fault], times=faults.PERSISTENT)
    with pytest.raises(Exception):
        payments.expire_holds(moment)
    with inject.off():
        state.seats_reconcile(contest_id)
    inject.clear()
    payments.expire_holds(moment)
    payments.expire_holds(moment)  # and again: nothing more
    assert state.entry(contest_id, world.alice.user_id)["status"] == "cancelled"
    assert stripe.intents[intent_id]["status"] == "canceled"
    state.seats_reconcile(contest_id)
    assert state.entry_count(contest_id) == 0


def _cancelled_paid_contest(world: World, stripe: FaultyStripe) -> tuple[str, str]:
    contest_id, _, intent_id = paid_entry(world, stripe)
    join(world.bob.user_id, contest_id)  # pending: its PaymentIntent is cancelled, not refunded
    assert action(world.admin, contest_id, "cancel").status == 200
    return contest_id, intent_id


def _settle(rounds: int = 4) -> None:
    from tickerleague.services.payments_cancellation import settle_cancelled_contests

    for _ in range(rounds):
        settle_cancelled_contests()


def _settled(contest_id: str) -> bool:
    return "paymentsSettledAt" in state.contest_item(contest_id)


@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_a_cancelled_contest_whose_refund_fails_at_stripe_is_not_settled_until_refunded_once(
    world: World, stripe: FaultyStripe, later: Any, fault: str
) -> None:
    from tickerleague.services.payments_cancellation import settle_cancelled_contests

    contest_id, intent_id = _cancelled_paid_contest(world, stripe)
    stripe.fail("refund", fault, times=3)
    for _ in range(3):
        try:
            settle_cancelled_contests()
        except Exception:
            continue
    assert not _settled(contest_id), "settled while a claimed refund was never made"
    later(31)
    _settle()
    assert _settled(contest_id)
    refunded_once(stripe, contest_id, world.alice.user_id, intent_id)
    assert state.entry(contest_id, world.bob.user_id)["status"] == "cancelled"


@pytest.mark.parametrize(
    ("operation", "fault"),
    [("Query", "throttling"), ("TransactWriteItems", "internal500"), ("UpdateItem", "read_timeout")],
)
def test_a_settlement_pass_that_fails_on_the_table_is_finished_by_the_next_refunding_once(
    world: World, stripe: FaultyStripe, inject: Injector, later: Any, operation: str, fault: str
) -> None:
    from tickerleague.services.payments_cancellation import settle_cancelled_contests

    contest_id, intent_id = _cancelled_paid_contest(world, stripe)
    inject.fail(operation, faults.DYNAMODB_FAULTS[fault], times=2)
    for _ in range(3):
        try:
            settle_cancelled_contests()
        except Exception:
            continue
    inject.clear()
    later(31)
    _settle()
    assert _settled(contest_id)
    refunded_once(stripe, contest_id, world.alice.user_id, intent_id)
    assert json.dumps(state.entry(contest_id, world.bob.user_id)["status"]) == '"cancelled"'
