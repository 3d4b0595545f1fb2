"""`provider_from_config`: names, keys, one instance per container."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tickerleague.adapters.quotes import clear_provider_cache, provider_from_config
from tickerleague.adapters.quotes.finnhub import FinnhubQuoteProvider
from tickerleague.adapters.quotes.polygon import PolygonQuoteProvider
from tickerleague.adapters.quotes.simulated import SimulatedQuoteProvider


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    clear_provider_cache()
    yield
    clear_provider_cache()


def test_simulated_needs_no_key() -> None:
    provider = provider_from_config("simulated", None)
    assert isinstance(provider, SimulatedQuoteProvider) and provider.name == "simulated"
    assert provider_from_config(" Simulated ", "ignored") is provider


def test_finnhub_and_polygon() -> None:
    finnhub = provider_from_config("finnhub", "k1")
    polygon = provider_from_config("POLYGON", "k2")
    assert isinstance(finnhub, FinnhubQuoteProvider) and finnhub.name == "finnhub"
    assert isinstance(polygon, PolygonQuoteProvider) and polygon.name == "polygon"
    assert provider_from_config("finnhub", "k1") is finnhub  # same session and rate limiter per container
    assert provider_from_config("finnhub", "k3") is not finnhub


@pytest.mark.parametrize("name", ["finnhub", "polygon"])
@pytest.mark.parametrize("key", [None, ""])
def test_real_providers_need_a_key(name: str, key: str | None) -> None:
    with pytest.raises(ValueError, match="API key"):
        provider_from_config(name, key)


def test_unknown_provider() -> None:
    with pytest.raises(ValueError, match="unknown quote provider"):
        provider_from_config("yahoo", "k")


def test_importing_the_package_does_not_import_requests() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tickerleague.adapters.quotes, tickerleague.adapters.quotes.finnhub, "
        "tickerleague.adapters.quotes.polygon; print('requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
