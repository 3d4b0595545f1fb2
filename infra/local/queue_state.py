"""SQS messages across a restart of the local stack: saved at a clean stop, put back at the next start.

moto keeps its queues in memory, so without this a stop loses every message not yet consumed: emails waiting for a
retry after a provider 429/5xx, Stripe events received (the webhook answered 200) but not yet applied. In AWS those
messages would simply wait in SQS. At a clean stop (Ctrl-C, SIGTERM), after the pollers have stopped and before moto
does, every message of every queue is written to ``<state dir>/queues.json``; the next start puts them back
into the new moto queues before any poller runs, and deletes the file.

A message comes back as SQS holds it: the same MessageId (the email sender's at-most-once marker is claimed under
it, so a new id would find the marker taken and never send), body, attributes, receive count (so the redrive to the
dead-letter queue still happens after ``maxReceiveCount``), and its absolute visibility and delay times (a message
held by a retry delay stays held until that time, whether or not the stack was down meanwhile). A stack that is
killed (SIGKILL, a crash) saves nothing: what moto held then is lost, as the README says.

This reaches into moto's SQS backend (``moto.sqs.models``; checked against moto 5.2.5): the SQS API offers no way
to read a message without receiving it (which changes its visibility and receive count) nor to send one with a
given MessageId.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from infra.local.template import LocalTemplate

LOG = logging.getLogger(__name__)

STATE_FILE = "queues.json"
VERSION = 1


def _moto_queues(template: LocalTemplate) -> dict[str, Any]:
    """Queue name -> moto's Queue object, for every queue in the template's region: the template's queues and the
    private queues of EventBridge rules (infra/local/queues.py), whose names are fixed too."""
    from moto.sqs.models import sqs_backends

    found: dict[str, Any] = {}
    for account_id in list(sqs_backends.keys()):
        found.update(sqs_backends[account_id][template.settings.region].queues)
    return found


def _message_state(message: Any) -> dict[str, Any]:
    return {
        "id": message.id,
        "body": message.body,
        "messageAttributes": message.message_attributes,
        "systemAttributes": message.system_attributes,
        "senderId": message.sender_id,
        "sentTimestamp": message.sent_timestamp,
        "firstReceiveTimestamp": message.approximate_first_receive_timestamp,
        "receiveCount": message.approximate_receive_count,
        "deduplicationId": message.deduplication_id,
        "groupId": message.group_id,
        "sequenceNumber": message.sequence_number,
        "visibleAt": message.visible_at,
        "delayedUntil": message.delayed_until,
    }


def _message(state: dict[str, Any]) -> Any:
    from moto.sqs.models import Message

    message = Message(str(state["id"]), str(state["body"]), dict(state.get("systemAttributes") or {}))
    message.message_attributes = dict(state.get("messageAttributes") or {})
    message.sender_id = state.get("senderId") or message.sender_id
    message.sent_timestamp = state.get("sentTimestamp")
    message.approximate_first_receive_timestamp = state.get("firstReceiveTimestamp")
    message.approximate_receive_count = int(state.get("receiveCount") or 0)
    message.deduplication_id = state.get("deduplicationId")
    message.group_id = state.get("groupId")
    message.sequence_number = state.get("sequenceNumber")
    message.visible_at = float(state.get("visibleAt") or 0.0)
    message.delayed_until = float(state.get("delayedUntil") or 0.0)
    return message


def save_queues(template: LocalTemplate, state_dir: Path) -> int:
    """Write every message of every queue to ``<state dir>/queues.json``; returns how many."""
    queues = {name: [_message_state(m) for m in list(queue._messages)]
              for name, queue in sorted(_moto_queues(template).items())}
    count = sum(len(messages) for messages in queues.values())
    path = state_dir / STATE_FILE
    if count == 0:
        path.unlink(missing_ok=True)
        return 0
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": VERSION, "queues": queues}, indent=1), encoding="utf-8")
    os.chmod(tmp, 0o600)  # bodies can hold addresses and payment ids, like the table on disk
    tmp.replace(path)
    LOG.info("saved %d queued message(s) to %s", count, path)
    return count


def restore_queues(template: LocalTemplate, state_dir: Path) -> int:
    """Put the messages of ``<state dir>/queues.json`` back into the (new, empty) moto queues, then delete the
    file; returns how many. Call once every queue exists and before any poller runs. Messages of a queue that no
    longer exists (a queue removed from the template) are logged and dropped."""
    path = state_dir / STATE_FILE
    if not path.exists():
        return 0
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("version") != VERSION:
        raise ValueError(f"{path}: unknown version {document.get('version')!r}")
    queues = _moto_queues(template)
    count = 0
    for name, messages in document.get("queues", {}).items():
        queue = queues.get(name)
        if queue is None:
            LOG.warning("dropping %d saved message(s) of queue %s: the template has no such queue", len(messages),
                        name)
            continue
        with queue._messages_lock:
            queue._messages.extend(_message(state) for state in messages)
            queue._messages_lock.notify_all()
        count += len(messages)
    path.unlink()
    LOG.info("restored %d queued message(s) from %s", count, path)
    return count
