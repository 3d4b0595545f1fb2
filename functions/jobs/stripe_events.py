"""SQS-triggered: apply queued Stripe events (Powertools BatchProcessor, ReportBatchItemFailures).

A record that raises is reported as failed and comes back after the visibility timeout; after maxReceiveCount it
moves to the dead-letter queue, whose depth raises an alarm (template.yaml). The others in the batch are kept.
Each record is applied under the correlation id the receiver put on its message (the webhook request's), in an
X-Ray subsegment of its own.
"""

from __future__ import annotations

from typing import Any

from tickerleague import correlation, tracing
from tickerleague.logs import logger  # noqa: F401 - imported for its effect: this function's lines are JSON
from tickerleague.services import stripe_events


def _record(record: Any) -> str:
    with tracing.subsegment("## record"), correlation.bound(correlation.of_sqs_record(record.raw_event)):
        return stripe_events.process(record.body)


@tracing.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS)
    return dict(process_partial_response(event=event, record_handler=_record, processor=processor, context=context))
