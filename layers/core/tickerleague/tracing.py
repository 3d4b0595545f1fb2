"""X-Ray tracing (Powertools Tracer) for every function, free when it is off.

    @tracing.handler                       # a Lambda entry point: one `## <name>` subsegment per invocation
    def refresh(event, context): ...

    with tracing.subsegment("stripe.PaymentIntentService.create"):   # a provider call of ours
        ...

Tracing is on in Lambda (LAMBDA_TASK_ROOT is set; `Tracing: Active` in template.yaml) unless
POWERTOOLS_TRACE_DISABLED is true (tests, the local stack, `sam local`). When it is off, nothing here imports the
X-Ray SDK or Powertools' tracer: the decorator calls the handler straight through.

When it is on, the Tracer is built at the first invocation, not at import (a handler module's import is the cold
start this package keeps small; `make bench-cold-start`), and it patches botocore only: every AWS call (DynamoDB
through PynamoDB and boto3, SQS, EventBridge, Step Functions, Secrets Manager, SSM) becomes a subsegment. Stripe and
SendGrid calls get a named subsegment each from their adapters. Handler responses are never recorded (they hold
tokens); errors are, as subsegment metadata. Each traced invocation (or queue record) is annotated with its
`correlation_id`, so a trace is found from a log line and back.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

SERVICE = "tickerleague"
PATCHED_MODULES = ("botocore",)
TRACED_ATTRIBUTE = "__traced__"  # set on every traced entry point (a test checks every function of the template)

def enabled() -> bool:
    """Tracing is on in Lambda itself, off when POWERTOOLS_TRACE_DISABLED is true or outside Lambda (as Powertools)."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL")


@functools.lru_cache(maxsize=1)
def tracer() -> Any:
    """The one Tracer, built (and botocore patched) at its first use."""
    from aws_lambda_powertools import Tracer

    built = Tracer(service=SERVICE, auto_patch=False)
    built.patch(list(PATCHED_MODULES))
    return built


def handler[F: Callable[..., Any]](entry: F) -> F:
    """A traced Lambda entry point `(event, context)`: an untouched call when tracing is off."""
    traced: list[Callable[..., Any]] = []

    @functools.wraps(entry)
    def run(event: Any, context: Any) -> Any:
        if not enabled():
            return entry(event, context)
        if not traced:
            traced.append(tracer().capture_lambda_handler(entry, capture_response=False))
        return traced[0](event, context)

    setattr(run, TRACED_ATTRIBUTE, True)
    return run  # type: ignore[return-value]


@contextmanager
def subsegment(name: str, **annotations: str) -> Iterator[None]:
    """A named subsegment around the block (a provider call), with optional annotations; nothing when off."""
    if not enabled():
        yield
        return
    with tracer().provider.in_subsegment(name=name) as segment:
        for key, value in annotations.items():
            segment.put_annotation(key, value)
        yield


def annotate(key: str, value: str) -> None:
    """An annotation (searchable in X-Ray) on the current subsegment; nothing when off."""
    if enabled():
        tracer().put_annotation(key=key, value=value)
