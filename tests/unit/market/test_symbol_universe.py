"""The symbol universe: the committed file is well-formed and current; lookups and search behave."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tickerleague.domain.symbols import (
    SYMBOL_PATTERN,
    Symbol,
    SymbolUniverse,
    canonical_symbol,
    fold,
)

DATA = Path(__file__).resolve().parents[3] / "layers/core/tickerleague/data/symbols.json"
DOW_30 = [
    "AAPL",
    "AMGN",
    "AMZN",
    "AXP",
    "BA",
    "CAT",
    "CRM",
    "CSCO",
    "CVX",
    "DIS",
    "GS",
    "HD",
    "HON",
    "IBM",
    "JNJ",
    "JPM",
    "KO",
    "MCD",
    "MMM",
    "MRK",
    "MSFT",
    "NKE",
    "NVDA",
    "PG",
    "SHW",
    "TRV",
    "UNH",
    "V",
    "VZ",
    "WMT",
]


@pytest.fixture(scope="module")
def universe() -> SymbolUniverse:
    return SymbolUniverse.default()


@pytest.fixture
def small() -> SymbolUniverse:
    return SymbolUniverse(
        [
            Symbol("MA", "Mastercard", "NYSE"),
            Symbol("MAA", "Mid-America Apartment Communities", "NYSE"),
            Symbol("MAR", "Marriott International", "NASDAQ"),
            Symbol("AMAT", "Applied Materials", "NASDAQ"),
            Symbol("EL", "The Estée Lauder Companies", "NYSE"),
            Symbol("KO", "Coca-Cola Company", "NYSE"),
            Symbol("BRK.B", "Berkshire Hathaway", "NYSE"),
            Symbol("A", "Agilent Technologies", "NYSE"),
        ]
    )


# ---------------------------------------------------------------- the committed file


def test_symbol_file_is_well_formed() -> None:
    document = json.loads(DATA.read_text(encoding="utf-8"))
    rows = document["symbols"]
    symbols = [row["symbol"] for row in rows]
    assert len(rows) > 500
    assert symbols == sorted(symbols)
    assert len(set(symbols)) == len(symbols)
    pattern = re.compile(SYMBOL_PATTERN)
    for row in rows:
        assert set(row) == {"symbol", "name", "exchange"}
        assert pattern.match(row["symbol"]), row
        assert row["name"].strip() == row["name"] and row["name"], row
        assert row["exchange"] in {"NYSE", "NASDAQ", "NYSE American", "NYSE Arca", "Cboe BZX"}, row
    assert set(DOW_30) <= set(symbols)
    assert {"BRK.B", "BF.B", "GOOG", "GOOGL"} <= set(symbols)
    assert DATA.stat().st_size < 200_000


def test_committed_file_is_what_make_data_generates() -> None:
    from infra.build.gen_symbols import build_symbols, render

    assert DATA.read_text(encoding="utf-8") == render(build_symbols())


def test_well_known_exchanges(universe: SymbolUniverse) -> None:
    assert universe.get("AAPL") == Symbol("AAPL", "Apple Inc.", "NASDAQ")
    assert universe.get("KO") is not None and universe.get("KO").exchange == "NYSE"  # type: ignore[union-attr]
    assert universe.get("BRK.B").exchange == "NYSE"  # type: ignore[union-attr]


# ---------------------------------------------------------------- get


@pytest.mark.parametrize("raw", ["AAPL", "aapl", " aApL "])
def test_get_is_case_insensitive_and_canonical(universe: SymbolUniverse, raw: str) -> None:
    found = universe.get(raw)
    assert found is not None and found.symbol == "AAPL"


@pytest.mark.parametrize("raw", ["BRK.B", "brk.b", "BRK-B", "brk/b"])
def test_share_class_separators(universe: SymbolUniverse, raw: str) -> None:
    assert universe.get(raw) is not None
    assert universe.get(raw).symbol == "BRK.B"  # type: ignore[union-attr]
    assert canonical_symbol(raw) == "BRK.B"


@pytest.mark.parametrize("raw", ["ZZZZ", "", "   ", "AAPL;DROP", "A" * 100, "É"])
def test_get_unknown(universe: SymbolUniverse, raw: str) -> None:
    assert universe.get(raw) is None
    assert raw not in universe


def test_membership_and_iteration(universe: SymbolUniverse) -> None:
    assert "msft" in universe
    assert len(universe) == len(universe.symbols()) == len(list(universe))
    assert universe.symbols() == sorted(universe.symbols())


def test_universe_rejects_bad_rows() -> None:
    with pytest.raises(ValueError, match="malformed"):
        SymbolUniverse([Symbol("aapl", "Apple", "NASDAQ")])
    with pytest.raises(ValueError, match="duplicate"):
        SymbolUniverse([Symbol("KO", "Coca-Cola", "NYSE"), Symbol("KO", "Coke", "NYSE")])


# ---------------------------------------------------------------- search


def test_exact_symbol_first_then_symbol_prefixes_then_names(small: SymbolUniverse) -> None:
    assert [s.symbol for s in small.search("ma", 10)] == ["MA", "MAA", "MAR", "AMAT"]
    # "ma": MA exact; MAA, MAR symbol prefixes; AMAT by its name word "Materials"; Mastercard is MA already.


def test_name_word_prefix_is_case_and_accent_insensitive(small: SymbolUniverse) -> None:
    assert [s.symbol for s in small.search("estee", 5)] == ["EL"]
    assert [s.symbol for s in small.search("ESTÉE LAU", 5)] == ["EL"]
    assert [s.symbol for s in small.search("lauder", 5)] == ["EL"]
    assert [s.symbol for s in small.search("coca cola", 5)] == ["KO"]
    assert [s.symbol for s in small.search("coca-cola", 5)] == ["KO"]
    assert small.search("auder", 5) == []  # word prefixes, not substrings


def test_share_class_query(small: SymbolUniverse) -> None:
    assert [s.symbol for s in small.search("brk-b", 5)] == ["BRK.B"]
    assert [s.symbol for s in small.search("BRK", 5)] == ["BRK.B"]
    assert [s.symbol for s in small.search("berk", 5)] == ["BRK.B"]


def test_empty_query_lists_alphabetically(small: SymbolUniverse) -> None:
    assert [s.symbol for s in small.search("", 3)] == ["A", "AMAT", "BRK.B"]
    assert [s.symbol for s in small.search("   ", 3)] == ["A", "AMAT", "BRK.B"]


def test_limit_is_respected(universe: SymbolUniverse) -> None:
    assert len(universe.search("a", 5)) == 5
    assert universe.search("a", 0) == []
    assert universe.search("a", -1) == []
    assert len(universe.search("", 100)) == 100


def test_search_is_stable(universe: SymbolUniverse) -> None:
    assert universe.search("in", 50) == universe.search("in", 50)
    assert universe.search("in", 50) == universe.search("IN", 50)


def test_real_universe_examples(universe: SymbolUniverse) -> None:
    assert universe.search("apple", 5)[0].symbol == "AAPL"
    assert universe.search("AAPL", 5)[0].symbol == "AAPL"
    assert universe.search("a", 3)[0].symbol == "A"
    assert [s.symbol for s in universe.search("estee", 3)] == ["EL"]
    assert "GOOGL" in [s.symbol for s in universe.search("alphabet", 5)]
    assert universe.search("zzzzzz", 5) == []


def test_to_dict() -> None:
    assert Symbol("AAPL", "Apple Inc.", "NASDAQ").to_dict() == {
        "symbol": "AAPL",
        "name": "Apple Inc.",
        "exchange": "NASDAQ",
    }


def test_fold() -> None:
    assert fold("Estée") == "estee"
    assert fold("NESTLÉ") == "nestle"
