"""The order and market-data routes in-process, as API Gateway would call them: status codes, the envelope and the
exact wire shape (decimal strings, ISO times with Z, nulls)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from tickerleague.clock import utcnow

from functions import orders, stocks
from tests.support.events import Caller, HttpAnswer, api_event, call
from tests.support.trading import World

ALICE = Caller("alice")
BOB = Caller("bob")


@pytest.fixture
def live(world: World) -> World:
    """The routes use the real clock: contests and quotes are made around now."""
    return replace(world, now=utcnow())


def place(contest_id: str, body: Any, caller: Caller | None = ALICE, raw: str | None = None) -> HttpAnswer:
    return call(
        orders.place,
        api_event(
            "POST",
            f"/v1/contests/{contest_id}/orders",
            resource="/v1/contests/{contestId}/orders",
            body=body,
            raw_body=raw,
            path_params={"contestId": contest_id},
            caller=caller,
        ),
    )


def listing(contest_id: str, caller: Caller = ALICE, **query: str) -> HttpAnswer:
    return call(
        orders.list_orders,
        api_event(
            "GET",
            f"/v1/contests/{contest_id}/orders",
            resource="/v1/contests/{contestId}/orders",
            query=query or None,
            path_params={"contestId": contest_id},
            caller=caller,
        ),
    )


def one(method: str, contest_id: str, order_id: str, caller: Caller = ALICE) -> HttpAnswer:
    handler = orders.get if method == "GET" else orders.cancel
    return call(
        handler,
        api_event(
            method,
            f"/v1/contests/{contest_id}/orders/{order_id}",
            resource="/v1/contests/{contestId}/orders/{orderId}",
            path_params={"contestId": contest_id, "orderId": order_id},
            caller=caller,
        ),
    )


@pytest.fixture
def contest_id(live: World) -> str:
    contest = live.contest()
    live.join(contest, "alice")
    live.quote("AAPL", "187.43")
    return contest.contest_id


def test_a_market_order_answers_201_with_the_contract_shape(contest_id: str, live: World) -> None:
    answer = place(contest_id, {"symbol": "AAPL", "side": "buy", "quantity": "12", "type": "market"})
    assert answer.status == 201, answer.body
    body = answer.body
    assert set(body) == {
        "id",
        "clientOrderId",
        "contestId",
        "symbol",
        "side",
        "type",
        "quantity",
        "limitPrice",
        "timeInForce",
        "status",
        "filledQuantity",
        "filledPrice",
        "commission",
        "notional",
        "quote",
        "createdAt",
        "filledAt",
    }
    assert body["status"] == "filled" and body["quantity"] == "12" and body["filledQuantity"] == "12"
    assert body["filledPrice"] == "187.4300" and body["notional"] == "2249.16" and body["commission"] == "0.00"
    assert body["limitPrice"] is None and body["clientOrderId"] is None and body["timeInForce"] == "day"
    assert body["quote"] == {"price": "187.4300", "asOf": body["quote"]["asOf"], "source": "test"}
    assert body["createdAt"].endswith("Z") and body["filledAt"].endswith("Z") and body["quote"]["asOf"].endswith("Z")
    assert one("GET", contest_id, body["id"]).body == body


def test_a_repeated_client_order_id_answers_200_with_the_original(contest_id: str) -> None:
    body = {"symbol": "AAPL", "side": "buy", "quantity": 3, "type": "market", "clientOrderId": "a_B-9"}
    first = place(contest_id, body)
    again = place(contest_id, body)
    assert (first.status, again.status) == (201, 200) and again.body == first.body
    assert first.body["clientOrderId"] == "a_B-9"


def test_an_open_limit_order_then_cancel(contest_id: str) -> None:
    opened = place(
        contest_id,
        {
            "symbol": "AAPL",
            "side": "buy",
            "quantity": "2",
            "type": "limit",
            "limitPrice": "150.5",
            "timeInForce": "gtc",
        },
    )
    assert opened.status == 201
    assert opened.body["status"] == "open" and opened.body["limitPrice"] == "150.5000"
    assert opened.body["filledQuantity"] == "0" and opened.body["filledPrice"] is None
    assert opened.body["notional"] is None and opened.body["filledAt"] is None
    cancelled = one("DELETE", contest_id, opened.body["id"])
    assert cancelled.status == 200 and cancelled.body["status"] == "cancelled"
    again = one("DELETE", contest_id, opened.body["id"])
    assert again.status == 409 and again.error_code == "ORDER_NOT_CANCELLABLE"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"symbol": "AAPL", "side": "hold", "quantity": "1", "type": "market"}, "side"),
        ({"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "stop"}, "type"),
        ({"symbol": "AAPL", "side": "buy", "quantity": "abc", "type": "market"}, "quantity"),
        ({"symbol": "AAPL", "side": "buy", "quantity": "0", "type": "market"}, "quantity"),
        ({"symbol": "AAPL", "side": "buy", "quantity": "-2", "type": "market"}, "quantity"),
        ({"symbol": "AAPL", "side": "buy", "quantity": "1.1234567", "type": "market"}, "quantity"),
        ({"symbol": "AAPL", "side": "buy", "quantity": "1.5", "type": "market"}, "quantity"),
        ({"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "limit"}, "limitPrice"),
        ({"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "market", "limitPrice": "10"}, "limitPrice"),
        ({"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "limit", "limitPrice": "0"}, "limitPrice"),
        ({"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "limit", "limitPrice": "1.00001"}, "limitPrice"),
        ({"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "market", "timeInForce": "ioc"}, "timeInForce"),
        (
            {"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "market", "clientOrderId": "no spaces"},
            "clientOrderId",
        ),
        (
            {"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "market", "clientOrderId": "x" * 65},
            "clientOrderId",
        ),
        ({"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "market", "colour": "red"}, "colour"),
        ({"side": "buy", "quantity": "1", "type": "market"}, "symbol"),
    ],
)
def test_bad_input_is_422_naming_the_field(contest_id: str, body: dict[str, Any], field: str) -> None:
    answer = place(contest_id, body)
    assert answer.status == 422 and answer.error_code == "VALIDATION_FAILED", answer.body
    assert field in answer.body["error"]["details"]["fields"]


def test_one_422_names_every_bad_field(contest_id: str) -> None:
    answer = place(contest_id, {"symbol": "AAPL", "side": "hold", "quantity": "-1", "type": "limit"})
    assert answer.status == 422 and answer.error_code == "VALIDATION_FAILED", answer.body
    assert set(answer.body["error"]["details"]["fields"]) == {"side", "quantity", "limitPrice"}


def test_a_fractional_json_number_is_refused(contest_id: str) -> None:
    answer = place(contest_id, None, raw='{"symbol": "AAPL", "side": "buy", "quantity": 1.5, "type": "market"}')
    assert answer.status == 422 and "quantity" in answer.body["error"]["details"]["fields"]


def test_malformed_json_is_400(contest_id: str) -> None:
    assert place(contest_id, None, raw="{nope").status == 400


def test_rule_violations_are_422_with_their_code(contest_id: str) -> None:
    answer = place(contest_id, {"symbol": "AAPL", "side": "sell", "quantity": "1", "type": "market"})
    assert answer.status == 422 and answer.error_code == "INSUFFICIENT_SHARES"
    answer = place(contest_id, {"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "market"}, caller=BOB)
    assert answer.status == 422 and answer.error_code == "NOT_JOINED"


def test_unknown_contests_and_orders_are_404(contest_id: str) -> None:
    body = {"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "market"}
    assert place("01" + "B" * 24, body).status == 404
    assert place("not-a-contest", body).status == 404
    assert one("GET", contest_id, "01" + "C" * 24).status == 404
    assert one("DELETE", contest_id, "nope").status == 404
    assert listing(contest_id, caller=BOB).status == 404


def test_anonymous_callers_are_401(contest_id: str) -> None:
    assert place(contest_id, {"symbol": "AAPL"}, caller=None).status == 401


def test_listing_pages_with_signed_cursors(contest_id: str) -> None:
    ids = [
        place(contest_id, {"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "market"}).body["id"]
        for _ in range(3)
    ]
    first = listing(contest_id, limit="2")
    assert first.status == 200 and [item["id"] for item in first.body["items"]] == ids[::-1][:2]
    second = listing(contest_id, limit="2", cursor=first.body["nextCursor"])
    assert [item["id"] for item in second.body["items"]] == ids[:1] and second.body["nextCursor"] is None
    assert listing(contest_id, limit="2", cursor=first.body["nextCursor"] + "x").error_code == "INVALID_CURSOR"
    assert listing(contest_id, status="open").body == {"items": [], "nextCursor": None}
    assert listing(contest_id, status="pending").status == 422
    assert listing(contest_id, limit="0").status == 422
    assert listing(contest_id, limit="101").status == 422


# ---------------------------------------------------------------------------------------------------- market data
def stocks_search(caller: Caller | None = ALICE, **query: str) -> HttpAnswer:
    return call(stocks.search, api_event("GET", "/v1/stocks", query=query or None, caller=caller))


def test_search_lists_symbol_name_and_exchange(world: World) -> None:
    answer = stocks_search(query="aap", limit="5")
    assert answer.status == 200 and set(answer.body) == {"items"}
    assert answer.body["items"][0] == {
        "symbol": "AAPL",
        "name": answer.body["items"][0]["name"],
        "exchange": answer.body["items"][0]["exchange"],
    }
    assert len(stocks_search().body["items"]) == 20
    assert len(stocks_search(limit="100").body["items"]) == 100
    assert stocks_search(limit="0").status == 422 and stocks_search(limit="101").status == 422
    assert stocks_search(caller=None).status == 401


def quote(symbol: str) -> HttpAnswer:
    return call(
        stocks.quote,
        api_event(
            "GET",
            f"/v1/stocks/{symbol}/quote",
            resource="/v1/stocks/{symbol}/quote",
            path_params={"symbol": symbol},
            caller=ALICE,
        ),
    )


def test_quote_of_a_known_symbol(live: World) -> None:
    live.quote("MSFT", "401.5")
    answer = quote("msft")
    assert answer.status == 200
    assert answer.body == {"symbol": "MSFT", "price": "401.5000", "asOf": answer.body["asOf"], "source": "test"}
    assert answer.body["asOf"].endswith("Z")


def test_quote_of_an_unknown_symbol_is_404(world: World) -> None:
    answer = quote("NOPE123")
    assert answer.status == 404 and answer.error_code == "NOT_FOUND"


def test_quote_without_a_stored_price_asks_the_provider(world: World) -> None:
    answer = quote("KO")
    assert answer.status == 200 and answer.body["source"] == "simulated"


def test_the_market_clock_is_public(world: World) -> None:
    answer = call(stocks.clock, api_event("GET", "/v1/market/clock"))
    assert answer.status == 200
    assert set(answer.body) == {"isOpen", "now", "nextOpen", "nextClose", "calendar"}
    assert answer.body["isOpen"] is True and answer.body["calendar"] == "24x7"
