"""The notifications queue's consumer: every record is one event, fan-out step or chunk (services/notifications.py).

Powertools' BatchProcessor reports each failed record in `batchItemFailures`, so one failing chunk does not send
its batch-mates again. A record the provider asked us to retry later gets its visibility timeout set to the wait
SendGrid asked for (rate-limit headers) before it is reported failed; after maxReceiveCount receives SQS moves it
to the dead-letter queue, whose depth has an alarm (template.yaml: NotificationsDlqDepthAlarm).
Each record is handled under the correlation id it carries (tickerleague/correlation.py: the message attribute,
or the EventBridge event's metadata), else a new one, in an X-Ray subsegment of its own.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from tickerleague import correlation, tracing
from tickerleague.logs import logger as _json_logs  # noqa: F401 - imported for its effect: this function's lines are JSON
from tickerleague.services import notifications

logger = logging.getLogger("tickerleague.notifications")
# Every failed record is reported, even when all of them fail: each keeps the visibility it was given (a 429's wait),
# where raising for the whole batch would bring every record back after the queue's timeout instead.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _record(record: SQSRecord) -> None:
    with tracing.subsegment("## record"), correlation.bound(correlation.of_sqs_record(record.raw_event)):
        _handle(record)


def _handle(record: SQSRecord) -> None:
    try:
        body = json.loads(record.body)
    except ValueError as error:
        raise notifications.BadMessage("the message body is not JSON") from error
    try:
        notifications.handle_message(body, record.message_id)
    except notifications.RetryLater as later:
        _delay(record, later.delay_seconds)
        raise


def _delay(record: SQSRecord, seconds: int) -> None:
    """Come back after `seconds` rather than after the queue's visibility timeout (best effort)."""
    from tickerleague.config import settings

    try:
        notifications._sqs().change_message_visibility(
            QueueUrl=settings().notifications_queue_url, ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=seconds)
    except Exception:  # the queue's own timeout still brings the message back
        logger.warning("could not delay a message", exc_info=True)


@tracing.handler
def send(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=_record, processor=processor, context=context))
