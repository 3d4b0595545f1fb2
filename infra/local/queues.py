"""Feed SQS event sources (and EventBridge rules) to their functions, as Lambda's pollers do in AWS.

moto's SQS and EventBridge never invoke Lambdas, so one poller thread per event source long-polls the
moto queue, invokes the handler with a real ``{"Records": [...]}`` batch, and deletes what succeeded.
With ``ReportBatchItemFailures`` only the reported messages stay; they become visible again after the
queue's VisibilityTimeout. A handler exception keeps the whole batch. Moving a message to the dead-letter
queue after ``maxReceiveCount`` receives is moto's own doing (verified in moto 5.2.5: on the receive
after the limit, it moves the message instead of delivering it), exactly the point where SQS does it.

EventBridge rules (``EventBridgeRule``/``CloudWatchEvent`` events) reuse the same machinery: moto can
deliver matching events to an SQS target, so each rule gets a private queue whose messages are handed to
the function one event at a time, with up to 3 attempts like Lambda's asynchronous invocation.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3

from infra.local.model import EventRuleDef, SqsEventDef

LOG = logging.getLogger(__name__)

InvokeFunction = Callable[[str, Any], Any]

RULE_ATTEMPTS = 3
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
)


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of an SQS event, in the shape Lambda delivers it."""
    attributes = message.get("Attributes") or {}
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {key: attributes[key] for key in _RECORD_ATTRIBUTES if key in attributes},
        "messageAttributes": {
            name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return attribute


def failed_message_ids(result: Any, batch_ids: Sequence[str]) -> set[str]:
    """Which messages failed, per Lambda's ReportBatchItemFailures rules.

    Complete success: None, ``{}``, or a null/empty ``batchItemFailures``. Complete failure: a response that
    is not an object, or any item whose ``itemIdentifier`` is missing, empty or not in the batch.
    """
    if result is None:
        return set()
    if not isinstance(result, Mapping):
        return set(batch_ids)
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return set(batch_ids)
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not identifier or identifier not in batch_ids:
            LOG.error("invalid batchItemFailures entry %r: the whole batch counts as failed", item)
            return set(batch_ids)
        failed.add(str(identifier))
    return failed


@dataclass(frozen=True)
class QueueTarget:
    """Where a poller reads from."""

    url: str
    arn: str


class _Poller:
    """A thread long-polling one queue until stopped."""

    def __init__(self, target: QueueTarget, batch_size: int, region: str, wait_seconds: int) -> None:
        self.target = target
        self.batch_size = max(1, min(batch_size, 10))
        self.region = region
        self.wait_seconds = wait_seconds
        self.sqs: Any = boto3.client("sqs", region_name=region)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"poll-{target.arn.rsplit(':', 1)[-1]}", daemon=True)

    def _loop(self) -> None:
        while not self.stopped.is_set():
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.target.url,
                    MaxNumberOfMessages=self.batch_size,
                    WaitTimeSeconds=self.wait_seconds,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if messages and not self.stopped.is_set():
                    self.handle(messages)
            except Exception:
                LOG.exception("polling %s failed", self.target.arn)
                self.stopped.wait(1.0)

    def handle(self, messages: list[dict[str, Any]]) -> None:
        """Process one received batch."""
        raise NotImplementedError

    def delete(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Delete processed messages."""
        if messages:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            self.sqs.delete_message_batch(QueueUrl=self.target.url, Entries=entries)


class SqsEventPoller(_Poller):
    """An ``SQS`` event source mapping."""

    def __init__(self, source: SqsEventDef, target: QueueTarget, invoke: InvokeFunction, region: str, wait: int):
        super().__init__(target, source.batch_size, region, wait)
        self.source = source
        self.invoke = invoke

    def handle(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [sqs_record(m, self.target.arn, self.region) for m in messages]}
        ids = [m["MessageId"] for m in messages]
        try:
            result = self.invoke(self.source.function_id, event)
        except Exception:
            LOG.exception("%s failed a batch of %d from %s", self.source.function_id, len(ids), self.target.arn)
            return
        failed = failed_message_ids(result, ids) if self.source.report_batch_item_failures else set()
        if failed:
            LOG.warning(
                "%s: %d of %d messages failed and will be retried", self.source.function_id, len(failed), len(ids)
            )
        self.delete([m for m in messages if m["MessageId"] not in failed])


class EventRulePoller(_Poller):
    """An EventBridge rule delivering to a function (through its private moto queue)."""

    def __init__(self, rule: EventRuleDef, target: QueueTarget, invoke: InvokeFunction, region: str, wait: int):
        super().__init__(target, 1, region, wait)
        self.rule = rule
        self.invoke = invoke

    def handle(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            event = _rule_input(self.rule, json.loads(message["Body"]))
            try:
                self.invoke(self.rule.function_id, event)
            except Exception:
                attempts = int((message.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))
                LOG.exception(
                    "%s failed on an event of rule %s (attempt %d)",
                    self.rule.function_id,
                    self.rule.rule_name,
                    attempts,
                )
                if attempts < RULE_ATTEMPTS:
                    continue
                LOG.error("dropping the event after %d attempts, as asynchronous Lambda invocation does", attempts)
            self.delete([message])


def _rule_input(rule: EventRuleDef, event: Any) -> Any:
    """Apply a rule target's ``Input`` (constant) or ``InputPath`` (``$.a.b``)."""
    if rule.input is not None:
        return json.loads(rule.input)
    if rule.input_path:
        value = event
        for part in rule.input_path.removeprefix("$").strip(".").split("."):
            if part:
                value = value[part]
        return value
    return event


class QueueRunner:
    """All pollers of the stack: SQS event sources and EventBridge rules."""

    def __init__(self, pollers: Sequence[_Poller]) -> None:
        self.pollers = list(pollers)

    def start(self) -> None:
        """Start polling."""
        for poller in self.pollers:
            poller.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling; each poller finishes its current batch (bounded wait)."""
        for poller in self.pollers:
            poller.stopped.set()
        for poller in self.pollers:
            poller.thread.join(timeout=timeout)


def sqs_pollers(
    sources: Sequence[SqsEventDef],
    queue_attributes: Mapping[str, Mapping[str, str]],
    invoke: InvokeFunction,
    region: str,
    wait_seconds: int = 1,
) -> list[_Poller]:
    """One poller per enabled SQS event source; ``queue_attributes`` holds each queue's real URL and ARN."""
    pollers: list[_Poller] = []
    for source in sources:
        if not source.enabled:
            continue
        values = queue_attributes[source.queue_id]
        target = QueueTarget(values["QueueUrl"], values["Arn"])
        pollers.append(SqsEventPoller(source, target, invoke, region, wait_seconds))
    return pollers


def event_rule_pollers(
    rules: Sequence[EventRuleDef], invoke: InvokeFunction, region: str, wait_seconds: int = 1
) -> list[_Poller]:
    """Create each rule in moto with a private SQS target, and a poller for it."""
    events = boto3.client("events", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    pollers: list[_Poller] = []
    for rule in rules:
        queue_name = f"local-rule-{rule.rule_name}"[:80]
        url = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=rule.rule_name, EventBusName=rule.bus_name, EventPattern=json.dumps(rule.pattern))
        events.put_targets(Rule=rule.rule_name, EventBusName=rule.bus_name, Targets=[{"Id": "local", "Arn": arn}])
        pollers.append(EventRulePoller(rule, QueueTarget(url, arn), invoke, region, wait_seconds))
    return pollers
