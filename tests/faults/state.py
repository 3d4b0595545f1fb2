"""What the table holds, read around the code (a scan of the moto table): the reconciliations the fault tests
assert after every fault and every retry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def items(prefix: str = "") -> list[dict[str, Any]]:
    import boto3
    from tickerleague.adapters.dynamodb.entries import from_attribute_map
    from tickerleague.config import settings

    client = boto3.client("dynamodb", region_name="us-east-1")
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": settings().table_name}
    while True:
        page = client.scan(**kwargs)
        found += [from_attribute_map(raw) for raw in page.get("Items", [])]
        if not page.get("LastEvaluatedKey"):
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return [item for item in found if str(item["PK"]).startswith(prefix)]


def entries(contest_id: str) -> list[dict[str, Any]]:
    return [item for item in items(f"ENTRY#{contest_id}#") if item["SK"] == "ENTRY"]


def entry_markers(contest_id: str) -> list[dict[str, Any]]:
    return [item for item in items("ENTRYID#") if item.get("contestId") == contest_id]


def holds(contest_id: str) -> list[dict[str, Any]]:
    return [item for item in items("PAYHOLD#") if item.get("contestId") == contest_id]


def entry_count(contest_id: str) -> int:
    from tickerleague.adapters.dynamodb import contests as repo

    contest = repo.get(contest_id, consistent=True)
    assert contest is not None
    return contest.entry_count


def seats_reconcile(contest_id: str) -> None:
    """The contest's count is exactly its seat-holding entries (active, or pending a payment), each with its one
    entry-id marker, and every pending entry holds exactly one seat hold."""
    stored = entries(contest_id)
    seated = [item for item in stored if item["status"] in ("active", "pending_payment")]
    assert entry_count(contest_id) == len(seated), (entry_count(contest_id), [i["status"] for i in stored])
    markers = {item["PK"].split("#", 1)[1] for item in entry_markers(contest_id)}
    assert markers == {str(item["entryId"]) for item in stored}
    pending = {item["PK"] for item in stored if item["status"] == "pending_payment"}
    assert len(holds(contest_id)) == len(pending)


def entry(contest_id: str, user_id: str) -> dict[str, Any]:
    found = [item for item in entries(contest_id) if item["PK"] == f"ENTRY#{contest_id}#{user_id}"]
    assert len(found) == 1
    return found[0]


def money(value: Any) -> Decimal:
    return Decimal(str(value))
