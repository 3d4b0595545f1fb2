"""The single table: base model, the overloaded GSIs (GSI1, GSI2, GSI4), Decimal attributes, transactions.

Every PynamoDB entity subclasses `BaseItem` and owns its key builders (`key(...)` classmethods); the modules written
with the low-level client (entries, orders, leaderboard) own theirs, and `plumbing` holds what they share.
The table name and endpoint come from `tickerleague.config`; `bind_table()` re-points every model (tests use it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, ClassVar

from pynamodb.attributes import Attribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.constants import NUMBER
from pynamodb.exceptions import TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from tickerleague.config import settings


class DecimalAttribute(Attribute[Decimal]):
    """A DynamoDB number kept as `Decimal` both ways (PynamoDB's NumberAttribute goes through float)."""

    attr_type = NUMBER

    def serialize(self, value: Decimal) -> str:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise TypeError(f"DecimalAttribute needs a finite Decimal, got {value!r}")
        return f"{value:f}"

    def deserialize(self, value: str) -> Decimal:
        return Decimal(value)


class GSI1(GlobalSecondaryIndex["BaseItem"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class GSI2(GlobalSecondaryIndex["BaseItem"]):
    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class GSI4(GlobalSecondaryIndex["BaseItem"]):
    """Admin: audit events by action, users by display-name prefix (sparse: only items that set GSI4PK)."""

    class Meta:
        index_name = "GSI4"
        projection = AllProjection()

    GSI4PK = UnicodeAttribute(hash_key=True)
    GSI4SK = UnicodeAttribute(range_key=True)


class BaseItem(Model):
    """Keys shared by every item of the table. Subclasses add their attributes and key builders."""

    class Meta:
        table_name = "tickerleague-local"
        region = "us-east-1"
        host: str | None = None
        max_retry_attempts = 3
        connect_timeout_seconds = 2
        read_timeout_seconds = 5

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    GSI4PK = UnicodeAttribute(null=True)
    GSI4SK = UnicodeAttribute(null=True)
    expiresAt = NumberAttribute(null=True)

    # Every index is declared here, on the base: a model imported after `bind_table` shares the base's connection,
    # whose schema must then know every index a model queries.
    gsi1: ClassVar[GSI1] = GSI1()
    gsi2: ClassVar[GSI2] = GSI2()
    gsi4: ClassVar[GSI4] = GSI4()

    _bound_to: ClassVar[tuple[str, str | None, str] | None] = None


def _all_models(cls: type[Model] = BaseItem) -> Iterator[type[Model]]:
    yield cls
    for subclass in cls.__subclasses__():
        yield from _all_models(subclass)


def bind_table(table_name: str | None = None, host: str | None = None, region: str | None = None) -> None:
    """Point every model at the configured table (or the given one). Cheap when nothing changed."""
    config = settings()
    target = (table_name or config.table_name, host if host is not None else config.dynamodb_endpoint,
              region or config.region)
    if BaseItem._bound_to == target:
        return
    BaseItem.Meta.table_name, BaseItem.Meta.host, BaseItem.Meta.region = target
    for model in _all_models():
        model._connection = None
    BaseItem._bound_to = target


def connection() -> Connection:
    bind_table()
    table_connection = BaseItem._get_connection()
    return table_connection.connection


@contextmanager
def transaction(client_request_token: str | None = None) -> Iterator[TransactWrite]:
    """One TransactWriteItems; on exit it commits. `client_request_token` makes a retried commit a no-op (10 min)."""
    with TransactWrite(connection=connection(), client_request_token=client_request_token) as tx:
        yield tx


def failed_items(error: TransactWriteError) -> list[dict[str, Any]]:
    """The stored items whose condition failed, as raw DynamoDB maps (write them with `return_values="ALL_OLD"`).

    PynamoDB groups a transaction's items by operation, so positions do not match the order they were added in:
    read WHICH item failed from its key (`item["PK"]["S"]`, `item["SK"]["S"]`), never from its position.
    """
    return [
        reason.raw_item
        for reason in (error.cancellation_reasons or [])
        if reason is not None and reason.code == "ConditionalCheckFailed" and reason.raw_item
    ]
