"""The email templates in email_templates/<kind>/{subject,html,text}.hbs: load, check and render them with pybars3.

SendGrid renders the real emails from the published copies (`make email-templates`); this module renders the same
files for the render tests and for the local SendGrid stand-in's viewer, so what a developer reads locally is what
a player would read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tickerleague.domain.notifications import TEMPLATE_VARIABLES, Kind

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "email_templates"
PARTS = ("subject", "html", "text")
# {{name}} and {{{name}}} (no helpers, blocks or paths are used in these templates; the check below keeps it so).
_MUSTACHE = re.compile(r"{{{?\s*([^{}\s]+)\s*}?}}")


class TemplateProblem(ValueError):
    """A template uses a variable its kind does not provide, or cannot be compiled."""


@dataclass(frozen=True)
class Template:
    kind: Kind
    subject: str
    html: str
    text: str

    def variables(self) -> set[str]:
        """Every variable any part of the template refers to."""
        return {match for part in (self.subject, self.html, self.text) for match in _MUSTACHE.findall(part)}


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def load(kind: Kind, directory: Path = TEMPLATES_DIR) -> Template:
    folder = directory / kind.value
    parts = {part: (folder / f"{part}.hbs").read_text(encoding="utf-8") for part in PARTS}
    return Template(kind, parts["subject"].strip(), parts["html"], parts["text"])


def check(template: Template) -> None:
    """Fail when a template refers to a variable the sender does not fill."""
    unknown = template.variables() - set(TEMPLATE_VARIABLES[template.kind])
    if unknown:
        raise TemplateProblem(f"{template.kind}: unknown variable(s) {sorted(unknown)}")


@lru_cache(maxsize=64)
def _compiled(source: str) -> Any:
    from pybars import Compiler

    return Compiler().compile(source)


def render(template: Template, data: Mapping[str, Any]) -> Rendered:
    """Render every part; a variable missing from `data` is an error here (Handlebars would print nothing)."""
    check(template)
    missing = template.variables() - set(data)
    if missing:
        raise TemplateProblem(f"{template.kind}: no value for {sorted(missing)}")
    values = dict(data)
    return Rendered(
        subject=str(_compiled(template.subject)(values)).strip(),
        html=str(_compiled(template.html)(values)),
        text=str(_compiled(template.text)(values)),
    )


def find_kind(template_id: str, template_ids: Mapping[str, str]) -> Kind | None:
    """The kind whose configured SendGrid template id is `template_id` (the stand-in's fallback when a message
    carries no `kind` custom arg)."""
    for kind, configured in template_ids.items():
        if configured == template_id and kind in Kind.__members__.values():
            return Kind(kind)
    return None


def compile_all(directory: Path = TEMPLATES_DIR) -> None:
    """Compile every part of every template (cached for later renders)."""
    for kind in Kind:
        template = load(kind, directory)
        for source in (template.subject, template.html, template.text):
            _compiled(source)
