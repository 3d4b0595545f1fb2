"""The payment metrics, written by the real services (moto table, recorded Stripe): each fact counted once, whatever
path applies it and however often its event is delivered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tickerleague.clock import utcnow
from tickerleague.domain.principal import Principal

from tests.support.emf import MetricsCapture
from tests.unit.contests.helpers import World, action, published
from tests.unit.payments.recorded_stripe import RecordedStripe, event

FEE = {"amount": "10.00", "currency": "usd"}


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> MetricsCapture:
    return MetricsCapture(monkeypatch, capsys)


def paid_contest(world: World, **overrides: Any) -> str:
    return str(published(world, entryFee=FEE, **overrides)["id"])


def join(user_id: str, contest_id: str, now: Any = None) -> Any:
    from tickerleague.services.entries import join_contest

    return join_contest(Principal(user_id, "user", "s"), contest_id, None, now=now)


def process(body: str, created: int, after_seconds: float) -> str:
    from datetime import UTC, datetime

    from tickerleague.services import stripe_events

    return stripe_events.process(body, now=datetime.fromtimestamp(created + after_seconds, UTC))


CREATED = int(utcnow().timestamp())


def test_a_free_join_counts_once_and_joining_again_counts_nothing(world: World, metrics: MetricsCapture) -> None:
    contest_id = str(published(world)["id"])
    metrics.take()
    assert join(world.alice.user_id, contest_id).created
    assert metrics.take() == [("EntriesJoined", 1.0, {"paid": "false"})]
    assert not join(world.alice.user_id, contest_id).created  # a retried request: the same entry
    assert metrics.take() == []


def test_a_paid_join_counts_when_its_payment_lands_once_however_often_the_event_comes(
        world: World, stripe: RecordedStripe, metrics: MetricsCapture) -> None:
    contest_id = paid_contest(world)
    metrics.take()
    intent_id = join(world.alice.user_id, contest_id).payment.intent_id
    assert metrics.take() == []  # pending: not joined until paid
    stripe.pay(intent_id)
    body = event("evt_ok", "payment_intent.succeeded", intent_id, created=CREATED)
    assert process(body, CREATED, 2.5) == "activated"
    assert metrics.take() == [
        ("EntriesJoined", 1.0, {"paid": "true"}),
        ("PaymentsSucceeded", 1.0, {}),
        ("WebhookLag", 2500.0, {"type": "payment_intent.succeeded"}),
    ]
    assert process(body, CREATED, 60) == "duplicate_event"  # Stripe delivers it again
    assert metrics.take() == []
    from tickerleague.services import payments

    payments.my_payment(world.alice.user_id, contest_id)  # already final: nothing re-applied
    assert metrics.take() == []


def test_a_lost_webhook_recovered_by_the_payment_read_counts_once_and_the_late_event_only_its_lag(
        world: World, stripe: RecordedStripe, metrics: MetricsCapture) -> None:
    from tickerleague.services import payments

    contest_id = paid_contest(world)
    intent_id = join(world.alice.user_id, contest_id).payment.intent_id
    stripe.pay(intent_id)
    metrics.take()
    assert payments.my_payment(world.alice.user_id, contest_id).entry_status == "active"
    assert metrics.take() == [("EntriesJoined", 1.0, {"paid": "true"}), ("PaymentsSucceeded", 1.0, {})]
    assert process(event("evt_late", "payment_intent.succeeded", intent_id, created=CREATED), CREATED, 90) == \
        "unchanged"
    assert metrics.take() == [("WebhookLag", 90000.0, {"type": "payment_intent.succeeded"})]


def test_a_declined_attempt_counts_a_failure_by_stripes_code_once_per_event(
        world: World, stripe: RecordedStripe, metrics: MetricsCapture) -> None:
    contest_id = paid_contest(world)
    intent_id = join(world.alice.user_id, contest_id).payment.intent_id
    error = stripe.decline(intent_id)
    metrics.take()
    body = event("evt_declined", "payment_intent.payment_failed", intent_id, created=CREATED,
                 last_payment_error=error)
    process(body, CREATED, 1)
    process(body, CREATED, 5)  # redelivered
    assert metrics.take() == [("PaymentsFailed", 1.0, {"reason": "card_declined"}),
                              ("WebhookLag", 1000.0, {"type": "payment_intent.payment_failed"})]
    odd = stripe.decline(intent_id, code="some_new_code")
    process(event("evt_odd", "payment_intent.payment_failed", intent_id, created=CREATED, last_payment_error=odd),
            CREATED, 1)
    assert metrics.take("PaymentsFailed") == [("PaymentsFailed", 1.0, {"reason": "other"})]  # dimensions stay few


def test_an_admin_refund_counts_once_and_its_stripe_event_only_its_lag(
        world: World, stripe: RecordedStripe, metrics: MetricsCapture) -> None:
    from tickerleague.services import payments

    contest_id = paid_contest(world)
    answer = join(world.alice.user_id, contest_id)
    stripe.pay(answer.payment.intent_id)
    payments.my_payment(world.alice.user_id, contest_id)
    metrics.take()
    actor = payments.RefundActor(world.admin.user_id)
    payments.refund_entry(actor, contest_id, answer.entry.entry_id, "goodwill")
    payments.refund_entry(actor, contest_id, answer.entry.entry_id, "goodwill")  # again: the same refund
    assert metrics.take() == [("Refunds", 1.0, {"source": "admin"})]
    assert len(stripe.refunds) == 1
    process(event("evt_refund", "charge.refunded", answer.payment.intent_id, created=CREATED), CREATED, 3)
    assert metrics.take() == [("WebhookLag", 3000.0, {"type": "charge.refunded"})]


def test_a_refund_made_in_stripes_dashboard_counts_as_external(
        world: World, stripe: RecordedStripe, metrics: MetricsCapture) -> None:
    from tickerleague.services import payments

    contest_id = paid_contest(world)
    intent_id = join(world.alice.user_id, contest_id).payment.intent_id
    stripe.pay(intent_id)
    payments.my_payment(world.alice.user_id, contest_id)
    stripe.refund_outside(intent_id)
    metrics.take()
    body = event("evt_outside", "charge.refunded", intent_id, created=CREATED)
    assert process(body, CREATED, 1) == "refund_recorded"
    process(body, CREATED, 2)
    assert metrics.take("Refunds") == [("Refunds", 1.0, {"source": "external"})]


def test_a_hold_that_runs_out_fails_the_payment_and_a_late_payment_without_a_seat_is_refunded(
        world: World, stripe: RecordedStripe, metrics: MetricsCapture) -> None:
    from tickerleague.services import payments

    contest_id = paid_contest(world, maxEntries=2)
    now = utcnow()
    late = join(world.alice.user_id, contest_id, now=now).payment.intent_id
    metrics.take()
    after_hold = now + timedelta(seconds=901)
    assert payments.expire_holds(after_hold) == {"expired": 1, "paid": 0, "stale": 0}
    assert payments.expire_holds(after_hold + timedelta(seconds=60))["expired"] == 0  # the sweep again
    assert metrics.take() == [("PaymentsFailed", 1.0, {"reason": "canceled"})]
    for person in (world.bob, world.admin):  # they take both seats, the freed one included
        intent_id = join(person.user_id, contest_id, now=after_hold).payment.intent_id
        stripe.pay(intent_id)
        payments.my_payment(person.user_id, contest_id)
    metrics.take()
    # Alice's card was charged while the cancel was on its way (Stripe answers the race either way): no seat left.
    stripe.pay(late)
    body = event("evt_late_paid", "payment_intent.succeeded", late, created=CREATED)
    assert process(body, CREATED, 4) == "refunded_late_success"
    process(body, CREATED, 8)
    assert metrics.take() == [
        ("PaymentsSucceeded", 1.0, {}),
        ("Refunds", 1.0, {"source": "hold-expired"}),
        ("WebhookLag", 4000.0, {"type": "payment_intent.succeeded"}),
    ]


def test_a_cancelled_contest_refunds_each_paid_entry_once_and_gives_up_pending_payments(
        world: World, stripe: RecordedStripe, metrics: MetricsCapture) -> None:
    from tickerleague.services import payments, payments_cancellation

    contest_id = paid_contest(world)
    paid = join(world.alice.user_id, contest_id).payment.intent_id
    join(world.bob.user_id, contest_id)  # never pays
    stripe.pay(paid)
    payments.my_payment(world.alice.user_id, contest_id)
    assert action(world.admin, contest_id, "cancel").status == 200
    metrics.take()
    for _ in range(3):  # the sweep runs every minute until the contest is settled
        payments_cancellation.settle_cancelled_contests()
    assert metrics.take() == [("PaymentsFailed", 1.0, {"reason": "canceled"}), ("Refunds", 1.0, {"source": "cancel"})]


def test_a_payment_landing_after_its_hold_ran_out_retakes_a_free_seat_and_counts_the_join(
        world: World, stripe: RecordedStripe, metrics: MetricsCapture) -> None:
    from tickerleague.services import payments

    contest_id = paid_contest(world, maxEntries=2)
    now = utcnow()
    intent_id = join(world.alice.user_id, contest_id, now=now).payment.intent_id
    payments.expire_holds(now + timedelta(seconds=901))
    metrics.take()
    stripe.pay(intent_id)  # charged while the cancel was on its way
    assert process(event("evt_retake", "payment_intent.succeeded", intent_id, created=CREATED), CREATED, 1) == \
        "seat_retaken"
    assert metrics.take("EntriesJoined", "PaymentsSucceeded", "Refunds") == [
        ("EntriesJoined", 1.0, {"paid": "true"}), ("PaymentsSucceeded", 1.0, {})]
