"""Notification items and the reads the sender needs (docs/technical-specification.md, "Notifications").

  marker     PK NOTIFY#<userId>   SK <kind>#<contestId | resetId>
             {status: sending | deferred | sent | unknown, claimId, claimedAt, sentAt?, expiresAt}: one email per
             (user, kind, subject). Written with a condition BEFORE the provider call; `claimId` is the queue
             message that owns the attempt. Only a `deferred` marker (the provider said "not now": nothing was
             sent) may be claimed again, and only by that message's own redelivery; any other message (a duplicated
             event, a re-run fan-out), or a redelivery after an attempt whose outcome was not recorded, finds the
             marker taken and sends nothing.
  entrants   GSI1 GSI1PK = CONTEST#<id>#ENTRIES#<shard>: one page of a shard per fan-out step (userId projected).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from tickerleague.adapters.dynamodb import entries as entries_table
from tickerleague.adapters.dynamodb import plumbing
from tickerleague.config import settings
from tickerleague.domain.notifications import Addressee, Kind, contest_reminders

MARKER_DAYS = 400  # longer than any contest lives, so a late duplicate still finds its marker
SENDING = "sending"
DEFERRED = "deferred"
SENT = "sent"


def marker_key(user_id: str, kind: Kind, subject: str) -> dict[str, str]:
    return {"PK": f"NOTIFY#{user_id}", "SK": f"{kind.value}#{subject}"}


def _client() -> Any:
    return plumbing.client()


def _table() -> str:
    return settings().table_name


def _conditional_failed(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def claim(key: dict[str, str], claim_id: str, now_iso: str, now_epoch: int) -> bool:
    """Take the marker for one attempt: True when it is ours (new, or `deferred` under the same claim)."""
    item = {
        "PK": {"S": key["PK"]}, "SK": {"S": key["SK"]}, "type": {"S": "notifyMarker"},
        "status": {"S": SENDING}, "claimId": {"S": claim_id}, "claimedAt": {"S": now_iso},
        "expiresAt": {"N": str(now_epoch + MARKER_DAYS * 86400)},
    }
    try:
        _client().put_item(
            TableName=_table(), Item=item,
            ConditionExpression="attribute_not_exists(PK) OR (#status = :deferred AND claimId = :claim)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":deferred": {"S": DEFERRED}, ":claim": {"S": claim_id}},
        )
    except ClientError as error:
        if _conditional_failed(error):
            return False
        raise
    return True


def mark_sent(key: dict[str, str], claim_id: str, now_iso: str, status: str = SENT) -> None:
    """The provider accepted the email (or maybe did, status "unknown"): the marker now says so for good, and no
    retry of the same message can claim it again."""
    try:
        _client().update_item(
            TableName=_table(), Key={"PK": {"S": key["PK"]}, "SK": {"S": key["SK"]}},
            UpdateExpression="SET #status = :sent, sentAt = :at",
            ConditionExpression="claimId = :claim",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":sent": {"S": status}, ":at": {"S": now_iso}, ":claim": {"S": claim_id}},
        )
    except ClientError as error:
        if not _conditional_failed(error):
            raise


def defer(key: dict[str, str], claim_id: str) -> None:
    """The provider said "not now" (429/5xx: nothing was sent): this message's redelivery may claim it again."""
    try:
        _client().update_item(
            TableName=_table(), Key={"PK": {"S": key["PK"]}, "SK": {"S": key["SK"]}},
            UpdateExpression="SET #status = :deferred",
            ConditionExpression="claimId = :claim AND #status = :sending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":deferred": {"S": DEFERRED}, ":claim": {"S": claim_id},
                                       ":sending": {"S": SENDING}},
        )
    except ClientError as error:
        if not _conditional_failed(error):
            raise


def release(key: dict[str, str], claim_id: str) -> None:
    """The provider refused for good (nothing was sent): free the identity for a later, corrected attempt."""
    try:
        _client().delete_item(
            TableName=_table(), Key={"PK": {"S": key["PK"]}, "SK": {"S": key["SK"]}},
            ConditionExpression="claimId = :claim AND #status = :sending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":claim": {"S": claim_id}, ":sending": {"S": SENDING}},
        )
    except ClientError as error:
        if not _conditional_failed(error):
            raise


def get_marker(key: dict[str, str]) -> dict[str, Any] | None:
    raw = _client().get_item(TableName=_table(), Key={"PK": {"S": key["PK"]}, "SK": {"S": key["SK"]}},
                             ConsistentRead=True).get("Item")
    return plumbing.from_attribute_map(raw) if raw else None


# ---------------------------------------------------------------------------------------------------- reads
def addressees(user_ids: list[str]) -> dict[str, Addressee]:
    """The users behind a chunk of recipients, read in BatchGetItem calls; deleted users are absent. Each item is
    read as the UserItem that signup and `PATCH /v1/me` write (the one place the attribute names live)."""
    from tickerleague.adapters.dynamodb.users import UserItem

    keys = [dict(zip(("PK", "SK"), UserItem.key(user_id), strict=True)) for user_id in user_ids]
    found = plumbing.batch_get_raw(keys, consistent=False)
    people: dict[str, Addressee] = {}
    for raw in found.values():
        user = UserItem.from_raw_data(raw)
        if not user.user_id or not user.email:
            continue
        people[user.user_id] = Addressee(
            user_id=user.user_id, email=user.email, display_name=user.display_name or "player",
            status=user.status or "active", contest_reminders=contest_reminders(user.contest_reminders),
        )
    return people


@dataclass(frozen=True)
class EntrantPage:
    user_ids: list[str]
    next_key: dict[str, Any] | None  # DynamoDB's LastEvaluatedKey, None on the shard's last page


def entrants_page(contest_id: str, shard: int, limit: int, start_key: dict[str, Any] | None) -> EntrantPage:
    """One page of one shard of a contest's entries (GSI1), eventually consistent: entries do not move shards."""
    request: dict[str, Any] = {
        "TableName": _table(), "IndexName": "GSI1", "Limit": limit,
        "KeyConditionExpression": "GSI1PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": entries_table.contest_entries_partition(contest_id, shard)}},
        "ProjectionExpression": "userId, #type",
        "ExpressionAttributeNames": {"#type": "type"},
    }
    if start_key:
        request["ExclusiveStartKey"] = start_key
    response = _client().query(**request)
    user_ids = [raw["userId"]["S"] for raw in response.get("Items", []) if "userId" in raw]
    return EntrantPage(user_ids, response.get("LastEvaluatedKey"))
