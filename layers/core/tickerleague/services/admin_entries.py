"""Operators' view of a contest's entries: each with its player and its payment (or null for a free entry).

The payment attributes belong to the payments capability (`paymentIntentId`, `paymentStatus`, `paymentAmount`,
`paymentCurrency`, `refundedAmount` on the entry item); they are read defensively, so an entry without them is free.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tickerleague.errors import NotFound
from tickerleague.ids import is_ulid


@dataclass(frozen=True)
class EntryUser:
    id: str
    email: str | None
    display_name: str


@dataclass(frozen=True)
class EntryPayment:
    payment_intent_id: str | None
    status: str | None
    amount: str | None
    currency: str | None
    refunded_amount: str | None


@dataclass(frozen=True)
class AdminEntry:
    id: str
    contest_id: str
    user_id: str
    status: str
    cash: Decimal
    joined_at: str
    user: EntryUser
    payment: EntryPayment | None


@dataclass(frozen=True)
class AdminEntryPage:
    entries: list[AdminEntry]
    after: str | None


PAYMENT_ATTRIBUTES = ("paymentIntentId", "paymentStatus", "paymentAmount", "paymentCurrency", "refundedAmount")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def payment_of(item: dict[str, Any]) -> EntryPayment | None:
    if not any(item.get(name) is not None for name in PAYMENT_ATTRIBUTES):
        return None
    return EntryPayment(payment_intent_id=_text(item.get("paymentIntentId")), status=_text(item.get("paymentStatus")),
                        amount=_text(item.get("paymentAmount")), currency=_text(item.get("paymentCurrency")),
                        refunded_amount=_text(item.get("refundedAmount")))


def list_entries(contest_id: str, *, status: str | None, limit: int, after: str | None) -> AdminEntryPage:
    """One page: the contest read (404), one query per entry shard, one BatchGetItem of the players."""
    from tickerleague.adapters.dynamodb import admin_entries, contests
    from tickerleague.adapters.dynamodb.plumbing import batch_get_raw, from_attribute_map
    from tickerleague.adapters.dynamodb.users import UserItem

    if not is_ulid(contest_id) or contests.get(contest_id) is None:
        raise NotFound("No such contest.")
    rows = admin_entries.contest_entries(contest_id, status=status, limit=limit, after=after)
    keys = [dict(zip(("PK", "SK"), UserItem.key(str(item["userId"])), strict=True)) for item in rows.items]
    users = {name: from_attribute_map(raw) for name, raw in batch_get_raw(keys, consistent=False).items()}
    entries = []
    for item in rows.items:
        user_id = str(item["userId"])
        pk, sk = UserItem.key(user_id)
        user = users.get(f"{pk}|{sk}", {})
        entries.append(AdminEntry(
            id=str(item["entryId"]), contest_id=str(item["contestId"]), user_id=user_id, status=str(item["status"]),
            cash=Decimal(item["cash"]), joined_at=str(item["joinedAt"]),
            user=EntryUser(id=user_id, email=_text(user.get("email")),
                           display_name=str(user.get("display_name") or item.get("displayName") or "")),
            payment=payment_of(item),
        ))
    return AdminEntryPage(entries, rows.after)
