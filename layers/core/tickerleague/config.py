"""Every setting read from the environment, in one place.

Handlers and services call `settings()`; tests change the environment and call `settings.cache_clear()`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _csv(name: str, default: str = "") -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, default).split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str
    dynamodb_endpoint: str | None
    region: str
    event_bus_name: str
    lifecycle_state_machine_arn: str
    jwt_keys_secret_id: str
    jwt_issuer: str
    jwt_audience: str
    access_token_seconds: int
    refresh_token_seconds: int
    principal_status_cache_seconds: int
    login_max_failures_per_email: int
    login_max_failures_per_ip: int
    login_window_seconds: int
    quotes_provider: str
    quotes_api_key_secret_id: str
    quotes_base_url: str | None  # None: the provider's default endpoint
    quote_max_age_seconds: int
    placement_memory_seconds: int
    market_calendar: str
    cors_allow_origins: tuple[str, ...]
    max_body_bytes: int
    entry_shards: int
    local_stack: bool
    version: str
    # payments (Stripe)
    payment_hold_seconds: int = 900
    stripe_api_base: str | None = None  # None: Stripe's own; locally localstripe (http://127.0.0.1:8420)
    stripe_secret_key_secret_id: str = ""  # empty: the local key (localstripe accepts any sk_test_ key)
    stripe_webhook_secret_id: str = ""  # empty: LOCAL_STRIPE_WEBHOOK_SECRET
    stripe_events_queue_url: str = ""
    local_stripe_webhook_secret: str = "whsec_local_development"
    local_stripe_port: int = 8420

    @property
    def is_local(self) -> bool:
        return self.local_stack


@lru_cache(maxsize=1)
def settings() -> Settings:
    from tickerleague import __version__

    return Settings(
        stage=os.environ.get("STAGE", "dev"),
        table_name=os.environ.get("TABLE_NAME", "tickerleague-local"),
        dynamodb_endpoint=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        event_bus_name=os.environ.get("EVENT_BUS_NAME", "tickerleague-dev"),
        lifecycle_state_machine_arn=os.environ.get("LIFECYCLE_STATE_MACHINE_ARN", ""),
        jwt_keys_secret_id=os.environ.get("JWT_KEYS_SECRET_ID", ""),
        jwt_issuer=os.environ.get("JWT_ISSUER", "https://api.tickerleague.example"),
        jwt_audience=os.environ.get("JWT_AUDIENCE", "tickerleague-api"),
        access_token_seconds=_int("ACCESS_TOKEN_SECONDS", 15 * 60),
        refresh_token_seconds=_int("REFRESH_TOKEN_SECONDS", 30 * 24 * 3600),
        principal_status_cache_seconds=_int("PRINCIPAL_STATUS_CACHE_SECONDS", 20),
        login_max_failures_per_email=_int("LOGIN_MAX_FAILURES_PER_EMAIL", 5),
        login_max_failures_per_ip=_int("LOGIN_MAX_FAILURES_PER_IP", 50),
        login_window_seconds=_int("LOGIN_WINDOW_SECONDS", 15 * 60),
        quotes_provider=os.environ.get("QUOTES_PROVIDER", "simulated"),
        quotes_api_key_secret_id=os.environ.get("QUOTES_API_KEY_SECRET_ID", ""),
        quotes_base_url=os.environ.get("QUOTES_BASE_URL", "").strip() or None,
        quote_max_age_seconds=_int("QUOTE_MAX_AGE_SECONDS", 120),
        placement_memory_seconds=_int("PLACEMENT_MEMORY_SECONDS", 5),
        market_calendar=os.environ.get("MARKET_CALENDAR", "24x7"),
        cors_allow_origins=_csv("CORS_ALLOW_ORIGINS", "http://localhost:5173"),
        max_body_bytes=_int("MAX_BODY_BYTES", 64 * 1024),
        entry_shards=_int("ENTRY_SHARDS", 8),
        local_stack=os.environ.get("LOCAL_STACK", "") == "1",
        version=os.environ.get("APP_VERSION", __version__),
        # payments (Stripe)
        payment_hold_seconds=_int("PAYMENT_HOLD_SECONDS", 900),
        stripe_api_base=os.environ.get("STRIPE_API_BASE", "").strip() or None,
        stripe_secret_key_secret_id=os.environ.get("STRIPE_SECRET_KEY_SECRET_ID", ""),
        stripe_webhook_secret_id=os.environ.get("STRIPE_WEBHOOK_SECRET_ID", ""),
        stripe_events_queue_url=os.environ.get("STRIPE_EVENTS_QUEUE_URL", ""),
        local_stripe_webhook_secret=os.environ.get("LOCAL_STRIPE_WEBHOOK_SECRET", "") or "whsec_local_development",
        local_stripe_port=_int("LOCAL_STRIPE_PORT", 8420),
    )
