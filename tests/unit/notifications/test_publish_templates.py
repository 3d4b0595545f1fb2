"""`make email-templates` against recorded answers of SendGrid's template API (responses): a missing template is
created with its first version, a stale one gets a new active version, an up-to-date one is left alone; any refusal
stops the run; without a key nothing is called (the dry run)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from responses import matchers
from tickerleague.domain.notifications import Kind

from infra.build import publish_email_templates as publish
from infra.mail_templates import load

API = "https://api.sendgrid.test/v3"
KEY = "SG.publish-test-key"
UPDATED_AT = "2026-11-30 09:12:44"


def _template(template_id: str, kind: Kind, versions: list[dict[str, Any]]) -> dict[str, Any]:
    """A dynamic template as SendGrid's API returns it."""
    return {"id": template_id, "name": f"tickerleague-{kind.value}", "generation": "dynamic",
            "updated_at": UPDATED_AT, "versions": versions}


def _version(template_id: str, version_id: str, subject: str, html: str, text: str) -> dict[str, Any]:
    return {"id": version_id, "template_id": template_id, "active": 1, "name": "repository", "subject": subject,
            "html_content": html, "plain_content": text, "editor": "code", "generate_plain_content": False,
            "updated_at": UPDATED_AT, "thumbnail_url": "//us-east-2-production-thumbnail-bucket.s3.amazonaws.com/x.png"}


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    monkeypatch.setenv("SENDGRID_API_BASE", "https://api.sendgrid.test")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_missing_templates_are_created_stale_ones_updated_current_ones_left_alone(
        recorded: responses.RequestsMock, capsys: pytest.CaptureFixture[str]) -> None:
    ended = load(Kind.CONTEST_ENDED)
    current = _template("d-ended", Kind.CONTEST_ENDED,
                        [_version("d-ended", "v-1", ended.subject, ended.html, ended.text)])
    stale = _template("d-starting", Kind.CONTEST_STARTING,
                      [_version("d-starting", "v-old", "Old subject", "<p>old</p>", "old"),
                       {**_version("d-starting", "v-older", "Older", "", ""), "active": 0}])
    listing = {"result": [{k: v for k, v in t.items() if k != "versions"} for t in (current, stale)],
               "_metadata": {"self": f"{API}/templates?page_size=200", "count": 2}}
    recorded.get(f"{API}/templates", json=listing, match=[
        matchers.query_param_matcher({"generations": "dynamic", "page_size": "200"}),
        matchers.header_matcher({"Authorization": f"Bearer {KEY}"})])
    recorded.get(f"{API}/templates/d-ended", json=current)
    recorded.get(f"{API}/templates/d-starting", json=stale)
    created_ids = {kind: f"d-new-{kind.value}" for kind in Kind
                   if kind not in (Kind.CONTEST_ENDED, Kind.CONTEST_STARTING)}
    for kind, template_id in created_ids.items():
        recorded.post(f"{API}/templates", status=201, json=_template(template_id, kind, []),
                      match=[matchers.json_params_matcher({"name": f"tickerleague-{kind.value}",
                                                           "generation": "dynamic"})])
    for kind, template_id in [*created_ids.items(), (Kind.CONTEST_STARTING, "d-starting")]:
        source = load(kind)
        recorded.post(f"{API}/templates/{template_id}/versions", status=201,
                      json=_version(template_id, f"v-{kind.value}", source.subject, source.html, source.text),
                      match=[matchers.json_params_matcher({
                          "name": f"{kind.value} (repository)", "subject": source.subject,
                          "html_content": source.html, "plain_content": source.text, "active": 1,
                          "editor": "code", "generate_plain_content": False})])

    assert publish.main([]) == 0

    out = capsys.readouterr().out
    assert "tickerleague-contest_ended: unchanged (d-ended)" in out
    assert "tickerleague-contest_starting: updated (d-starting)" in out
    assert "tickerleague-entry_confirmed: created (d-new-entry_confirmed)" in out
    ids_line = next(line for line in out.splitlines() if line.startswith("SENDGRID_TEMPLATE_IDS="))
    ids = dict(pair.split("=") for pair in ids_line.removeprefix("SENDGRID_TEMPLATE_IDS=").split(","))
    assert ids == {**{k.value: v for k, v in created_ids.items()}, "contest_ended": "d-ended",
                   "contest_starting": "d-starting"}
    # No version was written for the template already up to date, and every call had a timeout.
    assert not any(call.request.url.endswith("/d-ended/versions") for call in recorded.calls)
    assert {call.request.req_kwargs["timeout"] for call in recorded.calls} == {publish.TIMEOUT_SECONDS}


def test_a_refusal_stops_the_run(recorded: responses.RequestsMock) -> None:
    recorded.get(f"{API}/templates", status=401, json={"errors": [{"field": None,
                                                                  "message": "authorization required"}]})
    with pytest.raises(publish.PublishFailed, match="401"):
        publish.main([])


def test_dry_run_checks_and_prints_and_calls_nothing(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SENDGRID_API_KEY", raising=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:  # any call would raise
        assert publish.main([]) == 0
        assert len(mock.calls) == 0
    captured = capsys.readouterr()
    assert all(f"would publish tickerleague-{kind.value}" in captured.out for kind in Kind)
    assert "dry run: SENDGRID_API_KEY is not set" in captured.err
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        assert publish.main(["--dry-run"]) == 0
        assert len(mock.calls) == 0
    assert json.dumps(KEY) not in capsys.readouterr().out
