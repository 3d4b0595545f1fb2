"""Trading over real HTTP against the local stack, its schedules running (LOCAL_SCHEDULE_RATE_SECONDS=2): a player in
an active contest buys and sells at simulated quotes, replays a clientOrderId, is refused with the contract's codes,
sees the portfolio valued, has a limit order filled by a later quote refresh, and another expired by the contest's end.

The simulated price of a symbol is a pure function of (symbol, minute), so the test knows the next minute's price
and picks a symbol and a limit price that cannot fill now and must fill once the refresh job stores the next minute's
quote. It takes about two and a half minutes: the fill waits for a minute boundary, the expiry for the contest's end."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import requests

from tests.e2e.client import TIMEOUT, Player, assert_envelope, sign_up
from tests.support.waiting import wait_till

CONTEST_SECONDS = 150  # the fill comes at the first minute boundary after the order; the end comes after
MINUTE = timedelta(minutes=1)
CENT = Decimal("0.01")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _start_contest(base_url: str, admin: Player, player: Player) -> str:
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    ends = starts + timedelta(seconds=CONTEST_SECONDS)
    body = {"name": "E2E trading", "startsAt": _iso(starts), "endsAt": _iso(ends), "startingCash": "100000.00",
            "rules": {"commission": {"perTrade": "1.00"}}}
    created = requests.post(f"{base_url}/v1/contests", json=body, headers=admin.auth, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    contest_id: str = created.json()["id"]
    published = requests.post(f"{base_url}/v1/contests/{contest_id}/publish", headers=admin.auth, timeout=TIMEOUT)
    assert published.status_code == 200, published.text
    joined = requests.post(f"{base_url}/v1/contests/{contest_id}/entries", headers=player.auth, timeout=TIMEOUT)
    assert joined.status_code == 201, joined.text
    wait_till("the contest to start", lambda: _status(base_url, contest_id, player) == "active", 30)
    return contest_id


def _status(base_url: str, contest_id: str, player: Player) -> str:
    answer = requests.get(f"{base_url}/v1/contests/{contest_id}", headers=player.auth, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["status"])


def _crossing_later(now: datetime) -> tuple[str, Decimal]:
    """A symbol whose simulated price next minute is below every price a placement could see now (this minute's, or
    a stored quote up to two minutes old), and that next minute's price as the limit: the first refresh of the next
    minute fills it, well before the contest ends."""
    from tickerleague.adapters.quotes.simulated import price_at
    from tickerleague.domain.symbols import SymbolUniverse

    for symbol in SymbolUniverse.default().symbols():
        seen_now = min(price_at(symbol, now - step * MINUTE) for step in range(3))
        limit = price_at(symbol, now + MINUTE)
        if Decimal(10) < limit < seen_now * Decimal("0.999"):
            return symbol, limit
    raise AssertionError("no symbol falls next minute")


def _order(base_url: str, contest_id: str, player: Player, **body: Any) -> requests.Response:
    return requests.post(f"{base_url}/v1/contests/{contest_id}/orders", json=body, headers=player.auth,
                         timeout=TIMEOUT)


def _get_order(base_url: str, contest_id: str, player: Player, order_id: str) -> dict[str, Any]:
    answer = requests.get(f"{base_url}/v1/contests/{contest_id}/orders/{order_id}", headers=player.auth,
                          timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _portfolio(base_url: str, contest_id: str, player: Player) -> dict[str, Any]:
    answer = requests.get(f"{base_url}/v1/contests/{contest_id}/portfolio", headers=player.auth, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_market_and_limit_orders_fill_expire_and_value_the_portfolio(base_url: str, admin: Player) -> None:
    player = sign_up(base_url)
    contest_id = _start_contest(base_url, admin, player)

    bought = _order(base_url, contest_id, player, symbol="MSFT", side="buy", quantity="10", type="market",
                    clientOrderId="e2e-buy-1")
    assert bought.status_code == 201, bought.text
    buy = bought.json()
    assert buy["status"] == "filled" and buy["filledPrice"] == buy["quote"]["price"]
    assert buy["quote"]["source"] == "simulated" and buy["commission"] == "1.00"
    replayed = _order(base_url, contest_id, player, symbol="MSFT", side="buy", quantity="10", type="market",
                      clientOrderId="e2e-buy-1")
    assert replayed.status_code == 200 and replayed.json()["id"] == buy["id"], replayed.text
    sold = _order(base_url, contest_id, player, symbol="MSFT", side="sell", quantity="4", type="market")
    assert sold.status_code == 201 and sold.json()["status"] == "filled", sold.text

    assert_envelope(_order(base_url, contest_id, player, symbol="MSFT", side="sell", quantity="7", type="market"),
                    422, "INSUFFICIENT_SHARES")
    assert_envelope(_order(base_url, contest_id, player, symbol="ZZZZZZ", side="buy", quantity="1", type="market"),
                    422, "UNKNOWN_SYMBOL")
    assert_envelope(_order(base_url, contest_id, player, symbol="MSFT", side="buy", quantity="1000000",
                           type="market"), 422, "INSUFFICIENT_CASH")
    assert_envelope(_order(base_url, contest_id, player, symbol="MSFT", side="buy", quantity="1", type="limit"),
                    422, "VALIDATION_FAILED")

    portfolio = _portfolio(base_url, contest_id, player)
    (position,) = portfolio["positions"]
    assert position["symbol"] == "MSFT" and Decimal(position["quantity"]) == 6
    valued = Decimal(portfolio["cash"]) + Decimal(position["quantity"]) * Decimal(position["lastPrice"])
    assert Decimal(portfolio["totalValue"]) == valued.quantize(CENT, ROUND_HALF_EVEN)

    never = _order(base_url, contest_id, player, symbol="MSFT", side="buy", quantity="5", type="limit",
                   limitPrice="1.00", timeInForce="gtc")
    assert never.status_code == 201 and never.json()["status"] == "open", never.text

    if datetime.now(UTC).second > 40:  # place the crossing order early in a minute
        time.sleep(61 - datetime.now(UTC).second)
    symbol, limit = _crossing_later(datetime.now(UTC))
    opened = _order(base_url, contest_id, player, symbol=symbol, side="buy", quantity="3", type="limit",
                    limitPrice=str(limit), timeInForce="gtc")
    assert opened.status_code == 201 and opened.json()["status"] == "open", opened.text

    def filled() -> dict[str, Any] | None:
        order = _get_order(base_url, contest_id, player, opened.json()["id"])
        return order if order["status"] == "filled" else None

    fill = wait_till(f"the {symbol} limit order to fill on a refresh", filled, 90)
    assert Decimal(fill["filledPrice"]) <= limit and fill["quote"]["asOf"] > opened.json()["quote"]["asOf"]

    wait_till("the contest to end", lambda: _status(base_url, contest_id, player) == "ended", CONTEST_SECONDS + 30)
    expired = _get_order(base_url, contest_id, player, never.json()["id"])
    assert expired["status"] == "expired", expired
    final = _portfolio(base_url, contest_id, player)
    assert {item["symbol"] for item in final["positions"]} == {"MSFT", symbol}
    assert_envelope(_order(base_url, contest_id, player, symbol="MSFT", side="buy", quantity="1", type="market"),
                    422, "CONTEST_NOT_ACTIVE")
