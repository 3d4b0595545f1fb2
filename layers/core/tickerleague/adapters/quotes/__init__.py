"""Quote providers behind the `QuoteProvider` port: "simulated" (deterministic, offline), "finnhub" and
"polygon".

`provider_from_config` keeps one instance per (name, key, base URL) per container, so the HTTP session and
the rate limiter live as long as the warm container does. Provider modules are imported on first use.
"""

from __future__ import annotations

import threading

from tickerleague.domain.quotes import QuoteProvider

PROVIDERS = ("simulated", "finnhub", "polygon")

_instances: dict[tuple[str, str | None, str | None], QuoteProvider] = {}
_lock = threading.Lock()


def _build(name: str, api_key: str | None, base_url: str | None) -> QuoteProvider:
    if name == "simulated":
        from tickerleague.adapters.quotes.simulated import SimulatedQuoteProvider

        return SimulatedQuoteProvider()
    if not api_key:
        raise ValueError(f"the {name} quote provider needs an API key")
    if name == "finnhub":
        from tickerleague.adapters.quotes.finnhub import DEFAULT_BASE_URL as FINNHUB_BASE_URL
        from tickerleague.adapters.quotes.finnhub import FinnhubQuoteProvider

        return FinnhubQuoteProvider(api_key, base_url=base_url or FINNHUB_BASE_URL)
    from tickerleague.adapters.quotes.polygon import DEFAULT_BASE_URL as POLYGON_BASE_URL
    from tickerleague.adapters.quotes.polygon import PolygonQuoteProvider

    return PolygonQuoteProvider(api_key, base_url=base_url or POLYGON_BASE_URL)


def provider_from_config(name: str, api_key: str | None, *, base_url: str | None = None) -> QuoteProvider:
    """`QUOTES_PROVIDER` -> a provider: "simulated" (no key), "finnhub" or "polygon" (key required; `base_url`
    overrides the default endpoint, e.g. https://api.massive.com). Unknown names raise ValueError."""
    key = name.strip().lower()
    if key not in PROVIDERS:
        raise ValueError(f"unknown quote provider {name!r}: expected one of {', '.join(PROVIDERS)}")
    cache_key = (key, api_key if key != "simulated" else None, base_url)
    with _lock:
        provider = _instances.get(cache_key)
        if provider is None:
            provider = _build(key, api_key, base_url)
            _instances[cache_key] = provider
        return provider


API_KEY_MAX_AGE_SECONDS = 300


def quotes_api_key() -> str | None:
    """The provider's API key: the SSM SecureString named by `QUOTES_API_KEY_PARAMETER` (cached 5 minutes by
    Powertools, so a rotated key is picked up without a deploy). None when no parameter is configured."""
    from tickerleague.config import settings

    name = settings().quotes_api_key_parameter
    if not name:
        return None
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_parameter(name, decrypt=True, max_age=API_KEY_MAX_AGE_SECONDS)
    return str(value) if value else None


def provider_from_settings() -> QuoteProvider:
    """The provider named by `QUOTES_PROVIDER` at `QUOTES_BASE_URL` (empty: its default endpoint); its key is only
    read for a provider that needs one."""
    from tickerleague.config import settings

    config = settings()
    name = config.quotes_provider
    api_key = None if name.strip().lower() == "simulated" else quotes_api_key()
    return provider_from_config(name, api_key, base_url=config.quotes_base_url)


def clear_provider_cache() -> None:
    """For tests."""
    with _lock:
        _instances.clear()


__all__ = [
    "PROVIDERS",
    "clear_provider_cache",
    "provider_from_config",
    "provider_from_settings",
    "quotes_api_key",
]
