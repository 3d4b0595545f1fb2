"""Deterministic simulated prices, for local development, demos and tests (`QUOTES_PROVIDER=simulated`).

The price of a symbol at a minute is a pure function of (symbol, minute): every process, machine and run
agrees, and any minute is computed directly in O(1) (no walk from an epoch). The log-price is

    ln(base) + drift * years(t) + volatility * sum over scales of noise_L(t)

- `base` is the symbol's approximate level at the start of 2025 when `tickerleague/data/reference_prices.json` lists
  it (about 140 well-known stocks, so AAPL looks like AAPL), otherwise log-uniform in [$5, $800];
- `drift` in [-5 %, +15 %] a year, counted from 2025-01-01 and held flat beyond +/-15 years so far-off dates stay
  plausible; `volatility` in [0.75, 1.2] per symbol;
- `noise_1` is fresh hashed noise every minute (+/-0.14 %), the minute-to-minute jitter;
- `noise_L` for L = 15 min, 2 h, 1 day, 1 week, 30 days and 180 days is "value noise": hashed values on a
  lattice every L minutes joined by smoothstep interpolation, so it is continuous and its slope is bounded
  (amplitudes grow with L).
Hashes are BLAKE2b of the symbol, the scale and the lattice index (never Python's `hash()`: it is salted per
process).

All arithmetic is `Decimal` (no float, no platform libm), so the result is exactly reproducible. The largest
possible move from one minute to the next is `MAX_MINUTE_LOG_MOVE` in log terms (about 0.48 %); typical
moves are around 0.1 %.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from functools import cache, lru_cache
from importlib import resources

from tickerleague.domain.money import to_price
from tickerleague.domain.quotes import Quote
from tickerleague.domain.symbols import SymbolUniverse, canonical_symbol

SOURCE = "simulated"

_CTX = Context(prec=28, rounding=ROUND_HALF_EVEN)
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DRIFT_EPOCH_MINUTE = int((datetime(2025, 1, 1, tzinfo=UTC) - _UNIX_EPOCH).total_seconds()) // 60
_MINUTES_PER_YEAR = Decimal(525_960)  # 365.25 days
_DRIFT_HORIZON_MINUTES = 15 * 525_960

_MIN_BASE = Decimal(5)
_BASE_SPAN = Decimal(160)  # 5 * 160 = 800
_MIN_DRIFT, _DRIFT_SPAN = Decimal("-0.05"), Decimal("0.20")
_MIN_VOL, _VOL_SPAN = Decimal("0.75"), Decimal("0.45")
_FLOOR = Decimal("0.01")
_REFERENCE_FILE = "reference_prices.json"

_JITTER = Decimal("0.0014")
# (lattice spacing in minutes, amplitude in log-price)
_SCALES: tuple[tuple[int, Decimal], ...] = (
    (15, Decimal("0.004")),
    (120, Decimal("0.012")),
    (1_440, Decimal("0.03")),
    (10_080, Decimal("0.06")),
    (43_200, Decimal("0.12")),
    (259_200, Decimal("0.18")),
)
# Smoothstep's slope is at most 1.5 per lattice step and two nodes differ by at most 2 * amplitude, so one
# scale moves by at most 3 * amplitude / spacing a minute, the jitter by at most 2 * _JITTER, all times the
# largest volatility; plus a minute's drift.
MAX_MINUTE_LOG_MOVE = (_MIN_VOL + _VOL_SPAN) * (
    2 * _JITTER + sum((3 * amplitude / spacing for spacing, amplitude in _SCALES), Decimal(0))
) + (_MIN_DRIFT + _DRIFT_SPAN) / _MINUTES_PER_YEAR

_TWO_64 = Decimal(2**64)


def _unit(*parts: object) -> Decimal:
    """A uniform value in [0, 1) from a stable hash of the parts."""
    digest = hashlib.blake2b("\x1f".join(str(part) for part in parts).encode(), digest_size=8).digest()
    return _CTX.divide(Decimal(int.from_bytes(digest, "big")), _TWO_64)


def _signed(*parts: object) -> Decimal:
    """A uniform value in [-1, 1) from a stable hash of the parts."""
    return _unit(*parts) * 2 - 1


@cache
def reference_prices() -> dict[str, Decimal]:
    """The bundled starting levels (symbol -> price at the drift epoch), read once per process."""
    text = resources.files("tickerleague.data").joinpath(_REFERENCE_FILE).read_text(encoding="utf-8")
    return {symbol: Decimal(price) for symbol, price in json.loads(text)["prices"].items()}


@lru_cache(maxsize=8192)
def _params(symbol: str) -> tuple[Decimal, Decimal, Decimal]:
    """(ln base price, yearly drift, volatility factor) of a symbol. Callers hold `localcontext(_CTX)`."""
    reference = reference_prices().get(symbol)
    if reference is not None:
        ln_base = _CTX.ln(reference)
    else:
        ln_base = _CTX.ln(_MIN_BASE) + _unit("base", symbol) * _CTX.ln(_BASE_SPAN)
    drift = _MIN_DRIFT + _unit("drift", symbol) * _DRIFT_SPAN
    volatility = _MIN_VOL + _unit("vol", symbol) * _VOL_SPAN
    return ln_base, drift, volatility


def _value_noise(symbol: str, spacing: int, minute: int) -> Decimal:
    """Smoothstep interpolation between hashed lattice values every `spacing` minutes: in [-1, 1]."""
    node, offset = divmod(minute, spacing)
    left = _signed("n", symbol, spacing, node)
    right = _signed("n", symbol, spacing, node + 1)
    u = Decimal(offset) / Decimal(spacing)
    weight = u * u * (3 - 2 * u)
    return left + (right - left) * weight


def minute_index(at: datetime) -> int:
    """Whole minutes since the Unix epoch (floor), for any aware datetime."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("simulated prices need a timezone-aware datetime")
    delta = at - _UNIX_EPOCH
    return (delta.days * 86_400 + delta.seconds) // 60


def minute_start(at: datetime) -> datetime:
    """The start of the UTC minute containing `at`."""
    return _UNIX_EPOCH + timedelta(minutes=minute_index(at))


def log_price_at_minute(symbol: str, minute: int) -> Decimal:
    """The natural log of the (unrounded) price of `symbol` at a minute index."""
    with localcontext(_CTX):  # whatever the caller's decimal context, the same digits
        ln_base, drift, volatility = _params(symbol)
        drift_minutes = max(-_DRIFT_HORIZON_MINUTES, min(_DRIFT_HORIZON_MINUTES, minute - _DRIFT_EPOCH_MINUTE))
        noise = _JITTER * _signed("j", symbol, minute)
        for spacing, amplitude in _SCALES:
            noise += amplitude * _value_noise(symbol, spacing, minute)
        return ln_base + drift * Decimal(drift_minutes) / _MINUTES_PER_YEAR + volatility * noise


def price_at(symbol: str, at: datetime) -> Decimal:
    """The simulated price (4 dp, half-even, never below $0.01) of `symbol` during the minute containing
    `at`. Defined for any symbol string; `SimulatedQuoteProvider.fetch` only quotes the symbol universe."""
    price = to_price(_CTX.exp(log_price_at_minute(canonical_symbol(symbol), minute_index(at))))
    return max(price, _FLOOR)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SimulatedQuoteProvider:
    """`QuoteProvider` over `price_at`: quotes stamped at the start of the clock's current minute, source
    "simulated"; symbols outside the universe are left out."""

    name = SOURCE

    def __init__(self, universe: SymbolUniverse | None = None, clock: Callable[[], datetime] = _utcnow) -> None:
        self._universe = universe
        self._clock = clock

    @property
    def universe(self) -> SymbolUniverse:
        if self._universe is None:
            self._universe = SymbolUniverse.default()
        return self._universe

    def fetch(self, symbols: Sequence[str]) -> dict[str, Quote]:
        as_of = minute_start(self._clock())
        quotes: dict[str, Quote] = {}
        for raw in symbols:
            known = self.universe.get(raw)
            if known is None or known.symbol in quotes:
                continue
            quotes[known.symbol] = Quote(known.symbol, price_at(known.symbol, as_of), as_of, SOURCE)
        return quotes
