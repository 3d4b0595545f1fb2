"""Every email template renders with realistic data: each variable it uses is one the sender fills, every link is
absolute and filled in, and the player-facing facts (rank, value, amount, reset link) appear in HTML and text."""

from __future__ import annotations

import re

import pytest
from tickerleague.domain.notifications import TEMPLATE_VARIABLES, Kind

from infra.mail_templates import Template, TemplateProblem, check, load, render

BASE = "https://app.tickerleague.example"
REALISTIC: dict[str, str] = {
    "displayName": "Ada & Co",
    "preferencesUrl": f"{BASE}/settings/notifications",
    "contestName": "December Sprint",
    "contestUrl": f"{BASE}/contests/01JDEC",
    "leaderboardUrl": f"{BASE}/contests/01JDEC/leaderboard",
    "contestsUrl": f"{BASE}/contests",
    "startsAt": "2026-12-01 14:30",
    "endsAt": "2026-12-08 21:00",
    "startingCash": "100000.00",
    "rank": "3",
    "outOf": "1250",
    "totalValue": "112345.67",
    "returnPct": "12.3457",
    "amount": "10.00",
    "currency": "USD",
    "resetUrl": f"{BASE}/reset-password?token=abc123&x=1",
    "expiresAt": "2026-12-01 15:00",
}
# What must be readable in each email, beyond the links.
FACTS = {
    Kind.ENTRY_CONFIRMED: ("December Sprint", "100000.00", "2026-12-01 14:30"),
    Kind.CONTEST_STARTING: ("December Sprint", "2026-12-08 21:00"),
    Kind.CONTEST_ENDED: ("#3", "1250", "112345.67", "12.3457"),
    Kind.ENTRY_REFUNDED: ("10.00 USD", "December Sprint"),
    Kind.CONTEST_CANCELLED: ("December Sprint", "cancelled"),
    Kind.PASSWORD_RESET: ("2026-12-01 15:00",),
}
LINKS = {
    Kind.ENTRY_CONFIRMED: ("contestUrl", "preferencesUrl"),
    Kind.CONTEST_STARTING: ("contestUrl", "preferencesUrl"),
    Kind.CONTEST_ENDED: ("leaderboardUrl", "preferencesUrl"),
    Kind.ENTRY_REFUNDED: ("contestUrl", "preferencesUrl"),
    Kind.CONTEST_CANCELLED: ("contestsUrl", "preferencesUrl"),
    Kind.PASSWORD_RESET: ("resetUrl", "preferencesUrl"),
}


@pytest.mark.parametrize("kind", list(Kind))
def test_each_template_renders_every_fact_and_link(kind: Kind) -> None:
    template = load(kind)
    check(template)
    data = {name: REALISTIC[name] for name in TEMPLATE_VARIABLES[kind]}
    rendered = render(template, data)
    assert rendered.subject and "{{" not in rendered.subject and "\n" not in rendered.subject
    for part in (rendered.html, rendered.text):
        assert "{{" not in part and "}}" not in part
        for fact in FACTS[kind]:
            assert fact in part, (kind, fact)
    hrefs = re.findall(r'href="([^"]*)"', rendered.html)
    assert hrefs and all(href.startswith("https://") for href in hrefs)
    for link in LINKS[kind]:
        # HTML escapes "&" inside attributes; the text part keeps the URL as is.
        assert REALISTIC[link].replace("&", "&amp;") in hrefs or REALISTIC[link] in hrefs, (kind, link)
        assert REALISTIC[link] in rendered.text, (kind, link)
    assert "Ada &amp; Co" in rendered.html and "Ada & Co" in rendered.text  # HTML escaped, text verbatim


def test_contest_ended_subject_carries_the_rank() -> None:
    data = {name: REALISTIC[name] for name in TEMPLATE_VARIABLES[Kind.CONTEST_ENDED]}
    assert "#3" in render(load(Kind.CONTEST_ENDED), data).subject


def test_every_kind_has_a_template_and_every_variable_is_used_somewhere() -> None:
    for kind in Kind:
        used = load(kind).variables()
        assert used == set(TEMPLATE_VARIABLES[kind]), (kind, set(TEMPLATE_VARIABLES[kind]) ^ used)


def test_a_variable_the_sender_does_not_fill_fails_the_check() -> None:
    template = Template(Kind.ENTRY_CONFIRMED, "Hi {{firstName}}", "<p>{{displayName}}</p>", "{{displayName}}")
    with pytest.raises(TemplateProblem, match="firstName"):
        check(template)


def test_a_missing_value_fails_the_render_rather_than_printing_nothing() -> None:
    data = {name: REALISTIC[name] for name in TEMPLATE_VARIABLES[Kind.CONTEST_ENDED] if name != "rank"}
    with pytest.raises(TemplateProblem, match="rank"):
        render(load(Kind.CONTEST_ENDED), data)
