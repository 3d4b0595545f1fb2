"""Generate tickerleague/data/symbols.json, the tradable symbol universe, from the PyPI pytickersymbols.

The universe is the union of the S&P 500, NASDAQ 100 and Dow Jones constituents, keyed by their US ticker
("BRK.B" style, upper case), deduplicated and sorted. Each row is {symbol, name, exchange}; the listing
exchange is taken, in order of trust, from:
1. the package's Google-style code for that very ticker ("NYSE:MMM"),
2. the Wikipedia "traded as" line in its metadata ("NYSE : MMM", "Nasdaq : CCEP"),
3. any other US-dollar listing of the company on a US exchange,
4. NASDAQ for a NASDAQ 100 member (every one of them is listed there),
5. a short list of listings the package does not carry (`_KNOWN_LISTINGS`, checked by hand).
A constituent with none of these stops the build, so a new one cannot slip in without an exchange.
The output is committed (the layer carries no pytickersymbols) and is deterministic for a pinned package
version: a unit test regenerates it in memory and compares. Run with `make data`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[2] / "layers/core/tickerleague/data/symbols.json"

INDICES = ("S&P 500", "NASDAQ 100", "DOW JONES")
SYMBOL_RE = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")

# Google Finance exchange codes and "traded as" spellings -> the exchange name we publish.
_EXCHANGES = {
    "NYSE": "NYSE",
    "NASDAQ": "NASDAQ",
    "NYSEAMERICAN": "NYSE American",
    "NYSE AMERICAN": "NYSE American",
    "NYSEARCA": "NYSE Arca",
    "NYSE ARCA": "NYSE Arca",
    "BATS": "Cboe BZX",
    "CBOE BZX": "Cboe BZX",
    "CBOE": "Cboe BZX",
}
_TRADED_AS = re.compile(r"(NYSE American|NYSE Arca|NYSE|Nasdaq|NASDAQ|Cboe BZX|CBOE)\s*:\s*([A-Za-z0-9.\-]+)")
# Constituents for which pytickersymbols 1.17.10 names no US listing at all.
_KNOWN_LISTINGS = {
    "GDDY": "NYSE",
    "LUV": "NYSE",
    "NSC": "NYSE",
    "PODD": "NASDAQ",
    "Q": "NYSE",
    "UAL": "NASDAQ",
}


def _canonical(symbol: str) -> str:
    return symbol.strip().upper().replace("-", ".").replace("/", ".")


def _clean_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).split())


def _exchange(stock: dict[str, Any], symbol: str, indices: set[str]) -> str | None:
    usd = [row for row in stock.get("symbols") or [] if row.get("currency") == "USD"]
    for row in usd:
        code, _, ticker = str(row.get("google", "")).partition(":")
        if ticker and _canonical(ticker) == symbol and code.upper() in _EXCHANGES:
            return _EXCHANGES[code.upper()]
    traded_as = str((stock.get("metadata") or {}).get("traded_as", ""))
    for match in _TRADED_AS.finditer(traded_as):
        if _canonical(match.group(2)) == symbol:
            return _EXCHANGES[match.group(1).upper()]
    for row in usd:
        code, _, ticker = str(row.get("google", "")).partition(":")
        if ticker and code.upper() in _EXCHANGES:
            return _EXCHANGES[code.upper()]
    if "NASDAQ 100" in indices:
        return "NASDAQ"
    return _KNOWN_LISTINGS.get(symbol)


def build_symbols() -> list[dict[str, str]]:
    from pytickersymbols import PyTickerSymbols

    source = PyTickerSymbols()
    stocks: dict[str, dict[str, Any]] = {}
    member_of: dict[str, set[str]] = {}
    for index in INDICES:
        for stock in source.get_stocks_by_index(index):
            symbol = _canonical(str(stock["symbol"]))
            if not SYMBOL_RE.match(symbol):
                raise SystemExit(f"{index}: {stock['symbol']!r} is not a valid symbol")
            stocks.setdefault(symbol, stock)
            member_of.setdefault(symbol, set()).add(index)

    rows: list[dict[str, str]] = []
    unresolved: list[str] = []
    for symbol in sorted(stocks):
        exchange = _exchange(stocks[symbol], symbol, member_of[symbol])
        if exchange is None:
            unresolved.append(symbol)
            continue
        rows.append({"symbol": symbol, "name": _clean_name(str(stocks[symbol]["name"])), "exchange": exchange})
    if unresolved:
        raise SystemExit(f"no US listing exchange found for {', '.join(unresolved)}")
    return rows


def render(rows: list[dict[str, str]]) -> str:
    """One symbol per line: small diffs when the constituents change."""
    from importlib.metadata import version

    body = ",\n".join("    " + json.dumps(row, ensure_ascii=False) for row in rows)
    header = {
        "generatedBy": "infra/build/gen_symbols.py",
        "source": f"pytickersymbols {version('pytickersymbols')}",
        "indices": list(INDICES),
    }
    head = ",\n".join(f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in header.items())
    return "{\n" + head + ',\n  "symbols": [\n' + body + "\n  ]\n}\n"


def main() -> None:
    rows = build_symbols()
    text = render(rows)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(rows)} symbols ({len(text.encode())} bytes) to {OUT}")


if __name__ == "__main__":
    main()
