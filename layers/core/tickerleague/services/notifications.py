"""The notification sender: domain events and our own work items from the notifications queue -> SendGrid.

Three shapes of message arrive on the queue (docs/technical-specification.md, "Notifications"):
  event    an EventBridge event routed by the NotificationsRule ({"detail-type", "detail", ...})
  fanout   {"notify": "fanout", ...}: one bounded step of finding a contest's recipients
  chunk    {"notify": "chunk", ...}: at most NOTIFY_CHUNK_SIZE recipients of one kind for one subject
Single-recipient events (entry confirmed or refunded, password reset) are sent at once. Contest-wide events are
fanned out: ContestStarted/ContestCancelled page through each entry shard (one page per step, the step queues the
page's chunk and its own continuation); ContestEnded splits the final leaderboard's pages into ranges of at most
FAN_OUT_WIDTH, so the work spreads over many messages and each chunk retries on its own. No step ever loops over a
whole contest.

At most once: before each provider call the sender claims the marker of (user, kind, subject) under the id of the
queue message; see adapters/dynamodb/notifications.py for what each answer does to it (only a "not now" answer
lets the same message claim it again).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tickerleague import correlation, metrics
from tickerleague.adapters import sendgrid
from tickerleague.adapters.dynamodb import notifications as store
from tickerleague.clock import iso, iso_ms, utcnow
from tickerleague.config import settings
from tickerleague.domain.money import cash_str
from tickerleague.domain.notifications import (
    FAN_OUT_KINDS,
    KIND_OF_EVENT,
    TEMPLATE_VARIABLES,
    Addressee,
    Kind,
    Recipient,
    Skip,
    Verdict,
    chunks,
    retry_delay,
    skip_reason,
    subject_id,
    verdict,
)

logger = logging.getLogger("tickerleague.notifications")

FAN_OUT_WIDTH = 10  # messages one fan-out step may queue (SendMessageBatch's limit: one call)
IN_PROCESS_RETRIES = 2  # quick retries of a 429/5xx inside one invocation, when the wait is short
IN_PROCESS_MAX_WAIT_SECONDS = 2
BOARD_RUN_ID = "FINAL"


class RetryLater(RuntimeError):
    """The provider said "not now" (429/5xx): the message fails, and comes back after `delay_seconds`."""

    def __init__(self, delay_seconds: int, reason: str) -> None:
        super().__init__(reason)
        self.delay_seconds = delay_seconds


class BadMessage(ValueError):
    """A message the sender cannot understand: retrying cannot help, so it goes to the DLQ."""


@dataclass
class Outcome:
    """What one message did (logged; the tests read it)."""

    sent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    unknown: int = 0
    queued: int = 0
    retry_later: int = 0

    def skip(self, reason: Skip) -> None:
        self.skipped[reason.value] = self.skipped.get(reason.value, 0) + 1

    def emit(self, kind: Kind) -> None:
        """EmailsSent / EmailsFailed (reason refused | unknown) / EmailsSkipped (reason) / EmailsRetryLater, by
        kind: one record per counter and chunk (never one per email: a 100,000-entrant fan-out is 1,000 chunks)."""
        if self.sent:
            metrics.count("EmailsSent", self.sent, kind=kind.value)
        for reason, value in (("refused", self.refused), ("unknown", self.unknown)):
            if value:
                metrics.count("EmailsFailed", value, kind=kind.value, reason=reason)
        for reason, value in self.skipped.items():
            metrics.count("EmailsSkipped", value, kind=kind.value, reason=reason)
        if self.retry_later:
            metrics.count("EmailsRetryLater", self.retry_later, kind=kind.value)


# ---------------------------------------------------------------------------------------------------- the queue
def queue_work(bodies: Sequence[dict[str, Any]]) -> None:
    """Queue work items on the notifications queue, ten per SendMessageBatch call; fails on any refused entry
    (the caller's message then retries, and the markers make the repeated work harmless)."""
    if not bodies:
        return
    client = _sqs()
    url = settings().notifications_queue_url
    for batch in chunks(list(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": json.dumps(body, separators=(",", ":")),
                    **correlation.message_fields()} for i, body in enumerate(batch)]
        response = client.send_message_batch(QueueUrl=url, Entries=entries)
        if response.get("Failed"):
            raise RuntimeError(f"SendMessageBatch refused {len(response['Failed'])} of {len(entries)} entries")


_SQS: list[Any] = []


def _sqs() -> Any:
    if not _SQS:
        import boto3

        _SQS.append(boto3.client("sqs", region_name=settings().region))
    return _SQS[0]


@dataclass(frozen=True)
class SenderPorts:
    """What the sender talks to; tests replace the queue and the clock."""

    send: Callable[[sendgrid.OutgoingEmail], sendgrid.ProviderAnswer] = sendgrid.send
    enqueue: Callable[[Sequence[dict[str, Any]]], None] = queue_work
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.time


# ---------------------------------------------------------------------------------------------------- dispatch
def handle_message(body: Mapping[str, Any], message_id: str, ports: SenderPorts | None = None) -> Outcome:
    """One queue message, whatever its shape. Raises RetryLater or another error to have it retried."""
    p = ports or SenderPorts()
    if body.get("notify") == "fanout":
        return _fan_out_step(body, p)
    if body.get("notify") == "chunk":
        return _send_chunk(body, message_id, p)
    if "detail-type" in body:
        return _on_event(str(body["detail-type"]), body.get("detail") or {}, message_id, p)
    raise BadMessage(f"unknown notification message {sorted(body)[:5]}")


def _on_event(detail_type: str, detail: Mapping[str, Any], message_id: str, p: SenderPorts) -> Outcome:
    kind = KIND_OF_EVENT.get(detail_type)
    if kind is None:
        raise BadMessage(f"no email for {detail_type}")
    if kind not in FAN_OUT_KINDS:
        return _send_chunk(_single_chunk(kind, detail), message_id, p)
    contest_id = str(detail.get("contestId") or "")
    if not contest_id:
        raise BadMessage(f"{detail_type} without contestId")
    outcome = Outcome()
    if kind is Kind.CONTEST_ENDED:
        steps = [{"notify": "fanout", "kind": kind.value, "contestId": contest_id, "fromPage": 0, "toPage": None}]
    else:
        steps = [{"notify": "fanout", "kind": kind.value, "contestId": contest_id, "shard": shard, "startKey": None}
                 for shard in range(settings().entry_shards)]
    p.enqueue(steps)
    outcome.queued = len(steps)
    return outcome


def _single_chunk(kind: Kind, detail: Mapping[str, Any]) -> dict[str, Any]:
    user_id = str(detail.get("userId") or "")
    if not user_id:
        raise BadMessage(f"{kind} without userId")
    extra: dict[str, str] = {}
    if kind is Kind.ENTRY_REFUNDED:
        extra = {"amount": str(detail.get("amount", "")), "currency": str(detail.get("currency", "")).upper()}
    elif kind is Kind.PASSWORD_RESET:
        extra = {"token": str(detail.get("token", "")), "expiresAt": str(detail.get("expiresAt", ""))}
    return {"notify": "chunk", "kind": kind.value, "contestId": detail.get("contestId"),
            "resetId": detail.get("resetId"), "recipients": [Recipient(user_id, extra).to_json()]}


# ---------------------------------------------------------------------------------------------------- fan-out
def _fan_out_step(body: Mapping[str, Any], p: SenderPorts) -> Outcome:
    kind = Kind(str(body["kind"]))
    contest_id = str(body["contestId"])
    outcome = Outcome()
    if kind is Kind.CONTEST_ENDED:
        work = _board_ranges(contest_id, int(body.get("fromPage") or 0), body.get("toPage"))
    else:
        work = _entrant_page(kind, contest_id, int(body["shard"]), body.get("startKey"))
    p.enqueue(work)
    outcome.queued = len(work)
    return outcome


def _entrant_page(kind: Kind, contest_id: str, shard: int, start_key: Any) -> list[dict[str, Any]]:
    """One page of one entry shard -> its chunk, and the continuation step when the shard has more."""
    page = store.entrants_page(contest_id, shard, settings().notify_chunk_size, start_key or None)
    work: list[dict[str, Any]] = []
    if page.user_ids:
        work.append({"notify": "chunk", "kind": kind.value, "contestId": contest_id,
                     "recipients": [Recipient(user_id, {}).to_json() for user_id in page.user_ids]})
    if page.next_key:
        work.append({"notify": "fanout", "kind": kind.value, "contestId": contest_id, "shard": shard,
                     "startKey": page.next_key})
    return work


def _board_ranges(contest_id: str, first: int, last: Any) -> list[dict[str, Any]]:
    """Final leaderboard pages [first, last): at most FAN_OUT_WIDTH pages become chunks; a longer range is split
    into at most FAN_OUT_WIDTH sub-ranges (a tree: 1,000 pages of 100 players take three levels)."""
    from tickerleague.adapters.dynamodb import leaderboard
    from tickerleague.adapters.dynamodb.plumbing import Meter

    if last is None:
        head = leaderboard.get_head(contest_id, Meter(), with_rows=False)
        if head is None or not head.final:
            # The end step writes the final standings before it publishes ContestEnded, so this is a bug or a
            # hand-made event: retrying lets a late write land, then the DLQ keeps it for the operator.
            raise RuntimeError(f"contest {contest_id} has no final standings")
        last = head.page_count if head.out_of else 0
    stop = int(last)
    count = stop - first
    if count <= 0:
        return []
    if count <= FAN_OUT_WIDTH:
        return [{"notify": "chunk", "kind": Kind.CONTEST_ENDED.value, "contestId": contest_id, "boardPage": page}
                for page in range(first, stop)]
    size = -(-count // FAN_OUT_WIDTH)
    return [{"notify": "fanout", "kind": Kind.CONTEST_ENDED.value, "contestId": contest_id, "fromPage": start,
             "toPage": min(stop, start + size)} for start in range(first, stop, size)]


def _board_recipients(contest_id: str, page_number: int) -> list[Recipient]:
    from tickerleague.adapters.dynamodb import leaderboard
    from tickerleague.adapters.dynamodb.plumbing import Meter

    pages = leaderboard.get_pages(contest_id, BOARD_RUN_ID, [page_number], Meter())
    page = pages.get(page_number)
    if page is None:
        raise RuntimeError(f"final leaderboard page {page_number} of {contest_id} is missing")
    return [Recipient(row[2], {"rank": str(row[0]), "outOf": str(page.out_of), "totalValue": row[4],
                               "returnPct": row[5]}) for row in page.rows]


# ---------------------------------------------------------------------------------------------------- sending
def _send_chunk(body: Mapping[str, Any], message_id: str, p: SenderPorts) -> Outcome:
    kind = Kind(str(body["kind"]))
    contest_id = body.get("contestId") or None
    if "boardPage" in body:
        recipients = _board_recipients(str(contest_id), int(body["boardPage"]))
    else:
        recipients = [Recipient.from_json(raw) for raw in body.get("recipients") or []]
    contest = _contest_facts(str(contest_id)) if contest_id else {}
    if contest_id and contest is None:
        logger.warning("contest gone: nothing sent", extra={"kind": kind.value, "contestId": contest_id})
        gone = Outcome(skipped={Skip.CONTEST_GONE.value: len(recipients)})
        gone.emit(kind)
        return gone
    people = store.addressees([r.user_id for r in recipients])
    outcome = Outcome()
    reset_id = body.get("resetId")
    chunk = _Chunk(kind, contest_id, subject_id(kind, contest_id, str(reset_id) if reset_id else None),
                   contest or {}, message_id, p, outcome)
    try:
        for recipient in recipients:
            _send_one(chunk, recipient, people.get(recipient.user_id))
    except RetryLater:
        outcome.retry_later += 1
        raise
    finally:
        outcome.emit(kind)
    logger.info("notifications chunk done", extra={"kind": kind.value, "contestId": contest_id,
                                                   "recipients": len(recipients), "sent": outcome.sent,
                                                   "skipped": outcome.skipped, "refused": outcome.refused})
    return outcome


def _contest_facts(contest_id: str) -> dict[str, str] | None:
    from tickerleague.adapters.dynamodb import contests

    contest = contests.get(contest_id)
    if contest is None:
        return None
    definition = contest.definition
    return {"contestName": definition.name, "startsAt": _readable(iso(definition.starts_at)),
            "endsAt": _readable(iso(definition.ends_at)), "startingCash": cash_str(definition.starting_cash)}


def _readable(moment: str) -> str:
    """2026-12-01T14:30:00Z -> 2026-12-01 14:30 (the templates say UTC)."""
    return moment.replace("T", " ")[:16] if "T" in moment else moment


def template_data(kind: Kind, contest_id: str | None, contest: Mapping[str, str], recipient: Recipient,
                  user: Addressee) -> dict[str, str]:
    """Every variable of the kind's template (TEMPLATE_VARIABLES), and nothing else."""
    base = settings().email_link_base_url
    extra = recipient.extra
    values: dict[str, str] = {
        **contest,
        "displayName": user.display_name,
        "preferencesUrl": f"{base}/settings/notifications",
        "contestUrl": f"{base}/contests/{contest_id}",
        "leaderboardUrl": f"{base}/contests/{contest_id}/leaderboard",
        "contestsUrl": f"{base}/contests",
        **{key: value for key, value in extra.items() if key != "token"},
    }
    if kind is Kind.PASSWORD_RESET:
        values["resetUrl"] = f"{base}/reset-password?token={extra.get('token', '')}"
        values["expiresAt"] = _readable(extra.get("expiresAt", ""))
    data = {name: values.get(name, "") for name in TEMPLATE_VARIABLES[kind]}
    empty = [name for name, value in data.items() if not value]
    if empty:
        raise BadMessage(f"{kind}: no value for {empty}")
    return data


@dataclass(frozen=True)
class _Chunk:
    """What every recipient of one chunk shares."""

    kind: Kind
    contest_id: str | None
    subject: str
    contest: Mapping[str, str]
    message_id: str
    ports: SenderPorts
    outcome: Outcome


def _send_one(chunk: _Chunk, recipient: Recipient, user: Addressee | None) -> None:
    kind, contest_id, subject, message_id = chunk.kind, chunk.contest_id, chunk.subject, chunk.message_id
    p, outcome = chunk.ports, chunk.outcome
    reason = skip_reason(kind, user)
    if reason is not None or user is None:
        logger.info("notification skipped", extra={"kind": kind.value, "userId": recipient.user_id,
                                                   "subject": subject, "reason": reason})
        outcome.skip(reason or Skip.USER_GONE)
        return
    # Everything that can fail without the provider (the data, the template id) fails before the claim, so a bad
    # message never leaves a marker behind that would block the email for a corrected one.
    email = sendgrid.OutgoingEmail(kind, user.email, template_data(kind, contest_id, chunk.contest, recipient, user),
                                   notification_id=f"{user.user_id}:{kind.value}:{subject}")
    sendgrid.template_id(kind)
    key = store.marker_key(user.user_id, kind, subject)
    now = utcnow()
    if not store.claim(key, message_id, iso_ms(now), int(now.timestamp())):
        outcome.skip(Skip.ALREADY_SENT)
        return
    for attempt in range(1, IN_PROCESS_RETRIES + 2):
        try:
            answer = p.send(email)
        except Exception:
            # send() turns every HTTP answer and network failure into an answer; an exception is raised before
            # the request (the API key unreadable ...): nothing was sent, so the identity is free again.
            store.release(key, message_id)
            raise
        result = verdict(answer.status)
        if result is Verdict.SENT:
            _record_sent(key, message_id, kind)
            outcome.sent += 1
            return
        if result is Verdict.REFUSED:
            store.release(key, message_id)
            outcome.refused += 1
            logger.error("SendGrid refused the email; not retried", extra={
                "kind": kind.value, "userId": user.user_id, "subject": subject, "status": answer.status,
                "answer": answer.body[:500]})
            return
        if result is Verdict.UNKNOWN:
            # Maybe accepted: a second try could send it twice, so the marker stays taken and we stop here.
            _record_sent(key, message_id, kind, status="unknown")
            outcome.unknown += 1
            logger.error("SendGrid did not answer; the email may or may not have gone, not retried",
                         extra={"kind": kind.value, "userId": user.user_id, "subject": subject})
            return
        assert answer.status is not None
        delay = retry_delay(answer.status, answer.headers, p.now(), attempt)
        if delay > IN_PROCESS_MAX_WAIT_SECONDS or attempt > IN_PROCESS_RETRIES:
            store.defer(key, message_id)  # nothing was sent: this message's redelivery may try again
            raise RetryLater(delay, f"SendGrid answered {answer.status}")
        p.sleep(delay)


def _record_sent(key: dict[str, str], message_id: str, kind: Kind, status: str = store.SENT) -> None:
    """The provider has (or may have) the email. If the marker cannot be updated now, it stays `sending` under this
    message's claim, which no message can claim again, so the email is never sent twice; failing the message here
    would only have its redelivery find the marker taken."""
    try:
        store.mark_sent(key, message_id, iso_ms(utcnow()), status=status)
    except Exception:
        logger.exception("email sent but its marker not updated; it stays taken", extra={
            "kind": kind.value, "marker": key["SK"], "status": status})
