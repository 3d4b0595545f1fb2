"""The local SendGrid stand-in over HTTP on a free port: SendGrid's mail send (auth, validation, 202), the outbox
on disk, the messages API newest first and filtered by recipient, and the viewer page rendered from the templates.
The real sendgrid library is one of its clients, so the stand-in accepts what the backend sends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from tickerleague.domain.notifications import TEMPLATE_VARIABLES, Kind

from infra.local.mailbox import LOCAL_TEMPLATE_IDS, MailboxServer, Outbox
from tests.unit.notifications.test_templates import REALISTIC


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[MailboxServer]:
    server = MailboxServer(Outbox(tmp_path / "outbox"), "127.0.0.1", 0)
    server.start()
    yield server
    server.stop()


def _mail(to: str, kind: Kind, **extra: Any) -> dict[str, Any]:
    data = {name: REALISTIC[name] for name in TEMPLATE_VARIABLES[kind]}
    return {"personalizations": [{"to": [{"email": to}], "dynamic_template_data": data}],
            "from": {"email": "no-reply@tickerleague.example"}, "template_id": LOCAL_TEMPLATE_IDS[kind.value],
            **extra}


def _send(server: MailboxServer, body: Any, token: str | None = "SG.local") -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.post(f"{server.url}/v3/mail/send", json=body, headers=headers, timeout=30)


def test_mail_send_answers_like_sendgrid(mailbox: MailboxServer) -> None:
    accepted = _send(mailbox, _mail("ada@example.com", Kind.CONTEST_ENDED))
    assert accepted.status_code == 202 and accepted.content == b"" and accepted.headers["X-Message-Id"]
    assert _send(mailbox, _mail("ada@example.com", Kind.CONTEST_ENDED), token=None).status_code == 401
    assert _send(mailbox, _mail("ada@example.com", Kind.CONTEST_ENDED), token="").status_code == 401
    bad = _send(mailbox, _mail("not-an-address", Kind.CONTEST_ENDED))
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "personalizations.0.to"
    no_content = _send(mailbox, {**_mail("a@example.com", Kind.CONTEST_ENDED), "template_id": None})
    assert no_content.status_code == 400 and no_content.json()["errors"][0]["field"] == "content"
    assert _send(mailbox, {"from": {"email": "x@example.com"}}).status_code == 400


def test_messages_api_newest_first_filtered_by_recipient_and_kept_on_disk(mailbox: MailboxServer) -> None:
    _send(mailbox, _mail("ada@example.com", Kind.ENTRY_CONFIRMED))
    _send(mailbox, _mail("bob@example.com", Kind.ENTRY_CONFIRMED))
    _send(mailbox, _mail("Ada@Example.com", Kind.CONTEST_ENDED, custom_args={"kind": "contest_ended"}))
    items = requests.get(f"{mailbox.url}/api/messages", params={"to": "ada@example.com"}, timeout=30).json()["items"]
    assert [item["kind"] for item in items] == ["contest_ended", "entry_confirmed"]
    newest = items[0]
    assert set(newest) == {"id", "to", "kind", "templateId", "dynamicTemplateData", "subject", "html", "sentAt"}
    assert newest["subject"] == "December Sprint has ended: you finished #3"
    assert "112345.67" in newest["html"] and newest["dynamicTemplateData"]["rank"] == "3"
    everyone = requests.get(f"{mailbox.url}/api/messages", timeout=30).json()["items"]
    assert len(everyone) == 3
    files = sorted((mailbox.outbox.directory).glob("*.json"))
    assert len(files) == 3 and {json.loads(f.read_text())["to"] for f in files} >= {"bob@example.com"}
    # A restarted stand-in still has them.
    assert len(Outbox(mailbox.outbox.directory).messages("bob@example.com")) == 1


def test_viewer_page_shows_every_message_rendered(mailbox: MailboxServer) -> None:
    _send(mailbox, _mail("ada@example.com", Kind.PASSWORD_RESET))
    _send(mailbox, _mail("ada@example.com", Kind.ENTRY_REFUNDED))
    page = requests.get(f"{mailbox.url}/", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Reset your Ticker League password" in page.text and "was refunded" in page.text
    assert "10.00 USD" in page.text  # inside the rendered (escaped) srcdoc
    message_id = requests.get(f"{mailbox.url}/api/messages", timeout=30).json()["items"][0]["id"]
    one = requests.get(f"{mailbox.url}/messages/{message_id}", timeout=30)
    assert one.status_code == 200 and "10.00 USD" in one.text


def test_the_sendgrid_adapter_sends_to_it(mailbox: MailboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.adapters import sendgrid
    from tickerleague.config import settings

    monkeypatch.setenv("SENDGRID_API_BASE", mailbox.url)
    monkeypatch.setenv("SENDGRID_TEMPLATE_IDS", ",".join(f"{k}={v}" for k, v in LOCAL_TEMPLATE_IDS.items()))
    settings.cache_clear()
    monkeypatch.setattr(sendgrid, "api_key", lambda: "SG.local")
    data = {name: REALISTIC[name] for name in TEMPLATE_VARIABLES[Kind.CONTEST_STARTING]}
    answer = sendgrid.send(sendgrid.OutgoingEmail(Kind.CONTEST_STARTING, "cy@example.com", data, "u:k:c"))
    settings.cache_clear()
    assert answer.status == 202
    [item] = requests.get(f"{mailbox.url}/api/messages", params={"to": "cy@example.com"}, timeout=30).json()["items"]
    assert item["kind"] == "contest_starting" and item["subject"] == "December Sprint is starting"
