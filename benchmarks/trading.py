"""Trading routes: DynamoDB round trips per route, and order placements per second on one entry.

    .venv/bin/python -m benchmarks.trading                               # starts its own DynamoDB Local
    .venv/bin/python -m benchmarks.trading --endpoint http://127.0.0.1:8000 --orders 300

1. Round trips: every trading handler runs in-process with a synthetic API Gateway event; DynamoDB calls are
   counted with botocore `before-call` hooks on every session (boto3's and PynamoDB's), as in
   benchmarks/contest_roundtrips.py. The design's budget: placing a market order <= 3, the portfolio <= 2. The
   rows run in order in one container, so they show what it remembers between placements
   (services/placement_memory.py) and what the market's quote cache holds.
2. Throughput on ONE entry, one thread, against DynamoDB Local, in the same run:
   - the route: `POST /v1/contests/{id}/orders` (market buy, clientOrderId), handler and all;
   - the same route with the per-caller rate limit on (RATE_LIMIT_ENABLED=1, a bucket too large to refuse): the
     limiter's cost; the order bucket is GCRA on the entry inside the order's own transaction (services/orders.py),
     so no call of its own;
   - the service call alone (no HTTP parsing);
   - the service call with the placement memory off (PLACEMENT_MEMORY_SECONDS=0: every placement reads first);
   - a bare TransactWriteItems of the same three items (entry update with its version condition, order put,
     clientOrderId marker put), prepared before the clock starts: the floor of what one placement can cost.
   - the two ways of limiting orders, on bare transactions: the bucket's UpdateItem as a fourth item of the
     order's own TransactWriteItems (no extra round trip), and the same transaction followed by the limiter's own
     conditional UpdateItem (what the route did before the bucket moved into the entry; http/rate_limit.py still
     does it for placements refused before their transaction);
   The series run interleaved (one of each per round), so they share the machine's load and the JVM's
   warm-up. The ratio to the bare transaction is reported (goal >= 0.7). Times depend on the machine; they are
   measured, never asserted.
Exit status 1 when a round-trip budget is broken.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from benchmarks._support import (
    ROOT,
    CallCounter,
    RouteMeter,
    create_table,
    dynamodb_local,
    install,
    set_environment,
    trips_table,
)

BUDGETS = {"POST /v1/contests/{id}/orders": 3, "GET /v1/contests/{id}/portfolio": 2}  # label prefix -> round trips


def _environment(endpoint: str) -> None:
    set_environment("tl-bench-trading", endpoint)
    os.environ["QUOTES_PROVIDER"] = "simulated"
    os.environ["MARKET_CALENDAR"] = "24x7"


def _world() -> Any:
    from tickerleague.clock import utcnow

    from tests.support.trading import make_world

    return replace(make_world(), now=utcnow())


def _event(method: str, template: str, contest_id: str, caller: Any, order_id: str | None = None,
           **kwargs: Any) -> dict[str, Any]:
    from tests.support.events import api_event

    params = {"contestId": contest_id, **({"orderId": order_id} if order_id else {})}
    path = template.replace("{contestId}", contest_id).replace("{orderId}", order_id or "")
    return api_event(method, path, resource=template, path_params=params, caller=caller, **kwargs)


def round_trips(counter: Any) -> list[tuple[str, Counter[str]]]:
    from tickerleague.clock import utcnow
    from tickerleague.services import portfolio as portfolio_service

    from functions import entries, orders
    from tests.support.events import Caller

    world = _world()
    contest = world.contest()
    world.join(contest, "bench-player")
    world.quote("AAPL", "187.43")
    world.quote("MSFT", "401.17")
    player = Caller("bench-player")
    cid = contest.contest_id
    meter = RouteMeter(counter)
    measure = meter.measure
    orders_path, order_path = "/v1/contests/{contestId}/orders", "/v1/contests/{contestId}/orders/{orderId}"

    buy = {"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "market"}
    measure("POST /v1/contests/{id}/orders (first order: nothing remembered, first buy of a symbol)", orders.place,
            _event("POST", orders_path, cid, player, body=buy), 201)
    measure("POST /v1/contests/{id}/orders (market, entry remembered, quote not cached yet)", orders.place,
            _event("POST", orders_path, cid, player, body={**buy, "clientOrderId": "bench-1"}), 201)
    measure("POST /v1/contests/{id}/orders (same clientOrderId again)", orders.place,
            _event("POST", orders_path, cid, player, body={**buy, "clientOrderId": "bench-1"}), 200)
    measure("POST /v1/contests/{id}/orders (market sell)", orders.place,
            _event("POST", orders_path, cid, player, body={**buy, "side": "sell"}), 201)
    opened = measure("POST /v1/contests/{id}/orders (limit, opens and reserves)", orders.place,
                     _event("POST", orders_path, cid, player,
                            body={**buy, "type": "limit", "limitPrice": "1.00", "timeInForce": "gtc"}), 201)
    measure("POST /v1/contests/{id}/orders (refused: insufficient shares, checked on a fresh read)", orders.place,
            _event("POST", orders_path, cid, player, body={**buy, "side": "sell", "quantity": "1000"}), 422)
    measure("GET /v1/contests/{id}/orders", orders.list_orders, _event("GET", orders_path, cid, player), 200)
    measure("GET /v1/contests/{id}/orders/{orderId}", orders.get,
            _event("GET", order_path, cid, player, order_id=opened["id"]), 200)
    measure("DELETE /v1/contests/{id}/orders/{orderId}", orders.cancel,
            _event("DELETE", order_path, cid, player, order_id=opened["id"]), 200)
    measure("POST /v1/contests/{id}/orders (second symbol, after the cancel made it read again)", orders.place,
            _event("POST", orders_path, cid, player, body={**buy, "symbol": "MSFT"}), 201)
    measure("GET /v1/contests/{id}/portfolio", entries.portfolio,
            _event("GET", "/v1/contests/{contestId}/portfolio", cid, player), 200)
    with counter.measure() as counted:
        portfolio_service.get_portfolio(_principal("bench-player"), cid, utcnow())
    meter.rows.append(("services.portfolio.get_portfolio (what the route will call)", counted))
    return meter.rows


def _principal(user_id: str) -> Any:
    from tickerleague.http.principal import Principal

    return Principal(user_id=user_id, role="user", session_id="bench")


def _bare_transactions(world: Any, contest: Any, user_id: str, count: int) -> list[list[dict[str, Any]]]:
    """The same three items a market buy with a clientOrderId writes, for `count` consecutive buys."""
    from tickerleague.adapters.dynamodb import orders as orders_table
    from tickerleague.domain.client_orders import order_marker
    from tickerleague.domain.trading import OrderRequest, decide_placement
    from tickerleague.ids import new_ulid
    from tickerleague.services.orders import _new_order

    entry = world.entry(contest, user_id)
    quote = world.provider.quotes["AAPL"]
    payloads = []
    for _ in range(count):
        request = OrderRequest("AAPL", "buy", Decimal(1), "market", client_order_id=uuid.uuid4().hex)
        marker = order_marker(request.client_order_id, None)
        assert marker is not None
        placement = decide_placement(request, contest.rules, entry.portfolio, quote_price=quote.price,
                                     trades_by_day=entry.trades_by_day or {}, session_day=world.now.date(),
                                     prices={})
        order = _new_order(entry, request, status=placement.status, quote=quote, fill=placement.fill, now=world.now,
                           calendar=world.ports.calendar, order_id=new_ulid())
        change = orders_table.PortfolioChange(entry, placement.portfolio, trades_by_day=placement.trades_by_day)
        payloads.append([orders_table._entry_update(change, world.now), orders_table._order_put(order, new=True),
                         orders_table._marker_put(order, marker, world.now)])
        entry = replace(entry, portfolio=placement.portfolio, version=entry.version + 1,
                        trades_by_day=placement.trades_by_day)
    return payloads


def throughput(count: int) -> list[tuple[str, float]]:
    from tickerleague.adapters.dynamodb.plumbing import client
    from tickerleague.clock import utcnow
    from tickerleague.config import settings
    from tickerleague.domain.trading import OrderRequest
    from tickerleague.services.orders import default_ports, place_order

    from functions import orders
    from tests.support.events import Caller, call

    world = _world()
    contest = world.contest(starting_cash="10000000.00")
    for user in ("route", "limited", "service", "reading", "bare", "inside", "separate"):
        world.join(contest, user)
    world.quote("AAPL", "10.00")
    caller, limited_caller = Caller("route"), Caller("limited")
    os.environ["RATE_LIMIT_ORDERS_BURST"] = str(10 * count)  # measure the cost, never a refusal

    def route(index: int, who: Any = caller, limits: str = "0") -> None:
        os.environ["RATE_LIMIT_ENABLED"] = limits  # both route series pay the same settings rebuild
        settings.cache_clear()
        body = {"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "market", "clientOrderId": f"r{index}"}
        answer = call(orders.place, _event("POST", "/v1/contests/{contestId}/orders", contest.contest_id, who,
                                           body=body))
        assert answer.status == 201, answer.body
        assert ("RateLimit-Limit" in answer.headers) == (limits == "1"), answer.headers

    def limited(index: int) -> None:
        route(index, limited_caller, "1")

    ports = default_ports()
    reading_ports = replace(ports, memory=None)

    def service(index: int, user: str = "service", prefix: str = "s", with_ports: Any = ports) -> None:
        request = OrderRequest("AAPL", "buy", Decimal(1), "market", client_order_id=f"{prefix}{index}")
        place_order(_principal(user), contest.contest_id, request, utcnow(), with_ports)

    def reading(index: int) -> None:
        service(index, "reading", "n", reading_ports)

    for warm in range(3):  # warm clients, caches and imports
        route(-1 - warm)
        limited(-1 - warm)
        service(-1 - warm)
        reading(-1 - warm)
    payloads = _bare_transactions(world, contest, "bare", count)
    inside = _bare_transactions(world, contest, "inside", count)
    separate = _bare_transactions(world, contest, "separate", count)
    dynamodb = client()
    from tickerleague.adapters.dynamodb import rate_limit
    from tickerleague.domain.rate_limit import Bucket

    bucket = Bucket("orders", 10 * count, Decimal(1))

    def bucket_inside(index: int) -> None:
        now = int(time.time() * 1000)
        update = rate_limit._write(bucket, rate_limit.bucket_key(bucket, "inside"), now, idle=False)
        update.pop("ReturnValues")  # not allowed in a transaction; the failure's ALL_OLD still is
        dynamodb.transact_write_items(TransactItems=[*inside[index], {"Update": update}],
                                      ClientRequestToken=uuid.uuid4().hex)

    def bucket_separate(index: int) -> None:
        assert rate_limit.take(bucket, "separate", int(time.time() * 1000)).allowed
        dynamodb.transact_write_items(TransactItems=separate[index], ClientRequestToken=uuid.uuid4().hex)

    rate_limit.take(bucket, "inside", int(time.time() * 1000))  # the bucket's first (idle) write, off the clock

    steps: list[tuple[str, Callable[[int], Any]]] = [
        ("POST /v1/contests/{id}/orders (handler)", route),
        ("POST /v1/contests/{id}/orders (handler), rate limits on", limited),
        ("services.orders.place_order (no HTTP)", service),
        ("services.orders.place_order, memory off (reads first)", reading),
        ("bare TransactWriteItems + the order bucket's UpdateItem inside it (4 items)", bucket_inside),
        ("bare TransactWriteItems, then the order bucket's own UpdateItem", bucket_separate),
        ("bare TransactWriteItems, same 3 items",
         lambda index: dynamodb.transact_write_items(TransactItems=payloads[index],
                                                     ClientRequestToken=uuid.uuid4().hex)),
    ]
    spent = [0.0] * len(steps)
    for index in range(count):  # interleaved, so every series sees the same machine and the same warm JVM
        for position, (_, step) in enumerate(steps):
            started = time.perf_counter()
            step(index)
            spent[position] += time.perf_counter() - started
    os.environ["RATE_LIMIT_ENABLED"] = "0"
    settings.cache_clear()
    rates = [(label, count / seconds) for (label, _), seconds in zip(steps, spent, strict=True)]
    return rates


def rates_table(rates: list[tuple[str, float]]) -> str:
    bare = rates[-1][1]
    lines = ["| one entry, one thread, DynamoDB Local | placements/s | vs bare transaction |", "|---|---:|---:|"]
    for label, rate in rates:
        lines.append(f"| {label} | {rate:.1f} | {rate / bare:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", help="a running DynamoDB Local; default: start one")
    parser.add_argument("--orders", type=int, default=200, help="placements per throughput series")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    with dynamodb_local(args.endpoint) as endpoint:
        _environment(endpoint)
        counter = CallCounter()
        install(counter)
        create_table()
        trips = round_trips(counter)
        rates = throughput(args.orders)
    out(trips_table(trips, "trading route"))
    out("")
    out(rates_table(rates))
    broken = [label for label, counted in trips for prefix, budget in BUDGETS.items()
              if label.startswith(prefix) and sum(counted.values()) > budget]
    if broken:
        out(f"\nover budget: {', '.join(broken)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
