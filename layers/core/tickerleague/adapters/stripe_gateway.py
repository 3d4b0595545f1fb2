"""Stripe through the `stripe` library: PaymentIntents, refunds, webhook signatures.

The base address is a setting (`STRIPE_API_BASE`): empty for Stripe itself, localstripe (http://127.0.0.1:8420) in
`make dev`. Keys are read through Powertools parameters from Secrets Manager (`STRIPE_SECRET_KEY_SECRET_ID`,
`STRIPE_WEBHOOK_SECRET_ID`); with an empty id (the local stack, tests) the local values are used.

Every write carries an idempotency key derived from the entry. It is the SECOND guard: localstripe ignores the keys,
so the services claim each write in DynamoDB with a condition before they call here.

Nothing here logs a key, a client secret or a card detail: errors keep only Stripe's code and message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from tickerleague import tracing
from tickerleague.config import settings
from tickerleague.domain.payments import IntentState
from tickerleague.errors import ServiceUnavailable

SECRET_MAX_AGE_SECONDS = 300
WEBHOOK_TOLERANCE_SECONDS = 300
LOCAL_SECRET_KEY = "sk_test_tickerleague_local"  # localstripe takes any sk_ key; never a real key
NETWORK_RETRIES = 2


class StripeRefused(Exception):
    """Stripe answered 4xx for a request we made (e.g. cancelling a PaymentIntent that already succeeded)."""

    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code


class BadSignature(Exception):
    """The webhook body or its Stripe-Signature header does not verify."""


def _secret(secret_id: str, local: str) -> str:
    if not secret_id:
        return local
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_id, max_age=SECRET_MAX_AGE_SECONDS)
    if not isinstance(value, str) or not value:
        raise ValueError("the Stripe secret is empty")
    return value


def webhook_secret() -> str:
    config = settings()
    return _secret(config.stripe_webhook_secret_id, config.local_stripe_webhook_secret)


def client() -> Any:
    config = settings()
    return _client(_secret(config.stripe_secret_key_secret_id, LOCAL_SECRET_KEY), config.stripe_api_base)


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str | None) -> Any:
    import stripe

    options: dict[str, Any] = {"max_network_retries": NETWORK_RETRIES}
    if api_base:
        options["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(api_key, **options)


def _call(operation: Any, *args: Any, **kwargs: Any) -> Any:
    """One Stripe call, in an X-Ray subsegment `stripe.<Service>.<method>`: a refusal (4xx) becomes StripeRefused,
    anything else (network, 5xx, 429) a 503."""
    import stripe

    try:
        with tracing.subsegment(f"stripe.{getattr(operation, '__qualname__', 'call')}"):
            return operation(*args, **kwargs)
    except stripe.InvalidRequestError as error:
        raise StripeRefused(getattr(error, "code", None), str(getattr(error, "user_message", None) or error)) from None
    except stripe.CardError as error:
        raise StripeRefused(getattr(error, "code", None), "card declined") from None
    except stripe.StripeError as error:
        raise ServiceUnavailable("The payment provider is not answering; try again.",
                                 details={"provider": type(error).__name__}) from None


def _plain(obj: Any) -> dict[str, Any]:
    """A StripeObject (or an event's plain dict) as a plain dict."""
    return dict(obj.to_dict()) if hasattr(obj, "to_dict") else dict(obj)


def _amount_refunded(intent: Mapping[str, Any]) -> int:
    charge = intent.get("latest_charge")
    return int(charge.get("amount_refunded") or 0) if isinstance(charge, Mapping) else 0


def intent_state(obj: Any) -> IntentState:
    """Our view of a PaymentIntent object (its `latest_charge` expanded, for refunds)."""
    intent = _plain(obj)
    metadata = intent.get("metadata") or {}
    return IntentState(
        intent_id=str(intent["id"]), status=str(intent["status"]), amount=int(intent["amount"]),
        currency=str(intent["currency"]).lower(), amount_refunded=_amount_refunded(intent),
        metadata={str(key): str(value) for key, value in dict(metadata).items()},
        created=int(intent.get("created") or 0),
    )


def create_intent(*, amount: int, currency: str, metadata: Mapping[str, str], idempotency_key: str) -> tuple[
        IntentState, str]:
    """A new PaymentIntent for a card: its state and its client secret (for the payer only; never logged)."""
    intent = _call(
        client().v1.payment_intents.create,
        params={"amount": amount, "currency": currency, "metadata": dict(metadata), "payment_method_types": ["card"]},
        options={"idempotency_key": idempotency_key},
    )
    return intent_state(intent), str(intent["client_secret"])


def retrieve_intent(intent_id: str) -> IntentState:
    intent = _call(client().v1.payment_intents.retrieve, intent_id, params={"expand": ["latest_charge"]})
    return intent_state(intent)


def cancel_intent(intent_id: str, *, idempotency_key: str) -> IntentState:
    """Cancel at Stripe. StripeRefused when it can no longer be cancelled (it succeeded, or is cancelled already)."""
    intent = _call(client().v1.payment_intents.cancel, intent_id, options={"idempotency_key": idempotency_key})
    return intent_state(intent)


def create_refund(intent_id: str, *, metadata: Mapping[str, str], idempotency_key: str) -> tuple[str, int]:
    """Refund the whole payment: the refund id and the amount refunded (minor units)."""
    refund = _call(
        client().v1.refunds.create, params={"payment_intent": intent_id, "metadata": dict(metadata)},
        options={"idempotency_key": idempotency_key},
    )
    return str(refund["id"]), int(refund["amount"])


def intents_created_since(since: datetime) -> Iterator[IntentState]:
    """Every PaymentIntent created at or after `since`, paged by the library's auto-paging (reconciliation).
    localstripe refuses the `created` filter: then every PaymentIntent is listed and filtered here."""
    floor = int(since.timestamp())
    params: dict[str, Any] = {"created": {"gte": floor}, "limit": 100, "expand": ["data.latest_charge"]}
    try:
        pages = _call(client().v1.payment_intents.list, params=params)
    except StripeRefused:
        pages = _call(client().v1.payment_intents.list, params={"limit": 100})
    for intent in pages.auto_paging_iter():
        state = intent_state(intent)
        if state.created >= floor:
            yield state


def verify_webhook(payload: bytes, signature_header: str | None) -> dict[str, Any]:
    """The event, if `payload` is signed by our webhook secret within the tolerance; BadSignature otherwise."""
    import stripe

    if not signature_header:
        raise BadSignature("missing Stripe-Signature")
    try:
        event = stripe.Webhook.construct_event(payload, signature_header, webhook_secret(),
                                               tolerance=WEBHOOK_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as error:
        raise BadSignature(str(error)) from None
    except ValueError as error:  # not JSON (or not UTF-8)
        raise BadSignature(f"unreadable payload: {type(error).__name__}") from None
    return _plain(event)
