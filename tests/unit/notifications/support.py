"""Recorded SendGrid answers replayed by a real HTTP server on a free port, and the users and contests the sender
reads. The `sendgrid` library sends with urllib (python-http-client), which the `responses` library cannot see, so
its answers are replayed over a socket instead: the adapter's whole HTTP path runs for real."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Recorded:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    delay: float = 0.0  # seconds before answering (a timeout test)


# What SendGrid answers (its v3 API documentation and observed responses).
ACCEPTED = Recorded(202, {"X-Message-Id": "kD3fr9nTQbqvQnCZ0d2bNg", "Server": "nginx"})


def rate_limited(reset: int) -> Recorded:
    """SendGrid's 429: its rate-limit headers, X-RateLimit-Reset in epoch seconds."""
    return Recorded(429, {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset),
                          "Content-Type": "application/json"},
                    json.dumps({"errors": [{"field": None, "message": "too many requests"}]}))


SERVER_ERROR = Recorded(500, {"Content-Type": "application/json"},
                        json.dumps({"errors": [{"field": None, "message": "internal error"}]}))
BAD_ADDRESS = Recorded(400, {"Content-Type": "application/json"}, json.dumps({"errors": [{
    "message": "Does not contain a valid address.", "field": "personalizations.0.to",
    "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to"}]}))


class ReplayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Replay)
        self.answers: deque[Recorded] = deque()
        self.requests: list[dict[str, Any]] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def queue(self, *answers: Recorded) -> None:
        self.answers.extend(answers)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Replay(BaseHTTPRequestHandler):
    server: ReplayServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        answer = self.server.answers.popleft() if self.server.answers else ACCEPTED
        if answer.delay:
            time.sleep(answer.delay)
        payload = answer.body.encode()
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)


def put_user(user_id: str, email: str, *, name: str = "Ada", status: str = "active",
             contest_reminders: bool | None = None) -> None:
    """A user item as signup writes it (UserItem); `contest_reminders` as `PATCH /v1/me` stores it when given."""
    from tickerleague.adapters.dynamodb.base import bind_table
    from tickerleague.adapters.dynamodb.users import UserItem

    bind_table()
    UserItem.new(user_id, email=email, display_name=name, role="user", status=status, password_hash="x",
                 created_at="2026-12-01T00:00:00Z", updated_at="2026-12-01T00:00:00Z",
                 contest_reminders=contest_reminders).save()


def make_contest(name: str = "December Sprint") -> str:
    from tickerleague.domain.contests import ContestDefinition
    from tickerleague.services.contests import Actor, create_contest

    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    definition = ContestDefinition(name=name, description="", starts_at=starts, ends_at=starts + timedelta(days=7))
    return create_contest(Actor("admin"), definition).contest_id


def seed_entries(contest_id: str, user_ids: list[str]) -> None:
    """An active entry of each user in the contest, as the join writes it (the users must exist already)."""
    from decimal import Decimal

    from tickerleague.adapters.dynamodb import entries as entries_table
    from tickerleague.config import settings
    from tickerleague.domain.portfolio import Portfolio
    from tickerleague.ids import new_ulid

    for user_id in user_ids:
        entry = entries_table.Entry(entry_id=new_ulid(), contest_id=contest_id, user_id=user_id,
                                    display_name=user_id, status="active", joined_at="2026-12-01T00:00:00.000Z",
                                    portfolio=Portfolio.fresh(Decimal("100000")))
        entries_table.client().put_item(TableName=settings().table_name,
                                        Item=entries_table.to_attribute_map(entries_table.entry_to_item(entry)))
