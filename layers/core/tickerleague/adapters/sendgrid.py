"""SendGrid's v3 mail send through the `sendgrid` library: one dynamic-template email per call.

The host is SENDGRID_API_BASE (locally the stand-in on 127.0.0.1:8025), the API key is read through Powertools
parameters from the secret SENDGRID_API_KEY_SECRET_ID (cached for 5 minutes, like every secret here), the template
id of each kind comes from SENDGRID_TEMPLATE_IDS, and every call has a timeout (SENDGRID_TIMEOUT_SECONDS). The
adapter only reports what SendGrid answered; what to do with it (retry, release, record) is the sender's rule
(domain/notifications.py: verdict, retry_delay).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tickerleague import tracing
from tickerleague.config import settings
from tickerleague.domain.notifications import Kind

logger = logging.getLogger("tickerleague.sendgrid")
SECRET_MAX_AGE_SECONDS = 300


class TemplateNotConfigured(RuntimeError):
    """SENDGRID_TEMPLATE_IDS has no template for a kind: a deployment error, so the message retries, then DLQ."""


@dataclass(frozen=True)
class OutgoingEmail:
    kind: Kind
    to: str
    data: Mapping[str, Any]
    # Our identity of the email (user, kind, subject): SendGrid keeps custom args with its events, so a bounce or a
    # support question can be traced back to the marker.
    notification_id: str


@dataclass(frozen=True)
class ProviderAnswer:
    status: int | None  # None: no answer (timeout, connection reset): the email may or may not have been accepted
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


def template_id(kind: Kind) -> str:
    configured = dict(settings().sendgrid_template_ids)
    found = configured.get(kind.value)
    if not found:
        raise TemplateNotConfigured(f"SENDGRID_TEMPLATE_IDS has no template id for {kind.value}")
    return found


def api_key() -> str:
    secret_id = settings().sendgrid_api_key_secret_id
    if not secret_id:
        raise TemplateNotConfigured("SENDGRID_API_KEY_SECRET_ID is not set")
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_id, max_age=SECRET_MAX_AGE_SECONDS)
    return value.decode() if isinstance(value, bytes) else str(value)


@lru_cache(maxsize=4)
def _client(host: str, key: str) -> Any:
    from sendgrid import SendGridAPIClient

    return SendGridAPIClient(api_key=key, host=host)


def mail_body(email: OutgoingEmail, sender: str, template: str) -> dict[str, Any]:
    """The v3 mail send JSON, built by the library's Mail helper."""
    from sendgrid.helpers.mail import CustomArg, Mail

    message = Mail(from_email=sender, to_emails=email.to)
    message.template_id = template
    message.dynamic_template_data = dict(email.data)
    message.custom_arg = [CustomArg("kind", email.kind.value), CustomArg("notificationId", email.notification_id)]
    body: dict[str, Any] = message.get()
    return body


def send(email: OutgoingEmail) -> ProviderAnswer:
    """POST /v3/mail/send once. Never raises for an HTTP answer or a network failure: the answer says which."""
    from python_http_client.exceptions import HTTPError

    config = settings()
    body = mail_body(email, config.email_from, template_id(email.kind))
    client = _client(config.sendgrid_api_base, api_key())
    try:
        with tracing.subsegment("sendgrid.mail.send", kind=email.kind.value):
            response = client.client.mail.send.post(request_body=body, timeout=config.sendgrid_timeout_seconds)
    except HTTPError as error:
        return ProviderAnswer(int(error.status_code), _headers(error.headers), _text(error.body))
    except OSError as error:  # timeouts, resets, refused connections (URLError is one too)
        logger.warning("SendGrid call failed without an answer", extra={"kind": email.kind.value,
                                                                       "error": type(error).__name__})
        return ProviderAnswer(None)
    return ProviderAnswer(int(response.status_code), _headers(response.headers), _text(response.body))


def _headers(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    items = raw.items() if hasattr(raw, "items") else raw
    return {str(key): str(value) for key, value in items}


def _text(raw: Any) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace")[:2000]
    return str(raw or "")[:2000]
