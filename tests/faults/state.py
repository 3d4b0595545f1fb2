"""What the table holds, read around the code with queries (the module's table keeps every test's items, so a scan
would grow with the run): the reconciliations the fault tests assert after every fault and every retry."""

from __future__ import annotations

from typing import Any


def _query(**kwargs: Any) -> list[dict[str, Any]]:
    import boto3
    from tickerleague.adapters.dynamodb.entries import from_attribute_map
    from tickerleague.config import settings

    client = boto3.client("dynamodb", region_name="us-east-1")
    kwargs = {"TableName": settings().table_name, **kwargs}
    found: list[dict[str, Any]] = []
    while True:
        page = client.query(**kwargs)
        found += [from_attribute_map(raw) for raw in page.get("Items", [])]
        if not page.get("LastEvaluatedKey"):
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def partition(pk: str) -> list[dict[str, Any]]:
    return _query(KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": pk}}, ConsistentRead=True)


def entries(contest_id: str) -> list[dict[str, Any]]:
    """Every entry of the contest (GSI1, one partition per shard; the index projects whole items)."""
    from tickerleague.adapters.dynamodb.entries import contest_entries_partition
    from tickerleague.config import settings

    found: list[dict[str, Any]] = []
    for shard in range(settings().entry_shards):
        found += _query(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": {"S": contest_entries_partition(contest_id, shard)}},
        )
    return [item for item in found if item.get("type") == "entry"]


def holds(contest_id: str) -> list[dict[str, Any]]:
    from tickerleague.adapters.dynamodb.payments import hold_partitions

    return [item for pk in hold_partitions() for item in partition(pk) if item.get("contestId") == contest_id]


def entry_count(contest_id: str) -> int:
    from tickerleague.adapters.dynamodb import contests as repo

    contest = repo.get(contest_id, consistent=True)
    assert contest is not None
    return contest.entry_count


def seats_reconcile(contest_id: str) -> None:
    """The contest's count is exactly its seat-holding entries (active, pending a payment, or refunded by us after
    they were active: a refund keeps the seat), each with its one entry-id marker, and every pending entry holds
    exactly one seat hold."""
    stored = entries(contest_id)
    seated = [
        item
        for item in stored
        if item["status"] in ("active", "pending_payment")
        or (item["status"] == "refunded" and "refundClaimedAt" in item)
    ]
    assert entry_count(contest_id) == len(seated), (entry_count(contest_id), [i["status"] for i in stored])
    for item in stored:
        (marker,) = partition(f"ENTRYID#{item['entryId']}")
        assert (marker["contestId"], marker["userId"]) == (contest_id, item["userId"])
    pending = [item for item in stored if item["status"] == "pending_payment"]
    assert len(holds(contest_id)) == len(pending)


def entry(contest_id: str, user_id: str) -> dict[str, Any]:
    (found,) = partition(f"ENTRY#{contest_id}#{user_id}")
    return found


def contest_item(contest_id: str) -> dict[str, Any]:
    (found,) = [item for item in partition(f"CONTEST#{contest_id}") if item["SK"] == "CONTEST"]
    return found
