"""Payments on the single table: the entry's payment fields, seat holds, Stripe event markers.

Keys (docs/technical-specification.md, "Payments"):
  entry item      PK ENTRY#<contestId>#<userId>  SK ENTRY      + paymentIntentId, paymentStatus, paymentAmount,
                  paymentCurrency, refundedAmount, paymentClientSecret, paymentAttempt, holdExpiresAt,
                  paymentUpdatedAt, refundId, refundClaimedAt
  seat hold       PK PAYHOLD#<shard>             SK <holdExpiresAt>#<entryId>   (P3: holds that ran out, by time)
  event marker    PK STRIPEEVENT#<eventId>       SK STRIPEEVENT  (expiresAt: 30 days; P4: each event once)

Every change is ONE TransactWriteItems through the low-level client (numbers stay Decimal): the entry update with
its conditions (expected status, expected PaymentIntent, expected attempt), the contest's seat count when it moves,
the hold's delete, the event marker and the audit event when there is one.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from tickerleague.adapters.dynamodb import entries as entries_table
from tickerleague.adapters.dynamodb import plumbing
from tickerleague.adapters.dynamodb.contests import ContestItem, _join_condition
from tickerleague.clock import epoch_seconds, iso_ms
from tickerleague.config import settings
from tickerleague.domain.payments import PaymentRecord
from tickerleague.errors import ServiceUnavailable

HOLD_SHARDS = 4
EVENT_MARKER_DAYS = 30
TRANSACTION_ATTEMPTS = 10


def hold_key(entry_id: str, hold_expires_at: str) -> dict[str, str]:
    shard = int(hashlib.sha256(entry_id.encode()).hexdigest(), 16) % HOLD_SHARDS
    return {"PK": f"PAYHOLD#{shard}", "SK": f"{hold_expires_at}#{entry_id}"}


def hold_partitions() -> list[str]:
    return [f"PAYHOLD#{shard}" for shard in range(HOLD_SHARDS)]


def event_marker_key(event_id: str) -> dict[str, str]:
    return {"PK": f"STRIPEEVENT#{event_id}", "SK": "STRIPEEVENT"}


def record_from_item(item: dict[str, Any]) -> PaymentRecord | None:
    """The payment of a deserialized entry item, None for an entry of a free contest."""
    if "paymentAmount" not in item:
        return None
    return PaymentRecord(
        entry_id=item["entryId"], contest_id=item["contestId"], user_id=item["userId"], entry_status=item["status"],
        attempt=int(item.get("paymentAttempt", 1)), amount=Decimal(str(item["paymentAmount"])),
        currency=str(item["paymentCurrency"]), intent_id=item.get("paymentIntentId"),
        payment_status=str(item.get("paymentStatus", "requires_payment_method")),
        refunded_amount=Decimal(str(item.get("refundedAmount", "0"))), client_secret=item.get("paymentClientSecret"),
        hold_expires_at=item.get("holdExpiresAt"), updated_at=str(item.get("paymentUpdatedAt") or item["joinedAt"]),
        refund_id=item.get("refundId"), refund_claimed_at=item.get("refundClaimedAt"),
    )


def payment_fields(*, amount: Decimal, currency: str, attempt: int, hold_expires_at: str, now: str) -> dict[str, Any]:
    """What a paid join adds to the entry item (the PaymentIntent is attached right after, see `attach_intent`)."""
    return {
        "paymentAmount": f"{amount:f}", "paymentCurrency": currency, "paymentAttempt": attempt,
        "paymentStatus": "requires_payment_method", "refundedAmount": "0", "holdExpiresAt": hold_expires_at,
        "paymentUpdatedAt": now,
    }


def hold_item(entry_id: str, contest_id: str, user_id: str, attempt: int, hold_expires_at: str) -> dict[str, Any]:
    return {**hold_key(entry_id, hold_expires_at), "type": "paymentHold", "entryId": entry_id,
            "contestId": contest_id, "userId": user_id, "attempt": attempt}


def _table() -> str:
    return settings().table_name


def _attr(item: dict[str, Any]) -> dict[str, Any]:
    return plumbing.to_attribute_map(item)


# ---------------------------------------------------------------------------------------------------- reads
def get_entry_item(contest_id: str, user_id: str) -> dict[str, Any] | None:
    response = plumbing.client().get_item(TableName=_table(), ConsistentRead=True,
                                                Key=_attr(entries_table.entry_key(contest_id, user_id)))
    raw = response.get("Item")
    return plumbing.from_attribute_map(raw) if raw else None


def entry_item_by_id(entry_id: str) -> dict[str, Any] | None:
    marker = plumbing.client().get_item(TableName=_table(), Key=_attr(entries_table.entry_id_marker_key(entry_id)),
                                             ConsistentRead=True).get("Item")
    if not marker:
        return None
    plain = plumbing.from_attribute_map(marker)
    return get_entry_item(plain["contestId"], plain["userId"])


def expired_holds(now: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """Holds whose time ran out, oldest first, from every shard (P3)."""
    found: list[dict[str, Any]] = []
    bound = iso_ms(now)
    for partition in hold_partitions():
        response = plumbing.client().query(
            TableName=_table(), KeyConditionExpression="PK = :pk AND SK < :now",
            ExpressionAttributeValues=_attr({":pk": partition, ":now": bound}), Limit=limit, ConsistentRead=True,
        )
        found += [plumbing.from_attribute_map(raw) for raw in response.get("Items", [])]
    return found


def event_seen(event_id: str) -> bool:
    response = plumbing.client().get_item(TableName=_table(), Key=_attr(event_marker_key(event_id)))
    return bool(response.get("Item"))


# ---------------------------------------------------------------------------------------------------- writes
def attach_intent(contest_id: str, user_id: str, attempt: int, *, intent_id: str, client_secret: str, status: str,
                  now: str) -> bool:
    """Record the PaymentIntent of hold `attempt` (once: False when another join attached one first)."""
    client = plumbing.client()
    try:
        client.update_item(
            TableName=_table(), Key=_attr(entries_table.entry_key(contest_id, user_id)),
            UpdateExpression="SET paymentIntentId = :pi, paymentClientSecret = :secret, paymentStatus = :status, "
                             "paymentUpdatedAt = :now",
            ConditionExpression="paymentAttempt = :attempt AND attribute_not_exists(paymentIntentId)",
            ExpressionAttributeValues=_attr({":pi": intent_id, ":secret": client_secret, ":status": status,
                                             ":now": now, ":attempt": attempt}),
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


Outcome = Literal["applied", "stale", "duplicate_event", "full"]


@dataclass
class PaymentChange:
    """One atomic change of an entry's payment (and what moves with it)."""

    contest_id: str
    user_id: str
    expected_status: str  # the entry's status when it was read
    expected_attempt: int
    expected_intent_id: str | None  # None: the entry must have none
    sets: dict[str, Any] = field(default_factory=dict)  # entry attributes to set
    removes: tuple[str, ...] = ()
    extra_condition: str | None = None  # e.g. "attribute_not_exists(refundClaimedAt)"
    seat_delta: int = 0  # -1 releases the seat, +1 retakes it (only while joinable and not full)
    delete_hold: dict[str, str] | None = None
    event_id: str | None = None
    audit: dict[str, Any] | None = None  # an attribute map (AuditItem.serialize())


def _seat_update(change: PaymentChange) -> dict[str, Any]:
    pk, sk = ContestItem.key(change.contest_id)
    update: dict[str, Any] = {"TableName": _table(), "Key": {"PK": {"S": pk}, "SK": {"S": sk}},
                              "ExpressionAttributeNames": {"#count": "entry_count"}}
    if change.seat_delta > 0:
        condition, names, values = _join_condition()
        update.update({
            "UpdateExpression": "ADD #count :one", "ConditionExpression": condition,
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": {**values, ":one": {"N": "1"}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        })
    else:
        update.update({"UpdateExpression": "ADD #count :minus", "ConditionExpression": "#count > :zero",
                       "ExpressionAttributeValues": {":minus": {"N": "-1"}, ":zero": {"N": "0"}}})
    return {"Update": update}


def _entry_update(change: PaymentChange) -> dict[str, Any]:
    names = {"#status": "status"}
    values: dict[str, Any] = {":expected": change.expected_status, ":attempt": change.expected_attempt}
    conditions = ["#status = :expected", "paymentAttempt = :attempt"]
    if change.expected_intent_id is None:
        conditions.append("attribute_not_exists(paymentIntentId)")
    else:
        conditions.append("paymentIntentId = :pi")
        values[":pi"] = change.expected_intent_id
    if change.extra_condition:
        conditions.append(change.extra_condition)
    sets = []
    for index, (name, value) in enumerate(sorted(change.sets.items())):
        names[f"#s{index}"] = name
        values[f":s{index}"] = value
        sets.append(f"#s{index} = :s{index}")
    expression = "SET " + ", ".join(sets) if sets else ""
    if change.removes:
        removes = []
        for index, name in enumerate(change.removes):
            names[f"#r{index}"] = name
            removes.append(f"#r{index}")
        expression += " REMOVE " + ", ".join(removes)
    return {"Update": {
        "TableName": _table(), "Key": _attr(entries_table.entry_key(change.contest_id, change.user_id)),
        "UpdateExpression": expression.strip(), "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names, "ExpressionAttributeValues": _attr(values),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }}


def _event_put(event_id: str, now: datetime) -> dict[str, Any]:
    marker = {**event_marker_key(event_id), "type": "stripeEvent", "eventId": event_id, "at": iso_ms(now),
              "expiresAt": epoch_seconds(now + timedelta(days=EVENT_MARKER_DAYS))}
    return {"Put": {"TableName": _table(), "Item": _attr(marker), "ConditionExpression": "attribute_not_exists(PK)"}}


def apply(change: PaymentChange, now: datetime) -> Outcome:
    """The change as one transaction. `stale`: the entry moved on since it was read (read again and decide);
    `duplicate_event`: this event id was applied before; `full`: no seat to take back."""
    items: list[dict[str, Any]] = [_entry_update(change)]
    if change.seat_delta:
        items.append(_seat_update(change))
    if change.delete_hold is not None:
        items.append({"Delete": {"TableName": _table(), "Key": _attr(change.delete_hold)}})
    if change.event_id is not None:
        items.append(_event_put(change.event_id, now))
    if change.audit is not None:
        items.append({"Put": {"TableName": _table(), "Item": change.audit,
                              "ConditionExpression": "attribute_not_exists(PK)"}})
    return _transact(items)


def mark_event(event_id: str, now: datetime) -> bool:
    """An event that changes nothing still takes effect once: its marker alone. False when seen before."""
    client = plumbing.client()
    put = _event_put(event_id, now)["Put"]
    try:
        client.put_item(TableName=put["TableName"], Item=put["Item"], ConditionExpression=put["ConditionExpression"])
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def _transact(items: list[dict[str, Any]]) -> Outcome:
    client = plumbing.client()
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=items)
            return "applied"
        except client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons") or []
            outcome = _failure(items, reasons)
            if outcome is not None:
                return outcome
            time.sleep(min(0.3, 0.01 * 2**attempt) * random.random())  # noqa: S311 - jitter, not a secret
    raise ServiceUnavailable("The payment could not be recorded; try again.")


def _item_pk(item: dict[str, Any]) -> str:
    body = next(iter(item.values()))
    key = body.get("Key") or body.get("Item") or {}
    return str(key.get("PK", {}).get("S", ""))


def _failure(items: list[dict[str, Any]], reasons: list[dict[str, Any]]) -> Outcome | None:
    """Which condition failed, by the item's key (never its position alone): None for a conflict to retry."""
    failed = set()
    for index, reason in enumerate(reasons):
        if reason.get("Code") == "ConditionalCheckFailed":
            stored = (reason.get("Item") or {}).get("PK", {}).get("S")
            failed.add((stored or (_item_pk(items[index]) if index < len(items) else "")).split("#", 1)[0])
    if "STRIPEEVENT" in failed:
        return "duplicate_event"
    if "ENTRY" in failed:
        return "stale"
    if "CONTEST" in failed:
        return "full"
    if failed:
        return "stale"
    codes = {reason.get("Code") for reason in reasons}
    if codes <= {"None", "TransactionConflict", None}:
        return None
    raise ServiceUnavailable(f"The payment could not be recorded ({', '.join(sorted(str(c) for c in codes))}).")


def rejoin(contest_id: str, user_id: str, old_attempt: int, *, fields: dict[str, Any], hold: dict[str, Any],
           now: datetime) -> Outcome:
    """A cancelled entry (its hold ran out) joins again: pending_payment with a new attempt, the seat counted again,
    a new hold - one transaction. `full` when no seat is free (or the contest is no longer joinable)."""
    change = PaymentChange(
        contest_id=contest_id, user_id=user_id, expected_status="cancelled", expected_attempt=old_attempt,
        expected_intent_id=None, sets={**fields, "status": "pending_payment", "updatedAt": iso_ms(now)},
        removes=("paymentIntentId", "paymentClientSecret"), seat_delta=1,
    )
    items = [_entry_update(change), _seat_update(change),
             {"Put": {"TableName": _table(), "Item": _attr(hold), "ConditionExpression": "attribute_not_exists(PK)"}}]
    # The cancelled entry still names its old (cancelled) PaymentIntent: the condition expects it, not its absence.
    update = items[0]["Update"]
    update["ConditionExpression"] = "#status = :expected AND paymentAttempt = :attempt"
    update["ExpressionAttributeValues"].pop(":pi", None)
    return _transact(items)


def delete_hold(key: dict[str, str]) -> None:
    """Drop a leftover hold (its entry was resolved by a payment, an event or a rejoin)."""
    plumbing.client().delete_item(TableName=_table(), Key=_attr(key))
