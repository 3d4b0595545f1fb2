"""The active-symbols set: every symbol bought or ordered in a contest, which the quote refresh and matching jobs
look after (market data), read in one GetItem.

Key: PK SYMBOLS#ACTIVE, SK SYMBOLS; a string set `symbols` and a revision counter `rev` (reconciliation prunes the
set with a condition on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tickerleague.adapters.dynamodb import plumbing

ACTIVE_SYMBOLS_KEY = {"PK": "SYMBOLS#ACTIVE", "SK": "SYMBOLS"}


def active_symbols() -> tuple[set[str], int]:
    """The symbols the quote refresh and matching jobs look after, and the set's revision."""
    response = plumbing.client().get_item(TableName=plumbing.table_name(), ConsistentRead=True,
                                  Key=plumbing.to_attribute_map(ACTIVE_SYMBOLS_KEY))
    raw = response.get("Item")
    if not raw:
        return set(), 0
    item = plumbing.from_attribute_map(raw)
    return {str(symbol) for symbol in item.get("symbols") or set()}, int(item.get("rev", 0))


def add_active_symbols(symbols: Sequence[str]) -> None:
    """ADD to the set: idempotent and commutative, so concurrent writers never conflict."""
    if not symbols:
        return
    plumbing.client().update_item(
        TableName=plumbing.table_name(), Key=plumbing.to_attribute_map(ACTIVE_SYMBOLS_KEY),
        UpdateExpression="ADD symbols :symbols, rev :one",
        ExpressionAttributeValues={":symbols": {"SS": sorted(set(symbols))}, ":one": {"N": "1"}},
    )


def replace_active_symbols(symbols: set[str], expected_rev: int) -> bool:
    """Set the whole set (reconciliation's prune) unless it changed since it was read; False when it did."""
    client = plumbing.client()
    values: dict[str, Any] = {":rev": {"N": str(expected_rev)}, ":one": {"N": "1"}}
    if symbols:
        expression = "SET symbols = :symbols, rev = if_not_exists(rev, :zero) + :one"
        values[":symbols"] = {"SS": sorted(symbols)}
    else:
        expression = "REMOVE symbols SET rev = if_not_exists(rev, :zero) + :one"
    values[":zero"] = {"N": "0"}
    try:
        client.update_item(
            TableName=plumbing.table_name(), Key=plumbing.to_attribute_map(ACTIVE_SYMBOLS_KEY),
            UpdateExpression=expression, ExpressionAttributeValues=values,
            ConditionExpression="attribute_not_exists(rev) OR rev = :rev",
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True
