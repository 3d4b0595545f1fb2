"""Contests as pure data: the status machine, the rules model, validation of a definition, slugs, visibility.

No I/O here. Services read and write contests through `tickerleague.adapters.dynamodb.contests`; everything that
decides (may this transition happen, is this definition valid, who may see it) lives in this module.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tickerleague.domain.money import CENT, decimal_places, to_cash
from tickerleague.domain.payments import fee_error, normalized_fee
from tickerleague.errors import Conflict, ValidationFailed


class ContestStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


# The whole status machine. `scheduled -> active` and `active -> ended` are taken only by the lifecycle workflow.
TRANSITIONS: Mapping[ContestStatus, frozenset[ContestStatus]] = {
    ContestStatus.DRAFT: frozenset({ContestStatus.SCHEDULED, ContestStatus.CANCELLED}),
    ContestStatus.SCHEDULED: frozenset({ContestStatus.ACTIVE, ContestStatus.CANCELLED}),
    ContestStatus.ACTIVE: frozenset({ContestStatus.ENDED, ContestStatus.CANCELLED}),
    ContestStatus.ENDED: frozenset(),
    ContestStatus.CANCELLED: frozenset(),
}

# What anonymous callers and players may list; admins list everything.
PUBLICLY_LISTED = frozenset({ContestStatus.SCHEDULED, ContestStatus.ACTIVE, ContestStatus.ENDED})

MIN_STARTING_CASH = Decimal("1.00")
MAX_STARTING_CASH = Decimal("10000000.00")
DEFAULT_STARTING_CASH = Decimal("100000.00")
NAME_MAX = 120
DESCRIPTION_MAX = 2000
MIN_MAX_ENTRIES = 2
MAX_MAX_ENTRIES = 1_000_000
MAX_ALLOWED_SYMBOLS = 500
# A Step Functions standard execution lives at most one year; the lifecycle execution starts at publish.
MAX_HORIZON = timedelta(days=360)
SLUG_MAX = 60


def can_transition(source: ContestStatus, target: ContestStatus) -> bool:
    return target in TRANSITIONS[source]


def require_transition(source: ContestStatus, target: ContestStatus) -> None:
    """409 INVALID_STATE_TRANSITION unless the status machine allows `source -> target`."""
    if not can_transition(source, target):
        raise Conflict(
            f"A {source.value} contest cannot become {target.value}.", code="INVALID_STATE_TRANSITION",
            details={"status": source.value, "target": target.value},
        )


def sources_of(target: ContestStatus) -> frozenset[ContestStatus]:
    """Every status that may move to `target` (the condition of a conditional write)."""
    return frozenset(source for source, targets in TRANSITIONS.items() if target in targets)


# ---------------------------------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class ContestRules:
    allowed_symbols: tuple[str, ...] | None = None
    max_position_pct: Decimal | None = None
    min_price: Decimal | None = None
    max_trades_per_day: int | None = None
    allow_late_entry: bool = True
    commission_per_trade: Decimal = Decimal("0.00")
    allow_fractional: bool = False
    allow_short_selling: bool = False


@dataclass(frozen=True)
class EntryFee:
    amount: Decimal
    currency: str  # ISO 4217, lower case ("usd")


@dataclass(frozen=True)
class ContestDefinition:
    """Everything an admin chooses about a contest (what create takes and PATCH may change)."""

    name: str
    description: str
    starts_at: datetime
    ends_at: datetime
    starting_cash: Decimal = DEFAULT_STARTING_CASH
    visibility: Visibility = Visibility.PUBLIC
    max_entries: int | None = None
    entry_fee: EntryFee | None = None
    rules: ContestRules = field(default_factory=ContestRules)


@dataclass(frozen=True)
class LifecycleFailure:
    at: str
    step: str
    error: str
    cause: str


@dataclass(frozen=True)
class Contest:
    contest_id: str
    slug: str
    status: ContestStatus
    definition: ContestDefinition
    created_at: datetime
    updated_at: datetime
    created_by: str
    entry_count: int = 0
    invite_code: str | None = None
    # Bumped whenever a published schedule changes; the lifecycle execution carries it, so a stale one does nothing.
    schedule_version: int = 1
    execution_arn: str | None = None
    # Bumped by every admin edit or transition (not by joins); the condition of read-modify-write updates.
    revision: int = 0
    lifecycle_failure: LifecycleFailure | None = None

    @property
    def starts_at(self) -> datetime:
        return self.definition.starts_at

    @property
    def ends_at(self) -> datetime:
        return self.definition.ends_at

    @property
    def rules(self) -> ContestRules:
        return self.definition.rules

    @property
    def is_private(self) -> bool:
        return self.definition.visibility is Visibility.PRIVATE

    @property
    def is_joinable(self) -> bool:
        if self.status is ContestStatus.SCHEDULED:
            return True
        return self.status is ContestStatus.ACTIVE and self.rules.allow_late_entry

    @property
    def is_full(self) -> bool:
        limit = self.definition.max_entries
        return limit is not None and self.entry_count >= limit

    def execution_name(self) -> str:
        return execution_name(self.contest_id, self.schedule_version)


def execution_name(contest_id: str, schedule_version: int) -> str:
    """The lifecycle execution of one published schedule; the same name makes a retried start a no-op."""
    return f"{contest_id}-v{schedule_version}"


# ---------------------------------------------------------------------------------------------------- visibility
def visible_to(contest: Contest, *, is_admin: bool, is_entrant: bool) -> bool:
    """Drafts only to admins; private contests to admins and their entrants; everything else to anyone."""
    if is_admin:
        return True
    if contest.status is ContestStatus.DRAFT:
        return False
    return not contest.is_private or is_entrant


def invite_code_visible_to(contest: Contest, *, is_admin: bool, is_entrant: bool) -> bool:
    return contest.is_private and (is_admin or is_entrant)


def needs_status_check(contest: Contest, *, is_admin: bool) -> bool:
    """Whether seeing this contest depends on the caller having joined it (costs one read)."""
    return not is_admin and contest.is_private and contest.status is not ContestStatus.DRAFT


# ---------------------------------------------------------------------------------------------------- slugs
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """URL-safe, lower-case, ASCII: "Spring Cup — Tech Only!" -> "spring-cup-tech-only".

    Never all digits (a slug must not look like an id) and never empty."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    slug = _NON_ALNUM.sub("-", folded).strip("-")
    if len(slug) > SLUG_MAX:
        slug = slug[:SLUG_MAX].rsplit("-", 1)[0] if "-" in slug[:SLUG_MAX] else slug[:SLUG_MAX]
        slug = slug.strip("-")
    if not slug:
        return "contest"
    if slug.replace("-", "").isdigit():
        return f"contest-{slug}"
    return slug


def slug_candidate(base: str, attempt: int) -> str:
    """`base`, then `base-2`, `base-3` ... for the attempt-th try (1-based)."""
    return base if attempt <= 1 else f"{base}-{attempt}"


def definition_fingerprint(definition: ContestDefinition) -> str:
    """A hash of everything an admin asked for, kept with a keyed create's marker (domain/idempotency.py): the same
    Idempotency-Key with the same definition finds the first contest, with another one it is refused."""
    return hashlib.sha256(repr(definition).encode("utf-8")).hexdigest()[:32]


# ---------------------------------------------------------------------------------------------------- validation
def _money_error(value: Decimal, *, places: int, minimum: Decimal, maximum: Decimal | None,
                 inclusive_min: bool = True) -> str | None:
    if decimal_places(value) > places:
        return f"must have at most {places} decimal places"
    below = value < minimum if inclusive_min else value <= minimum
    if below or (maximum is not None and value > maximum):
        low = f"{'at least' if inclusive_min else 'more than'} {minimum}"
        return f"must be {low}" + (f" and at most {maximum}" if maximum is not None else "")
    return None


def name_error(name: str) -> str | None:
    trimmed = name.strip()
    if not trimmed:
        return "must not be empty"
    if len(trimmed) > NAME_MAX:
        return f"must be at most {NAME_MAX} characters"
    if any(unicodedata.category(char) == "Cc" for char in trimmed):
        return "must not contain control characters"
    return None


def starts_at_error(starts_at: datetime, now: datetime) -> str | None:
    return "must be in the future" if starts_at <= now else None


def ends_at_error(starts_at: datetime | None, ends_at: datetime, now: datetime | None) -> str | None:
    """endsAt after startsAt (when known) and within the workflow's horizon (when `now` is given)."""
    if starts_at is not None and ends_at <= starts_at:
        return "must be after startsAt"
    if now is not None and ends_at > now + MAX_HORIZON:
        return f"must be within {MAX_HORIZON.days} days from now"
    return None


def schedule_errors(starts_at: datetime, ends_at: datetime, now: datetime) -> dict[str, str]:
    """endsAt after startsAt, startsAt in the future, the whole contest within the workflow's horizon."""
    errors: dict[str, str] = {}
    if message := starts_at_error(starts_at, now):
        errors["startsAt"] = message
    if message := ends_at_error(starts_at, ends_at, now):
        errors["endsAt"] = message
    return errors


def description_error(description: str) -> str | None:
    return f"must be at most {DESCRIPTION_MAX} characters" if len(description) > DESCRIPTION_MAX else None


def starting_cash_error(starting_cash: Decimal) -> str | None:
    return _money_error(starting_cash, places=2, minimum=MIN_STARTING_CASH, maximum=MAX_STARTING_CASH)


def max_entries_error(max_entries: int | None) -> str | None:
    if max_entries is not None and not MIN_MAX_ENTRIES <= max_entries <= MAX_MAX_ENTRIES:
        return f"must be at least {MIN_MAX_ENTRIES} (at most {MAX_MAX_ENTRIES}), or null"
    return None


def entry_fee_errors(fee: EntryFee | None) -> dict[str, str]:
    return fee_error(fee.amount, fee.currency) if fee is not None else {}


def allowed_symbols_error(symbols: tuple[str, ...] | None, known_symbol: Any) -> str | None:
    if symbols is None:
        return None
    if not 1 <= len(symbols) <= MAX_ALLOWED_SYMBOLS:
        return f"must list 1 to {MAX_ALLOWED_SYMBOLS} symbols, or be null"
    unknown = [symbol for symbol in symbols if not known_symbol(symbol)]
    return "unknown symbols: " + ", ".join(unknown[:10]) if unknown else None


def max_position_pct_error(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return _money_error(value, places=4, minimum=Decimal(0), maximum=Decimal(100), inclusive_min=False)


def min_price_error(value: Decimal | None) -> str | None:
    return None if value is None else _money_error(value, places=4, minimum=Decimal(0), maximum=Decimal("1000000"))


def max_trades_per_day_error(value: int | None) -> str | None:
    if value is not None and not 1 <= value <= 10_000:
        return "must be between 1 and 10000, or null"
    return None


def commission_error(per_trade: Decimal) -> str | None:
    return _money_error(per_trade, places=2, minimum=Decimal(0), maximum=Decimal("10000"))


def short_selling_error(allow_short_selling: bool) -> str | None:
    return "short selling is not supported" if allow_short_selling else None


def rules_errors(rules: ContestRules, known_symbol: Any) -> dict[str, str]:
    """Field errors of a rules object; `known_symbol(symbol) -> bool` is the symbol universe's membership test."""
    problems = {
        "rules.allowedSymbols": allowed_symbols_error(rules.allowed_symbols, known_symbol),
        "rules.maxPositionPct": max_position_pct_error(rules.max_position_pct),
        "rules.minPrice": min_price_error(rules.min_price),
        "rules.maxTradesPerDay": max_trades_per_day_error(rules.max_trades_per_day),
        "rules.commission.perTrade": commission_error(rules.commission_per_trade),
        "rules.allowShortSelling": short_selling_error(rules.allow_short_selling),
    }
    return {field: message for field, message in problems.items() if message}


def listed_symbol(symbol: str) -> bool:
    """The default symbol universe's membership test (what `known_symbol` is, outside tests)."""
    from tickerleague.domain.symbols import SymbolUniverse

    return SymbolUniverse.default().get(symbol) is not None


def definition_errors(definition: ContestDefinition, known_symbol: Any) -> dict[str, str]:
    """Every field error of a definition, except the schedule's relation to now (see `schedule_errors`)."""
    problems = {
        "name": name_error(definition.name),
        "description": description_error(definition.description),
        "endsAt": ends_at_error(definition.starts_at, definition.ends_at, None),
        "startingCash": starting_cash_error(definition.starting_cash),
        "maxEntries": max_entries_error(definition.max_entries),
    }
    errors = {field: message for field, message in problems.items() if message}
    errors.update(entry_fee_errors(definition.entry_fee))
    errors.update(rules_errors(definition.rules, known_symbol))
    return errors


def normalized(definition: ContestDefinition) -> ContestDefinition:
    """The stored form: trimmed text, cash to the cent, times to the second, symbols deduplicated in order."""
    rules = definition.rules
    fee = definition.entry_fee
    symbols = None
    if rules.allowed_symbols is not None:
        symbols = tuple(dict.fromkeys(rules.allowed_symbols))
    return replace(
        definition,
        name=definition.name.strip(),
        description=definition.description.strip(),
        starts_at=definition.starts_at.replace(microsecond=0),
        ends_at=definition.ends_at.replace(microsecond=0),
        starting_cash=to_cash(definition.starting_cash),
        entry_fee=replace(fee, amount=normalized_fee(fee.amount, fee.currency)) if fee is not None else None,
        rules=replace(rules, allowed_symbols=symbols,
                      commission_per_trade=rules.commission_per_trade.quantize(CENT)),
    )


def validate_new(definition: ContestDefinition, now: datetime, known_symbol: Any) -> ContestDefinition:
    """The normalized definition of a new contest, or ValidationFailed naming every bad field."""
    errors = definition_errors(definition, known_symbol)
    errors.update({key: value for key, value in schedule_errors(definition.starts_at, definition.ends_at, now).items()
                   if key not in errors})
    if errors:
        raise ValidationFailed(errors)
    return normalized(definition)


# ---------------------------------------------------------------------------------------------------- editing
# Which definition fields PATCH may change in each status (wire names).
SCHEDULE_FIELDS = frozenset({"startsAt", "endsAt"})
EDITABLE_WHEN_SCHEDULED = frozenset({"name", "description"}) | SCHEDULE_FIELDS
ALL_FIELDS = frozenset({"name", "description", "startsAt", "endsAt", "startingCash", "visibility", "maxEntries",
                        "entryFee", "rules"})


@dataclass(frozen=True)
class Edit:
    """The outcome of applying a PATCH: the new contest and whether its published schedule changed."""

    contest: Contest
    reschedules: bool


def apply_edit(contest: Contest, changed: ContestDefinition, fields: frozenset[str], now: datetime,
               known_symbol: Any) -> Edit:
    """Check that `fields` may change in the contest's status, validate the result, bump versions.

    `changed` is the definition with the requested changes applied; `fields` names them (wire names)."""
    if contest.status is ContestStatus.DRAFT:
        allowed = ALL_FIELDS
    elif contest.status is ContestStatus.SCHEDULED:
        allowed = EDITABLE_WHEN_SCHEDULED
    else:
        allowed = frozenset()
    refused = sorted(fields - allowed)
    if refused:
        raise Conflict(
            f"A {contest.status.value} contest cannot change: {', '.join(refused)}.",
            code="INVALID_STATE_TRANSITION", details={"status": contest.status.value, "fields": refused},
        )
    errors = definition_errors(changed, known_symbol)
    if fields & SCHEDULE_FIELDS:
        for key, message in schedule_errors(changed.starts_at, changed.ends_at, now).items():
            errors.setdefault(key, message)
    if errors:
        raise ValidationFailed(errors)
    definition = normalized(changed)
    # New times are a new schedule version even in a draft: an execution started by a publish that failed
    # half-way carries the old version's name and times, and must neither be reused nor block the new ones.
    new_times = definition.starts_at != contest.starts_at or definition.ends_at != contest.ends_at
    updated = replace(
        contest, definition=definition, updated_at=now, revision=contest.revision + 1,
        schedule_version=contest.schedule_version + (1 if new_times else 0),
    )
    return Edit(contest=updated, reschedules=new_times and contest.status is ContestStatus.SCHEDULED)


def transitioned(contest: Contest, target: ContestStatus, now: datetime) -> Contest:
    """The contest after `target`, which the status machine must allow from its current status."""
    require_transition(contest.status, target)
    return replace(contest, status=target, updated_at=now, revision=contest.revision + 1)


def publish_errors(contest: Contest, now: datetime) -> dict[str, str]:
    """Publishing starts the clock: the schedule must still be ahead of us."""
    return schedule_errors(contest.starts_at, contest.ends_at, now)
