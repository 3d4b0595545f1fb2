"""Users written before the admin tools (issue 11, commit 4c3aeb7) lack the admin list's index keys.

`UserItem.new` sets them on every user created since; `update_profile` moves GSI4 on a display-name change. A
user created earlier is missing from:
  GSI1 USERS#EMAIL#<first char> / <email>                     email-prefix search
  GSI2 USERS / <createdAt>#<userId>                           everyone, newest first
  GSI4 USERS#NAME#<first char> / <casefolded name>#<userId>   display-name prefix search
The keys are built by UserItem's own key builders, so they are the ones a new user would get. Each pair is set
only if it is missing, and only while the attribute it is built from still holds the value read: a concurrent
display-name change (which writes GSI4 itself) is never overwritten with the old name.
"""

from __future__ import annotations

from typing import Any

from tickerleague.adapters.dynamodb.users import ALL_USERS, UserItem

from infra.migrations.base import Item, Migration, ScanFilter, Update


def transform(item: Item) -> Update | None:
    if not (str(item.get("PK", "")).startswith("USER#") and item.get("SK") == "PROFILE"):
        return None
    user_id = item.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        return None
    values: dict[str, Any] = {}
    expect: dict[str, Any] = {}
    absent: list[str] = []
    email = item.get("email")
    if "GSI1PK" not in item and isinstance(email, str) and email:
        values.update(GSI1PK=UserItem.email_partition(email), GSI1SK=email)
        expect["email"] = email
        absent.append("GSI1PK")
    created_at = item.get("created_at")
    if "GSI2PK" not in item and isinstance(created_at, str) and created_at:
        values.update(GSI2PK=ALL_USERS, GSI2SK=f"{created_at}#{user_id}")
        expect["created_at"] = created_at
        absent.append("GSI2PK")
    name = item.get("display_name")
    if "GSI4PK" not in item and isinstance(name, str) and name:
        values.update(GSI4PK=UserItem.name_partition(name.casefold()), GSI4SK=UserItem.name_sort_key(name, user_id))
        expect["display_name"] = name
        absent.append("GSI4PK")
    if not values:
        return None
    return Update(set=values, expect=expect, expect_absent=tuple(absent))


MIGRATION = Migration(
    id="0001",
    description="users: admin search and list keys (GSI1 email prefix, GSI2 newest first, GSI4 name prefix)",
    filter=ScanFilter(
        "begins_with(#pk, :user) AND #sk = :profile AND "
        "(attribute_not_exists(GSI1PK) OR attribute_not_exists(GSI2PK) OR attribute_not_exists(GSI4PK))",
        names={"#pk": "PK", "#sk": "SK"},
        values={":user": "USER#", ":profile": "PROFILE"},
    ),
    transform=transform,
)
