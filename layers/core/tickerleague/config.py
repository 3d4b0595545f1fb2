"""Every setting read from the environment, in one place.

Handlers and services call `settings()`; tests change the environment and call `settings.cache_clear()`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _decimal(name: str, default: str) -> Decimal:
    raw = os.environ.get(name)
    return Decimal(raw if raw not in (None, "") else default)


def _csv(name: str, default: str = "") -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, default).split(",") if part.strip())


def _pairs(name: str) -> tuple[tuple[str, str], ...]:
    """ "a=1,b=2" -> (("a", "1"), ("b", "2")); a part without "=" is ignored."""
    pairs = (part.partition("=") for part in _csv(name))
    return tuple((key.strip(), value.strip()) for key, sep, value in pairs if sep and key.strip())
def _named_values(*suffixes: str, skip: frozenset[str] = frozenset()) -> tuple[tuple[str, str], ...]:
    """(name, value) of every set variable ending in one of `suffixes`, named after the rest
    ("STRIPE_EVENTS_QUEUE_URL" -> "stripe-events"), one per distinct value (JWT and cursor keys share one secret)."""
    found: dict[str, str] = {}
    for key in sorted(os.environ):
        value = os.environ[key].strip()
        suffix = next((end for end in suffixes if key.endswith(end)), None)
        if suffix and key not in skip and value and value not in found:
            found[value] = key.removesuffix(suffix).lower().replace("_", "-")
    return tuple((name, value) for value, name in found.items())


def _components(name: str) -> tuple[tuple[str, str, int], ...]:
    """`name=host:port,...` -> ((name, host, port), ...)."""
    parsed = []
    for part in _csv(name):
        label, _, address = part.partition("=")
        host, _, port = address.rpartition(":")
        parsed.append((label.strip(), host.strip() or "127.0.0.1", int(port)))
    return tuple(parsed)


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
    quotes_api_key_parameter: str  # the name of an SSM SecureString parameter
    quotes_base_url: str | None  # None: the provider's default endpoint
    quote_max_age_seconds: int
    placement_memory_seconds: int
    market_calendar: str
    cors_allow_origins: tuple[str, ...]
    max_body_bytes: int
    entry_shards: int
    local_stack: bool
    version: str
    # Retry and abuse safety (idem): token buckets per caller, Idempotency-Key records.
    rate_limit_enabled: bool  # 0 switches every per-caller bucket off (API Gateway's stage throttling stays)
    rate_limit_orders_burst: int  # order placements (per entry) and cancels (per user): bucket size
    rate_limit_orders_per_second: Decimal  # order bucket refill per second
    rate_limit_user_burst: int  # every other authenticated route, per user: bucket size
    rate_limit_user_per_second: Decimal  # per-user bucket refill per second
    rate_limit_ip_burst: int  # routes without a caller, per source IP: bucket size (make dev raises it)
    rate_limit_ip_per_second: Decimal  # per-IP bucket refill per second
    idempotency_ttl_seconds: int  # how long an Idempotency-Key's answer (and its orders' and contests' markers) is kept
    idempotency_in_flight_seconds: int  # after this a claimed key whose request died may be claimed again
    # notifications (services/notifications.py, adapters/sendgrid.py)
    notifications_queue_url: str  # SQS queue of notification work (events and fan-out chunks)
    sendgrid_api_base: str  # SendGrid's API host (locally the mail stand-in)
    sendgrid_api_key_secret_id: str  # Secrets Manager id of the SendGrid API key
    sendgrid_template_ids: tuple[tuple[str, str], ...]  # (kind, dynamic template id) from "kind=d-...,kind=d-..."
    sendgrid_timeout_seconds: int  # timeout of every SendGrid call
    email_from: str  # the From of every email
    email_link_base_url: str  # the frontend's address, for links in emails
    notify_chunk_size: int  # recipients per fan-out queue message
    # admin and account self-service
    password_reset_token_seconds: int  # how long a password-reset token is valid
    password_reset_min_seconds: float  # a reset request never answers sooner (known email or not: no timing leak)
    # operations (ops): the health check
    health_check_timeout_seconds: float  # /v1/health's wait for each dependency
    health_queue_urls: tuple[tuple[str, str], ...]  # queues /v1/health checks: every *_QUEUE_URL
    health_secret_ids: tuple[tuple[str, str], ...]  # secrets /v1/health checks: every *_SECRET_ID, *_PARAMETER
    local_components: tuple[tuple[str, str, int], ...]  # local servers /v1/health checks
    # payments (Stripe)
    payment_hold_seconds: int = 900  # how long a pending paid entry holds its seat
    stripe_api_base: str | None = None  # None: Stripe's own; locally localstripe (http://127.0.0.1:8420)
    stripe_secret_key_secret_id: str = ""  # empty: the local key (localstripe accepts any sk_test_ key)
    stripe_webhook_secret_id: str = ""  # empty: LOCAL_STRIPE_WEBHOOK_SECRET
    stripe_events_queue_url: str = ""  # SQS queue buffering verified Stripe webhook events
    local_stripe_webhook_secret: str = "whsec_local_development"  # local only: localstripe's webhook secret
    local_stripe_port: int = 8420  # local stack only: localstripe's port


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
        quotes_api_key_parameter=os.environ.get("QUOTES_API_KEY_PARAMETER", ""),
        quotes_base_url=os.environ.get("QUOTES_BASE_URL", "").strip() or None,
        quote_max_age_seconds=_int("QUOTE_MAX_AGE_SECONDS", 120),
        placement_memory_seconds=_int("PLACEMENT_MEMORY_SECONDS", 5),
        market_calendar=os.environ.get("MARKET_CALENDAR", "24x7"),
        cors_allow_origins=_csv("CORS_ALLOW_ORIGINS", "http://localhost:5173"),
        max_body_bytes=_int("MAX_BODY_BYTES", 64 * 1024),
        entry_shards=_int("ENTRY_SHARDS", 8),
        local_stack=os.environ.get("LOCAL_STACK", "") == "1",
        version=os.environ.get("APP_VERSION", __version__),
        rate_limit_enabled=os.environ.get("RATE_LIMIT_ENABLED", "1") != "0",
        rate_limit_orders_burst=_int("RATE_LIMIT_ORDERS_BURST", 30),
        rate_limit_orders_per_second=_decimal("RATE_LIMIT_ORDERS_PER_SECOND", "1"),
        rate_limit_user_burst=_int("RATE_LIMIT_USER_BURST", 120),
        rate_limit_user_per_second=_decimal("RATE_LIMIT_USER_PER_SECOND", "10"),
        rate_limit_ip_burst=_int("RATE_LIMIT_IP_BURST", 120),
        rate_limit_ip_per_second=_decimal("RATE_LIMIT_IP_PER_SECOND", "10"),
        idempotency_ttl_seconds=_int("IDEMPOTENCY_TTL_SECONDS", 24 * 3600),
        # Longer than the API function's 10 s timeout: a record older than this was left by a request that died.
        idempotency_in_flight_seconds=_int("IDEMPOTENCY_IN_FLIGHT_SECONDS", 30),
        notifications_queue_url=os.environ.get("NOTIFICATIONS_QUEUE_URL", ""),
        sendgrid_api_base=os.environ.get("SENDGRID_API_BASE", "").strip() or "https://api.sendgrid.com",
        sendgrid_api_key_secret_id=os.environ.get("SENDGRID_API_KEY_SECRET_ID", ""),
        sendgrid_template_ids=_pairs("SENDGRID_TEMPLATE_IDS"),
        sendgrid_timeout_seconds=_int("SENDGRID_TIMEOUT_SECONDS", 5),
        email_from=os.environ.get("EMAIL_FROM", "Ticker League <no-reply@tickerleague.example>"),
        email_link_base_url=os.environ.get("EMAIL_LINK_BASE_URL", "https://app.tickerleague.example").rstrip("/"),
        notify_chunk_size=_int("NOTIFY_CHUNK_SIZE", 100),
        # admin and account self-service
        password_reset_token_seconds=_int("PASSWORD_RESET_TOKEN_SECONDS", 30 * 60),
        password_reset_min_seconds=_int("PASSWORD_RESET_MIN_MILLISECONDS", 300) / 1000,
        health_check_timeout_seconds=float(os.environ.get("HEALTH_CHECK_TIMEOUT_SECONDS") or "2"),
        health_queue_urls=_named_values("_QUEUE_URL"),
        # The simulated provider needs no key, so its (absent) parameter is not a dependency.
        health_secret_ids=_named_values("_SECRET_ID", "_PARAMETER", skip=frozenset(
            {"QUOTES_API_KEY_PARAMETER"} if os.environ.get("QUOTES_PROVIDER", "simulated") == "simulated" else ())),
        local_components=_components("LOCAL_COMPONENTS"),
        # payments (Stripe)
        payment_hold_seconds=_int("PAYMENT_HOLD_SECONDS", 900),
        stripe_api_base=os.environ.get("STRIPE_API_BASE", "").strip() or None,
        stripe_secret_key_secret_id=os.environ.get("STRIPE_SECRET_KEY_SECRET_ID", ""),
        stripe_webhook_secret_id=os.environ.get("STRIPE_WEBHOOK_SECRET_ID", ""),
        stripe_events_queue_url=os.environ.get("STRIPE_EVENTS_QUEUE_URL", ""),
        local_stripe_webhook_secret=os.environ.get("LOCAL_STRIPE_WEBHOOK_SECRET", "") or "whsec_local_development",
        local_stripe_port=_int("LOCAL_STRIPE_PORT", 8420),
    )
