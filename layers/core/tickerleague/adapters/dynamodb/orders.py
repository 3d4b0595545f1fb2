"""Orders, clientOrderId markers and the fill/reserve transaction on the entry item.

Keys (docs/technical-specification.md, O1-O5):
  order              PK ENTRY#<contestId>#<userId>  SK ORDER#<orderId ULID>
                     GSI1 OPENORDERS#<symbol> / <orderId>   only while the order is open (sparse: matching reads it)
  order marker       PK ENTRY#<contestId>#<userId>  SK CLIENTORDER#<clientOrderId>  -> orderId, orderHash
                     or SK CLIENTORDER#key#<sha256(Idempotency-Key)> for an order placed with a key and no
                     clientOrderId (domain/client_orders.py), with expiresAt: it lasts as long as the key

Written with the low-level client and boto3's type (de)serializer, like the entry item, so every number stays a
Decimal. Every state change of a portfolio is ONE TransactWriteItems (`commit`): the entry update, conditioned on
the version that was read (a placement's also SETs the order rate limit's `orderTat`), plus the order put (new) or
replace (open -> filled/cancelled/expired), plus the new order's marker. Cancellation reasons come back in request
order from the low-level client, and the failed items' stored values come back with them
(ReturnValuesOnConditionCheckFailure), so a retry needs no re-read.
An order's lapse time is stored as `lapsesAt`, never `expiresAt`: that is the table's TTL attribute.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from tickerleague.adapters.dynamodb import entries as entries_table
from tickerleague.adapters.dynamodb import plumbing
from tickerleague.adapters.dynamodb.active_symbols import active_symbols, add_active_symbols, replace_active_symbols
from tickerleague.adapters.dynamodb.entries import entries_of_contest
from tickerleague.clock import iso_ms, parse_iso_utc
from tickerleague.config import settings
from tickerleague.domain.changes import CommitResult, Outcome, PlacementSnapshot, PortfolioChange
from tickerleague.domain.client_orders import OrderMarker, fingerprint_of
from tickerleague.domain.entries import Entry
from tickerleague.domain.idempotency import is_live
from tickerleague.domain.portfolio import Portfolio
from tickerleague.domain.quotes import Quote
from tickerleague.domain.trading import Order, Reservation
from tickerleague.errors import ServiceUnavailable

ORDER_PREFIX = "ORDER#"
CLIENT_ORDER_PREFIX = "CLIENTORDER#"
OPEN_ORDERS_PREFIX = "OPENORDERS#"


# ---------------------------------------------------------------------------------------------------- keys
def entry_partition(contest_id: str, user_id: str) -> str:
    return entries_table.entry_key(contest_id, user_id)["PK"]


def order_key(contest_id: str, user_id: str, order_id: str) -> dict[str, str]:
    return {"PK": entry_partition(contest_id, user_id), "SK": f"{ORDER_PREFIX}{order_id}"}


def client_order_key(contest_id: str, user_id: str, client_order_id: str) -> dict[str, str]:
    return {"PK": entry_partition(contest_id, user_id), "SK": f"{CLIENT_ORDER_PREFIX}{client_order_id}"}


def open_orders_partition(symbol: str) -> str:
    return f"{OPEN_ORDERS_PREFIX}{symbol}"


def quote_key(symbol: str) -> dict[str, str]:
    """The latest-quote item of a symbol (Q1), owned by the market-data adapter."""
    from tickerleague.adapters.dynamodb.quotes import LatestQuoteItem

    pk, sk = LatestQuoteItem.key(symbol)
    return {"PK": pk, "SK": sk}


def quote_from_raw(raw: dict[str, Any]) -> Quote:
    from tickerleague.adapters.dynamodb.quotes import LatestQuoteItem

    return LatestQuoteItem.from_raw_data(raw).to_quote()


# ---------------------------------------------------------------------------------------------------- mapping
def _time(raw: Any) -> datetime | None:
    return parse_iso_utc(raw) if raw else None


def order_to_item(order: Order) -> dict[str, Any]:
    """The order item (plain values; `None` attributes are dropped by `to_attribute_map`)."""
    item: dict[str, Any] = {
        **order_key(order.contest_id, order.user_id, order.order_id),
        "type": "order",
        "orderId": order.order_id,
        "contestId": order.contest_id,
        "userId": order.user_id,
        "entryId": order.entry_id,
        "clientOrderId": order.client_order_id,
        "symbol": order.symbol,
        "side": order.side,
        "orderType": order.order_type,
        "quantity": order.quantity,
        "limitPrice": order.limit_price,
        "timeInForce": order.time_in_force,
        "status": order.status,
        "createdAt": iso_ms(order.created_at),
        "filledQuantity": order.filled_quantity,
        "filledPrice": order.filled_price,
        "commission": order.commission,
        "notional": order.notional,
        "filledAt": iso_ms(order.filled_at) if order.filled_at else None,
        "closedAt": iso_ms(order.closed_at) if order.closed_at else None,
        "closeReason": order.close_reason,
        "reservedCash": order.reservation.cash,
        "reservedQuantity": order.reservation.quantity,
        "lapsesAt": iso_ms(order.expires_at) if order.expires_at else None,
        "fillSeq": order.fill_seq,
    }
    if order.quote is not None:
        item.update(quotePrice=order.quote.price, quoteAsOf=iso_ms(order.quote.as_of), quoteSource=order.quote.source)
    if order.is_open:
        item.update(GSI1PK=open_orders_partition(order.symbol), GSI1SK=order.order_id)
    return item


def order_from_item(item: dict[str, Any]) -> Order:
    quote = None
    if item.get("quotePrice") is not None:
        as_of = _time(item.get("quoteAsOf"))
        if as_of is not None:
            quote = Quote(item["symbol"], Decimal(item["quotePrice"]), as_of, str(item.get("quoteSource", "")))
    created = _time(item["createdAt"])
    assert created is not None, "an order always has its creation time"
    return Order(
        order_id=item["orderId"], contest_id=item["contestId"], user_id=item["userId"],
        entry_id=item.get("entryId", ""), symbol=item["symbol"], side=item["side"], order_type=item["orderType"],
        quantity=Decimal(item["quantity"]),
        limit_price=Decimal(item["limitPrice"]) if item.get("limitPrice") is not None else None,
        time_in_force=item["timeInForce"], status=item["status"], created_at=created,
        client_order_id=item.get("clientOrderId"), quote=quote,
        filled_quantity=Decimal(item.get("filledQuantity", 0)),
        filled_price=Decimal(item["filledPrice"]) if item.get("filledPrice") is not None else None,
        commission=Decimal(item["commission"]) if item.get("commission") is not None else None,
        notional=Decimal(item["notional"]) if item.get("notional") is not None else None,
        filled_at=_time(item.get("filledAt")), closed_at=_time(item.get("closedAt")),
        close_reason=item.get("closeReason"),
        reservation=Reservation(cash=Decimal(item.get("reservedCash", 0)),
                                quantity=Decimal(item.get("reservedQuantity", 0))),
        expires_at=_time(item.get("lapsesAt")),
        fill_seq=int(item["fillSeq"]) if item.get("fillSeq") is not None else None,
    )


_table = plumbing.table_name
_client = plumbing.client


# ---------------------------------------------------------------------------------------------------- reads
def batch_get(keys: Sequence[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Consistent reads of any number of keys (see `plumbing.batch_get_raw`): deserialized items by "PK|SK"."""
    return {name: plumbing.from_attribute_map(raw) for name, raw in plumbing.batch_get_raw(keys).items()}


def load_placement(contest_id: str, user_id: str, symbol: str | None, marker: OrderMarker | None, *,
                   now: datetime) -> PlacementSnapshot:
    """Contest, entry, the symbol's latest quote and the new order's marker, in one consistent BatchGetItem (a
    key's marker that has expired counts as absent)."""
    from tickerleague.adapters.dynamodb import contests as contests_table

    contest_pk, contest_sk = contests_table.ContestItem.key(contest_id)
    contest_key = {"PK": contest_pk, "SK": contest_sk}
    entry_key = entries_table.entry_key(contest_id, user_id)
    marker_key = client_order_key(contest_id, user_id, marker.marker_id) if marker else None
    keys = [contest_key, entry_key]
    if symbol:
        keys.append(quote_key(symbol))
    if marker_key:
        keys.append(marker_key)
    raw = plumbing.batch_get_raw(keys)
    contest_raw = raw.get(plumbing.item_name(contest_key))
    entry_raw = raw.get(plumbing.item_name(entry_key))
    quote_raw = raw.get(plumbing.item_name(quote_key(symbol))) if symbol else None
    marker_raw = raw.get(plumbing.item_name(marker_key)) if marker_key else None
    stored = plumbing.from_attribute_map(marker_raw) if marker_raw else {}
    if stored and not _live_marker(stored, now):
        stored = {}
    return PlacementSnapshot(
        contest=contests_table.contest_from_raw(contest_raw) if contest_raw else None,
        entry=entries_table.entry_from_item(plumbing.from_attribute_map(entry_raw)) if entry_raw else None,
        quote=quote_from_raw(quote_raw) if quote_raw else None,
        original_order_id=stored.get("orderId"), original_order_hash=stored.get("orderHash"),
    )


def _live_marker(stored: dict[str, Any], now: datetime) -> bool:
    expires_at = stored.get("expiresAt")
    return is_live(int(expires_at) if expires_at is not None else None, int(now.timestamp()))


def get_entry(contest_id: str, user_id: str) -> Entry | None:
    return entries_table.get_entry(contest_id, user_id, consistent=True)


def get_order(contest_id: str, user_id: str, order_id: str) -> Order | None:
    response = _client().get_item(TableName=_table(), ConsistentRead=True,
                                  Key=plumbing.to_attribute_map(order_key(contest_id, user_id, order_id)))
    raw = response.get("Item")
    return order_from_item(plumbing.from_attribute_map(raw)) if raw else None


def latest_quotes(symbols: Sequence[str]) -> dict[str, Quote]:
    """The latest stored quote of each symbol that has one (one round trip per 100 symbols)."""
    if not symbols:
        return {}
    from tickerleague.adapters.dynamodb import quotes as quotes_table

    return quotes_table.get_latest_many(symbols)


def _query(**kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a query, page after page, deserialized."""
    for response in plumbing.query_pages(kwargs):
        for raw in response.get("Items", []):
            yield plumbing.from_attribute_map(raw)


def list_orders(contest_id: str, user_id: str, *, status: str | None, limit: int,
                start: dict[str, str] | None) -> tuple[list[Order], dict[str, str] | None]:
    """Up to `limit` orders newest first (O1), optionally of one status; the position after the last one returned,
    or None when there are no more. A status filter reads at most a few pages per call, so a page may hold fewer
    than `limit` orders and still carry a cursor."""
    params: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": entry_partition(contest_id, user_id)},
                                      ":prefix": {"S": ORDER_PREFIX}},
        "ScanIndexForward": False,
        "Limit": limit + 1 if status is None else max(2 * limit, 50),
    }
    if status is not None:
        params["FilterExpression"] = "#status = :status"
        params["ExpressionAttributeNames"] = {"#status": "status"}
        params["ExpressionAttributeValues"][":status"] = {"S": status}
    if start:
        params["ExclusiveStartKey"] = plumbing.to_attribute_map(start)
    orders: list[Order] = []
    last: dict[str, Any] | None = None
    for _page, response in zip(range(5), plumbing.query_pages(params), strict=False):
        items = response.get("Items", [])
        last = response.get("LastEvaluatedKey")
        for index, raw in enumerate(items):
            orders.append(order_from_item(plumbing.from_attribute_map(raw)))
            if len(orders) == limit:
                more = index + 1 < len(items) or last is not None
                return orders, _order_position(orders[-1]) if more else None
        if not last:
            return orders, None
    # Five pages scanned without filling the page: go on from where the scan stopped.
    return orders, {name: str(value) for name, value in plumbing.from_attribute_map(last or {}).items()}


def _order_position(order: Order) -> dict[str, str]:
    return order_key(order.contest_id, order.user_id, order.order_id)


def orders_of_entry(contest_id: str, user_id: str, *, open_only: bool = False) -> list[Order]:
    """Every order of one entry, oldest first (reconciliation, contest end)."""
    params: dict[str, Any] = {
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": entry_partition(contest_id, user_id)},
                                      ":prefix": {"S": ORDER_PREFIX}},
        "ConsistentRead": True,
    }
    if open_only:
        params["FilterExpression"] = "#status = :open"
        params["ExpressionAttributeNames"] = {"#status": "status"}
        params["ExpressionAttributeValues"][":open"] = {"S": "open"}
    return [order_from_item(item) for item in _query(**params)]


def open_orders_for_symbol(symbol: str) -> Iterator[Order]:
    """Open orders of a symbol, oldest first (O5; GSI1 is eventually consistent: the fill transaction's condition
    on the order's status is what makes acting on one safe)."""
    for item in _query(IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk",
                       ExpressionAttributeValues={":pk": {"S": open_orders_partition(symbol)}}):
        yield order_from_item(item)


# ---------------------------------------------------------------------------------------------------- the transaction
def _entry_update(change: PortfolioChange, now: datetime) -> dict[str, Any]:
    entry = change.entry
    after = entries_table.entry_to_item(change.entry_after(now))
    names: dict[str, str] = {}
    values: dict[str, Any] = {
        ":cash": after["cash"], ":reservedCash": after["reservedCash"], ":feesPaid": after["feesPaid"],
        ":positions": after["positions"], ":next": after["version"], ":expected": entry.version,
        ":now": iso_ms(now),
    }
    sets = ["cash = :cash", "reservedCash = :reservedCash", "feesPaid = :feesPaid", "positions = :positions",
            "version = :next", "updatedAt = :now"]
    if change.trades_by_day is not None:
        sets.append("tradesByDay = :tradesByDay")
        values[":tradesByDay"] = after["tradesByDay"]
    if change.order_tat_ms is not None:  # the order rate limit, decided on this very version (GCRA)
        sets.append("orderTat = :orderTat")
        values[":orderTat"] = change.order_tat_ms
    conditions = ["version = :expected"]
    if change.require_active:
        conditions.append("#status = :active")
        names["#status"] = "status"
        values[":active"] = "active"
    conditions.extend(_never_negative(entry.portfolio, change.portfolio, names, values))
    update: dict[str, Any] = {
        "TableName": _table(), "Key": plumbing.to_attribute_map(entries_table.entry_key(
            entry.contest_id, entry.user_id)),
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeValues": plumbing.to_attribute_map(values),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if names:
        update["ExpressionAttributeNames"] = names
    return {"Update": update}


def _never_negative(before: Portfolio, after: Portfolio, names: dict[str, str],
                    values: dict[str, Any]) -> list[str]:
    """Belt and braces beside the version condition: the stored cash covers what this change spends, and the
    stored position holds the shares it sells."""
    conditions: list[str] = []
    spent = before.cash - after.cash
    if spent > 0:
        conditions.append("cash >= :spent")
        values[":spent"] = spent
    for index, (symbol, position) in enumerate(sorted(after.positions.items())):
        held = before.positions.get(symbol)
        if held is not None and position.quantity < held.quantity:
            names[f"#sym{index}"] = symbol
            values[f":sold{index}"] = held.quantity - position.quantity
            conditions.append(f"positions.#sym{index}.quantity >= :sold{index}")
    return conditions


def _order_put(order: Order, *, new: bool) -> dict[str, Any]:
    put: dict[str, Any] = {
        "TableName": _table(), "Item": plumbing.to_attribute_map(order_to_item(order)),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if new:
        put["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        put["ConditionExpression"] = "#status = :open"
        put["ExpressionAttributeNames"] = {"#status": "status"}
        put["ExpressionAttributeValues"] = {":open": {"S": "open"}}
    return {"Put": put}


def _marker_put(order: Order, marker: OrderMarker, now: datetime) -> dict[str, Any]:
    """The new order's marker, conditioned on not existing yet (or, for a key's, on having expired)."""
    item: dict[str, Any] = {**client_order_key(order.contest_id, order.user_id, marker.marker_id),
                            "type": "clientOrder", "orderId": order.order_id, "createdAt": iso_ms(order.created_at),
                            "orderHash": fingerprint_of(order)}
    put: dict[str, Any] = {"TableName": _table(), "ConditionExpression": "attribute_not_exists(PK)",
                           "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
    if marker.from_key:
        epoch = int(now.timestamp())
        item["expiresAt"] = epoch + settings().idempotency_ttl_seconds
        put["ConditionExpression"] = "attribute_not_exists(PK) OR expiresAt <= :now"
        put["ExpressionAttributeValues"] = {":now": {"N": str(epoch)}}
    put["Item"] = plumbing.to_attribute_map(item)
    return {"Put": put}


def commit(change: PortfolioChange, order: Order, *, new_order: bool, now: datetime,
           marker: OrderMarker | None = None) -> CommitResult:
    """ONE TransactWriteItems: the entry update (version + never-negative conditions), the order put (a new order:
    attribute_not_exists; a closing one: still open), and the marker of a new order that has one (its
    clientOrderId's or its Idempotency-Key's: `domain.client_orders.order_marker`).
    Never raises for a lost race: the outcome says what happened and carries the fresh values it got back.
    Each call carries a fresh ClientRequestToken: botocore resends the same request (and token) when an answer is
    lost, and DynamoDB then answers the first outcome instead of applying the change twice."""
    items = [_entry_update(change, now), _order_put(order, new=new_order)]
    roles = ["entry", "order"]
    if new_order and marker is not None:
        items.append(_marker_put(order, marker, now))
        roles.append("marker")
    client = _client()
    try:
        client.transact_write_items(TransactItems=items, ClientRequestToken=uuid.uuid4().hex)
    except client.exceptions.TransactionCanceledException as error:
        return _cancelled(error.response.get("CancellationReasons") or [], roles)
    return CommitResult(Outcome.COMMITTED, entry=change.entry_after(now))


def _cancelled(reasons: list[dict[str, Any]], roles: list[str]) -> CommitResult:
    failed: dict[str, dict[str, Any]] = {}
    for role, reason in zip(roles, reasons, strict=False):
        code = reason.get("Code")
        if code == "ConditionalCheckFailed":
            failed[role] = reason.get("Item") or {}
        elif code not in (None, "None", "TransactionConflict"):
            raise ServiceUnavailable(f"The order could not be saved ({code}); try again.")
    if "marker" in failed:
        stored = plumbing.from_attribute_map(failed["marker"]) if failed["marker"] else {}
        return CommitResult(Outcome.DUPLICATE, original_order_id=stored.get("orderId"),
                            original_order_hash=stored.get("orderHash"))
    if "order" in failed:
        stored = failed["order"]
        return CommitResult(Outcome.ORDER_CHANGED,
                            order=order_from_item(plumbing.from_attribute_map(stored)) if stored else None)
    if "entry" in failed:
        stored = failed["entry"]
        if not stored:
            return CommitResult(Outcome.STALE_ENTRY)
        return CommitResult(Outcome.STALE_ENTRY,
                            entry=entries_table.entry_from_item(plumbing.from_attribute_map(stored)))
    return CommitResult(Outcome.CONFLICT)


def load_order(contest_id: str, user_id: str, order_id: str) -> tuple[Order | None, Entry | None]:
    """An order and its entry in one consistent BatchGetItem (cancel, fill, expire)."""
    order_item_key = order_key(contest_id, user_id, order_id)
    entry_key = entries_table.entry_key(contest_id, user_id)
    found = batch_get([order_item_key, entry_key])
    order_item, entry_item = found.get(plumbing.item_name(order_item_key)), found.get(plumbing.item_name(entry_key))
    return (order_from_item(order_item) if order_item else None,
            entries_table.entry_from_item(entry_item) if entry_item else None)


class OrderTable:
    """The stores the order use cases declare (`services.ports.OrderStore`, and matching's and reconciliation's
    `MatchingStore` and `ReconciliationStore`, which add the active-symbol set and the entry scans) over the table."""

    load_placement = staticmethod(load_placement)
    get_entry = staticmethod(get_entry)
    get_order = staticmethod(get_order)
    load_order = staticmethod(load_order)
    latest_quotes = staticmethod(latest_quotes)
    commit = staticmethod(commit)
    add_active_symbols = staticmethod(add_active_symbols)
    list_orders = staticmethod(list_orders)
    orders_of_entry = staticmethod(orders_of_entry)
    open_orders_for_symbol = staticmethod(open_orders_for_symbol)
    entries_of_contest = staticmethod(entries_of_contest)
    active_symbols = staticmethod(active_symbols)
    replace_active_symbols = staticmethod(replace_active_symbols)
