"""POST /v1/webhooks/stripe: verify Stripe's signature over the raw body, queue the event, answer 200.

No DynamoDB work here (0 table calls, 1 SQS send): the processor (functions/jobs/stripe_events.py) applies it.
Every bad body (unsigned, wrongly signed, older than 300 s, truncated, not JSON, oversized) is 400 and queues nothing.
"""

from __future__ import annotations

from tickerleague.http.api import Access, Api, Reply, Request
from tickerleague.http.schemas_payments import WebhookReceived
from tickerleague.services import stripe_webhooks

api = Api()


@api.route("POST", "/v1/webhooks/stripe", access=Access.PUBLIC, summary="Stripe webhook receiver",
           responses={200: WebhookReceived}, errors=("BAD_SIGNATURE",), tags=("payments",), raw_body=True)
def stripe_webhook(request: Request) -> Reply:
    event_id = stripe_webhooks.receive(request.body, request.headers.get("stripe-signature"))
    return Reply(200, WebhookReceived(received=True, id=event_id))
