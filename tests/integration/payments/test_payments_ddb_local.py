"""Paid entries under real concurrency (DynamoDB Local) against a real fake Stripe (localstripe)."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from tickerleague.clock import utcnow
from tickerleague.domain.contests import Contest, ContestDefinition, EntryFee
from tickerleague.errors import DomainError
from tickerleague.http.principal import Principal
from tickerleague.ids import new_ulid

from tests.integration.contests.test_join_concurrency import NoWorkflows
from tests.support import localstripe

pytestmark = pytest.mark.integration


def paid_contest(max_entries: int | None = None, fee: EntryFee | None = None) -> Contest:
    from tickerleague.services import contests as service

    admin = service.Actor(new_ulid())
    now = utcnow()
    definition = ContestDefinition(name="Paid", description="", starts_at=now + timedelta(days=1),
                                   ends_at=now + timedelta(days=2), max_entries=max_entries,
                                   entry_fee=fee or EntryFee(Decimal("10.00"), "usd"))
    draft = service.create_contest(admin, definition)
    return service.publish_contest(admin, draft.contest_id, lifecycle=NoWorkflows())


def join(user_id: str, contest_id: str) -> Any:
    from tickerleague.services.entries import join_contest

    return join_contest(Principal(user_id, "user", "s"), contest_id, None)


def attempt(user_id: str, contest_id: str) -> tuple[str, str | None]:
    try:
        answer = join(user_id, contest_id)
    except DomainError as error:
        return error.code, None
    return ("202" if answer.created else "200"), answer.payment.intent_id


def record(contest_id: str, user_id: str) -> Any:
    from tickerleague.adapters.dynamodb import payments as store

    item = store.get_entry_item(contest_id, user_id)
    return store.record_from_item(item) if item else None


def entry_count(contest_id: str) -> int:
    from tickerleague.adapters.dynamodb import contests as repo

    found = repo.get(contest_id, consistent=True)
    assert found is not None
    return found.entry_count


def test_concurrent_paid_joins_on_few_seats_hold_exactly_the_seats(payments_env: list[Any]) -> None:
    contest = paid_contest(max_entries=3)
    users = [new_ulid() for _ in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda user: attempt(user, contest.contest_id), users))
    codes = Counter(code for code, _ in results)
    assert codes == {"202": 3, "CONTEST_FULL": 9}
    intents = {intent for code, intent in results if code == "202"}
    assert len(intents) == 3 and None not in intents  # one PaymentIntent per entry
    assert entry_count(contest.contest_id) == 3


def test_one_user_joining_five_times_at_once_gets_one_entry_and_one_payment_intent(payments_env: list[Any]) -> None:
    contest = paid_contest(max_entries=10)
    user = new_ulid()
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(lambda _: attempt(user, contest.contest_id), range(5)))
    assert Counter(code for code, _ in results) == {"202": 1, "200": 4}
    assert len({intent for _, intent in results}) == 1
    assert entry_count(contest.contest_id) == 1


def test_duplicate_and_shuffled_events_activate_once_and_a_late_failure_changes_nothing(
        payments_env: list[Any], localstripe_url: str) -> None:
    from tickerleague.services import stripe_events

    contest = paid_contest(max_entries=5)
    user = new_ulid()
    intent_id = join(user, contest.contest_id).payment.intent_id
    assert localstripe.pay(localstripe_url, intent_id)["status"] == "succeeded"
    bodies = [localstripe.event("evt_succeeded", "payment_intent.succeeded", intent_id),
              localstripe.event("evt_failed_late", "payment_intent.payment_failed", intent_id),
              localstripe.event("evt_charge", "charge.refunded", intent_id)] * 5
    random.Random(7).shuffle(bodies)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(stripe_events.process, bodies))
    assert outcomes.count("activated") == 1, outcomes
    paid = record(contest.contest_id, user)
    assert (paid.entry_status, paid.payment_status) == ("active", "succeeded")
    assert [event for event in payments_env if event[0] == "EntryConfirmed"] == [
        ("EntryConfirmed", {"contestId": contest.contest_id, "entryId": paid.entry_id, "userId": user},
         "tickerleague.entries")]
    assert entry_count(contest.contest_id) == 1


def test_a_declined_card_leaves_the_entry_pending_and_payable(payments_env: list[Any], localstripe_url: str) -> None:
    from tickerleague.services import payments

    contest = paid_contest()
    user = new_ulid()
    intent_id = join(user, contest.contest_id).payment.intent_id
    assert localstripe.pay(localstripe_url, intent_id, localstripe.DECLINED)["status"] == "requires_payment_method"
    seen = payments.my_payment(user, contest.contest_id)
    assert (seen.entry_status, seen.payment_status) == ("pending_payment", "requires_payment_method")
    assert payments.client_secret_shown(seen) is not None


def test_the_payment_read_recovers_a_lost_webhook(payments_env: list[Any], localstripe_url: str) -> None:
    from tickerleague.services import payments

    contest = paid_contest()
    user = new_ulid()
    intent_id = join(user, contest.contest_id).payment.intent_id
    localstripe.pay(localstripe_url, intent_id)  # no event is processed at all
    seen = payments.my_payment(user, contest.contest_id)
    assert (seen.entry_status, seen.payment_status) == ("active", "succeeded")
    assert payments.client_secret_shown(seen) is None


def test_an_unpaid_hold_runs_out_and_frees_its_seat(payments_env: list[Any], localstripe_url: str) -> None:
    from tickerleague.services import payments

    contest = paid_contest(max_entries=2)
    user, other, third = new_ulid(), new_ulid(), new_ulid()
    first = join(user, contest.contest_id).payment.intent_id
    join(other, contest.contest_id)
    assert attempt(third, contest.contest_id)[0] == "CONTEST_FULL"
    counts = payments.expire_holds(utcnow() + timedelta(seconds=901))
    assert counts["expired"] == 2
    assert record(contest.contest_id, user).entry_status == "cancelled"
    assert entry_count(contest.contest_id) == 0
    gone = localstripe.pay(localstripe_url, first)  # too late: cancelled at Stripe, it cannot be paid
    assert gone["status"] == "canceled"
    assert attempt(third, contest.contest_id)[0] == "202"
    again = join(user, contest.contest_id)  # a new hold and a new PaymentIntent
    assert again.created and again.payment.intent_id != first and again.payment.attempt == 2
    assert payments.expire_holds(utcnow() + timedelta(seconds=901))["expired"] == 2  # third and the new hold


def test_a_payment_that_beats_the_hold_sweep_keeps_its_seat(payments_env: list[Any], localstripe_url: str) -> None:
    from tickerleague.services import payments

    contest = paid_contest(max_entries=2)
    user = new_ulid()
    intent_id = join(user, contest.contest_id).payment.intent_id
    localstripe.pay(localstripe_url, intent_id)  # paid after the hold ran out, before the sweep came
    counts = payments.expire_holds(utcnow() + timedelta(seconds=901))
    assert counts == {"expired": 0, "paid": 1, "stale": 0}
    assert record(contest.contest_id, user).entry_status == "active"
    assert entry_count(contest.contest_id) == 1


def _release_as_if_the_hold_ran_out(contest_id: str, user_id: str) -> None:
    """The entry cancelled and its seat freed while Stripe (in a race) took the payment."""
    from tickerleague.adapters.dynamodb import payments as store

    current = record(contest_id, user_id)
    change = store.PaymentChange(contest_id=contest_id, user_id=user_id, expected_status="pending_payment",
                                 expected_attempt=current.attempt, expected_intent_id=current.intent_id,
                                 sets={"status": "cancelled"}, seat_delta=-1,
                                 delete_hold=store.hold_key(current.entry_id, current.hold_expires_at))
    assert store.apply(change, utcnow()) == "applied"


def test_a_success_after_the_release_takes_a_free_seat_back(payments_env: list[Any], localstripe_url: str) -> None:
    from tickerleague.services import stripe_events

    contest = paid_contest(max_entries=2)
    user = new_ulid()
    intent_id = join(user, contest.contest_id).payment.intent_id
    localstripe.pay(localstripe_url, intent_id)
    _release_as_if_the_hold_ran_out(contest.contest_id, user)
    assert stripe_events.process(localstripe.event("evt_late", "payment_intent.succeeded", intent_id)) == \
        "seat_retaken"
    assert record(contest.contest_id, user).entry_status == "active"
    assert entry_count(contest.contest_id) == 1


def test_a_success_after_the_release_into_a_full_contest_is_refunded_at_once(
        payments_env: list[Any], localstripe_url: str) -> None:
    from tickerleague.services import stripe_events

    contest = paid_contest(max_entries=2)
    user = new_ulid()
    intent_id = join(user, contest.contest_id).payment.intent_id
    localstripe.pay(localstripe_url, intent_id)
    _release_as_if_the_hold_ran_out(contest.contest_id, user)
    join(new_ulid(), contest.contest_id)
    join(new_ulid(), contest.contest_id)  # full again
    body = localstripe.event("evt_late_full", "payment_intent.succeeded", intent_id)
    with ThreadPoolExecutor(max_workers=5) as pool:
        outcomes = list(pool.map(stripe_events.process, [body] * 5))
    assert outcomes.count("refunded_late_success") == 1, outcomes
    late = record(contest.contest_id, user)
    assert (late.entry_status, late.payment_status) == ("refunded", "refunded")
    assert len(localstripe.refunds(localstripe_url, intent_id)) == 1
    assert entry_count(contest.contest_id) == 2


def test_five_concurrent_refunds_make_one_refund_and_one_audit_event(payments_env: list[Any],
                                                                     localstripe_url: str) -> None:
    from tickerleague.adapters.dynamodb.plumbing import client
    from tickerleague.config import settings
    from tickerleague.services import payments

    contest = paid_contest()
    user = new_ulid()
    joined = join(user, contest.contest_id)
    localstripe.pay(localstripe_url, joined.payment.intent_id)
    payments.my_payment(user, contest.contest_id)  # active now
    actor = payments.RefundActor(new_ulid(), "req", "127.0.0.1")
    from tickerleague.errors import ServiceUnavailable

    def refund(_: int) -> Any:
        try:
            return payments.refund_entry(actor, contest.contest_id, joined.entry.entry_id, "duplicate charge")
        except ServiceUnavailable as in_progress:  # another request holds the refund's claim: retryable, never done
            return in_progress

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(refund, range(5)))
    done = [answer for answer in answers if not isinstance(answer, ServiceUnavailable)]
    assert done and {answer.status for answer in done} == {"refunded"}
    assert len(localstripe.refunds(localstripe_url, joined.payment.intent_id)) == 1
    audit = client().query(TableName=settings().table_name, IndexName="GSI1",
                           KeyConditionExpression="GSI1PK = :pk",
                           ExpressionAttributeValues={":pk": {"S": f"AUDIT#TARGET#{joined.entry.entry_id}"}})
    assert [item["action"]["S"] for item in audit["Items"]] == ["entry.refunded"]
    assert [event[0] for event in payments_env].count("EntryRefunded") == 1
    again = payments.refund_entry(actor, contest.contest_id, joined.entry.entry_id, "again")
    assert again.status == "refunded" and len(localstripe.refunds(localstripe_url, joined.payment.intent_id)) == 1


def test_an_unpaid_entry_is_not_refundable(payments_env: list[Any]) -> None:
    from tickerleague.services import payments

    contest = paid_contest()
    joined = join(new_ulid(), contest.contest_id)
    with pytest.raises(DomainError) as raised:
        payments.refund_entry(payments.RefundActor(new_ulid()), contest.contest_id, joined.entry.entry_id, "x")
    assert raised.value.code == "NOT_REFUNDABLE"


def test_an_event_for_a_payment_intent_that_is_not_ours_changes_nothing(payments_env: list[Any],
                                                                        localstripe_url: str) -> None:
    import requests
    from tickerleague.services import stripe_events

    foreign = requests.post(f"{localstripe_url}/v1/payment_intents", auth=localstripe.KEY, timeout=10,
                            data={"amount": 1000, "currency": "usd"}).json()["id"]
    assert stripe_events.process(localstripe.event("evt_foreign", "payment_intent.succeeded", foreign)) == "not_ours"
    assert stripe_events.process(localstripe.event("evt_foreign", "payment_intent.succeeded", foreign)) == \
        "duplicate_event"


def test_cancelling_a_paid_contest_refunds_every_paid_entry_once_and_cancels_pending_ones(
        payments_env: list[Any], localstripe_url: str) -> None:
    from tickerleague.services import contests as service
    from tickerleague.services import payments, payments_cancellation

    contest = paid_contest(max_entries=10)
    paid_users, pending_users = [new_ulid() for _ in range(3)], [new_ulid() for _ in range(2)]
    intents = {}
    for user in paid_users + pending_users:
        intents[user] = join(user, contest.contest_id).payment.intent_id
    for user in paid_users:
        localstripe.pay(localstripe_url, intents[user])
        payments.my_payment(user, contest.contest_id)
    service.cancel_contest(service.Actor(new_ulid()), contest.contest_id, lifecycle=NoWorkflows())
    with ThreadPoolExecutor(max_workers=3) as pool:  # overlapping sweeps (a slow one and the next minute's)
        list(pool.map(lambda _: payments_cancellation.settle_cancelled_contests(), range(3)))
    payments_cancellation.settle_cancelled_contests()  # finds every entry final: marks the contest settled
    assert payments_cancellation.settle_cancelled_contests()["contests"] == 0  # out of the sweep's query
    for user in paid_users:
        assert record(contest.contest_id, user).entry_status == "refunded"
        assert len(localstripe.refunds(localstripe_url, intents[user])) == 1
    for user in pending_users:
        assert record(contest.contest_id, user).entry_status == "cancelled"
        assert localstripe.pay(localstripe_url, intents[user])["status"] == "canceled"
    assert [event[0] for event in payments_env].count("EntryRefunded") == 3


def test_nightly_reconciliation_repairs_lost_events_and_dashboard_refunds(payments_env: list[Any],
                                                                         localstripe_url: str) -> None:
    import requests
    from tickerleague.services import payments_reconciliation

    contest = paid_contest()
    lost, refunded_outside = new_ulid(), new_ulid()
    lost_intent = join(lost, contest.contest_id).payment.intent_id
    outside_intent = join(refunded_outside, contest.contest_id).payment.intent_id
    localstripe.pay(localstripe_url, lost_intent)  # its webhook never arrives
    localstripe.pay(localstripe_url, outside_intent)
    requests.post(f"{localstripe_url}/v1/refunds", auth=localstripe.KEY, timeout=10,
                  data={"payment_intent": outside_intent}).raise_for_status()  # "Stripe's dashboard"
    ours = {lost_intent, outside_intent}  # localstripe is shared by the session: other tests' intents are listed too
    report = payments_reconciliation.reconcile_payments(utcnow())
    assert report.repaired == 2 and [found for found in report.differences if found[1] in ours] == []
    assert record(contest.contest_id, lost).entry_status == "active"
    outside = record(contest.contest_id, refunded_outside)
    assert (outside.entry_status, outside.payment_status, outside.refunded_amount) == ("refunded", "refunded",
                                                                                       Decimal("10.00"))
    again = payments_reconciliation.reconcile_payments(utcnow())
    assert again.repaired == 0 and [found for found in again.differences if found[1] in ours] == []
