"""A local SendGrid stand-in (``make dev``: http://127.0.0.1:8025): it takes mail as SendGrid does and shows it.

- ``POST /v3/mail/send``: SendGrid's v3 mail send. A bearer token is required (401 otherwise, SendGrid's error body),
  the body is checked for what SendGrid requires (``personalizations``, ``from``, ``template_id`` or ``content``:
  400 with SendGrid's ``errors`` list), and a good one answers 202 with an ``X-Message-Id`` header and no body.
  Every recipient becomes one message, kept as a JSON file under the outbox directory (``.local/outbox/``).
- ``GET /api/messages?to=<email>``: ``{"items": [{id, to, kind, templateId, dynamicTemplateData, subject, html,
  sentAt}]}``, newest first (``to`` is optional and case-insensitive).
- ``GET /``: a page listing every message, each rendered from its template in the repository (email_templates/),
  as a player would read it. ``GET /messages/<id>`` is one message's HTML alone.

The kind of a message is its ``kind`` custom arg (the sender sets it), else the kind whose local template id it
names. Rendering happens when the mail arrives, so a template problem shows on the page at once.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tickerleague.domain.notifications import Kind

from infra.mail_templates import TemplateProblem, find_kind, load, render

LOG = logging.getLogger("infra.local.mailbox")

DEFAULT_PORT = 8025
MAX_BODY_BYTES = 1024 * 1024
# The template ids the local stack configures (SENDGRID_TEMPLATE_IDS): one per kind, readable in the viewer.
LOCAL_TEMPLATE_IDS = {kind.value: f"d-local-{kind.value.replace('_', '-')}" for kind in Kind}


def local_template_ids_setting() -> str:
    """SENDGRID_TEMPLATE_IDS for the local stack."""
    return ",".join(f"{kind}={template}" for kind, template in LOCAL_TEMPLATE_IDS.items())


def _error(message: str, field: str | None = None) -> dict[str, Any]:
    return {"errors": [{"message": message, "field": field, "help": None}]}


def validate_mail(body: Any) -> dict[str, Any] | None:
    """SendGrid's error body for a mail send it would refuse, or None."""
    if not isinstance(body, Mapping):
        return _error("Bad Request", None)
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        return _error("The personalizations field is required and must have at least one personalization.",
                      "personalizations")
    for index, personalization in enumerate(personalizations):
        recipients = personalization.get("to") if isinstance(personalization, Mapping) else None
        if not isinstance(recipients, list) or not recipients:
            return _error("The to array is required for all personalization objects, and must have at least one "
                          "email object with a valid email address.", f"personalizations.{index}.to")
        for recipient in recipients:
            address = recipient.get("email") if isinstance(recipient, Mapping) else None
            if not isinstance(address, str) or "@" not in address.strip("@"):
                return _error("Does not contain a valid address.", f"personalizations.{index}.to")
    sender = body.get("from")
    if not isinstance(sender, Mapping) or not isinstance(sender.get("email"), str):
        return _error("The from object must be provided for every email send.", "from.email")
    if not body.get("template_id") and not body.get("content"):
        return _error("Unless a valid template_id is provided, the content parameter is required.", "content")
    return None


class Outbox:
    """The kept messages: one JSON file each under `directory`, indexed in memory (newest last)."""

    def __init__(self, directory: Path, template_ids: Mapping[str, str] | None = None) -> None:
        self.directory = directory
        self.template_ids = dict(template_ids or LOCAL_TEMPLATE_IDS)
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        directory.mkdir(parents=True, exist_ok=True)
        for path in sorted(directory.glob("*.json")):
            try:
                self._messages.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                LOG.warning("skipping unreadable outbox file %s", path)
        self._messages.sort(key=lambda message: (message.get("sentAt", ""), message.get("id", "")))

    def accept(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Keep one message per recipient of a valid mail send; returns them."""
        kept = []
        for personalization in body["personalizations"]:
            data = personalization.get("dynamic_template_data") or body.get("dynamic_template_data") or {}
            custom = {**(body.get("custom_args") or {}), **(personalization.get("custom_args") or {})}
            for recipient in personalization["to"]:
                kept.append(self._keep(body, str(recipient["email"]), dict(data), custom))
        return kept

    def _keep(self, body: Mapping[str, Any], to: str, data: dict[str, Any], custom: Mapping[str, Any]
              ) -> dict[str, Any]:
        template_id = str(body.get("template_id") or "")
        kind = custom.get("kind") or (find_kind(template_id, self.template_ids) or "")
        message: dict[str, Any] = {
            "id": uuid.uuid4().hex, "to": to, "kind": str(kind), "templateId": template_id,
            "dynamicTemplateData": data, "customArgs": dict(custom),
            "sentAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "subject": None, "html": None, "text": None, "renderError": None,
        }
        try:
            rendered = render(load(Kind(str(kind))), data)
            message.update(subject=rendered.subject, html=rendered.html, text=rendered.text)
        except (ValueError, TemplateProblem, OSError) as error:
            message["renderError"] = str(error)
            message["subject"] = body.get("subject")
        with self._lock:
            path = self.directory / f"{message['sentAt'].replace(':', '')}-{message['id']}.json"
            path.write_text(json.dumps(message, indent=1), encoding="utf-8")
            self._messages.append(message)
        return message

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        """Newest first; only those sent to `to` (case-insensitive) when given."""
        with self._lock:
            found = list(self._messages)
        if to:
            wanted = to.strip().lower()
            found = [message for message in found if message["to"].lower() == wanted]
        return found[::-1]

    def get(self, message_id: str) -> dict[str, Any] | None:
        with self._lock:
            return next((message for message in self._messages if message["id"] == message_id), None)


API_FIELDS = ("id", "to", "kind", "templateId", "dynamicTemplateData", "subject", "html", "sentAt")


def page(messages: list[dict[str, Any]]) -> str:
    """The viewer: every message, newest first, its HTML in a sandboxed frame."""
    rows = []
    for message in messages:
        body = message.get("html") or f"<pre>{html.escape(str(message.get('renderError')))}</pre>"
        rows.append(
            "<section style='border:1px solid #ddd;border-radius:8px;margin:16px 0;padding:12px'>"
            f"<div><strong>{html.escape(str(message.get('subject') or '(no subject)'))}</strong></div>"
            f"<div style='color:#555;font-size:13px'>to {html.escape(message['to'])} &middot; "
            f"{html.escape(message.get('kind') or '?')} &middot; {html.escape(message['sentAt'])} &middot; "
            f"<a href='/messages/{html.escape(message['id'])}'>open</a></div>"
            f"<iframe sandbox title='{html.escape(message['id'])}' style='width:100%;height:360px;border:0' "
            f"srcdoc=\"{html.escape(body, quote=True)}\"></iframe></section>")
    listing = "".join(rows) or "<p>No mail yet. Sign up, join a contest, and come back.</p>"
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Local mail</title></head>"
            "<body style='font-family:Helvetica,Arial,sans-serif;max-width:900px;margin:0 auto;padding:16px'>"
            f"<h1>Local mail ({len(messages)})</h1>{listing}</body></html>")


class _Handler(BaseHTTPRequestHandler):
    server: MailboxServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("mailbox: " + format, *args)

    def _answer(self, status: int, body: bytes = b"", content_type: str = "application/json",
                headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._answer(status, json.dumps(value).encode())

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, MAX_BODY_BYTES + 1)) if length else b""
        if path != "/v3/mail/send":
            self._json(HTTPStatus.NOT_FOUND, _error("not found"))
            return
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if not (self.headers.get("Authorization") or "").startswith("Bearer ") or not token:
            self._json(HTTPStatus.UNAUTHORIZED,
                       _error("The provided authorization grant is invalid, expired, or revoked"))
            return
        if length > MAX_BODY_BYTES:
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _error("Request body too large"))
            return
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self._json(HTTPStatus.BAD_REQUEST, _error("Bad Request"))
            return
        problem = validate_mail(body)
        if problem is not None:
            self._json(HTTPStatus.BAD_REQUEST, problem)
            return
        kept = self.server.outbox.accept(body)
        self._answer(HTTPStatus.ACCEPTED, headers={"X-Message-Id": kept[0]["id"] if kept else uuid.uuid4().hex})

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/api/messages":
            to = next(iter(parse_qs(parts.query).get("to") or []), None)
            items = [{name: message.get(name) for name in API_FIELDS} for message in self.server.outbox.messages(to)]
            self._json(HTTPStatus.OK, {"items": items})
        elif parts.path == "/":
            self._answer(HTTPStatus.OK, page(self.server.outbox.messages()).encode(), "text/html; charset=utf-8")
        elif parts.path.startswith("/messages/"):
            message = self.server.outbox.get(parts.path.removeprefix("/messages/"))
            if message is None:
                self._json(HTTPStatus.NOT_FOUND, _error("not found"))
            else:
                body = message.get("html") or html.escape(str(message.get("renderError")))
                self._answer(HTTPStatus.OK, str(body).encode(), "text/html; charset=utf-8")
        else:
            self._json(HTTPStatus.NOT_FOUND, _error("not found"))


class MailboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, outbox: Outbox, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self.outbox = outbox
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        warm_up()
        self._thread = threading.Thread(target=self.serve_forever, name="mailbox", daemon=True)
        self._thread.start()
        LOG.info("mail stand-in on %s (outbox %s)", self.url, self.outbox.directory)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def warm_up() -> None:
    """Compile every template once before the first mail arrives: pybars builds its grammar on first use, which
    takes seconds on a busy machine, longer than a sender's timeout."""
    from infra.mail_templates import compile_all

    compile_all()


def backend_environment(url: str) -> dict[str, str]:
    """What the functions need to send to the stand-in. The timeout is generous: the stand-in renders each mail
    as it arrives, and on a loaded laptop that can take longer than SendGrid ever would."""
    return {"SENDGRID_API_BASE": url, "SENDGRID_TEMPLATE_IDS": local_template_ids_setting(),
            "SENDGRID_TIMEOUT_SECONDS": "30"}
