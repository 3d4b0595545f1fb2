"""`provider_from_config`: names, keys, one instance per container."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from tickerleague.adapters import quotes
from tickerleague.adapters.quotes import clear_provider_cache, provider_from_config, provider_from_settings
from tickerleague.adapters.quotes.finnhub import FinnhubQuoteProvider
from tickerleague.adapters.quotes.polygon import PolygonQuoteProvider
from tickerleague.adapters.quotes.simulated import SimulatedQuoteProvider
from tickerleague.config import settings
from tickerleague.domain.quotes import QuoteProviderError

from tests.support.market import recorded


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


@responses.activate
def test_settings_point_polygon_at_massive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTES_PROVIDER", "polygon")
    monkeypatch.setenv("QUOTES_BASE_URL", "https://api.massive.com/")
    monkeypatch.setattr(quotes, "quotes_api_key", lambda: "massive-key")
    settings.cache_clear()
    try:
        provider = provider_from_settings()
    finally:
        settings.cache_clear()
    responses.add(responses.GET, "https://api.massive.com/v2/snapshot/locale/us/markets/stocks/tickers",
                  body=recorded("polygon_401.json"), status=401, content_type="application/json")
    with pytest.raises(QuoteProviderError):
        provider.fetch(["AAPL"])
    (call,) = responses.calls
    assert call.request.url.startswith("https://api.massive.com/v2/snapshot/")
    assert call.request.headers["Authorization"] == "Bearer massive-key"


def test_an_empty_base_url_means_the_providers_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTES_BASE_URL", "  ")
    settings.cache_clear()
    try:
        assert settings().quotes_base_url is None
    finally:
        settings.cache_clear()


def test_importing_the_package_does_not_import_requests() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tickerleague.adapters.quotes, tickerleague.adapters.quotes.finnhub, "
        "tickerleague.adapters.quotes.polygon; print('requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
