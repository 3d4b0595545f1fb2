"""`make email-templates`: publish email_templates/<kind>/ to SendGrid as dynamic templates, one per kind.

Each kind is the dynamic template named `tickerleague-<kind>` (created when missing); every run adds a new active
version with the repository's subject, HTML and text, so SendGrid keeps the history. Before anything is sent each
template is checked and rendered with sample data (a template using an unknown variable stops the run). Without
SENDGRID_API_KEY it is a dry run: it prints what it would publish. It ends by printing the SENDGRID_TEMPLATE_IDS value
for the stack (template parameter SendGridTemplateIds). SENDGRID_API_BASE points it at another host.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from tickerleague.domain.notifications import TEMPLATE_VARIABLES, Kind

from infra.mail_templates import check, load, render

PREFIX = "tickerleague-"


def sample(kind: Kind) -> dict[str, str]:
    return {name: f"sample-{name}" for name in TEMPLATE_VARIABLES[kind]}


def _json(response: Any) -> Any:
    return json.loads(response.body or b"null")


def publish(client: Any, kind: Kind) -> str:
    template = load(kind)
    listing = _json(client.templates.get(query_params={"generations": "dynamic", "page_size": 200})) or {}
    # With page_size SendGrid answers {"result": [...], "_metadata": ...}; older answers use "templates".
    templates = listing.get("result") or listing.get("templates") or []
    found = next((t for t in templates if t.get("name") == PREFIX + kind.value), None)
    if found is None:
        found = _json(client.templates.post(request_body={"name": PREFIX + kind.value, "generation": "dynamic"}))
    template_id = str(found["id"])
    client.templates._(template_id).versions.post(request_body={
        "name": f"{kind.value} (repository)", "subject": template.subject, "html_content": template.html,
        "plain_content": template.text, "active": 1, "editor": "code", "generate_plain_content": False,
    })
    return template_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
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
    from sendgrid import SendGridAPIClient

    client = SendGridAPIClient(api_key=key, host=os.environ.get("SENDGRID_API_BASE") or "https://api.sendgrid.com")
    ids = {kind.value: publish(client.client, kind) for kind in Kind}
    print("SENDGRID_TEMPLATE_IDS=" + ",".join(f"{kind}={template_id}" for kind, template_id in ids.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
