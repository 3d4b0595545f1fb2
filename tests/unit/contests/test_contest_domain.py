"""Pure contest rules: slugs, validation of a definition, editing per status, visibility."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from tickerleague.domain.contests import (
    Contest,
    ContestDefinition,
    ContestRules,
    ContestStatus,
    EntryFee,
    Visibility,
    apply_edit,
    execution_name,
    slug_candidate,
    slugify,
    validate_new,
    visible_to,
)
from tickerleague.errors import Conflict, ValidationFailed

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
KNOWN = {"AAPL", "MSFT", "BRK.B"}


def known(symbol: str) -> bool:
    return symbol in KNOWN


def definition(**overrides: object) -> ContestDefinition:
    base = ContestDefinition(
        name="Spring Cup", description="", starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=8)
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def contest(status: ContestStatus = ContestStatus.DRAFT, **overrides: object) -> Contest:
    return Contest(
        contest_id="01HX0000000000000000000000",
        slug="spring-cup",
        status=status,
        definition=definition(**overrides),
        created_at=NOW,
        updated_at=NOW,
        created_by="admin",
    )


def fields_of(error: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return error.value.fields


# ---------------------------------------------------------------------------------------------------- slugs
@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Spring Cup", "spring-cup"),
        ("  Spring   Cup!! 2026 ", "spring-cup-2026"),
        ("Café Crème — Tech Only", "cafe-creme-tech-only"),
        ("日本株", "contest"),
        ("!!!", "contest"),
        ("2026", "contest-2026"),
        ("x" * 80, "x" * 60),
        ("word " * 30, ("word-" * 12).rstrip("-")),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_slug_candidates_count_from_two() -> None:
    assert [slug_candidate("cup", n) for n in (1, 2, 3)] == ["cup", "cup-2", "cup-3"]


def test_execution_name_carries_the_schedule_version() -> None:
    assert execution_name("01ABC", 3) == "01ABC-v3"


# ---------------------------------------------------------------------------------------------------- validation
def test_a_valid_definition_is_normalized() -> None:
    valid = validate_new(
        definition(
            name="  Cup  ",
            starting_cash=Decimal("500"),
            starts_at=NOW + timedelta(days=1, microseconds=5),
            rules=ContestRules(allowed_symbols=("AAPL", "MSFT", "AAPL")),
        ),
        NOW,
        known,
    )
    assert valid.name == "Cup"
    assert str(valid.starting_cash) == "500.00"
    assert valid.starts_at.microsecond == 0
    assert valid.rules.allowed_symbols == ("AAPL", "MSFT")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "bad\x00name"}, "name"),
        ({"description": "d" * 2001}, "description"),
        ({"starting_cash": Decimal("0.99")}, "startingCash"),
        ({"starting_cash": Decimal("10000000.01")}, "startingCash"),
        ({"starting_cash": Decimal("100.001")}, "startingCash"),
        ({"starting_cash": Decimal("-5")}, "startingCash"),
        ({"max_entries": 1}, "maxEntries"),
        ({"entry_fee": EntryFee(Decimal("0.49"), "usd")}, "entryFee.amount"),
        ({"entry_fee": EntryFee(Decimal("10000.01"), "usd")}, "entryFee.amount"),
        ({"entry_fee": EntryFee(Decimal("5.001"), "usd")}, "entryFee.amount"),
        ({"entry_fee": EntryFee(Decimal("500.5"), "jpy")}, "entryFee.amount"),
        ({"entry_fee": EntryFee(Decimal("5.00"), "xyz")}, "entryFee.currency"),
        ({"ends_at": NOW + timedelta(days=1)}, "endsAt"),
        ({"ends_at": NOW + timedelta(days=400)}, "endsAt"),
        ({"starts_at": NOW - timedelta(seconds=1)}, "startsAt"),
        ({"starts_at": NOW}, "startsAt"),
    ],
)
def test_invalid_definitions_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_new(definition(**overrides), NOW, known)
    assert field in fields_of(raised)


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_new(
            definition(name="", starting_cash=Decimal("0"), max_entries=0, starts_at=NOW - timedelta(days=1)),
            NOW,
            known,
        )
    assert set(fields_of(raised)) == {"name", "startingCash", "maxEntries", "startsAt"}


def test_limits_are_inclusive() -> None:
    validate_new(definition(name="x" * 120, starting_cash=Decimal("1.00"), max_entries=2), NOW, known)
    validate_new(definition(starting_cash=Decimal("10000000.00")), NOW, known)


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        (ContestRules(allowed_symbols=()), "rules.allowedSymbols"),
        (ContestRules(allowed_symbols=("AAPL", "NOPE")), "rules.allowedSymbols"),
        (ContestRules(allowed_symbols=tuple(f"S{n}" for n in range(501))), "rules.allowedSymbols"),
        (ContestRules(max_position_pct=Decimal("0")), "rules.maxPositionPct"),
        (ContestRules(max_position_pct=Decimal("100.5")), "rules.maxPositionPct"),
        (ContestRules(min_price=Decimal("-1")), "rules.minPrice"),
        (ContestRules(min_price=Decimal("1.00001")), "rules.minPrice"),
        (ContestRules(max_trades_per_day=0), "rules.maxTradesPerDay"),
        (ContestRules(commission_per_trade=Decimal("-0.01")), "rules.commission.perTrade"),
        (ContestRules(commission_per_trade=Decimal("0.001")), "rules.commission.perTrade"),
        (ContestRules(allow_short_selling=True), "rules.allowShortSelling"),
    ],
)
def test_invalid_rules(rules: ContestRules, field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_new(definition(rules=rules), NOW, known)
    assert field in fields_of(raised)


def test_valid_rules_pass() -> None:
    rules = ContestRules(
        allowed_symbols=("BRK.B",),
        max_position_pct=Decimal("100"),
        min_price=Decimal("0.0001"),
        max_trades_per_day=1,
        commission_per_trade=Decimal("4.95"),
        allow_fractional=True,
        allow_late_entry=False,
    )
    assert validate_new(definition(rules=rules), NOW, known).rules == rules


# ---------------------------------------------------------------------------------------------------- editing
def test_a_draft_may_change_anything() -> None:
    current = contest()
    changed = replace(current.definition, starting_cash=Decimal("5000"), max_entries=10, visibility=Visibility.PRIVATE)
    edit = apply_edit(current, changed, frozenset({"startingCash", "maxEntries", "visibility"}), NOW, known)
    assert edit.contest.definition.max_entries == 10
    assert edit.contest.revision == 1
    assert not edit.reschedules
    assert edit.contest.schedule_version == 1


def test_new_times_in_a_draft_bump_the_schedule_version_without_an_execution() -> None:
    current = contest()
    changed = replace(current.definition, starts_at=NOW + timedelta(days=2))
    edit = apply_edit(current, changed, frozenset({"startsAt"}), NOW, known)
    assert edit.contest.schedule_version == 2
    assert not edit.reschedules


def test_a_scheduled_contest_reschedules() -> None:
    current = contest(ContestStatus.SCHEDULED)
    changed = replace(current.definition, name="New name", ends_at=NOW + timedelta(days=9))
    edit = apply_edit(current, changed, frozenset({"name", "endsAt"}), NOW, known)
    assert edit.reschedules
    assert edit.contest.schedule_version == 2
    assert edit.contest.definition.name == "New name"


def test_a_scheduled_contest_renamed_keeps_its_schedule() -> None:
    current = contest(ContestStatus.SCHEDULED)
    edit = apply_edit(current, replace(current.definition, name="Other"), frozenset({"name"}), NOW, known)
    assert not edit.reschedules
    assert edit.contest.schedule_version == 1


@pytest.mark.parametrize("field", ["startingCash", "visibility", "maxEntries", "rules", "entryFee"])
def test_a_scheduled_contest_refuses_other_fields(field: str) -> None:
    current = contest(ContestStatus.SCHEDULED)
    with pytest.raises(Conflict) as raised:
        apply_edit(current, current.definition, frozenset({field}), NOW, known)
    assert raised.value.code == "INVALID_STATE_TRANSITION"


@pytest.mark.parametrize("status", [ContestStatus.ACTIVE, ContestStatus.ENDED, ContestStatus.CANCELLED])
def test_later_statuses_refuse_every_edit(status: ContestStatus) -> None:
    current = contest(status)
    with pytest.raises(Conflict):
        apply_edit(current, replace(current.definition, name="x"), frozenset({"name"}), NOW, known)


def test_a_reschedule_into_the_past_is_invalid() -> None:
    current = contest(ContestStatus.SCHEDULED)
    changed = replace(current.definition, starts_at=NOW - timedelta(hours=1))
    with pytest.raises(ValidationFailed) as raised:
        apply_edit(current, changed, frozenset({"startsAt"}), NOW, known)
    assert "startsAt" in fields_of(raised)


# ---------------------------------------------------------------------------------------------------- visibility
@pytest.mark.parametrize(
    ("status", "visibility", "admin", "entrant", "visible"),
    [
        (ContestStatus.DRAFT, Visibility.PUBLIC, False, False, False),
        (ContestStatus.DRAFT, Visibility.PUBLIC, True, False, True),
        (ContestStatus.SCHEDULED, Visibility.PUBLIC, False, False, True),
        (ContestStatus.CANCELLED, Visibility.PUBLIC, False, False, True),
        (ContestStatus.ACTIVE, Visibility.PRIVATE, False, False, False),
        (ContestStatus.ACTIVE, Visibility.PRIVATE, False, True, True),
        (ContestStatus.ACTIVE, Visibility.PRIVATE, True, False, True),
    ],
)
def test_visibility(status: ContestStatus, visibility: Visibility, admin: bool, entrant: bool, visible: bool) -> None:
    assert visible_to(contest(status, visibility=visibility), is_admin=admin, is_entrant=entrant) is visible


@pytest.mark.parametrize(
    ("status", "late", "joinable"),
    [
        (ContestStatus.DRAFT, True, False),
        (ContestStatus.SCHEDULED, False, True),
        (ContestStatus.ACTIVE, True, True),
        (ContestStatus.ACTIVE, False, False),
        (ContestStatus.ENDED, True, False),
        (ContestStatus.CANCELLED, True, False),
    ],
)
def test_joinable(status: ContestStatus, late: bool, joinable: bool) -> None:
    assert contest(status, rules=ContestRules(allow_late_entry=late)).is_joinable is joinable
