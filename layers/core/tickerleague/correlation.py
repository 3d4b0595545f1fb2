"""The correlation id: one id carried from an API request into everything it causes, so Logs Insights can follow it.

Where it comes from (the entry points set it; nothing else does):
- an API request (http/api.py): the caller's `X-Correlation-Id` header when it is valid (printable ASCII, 1-128
  characters), else API Gateway's request id; the answer carries it back in `X-Correlation-Id`;
- a queue consumer (functions/jobs/notifications.py, stripe_events.py): each record's, read by `of_sqs_record`
  (our `correlationId` message attribute, or the EventBridge event's `detail.metadata.correlationId`), else a new id;
- a lifecycle step (functions/jobs/lifecycle.py): the execution input's `correlationId`, passed on by the ASL;
- a scheduled job: a new id per run (`per_run`).

Where it goes (the adapters read `current()`):
- every log line of the Powertools Logger, as `correlation_id` (`LogFilter`, installed by tickerleague/logs.py);
- the X-Ray subsegment of the invocation (or queue record), as the annotation `correlation_id`;
- EventBridge events: `detail.metadata.correlationId` (adapters/events.py);
- SQS messages: the `correlationId` message attribute (`message_attributes()`);
- Step Functions executions: `correlationId` in the execution input (adapters/stepfunctions.py).

The id lives in a context variable: Lambda runs one request at a time, the local gateway several threads at once,
and each thread (and each request, since the entry points reset it) sees its own.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tickerleague import tracing

HEADER = "X-Correlation-Id"
ATTRIBUTE = "correlationId"  # the SQS message attribute, the execution input key, the event metadata key
LOG_KEY = "correlation_id"
METADATA = "metadata"  # the EventBridge Detail key holding {"correlationId": ...}
MAX_LENGTH = 128
PATTERN = r"^[\x20-\x7E]{1,128}$"  # printable ASCII, as the OpenAPI document states it
_VALID = re.compile(PATTERN)

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)

def new_id() -> str:
    return str(uuid.uuid4())


def valid(value: Any) -> bool:
    """A caller's id is kept when it is printable ASCII, 1-128 characters, and not blank."""
    return isinstance(value, str) and bool(_VALID.fullmatch(value)) and bool(value.strip())


def current() -> str | None:
    return _current.get()


@contextmanager
def bound(correlation_id: str | None) -> Iterator[str]:
    """Make `correlation_id` (a new one when None or invalid) the current id inside the block."""
    chosen = correlation_id if valid(correlation_id) else new_id()
    assert chosen is not None
    token = _current.set(chosen)
    tracing.annotate(LOG_KEY, chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def of_request(headers: Mapping[str, str], request_id: str | None) -> str:
    """An API request's id: its valid `X-Correlation-Id` header (lower-cased header names), else the request id."""
    offered = headers.get(HEADER.lower())
    if valid(offered):
        return str(offered)
    return str(request_id) if valid(request_id) and request_id != "unknown" else new_id()


def per_run[F: Callable[..., Any]](handler: F) -> F:
    """A scheduled job's entry point: one new id for the whole run."""

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        with bound(None):
            return handler(*args, **kwargs)

    return run  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------- carriers
def message_attributes() -> dict[str, dict[str, str]]:
    """The SQS MessageAttributes carrying the current id (none when there is no current id)."""
    value = current()
    return {ATTRIBUTE: {"DataType": "String", "StringValue": value}} if value else {}


def message_fields() -> dict[str, Any]:
    """Keyword fields for an SQS SendMessage / batch entry: `MessageAttributes` with the id, or nothing."""
    attributes = message_attributes()
    return {"MessageAttributes": attributes} if attributes else {}


def with_metadata(detail: Mapping[str, Any]) -> dict[str, Any]:
    """An event Detail with the current id in `metadata.correlationId` (unchanged when there is none)."""
    value = current()
    if not value:
        return dict(detail)
    metadata = dict(detail.get(METADATA) or {})
    metadata[ATTRIBUTE] = value
    return {**detail, METADATA: metadata}


def of_detail(detail: Any) -> str | None:
    """The id an event's Detail carries (`metadata.correlationId`), if any."""
    if not isinstance(detail, Mapping):
        return None
    metadata = detail.get(METADATA)
    value = metadata.get(ATTRIBUTE) if isinstance(metadata, Mapping) else None
    return value if valid(value) else None


def of_sqs_record(record: Mapping[str, Any]) -> str | None:
    """The id an SQS record carries: our message attribute, else the EventBridge event's Detail metadata (a rule
    target's message has no attributes), else None."""
    attributes = record.get("messageAttributes") or {}
    attribute = attributes.get(ATTRIBUTE) if isinstance(attributes, Mapping) else None
    if isinstance(attribute, Mapping):
        value = attribute.get("stringValue") or attribute.get("StringValue")
        if valid(value):
            return str(value)
    try:
        body = json.loads(str(record.get("body") or ""))
    except ValueError:
        return None
    return of_detail(body.get("detail")) if isinstance(body, Mapping) and "detail-type" in body else None


def of_payload(payload: Mapping[str, Any]) -> str | None:
    """The id a workflow step's payload carries (`correlationId`), if any."""
    value = payload.get(ATTRIBUTE)
    return value if valid(value) else None


# ---------------------------------------------------------------------------------------------------- logs
class LogFilter(logging.Filter):
    """Adds the current id to every record as `correlation_id` (the Powertools formatter writes record attributes
    as JSON keys). On the handler, so the package's standard loggers, which propagate to it, get it too."""

    def filter(self, record: logging.LogRecord) -> bool:
        value = _current.get()
        if value is not None and not hasattr(record, LOG_KEY):
            setattr(record, LOG_KEY, value)
        return True
