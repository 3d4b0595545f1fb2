"""`make email-templates`: publish email_templates/<kind>/ to SendGrid as dynamic templates, one per kind.

Each kind is the dynamic template named `tickerleague-<kind>` (created when missing). When the template's active
version already has the repository's subject, HTML and text nothing is written; otherwise a new active version is
added (SendGrid keeps the history, and the previous version stays one click away). Before anything is sent each
template is checked and rendered with sample data (a template using an unknown variable stops the run). Without
SENDGRID_API_KEY it is a dry run: it prints what it would publish. It ends by printing the SENDGRID_TEMPLATE_IDS value
for the stack (template parameter SendGridTemplateIds). SENDGRID_API_BASE points it at another host.

SendGrid's template API (v3): GET /v3/templates?generations=dynamic&page_size=200, POST /v3/templates,
GET /v3/templates/{id} (with its versions), POST /v3/templates/{id}/versions. Every call has a timeout and any answer
but 2xx stops the run (tests/unit/notifications/test_publish_templates.py replays recorded answers).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from tickerleague.domain.notifications import TEMPLATE_VARIABLES, Kind

from infra.mail_templates import Template, check, load, render

PREFIX = "tickerleague-"
DEFAULT_HOST = "https://api.sendgrid.com"
TIMEOUT_SECONDS = 15


class PublishFailed(RuntimeError):
    """SendGrid answered a template call with anything but 2xx."""


def sample(kind: Kind) -> dict[str, str]:
    return {name: f"sample-{name}" for name in TEMPLATE_VARIABLES[kind]}


class TemplateApi:
    """The few calls of SendGrid's template API this command makes (requests, a timeout on each)."""

    def __init__(self, key: str, host: str = DEFAULT_HOST, session: Any = None) -> None:
        import requests

        self.base = host.rstrip("/") + "/v3"
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, self.base + path, timeout=TIMEOUT_SECONDS, **kwargs)
        if not 200 <= response.status_code < 300:
            raise PublishFailed(f"{method} {path}: SendGrid answered {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def dynamic_templates(self) -> list[dict[str, Any]]:
        listing = self._call("GET", "/templates", params={"generations": "dynamic", "page_size": 200}) or {}
        # With page_size SendGrid answers {"result": [...], "_metadata": ...}; older answers use "templates".
        found: list[dict[str, Any]] = listing.get("result") or listing.get("templates") or []
        return found

    def create_template(self, name: str) -> dict[str, Any]:
        created: dict[str, Any] = self._call("POST", "/templates", json={"name": name, "generation": "dynamic"})
        return created

    def template(self, template_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._call("GET", f"/templates/{template_id}")
        return found

    def create_version(self, template_id: str, version: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = self._call("POST", f"/templates/{template_id}/versions", json=version)
        return created


def version_body(template: Template) -> dict[str, Any]:
    return {"name": f"{template.kind.value} (repository)", "subject": template.subject,
            "html_content": template.html, "plain_content": template.text, "active": 1, "editor": "code",
            "generate_plain_content": False}


def _same(active: dict[str, Any] | None, template: Template) -> bool:
    return active is not None and (active.get("subject"), active.get("html_content"), active.get("plain_content")) \
        == (template.subject, template.html, template.text)


def publish(api: TemplateApi, kind: Kind, existing: list[dict[str, Any]]) -> tuple[str, str]:
    """(template id, what was done: created | updated | unchanged) for one kind."""
    template = load(kind)
    found = next((t for t in existing if t.get("name") == PREFIX + kind.value), None)
    action = "updated"
    if found is None:
        found = api.create_template(PREFIX + kind.value)
        action = "created"
    template_id = str(found["id"])
    if action == "updated":
        versions = api.template(template_id).get("versions") or []
        active = next((v for v in versions if v.get("active") == 1), None)
        if _same(active, template):
            return template_id, "unchanged"
    api.create_version(template_id, version_body(template))
    return template_id, action


def main(argv: list[str] | None = None, api: TemplateApi | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="check and print, publish nothing")
    args = parser.parse_args(argv)
    for kind in Kind:
        template = load(kind)
        check(template)
        render(template, sample(kind))
    key = os.environ.get("SENDGRID_API_KEY", "")
    if args.dry_run or not key:
        for kind in Kind:
            template = load(kind)
            print(f"would publish {PREFIX}{kind.value}: subject {template.subject!r}, "
                  f"{len(template.html)} bytes of HTML, {len(template.text)} of text, "
                  f"variables {sorted(template.variables())}")
        if not key:
            print("dry run: SENDGRID_API_KEY is not set", file=sys.stderr)
        return 0
    client = api or TemplateApi(key, os.environ.get("SENDGRID_API_BASE") or DEFAULT_HOST)
    existing = client.dynamic_templates()
    ids: dict[str, str] = {}
    for kind in Kind:
        ids[kind.value], action = publish(client, kind, existing)
        print(f"{PREFIX}{kind.value}: {action} ({ids[kind.value]})")
    print("SENDGRID_TEMPLATE_IDS=" + ",".join(f"{kind}={template_id}" for kind, template_id in ids.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
