"""Request models and the mapping of pydantic errors to VALIDATION_FAILED with `details.fields`."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, ValidationError, WithJsonSchema

from tickerleague.clock import parse_iso_utc
from tickerleague.domain.money import parse_decimal
from tickerleague.errors import BadRequest, ValidationFailed


class RequestModel(BaseModel):
    """A JSON request body: unknown fields are refused, types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class QueryModel(BaseModel):
    """Query-string parameters: always strings on the wire, so coercion is allowed; unknown ones are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class WireModel(BaseModel):
    """A response body. Fields are named as on the wire (camelCase)."""

    model_config = ConfigDict(extra="forbid")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        raise ValueError('must be a decimal string such as "12.50", not a JSON number with a fraction')
    parsed = parse_decimal(value)
    if parsed is None:
        raise ValueError('must be a decimal string such as "12.50"')
    return parsed


def _utc_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = parse_iso_utc(value)
    if parsed is None:
        raise ValueError("must be an ISO 8601 UTC timestamp such as 2026-12-01T14:30:00Z")
    return parsed


DecimalString = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    PlainSerializer(lambda value: f"{value:f}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["100.00"]}),
]

UtcTimestamp = Annotated[
    datetime,
    BeforeValidator(_utc_datetime),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-12-01T14:30:00Z"]}),
]


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query")]
    return ".".join(parts) or "body"


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "dict_type": "must be an object",
    "list_type": "must be an array",
    "literal_error": None,
    "string_too_short": None,
    "string_too_long": None,
}


class RuleErrors(ValueError):
    """Raised by a request model's validator with the field errors of a domain rule (wire paths from the body's
    root, e.g. "entryFee.amount"), so they are reported in the same 422 as the schema's own errors."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in fields.items()))
        self.fields = dict(fields)


def obeyed[V](value: V, problem: str | None) -> V:
    """`value`, or a validation error with `problem` (a domain rule's message) on the field being validated."""
    if problem:
        raise ValueError(problem)
    return value


def obeyed_all[V](value: V, problems: dict[str, str]) -> V:
    """`value`, or a validation error naming every field in `problems` (wire paths from the body's root)."""
    if problems:
        raise RuleErrors(problems)
    return value


def fields_from_validation_error(error: ValidationError) -> dict[str, str]:
    """Every bad field of the body: the schema's errors and the domain rules' (one 422 names them all)."""
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False, include_input=False):
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, RuleErrors):
            for path, message in cause.fields.items():
                fields.setdefault(path, message)
            continue
        path = _field_path(tuple(item["loc"]))
        message = _MESSAGES.get(item["type"]) or str(item["msg"]).removeprefix("Value error, ")
        fields.setdefault(path, message)
    return fields


def parse_model[M: BaseModel](model: type[M], data: Any) -> M:
    """Validate `data` into `model`, or raise ValidationFailed naming every bad field."""
    if not isinstance(data, dict):
        raise ValidationFailed({"body": "must be a JSON object"})
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed(fields_from_validation_error(error)) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(key) or _has_lone_surrogate(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def parse_json(raw: bytes | str) -> Any:
    """JSON with fractional numbers kept as Decimal (never float), NaN/Infinity and broken Unicode refused."""
    try:
        data = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("The body is not valid JSON.") from exc
    if _has_lone_surrogate(data):
        raise BadRequest("The body contains invalid Unicode.")
    return data
