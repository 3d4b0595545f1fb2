"""Contests and entries on the wire: request bodies, answers, and the mapping to and from the domain.

Request models check shapes (strict types, decimal strings, UTC timestamps, unknown fields refused); the value rules
(ranges, decimal places, symbols, schedule) live in `tickerleague.domain.contests`, so they hold for every caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from tickerleague.clock import iso, parse_iso_utc, utcnow
from tickerleague.domain import contests as contest_rules
from tickerleague.domain.contests import (
    DEFAULT_STARTING_CASH,
    Contest,
    ContestDefinition,
    ContestRules,
    ContestStatus,
    EntryFee,
    Visibility,
)
from tickerleague.domain.entries import Entry
from tickerleague.domain.money import cash_str, decimal_places, pct_str, price_str, quantity_str
from tickerleague.domain.payments import fee_text
from tickerleague.domain.symbols import canonical_symbol
from tickerleague.http.models import Page
from tickerleague.http.paging import ListQuery
from tickerleague.http.validation import (
    DecimalString,
    RequestModel,
    RuleErrors,
    UtcTimestamp,
    WireModel,
    obeyed,
    obeyed_all,
)

if TYPE_CHECKING:
    from tickerleague.services.portfolio import PortfolioView as PortfolioValuation

StatusName = Literal["draft", "scheduled", "active", "ended", "cancelled"]
VisibilityName = Literal["public", "private"]


# ---------------------------------------------------------------------------------------------------- requests
# The acceptance rules of `tickerleague.domain.contests` run here as well as in the service, so one 422 names every
# bad field: missing, of the wrong type, or breaking a rule. What needs the stored contest (a PATCH's schedule
# against the current times, which fields a status may change) is checked by the service.
def _not_null[V](value: V | None) -> V:
    if value is None:
        raise ValueError("must not be null")
    return value


class CommissionInput(RequestModel):
    perTrade: DecimalString

    @field_validator("perTrade")
    @classmethod
    def _per_trade_rules(cls, value: Decimal) -> Decimal:
        return obeyed(value, contest_rules.commission_error(value))


# The rules field -> its domain rule (value -> message or None), for the fields checked on their own.
_RULE_OF_FIELD: dict[str, Callable[[Any], str | None]] = {
    "maxPositionPct": contest_rules.max_position_pct_error,
    "minPrice": contest_rules.min_price_error,
    "maxTradesPerDay": contest_rules.max_trades_per_day_error,
    "allowShortSelling": contest_rules.short_selling_error,
}


class RulesInput(RequestModel):
    """Omitted fields take the defaults on create, and keep their value on PATCH."""

    allowedSymbols: list[str] | None = None
    maxPositionPct: DecimalString | None = None
    minPrice: DecimalString | None = None
    maxTradesPerDay: int | None = None
    allowLateEntry: bool = True
    commission: CommissionInput | None = None
    allowFractional: bool = False
    allowShortSelling: bool = False

    @field_validator("allowedSymbols")
    @classmethod
    def _allowed_symbols_rules(cls, symbols: list[str] | None) -> list[str] | None:
        canonical = tuple(canonical_symbol(symbol) for symbol in symbols) if symbols is not None else None
        return obeyed(symbols, contest_rules.allowed_symbols_error(canonical, contest_rules.listed_symbol))

    @field_validator(*_RULE_OF_FIELD)
    @classmethod
    def _field_rules(cls, value: Any, info: ValidationInfo) -> Any:
        return obeyed(value, _RULE_OF_FIELD[str(info.field_name)](value))

    @field_validator("commission")
    @classmethod
    def _commission_not_null(cls, value: CommissionInput | None) -> CommissionInput | None:
        if value is None:
            raise ValueError("must be an object")
        return value



class EntryFeeInput(RequestModel):
    amount: DecimalString
    currency: str = Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code; stored lower case")


class _ContestFieldRules(RequestModel):
    """The per-field rules of a contest body, shared by create and edit. A field given as null is refused where it
    cannot be null (on create pydantic's type check refuses it first); a field left out is not validated at all.
    `CHECKED_AGAINST_NOW`: whether startsAt/endsAt are checked against the clock here (create), or only by the
    service against the stored contest (edit)."""

    CHECKED_AGAINST_NOW: ClassVar[bool] = True

    @field_validator("name", check_fields=False)
    @classmethod
    def _name_rules(cls, name: str | None) -> str:
        present = _not_null(name)
        return obeyed(present, contest_rules.name_error(present))

    @field_validator("description", check_fields=False)
    @classmethod
    def _description_rules(cls, description: str | None) -> str:
        present = _not_null(description)
        return obeyed(present, contest_rules.description_error(present))

    @field_validator("startsAt", check_fields=False)
    @classmethod
    def _starts_at_rules(cls, starts_at: datetime | None) -> datetime:
        present = _not_null(starts_at)
        return obeyed(present, contest_rules.starts_at_error(present, utcnow()) if cls.CHECKED_AGAINST_NOW else None)

    @field_validator("endsAt", check_fields=False)
    @classmethod
    def _ends_at_rules(cls, ends_at: datetime | None, info: ValidationInfo) -> datetime:
        present = _not_null(ends_at)
        now = utcnow() if cls.CHECKED_AGAINST_NOW else None
        return obeyed(present, contest_rules.ends_at_error(info.data.get("startsAt"), present, now))

    @field_validator("startingCash", check_fields=False)
    @classmethod
    def _starting_cash_rules(cls, value: Decimal | None) -> Decimal:
        present = _not_null(value)
        return obeyed(present, contest_rules.starting_cash_error(present))

    @field_validator("maxEntries", check_fields=False)
    @classmethod
    def _max_entries_rules(cls, value: int | None) -> int | None:
        return obeyed(value, contest_rules.max_entries_error(value))

    @field_validator("entryFee", check_fields=False)
    @classmethod
    def _entry_fee_rules(cls, fee: EntryFeeInput | None) -> EntryFeeInput | None:
        return obeyed_all(fee, contest_rules.entry_fee_errors(_entry_fee(fee)))


class CreateContestRequest(_ContestFieldRules):
    name: str = Field(description="1-120 characters after trimming")
    description: str = ""
    startsAt: UtcTimestamp
    endsAt: UtcTimestamp
    startingCash: DecimalString = Field(default=DEFAULT_STARTING_CASH,
                                        description='1.00-10000000.00, at most 2 decimals; default "100000.00"')
    visibility: VisibilityName = "public"
    maxEntries: int | None = None
    entryFee: EntryFeeInput | None = Field(
        default=None,
        description="null (free) or {amount, currency}: currency one of usd, eur, gbp, cad, aud, chf, jpy; amount in "
                    "its own decimals, from Stripe's minimum charge (0.50 usd) to 10000.00 (1500000 jpy)")
    rules: RulesInput | None = None


class UpdateContestRequest(_ContestFieldRules):
    """Only the fields present change. In `draft` any field; in `scheduled` name, description, startsAt, endsAt."""

    CHECKED_AGAINST_NOW: ClassVar[bool] = False

    name: str | None = None
    description: str | None = None
    startsAt: UtcTimestamp | None = None
    endsAt: UtcTimestamp | None = None
    startingCash: DecimalString | None = None
    visibility: VisibilityName | None = None
    maxEntries: int | None = None
    entryFee: EntryFeeInput | None = None
    rules: RulesInput | None = None

    @field_validator("visibility", "rules")
    @classmethod
    def _present_not_null[V](cls, value: V | None) -> V:
        return _not_null(value)

    @model_validator(mode="after")
    def _some_field(self) -> UpdateContestRequest:
        if not self.model_fields_set:
            raise RuleErrors({"body": "name at least one field to change"})
        return self


class JoinContestRequest(RequestModel):
    inviteCode: str | None = Field(default=None, max_length=64,
                                   description="required for a private contest")


class ContestListQuery(ListQuery):
    status: StatusName | None = None


# ---------------------------------------------------------------------------------------------------- answers
class CommissionView(WireModel):
    perTrade: str


class RulesView(WireModel):
    allowedSymbols: list[str] | None
    maxPositionPct: str | None
    minPrice: str | None
    maxTradesPerDay: int | None
    allowLateEntry: bool
    commission: CommissionView
    allowFractional: bool
    allowShortSelling: bool


class EntryFeeView(WireModel):
    amount: str
    currency: str


class ContestView(WireModel):
    id: str
    slug: str
    name: str
    description: str
    status: StatusName
    visibility: VisibilityName
    startsAt: str
    endsAt: str
    startingCash: str
    entryFee: EntryFeeView | None
    maxEntries: int | None
    entryCount: int
    rules: RulesView
    createdAt: str
    updatedAt: str
    inviteCode: str | None = Field(
        default=None, exclude_if=lambda value: value is None,
        description="only for admins and entrants of a private contest",
    )


class ContestPage(Page[ContestView]):
    pass


class EntryView(WireModel):
    id: str
    contestId: str
    userId: str
    status: Literal["active", "pending_payment", "cancelled", "refunded"]
    cash: str
    joinedAt: str


class PositionView(WireModel):
    symbol: str
    quantity: str
    avgCost: str
    lastPrice: str
    marketValue: str = Field(description="quantity x lastPrice, to the cent, half-even")
    unrealizedPnl: str
    realizedPnl: str


class PortfolioView(WireModel):
    contestId: str
    cash: str
    positions: list[PositionView]
    totalValue: str = Field(description="cash + sum(quantity x lastPrice), rounded once to the cent, half-even (so it "
                                        "can differ by a cent from cash + the sum of the rounded marketValues)")
    returnPct: str
    asOf: str


# ---------------------------------------------------------------------------------------------------- domain -> wire
def pct_text(value: Decimal) -> str:
    """A percentage limit as given, without trailing zeros ("25", "12.5")."""
    return quantity_str(value)


def min_price_text(value: Decimal) -> str:
    """Two decimals when that is exact ("1.00"), else the price form ("0.0500")."""
    return cash_str(value) if decimal_places(value) <= 2 else price_str(value)


def rules_view(rules: ContestRules) -> RulesView:
    return RulesView(
        allowedSymbols=list(rules.allowed_symbols) if rules.allowed_symbols is not None else None,
        maxPositionPct=pct_text(rules.max_position_pct) if rules.max_position_pct is not None else None,
        minPrice=min_price_text(rules.min_price) if rules.min_price is not None else None,
        maxTradesPerDay=rules.max_trades_per_day, allowLateEntry=rules.allow_late_entry,
        commission=CommissionView(perTrade=cash_str(rules.commission_per_trade)),
        allowFractional=rules.allow_fractional, allowShortSelling=rules.allow_short_selling,
    )


def contest_view(contest: Contest, *, show_invite_code: bool) -> ContestView:
    definition = contest.definition
    fee = definition.entry_fee
    return ContestView(
        id=contest.contest_id, slug=contest.slug, name=definition.name, description=definition.description,
        status=contest.status.value, visibility=definition.visibility.value,
        startsAt=iso(definition.starts_at), endsAt=iso(definition.ends_at),
        startingCash=cash_str(definition.starting_cash),
        entryFee=(EntryFeeView(amount=fee_text(fee.amount, fee.currency), currency=fee.currency)
                  if fee is not None else None),
        maxEntries=definition.max_entries, entryCount=contest.entry_count, rules=rules_view(definition.rules),
        createdAt=iso(contest.created_at), updatedAt=iso(contest.updated_at),
        inviteCode=contest.invite_code if show_invite_code else None,
    )


def entry_view(entry: Entry) -> EntryView:
    joined = parse_iso_utc(entry.joined_at)
    return EntryView(
        id=entry.entry_id, contestId=entry.contest_id, userId=entry.user_id,
        status=entry.status,  # type: ignore[arg-type]
        cash=cash_str(entry.portfolio.cash), joinedAt=iso(joined) if joined else entry.joined_at,
    )


def portfolio_view(value: PortfolioValuation) -> PortfolioView:
    return PortfolioView(
        contestId=value.contest_id, cash=cash_str(value.cash),
        positions=[
            PositionView(
                symbol=item.symbol, quantity=quantity_str(item.quantity), avgCost=price_str(item.avg_cost),
                lastPrice=price_str(item.last_price), marketValue=cash_str(item.market_value),
                unrealizedPnl=cash_str(item.unrealized_pnl), realizedPnl=cash_str(item.realized_pnl),
            )
            for item in value.positions
        ],
        totalValue=cash_str(value.total_value), returnPct=pct_str(value.return_pct), asOf=value.as_of,
    )


# ---------------------------------------------------------------------------------------------------- wire -> domain
def _rules_changes(body: RulesInput) -> dict[str, Any]:
    """Domain rule fields named in the body (explicit nulls included, for the nullable ones)."""
    names = {
        "allowedSymbols": "allowed_symbols", "maxPositionPct": "max_position_pct", "minPrice": "min_price",
        "maxTradesPerDay": "max_trades_per_day", "allowLateEntry": "allow_late_entry",
        "allowFractional": "allow_fractional", "allowShortSelling": "allow_short_selling",
    }
    changes: dict[str, Any] = {}
    for wire, domain in names.items():
        if wire not in body.model_fields_set:
            continue
        value = getattr(body, wire)
        if wire == "allowedSymbols" and value is not None:
            value = tuple(canonical_symbol(symbol) for symbol in value)
        changes[domain] = value
    if body.commission is not None:
        changes["commission_per_trade"] = body.commission.perTrade
    return changes


def _entry_fee(body: EntryFeeInput | None) -> EntryFee | None:
    return EntryFee(amount=body.amount, currency=body.currency.lower()) if body is not None else None


def definition_from_create(body: CreateContestRequest) -> ContestDefinition:
    rules = ContestRules()
    if body.rules is not None:
        rules = replace(rules, **_rules_changes(body.rules))
    return ContestDefinition(
        name=body.name, description=body.description, starts_at=body.startsAt, ends_at=body.endsAt,
        starting_cash=body.startingCash, visibility=Visibility(body.visibility), max_entries=body.maxEntries,
        entry_fee=_entry_fee(body.entryFee), rules=rules,
    )


_PLAIN_FIELDS: Mapping[str, str] = {
    "name": "name", "description": "description", "startsAt": "starts_at", "endsAt": "ends_at",
    "startingCash": "starting_cash", "maxEntries": "max_entries",
}


def patched_definition(body: UpdateContestRequest, current: ContestDefinition) -> tuple[ContestDefinition,
                                                                                        frozenset[str]]:
    """The definition with the body's fields applied (rules merge field by field), and the wire names of the
    fields whose value actually changes (sending a field with its current value is not an edit)."""
    present = body.model_fields_set
    changes: dict[str, Any] = {_PLAIN_FIELDS[wire]: getattr(body, wire) for wire in present if wire in _PLAIN_FIELDS}
    if "visibility" in present and body.visibility is not None:
        changes["visibility"] = Visibility(body.visibility)
    if "entryFee" in present:
        changes["entry_fee"] = _entry_fee(body.entryFee)
    if "rules" in present and body.rules is not None:
        changes["rules"] = replace(current.rules, **_rules_changes(body.rules))
    updated = replace(current, **changes)
    wire_of = {**{domain: wire for wire, domain in _PLAIN_FIELDS.items()}, "visibility": "visibility",
               "entry_fee": "entryFee", "rules": "rules"}
    changed = frozenset(wire_of[name] for name in changes if getattr(updated, name) != getattr(current, name))
    return updated, changed


def status_filter(query: ContestListQuery) -> ContestStatus | None:
    return ContestStatus(query.status) if query.status is not None else None
