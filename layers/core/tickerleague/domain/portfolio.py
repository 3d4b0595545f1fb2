"""An entry's portfolio: cash, reservations and positions, held in ONE DynamoDB item so a fill is one transaction.

Pure data; the fill/reserve arithmetic lives in `tickerleague.domain.trading`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tickerleague.domain.money import ZERO


@dataclass(frozen=True)
class Position:
    symbol: str
    quantity: Decimal = ZERO  # shares held (includes reserved ones)
    reserved_quantity: Decimal = ZERO  # shares promised to open sell orders
    cost_basis: Decimal = ZERO  # total cost of the shares held, to the cent (average cost = cost_basis / quantity)
    realized_pnl: Decimal = ZERO  # to the cent

    @property
    def available_quantity(self) -> Decimal:
        return self.quantity - self.reserved_quantity


@dataclass(frozen=True)
class Portfolio:
    """The money side of an entry."""

    starting_cash: Decimal
    cash: Decimal  # includes reserved cash
    reserved_cash: Decimal = ZERO  # promised to open buy orders (notional at limit + commission)
    fees_paid: Decimal = ZERO
    positions: dict[str, Position] = field(default_factory=dict)

    @property
    def available_cash(self) -> Decimal:
        return self.cash - self.reserved_cash

    @classmethod
    def fresh(cls, starting_cash: Decimal) -> Portfolio:
        return cls(starting_cash=starting_cash, cash=starting_cash)
