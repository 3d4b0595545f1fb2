"""Evaluate CloudFormation intrinsic functions against local values.

The local stack must hand handlers the same environment variables AWS would, so it evaluates the
template's intrinsics (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::If`` ...) itself. Resource references
resolve through an *attribute table* (logical id -> {"Ref": ..., "Arn": ..., ...}) that the caller fills
with local physical values (the DynamoDB Local table name, moto's secret ARN ...).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final


class TemplateError(ValueError):
    """The template cannot be evaluated locally (bad reference, unsupported intrinsic, invalid value)."""


class _NoValue:
    """Marker for ``AWS::NoValue``: the surrounding key or list item disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()

_SUB_PATTERN = re.compile(r"\$\{([^}]*)\}")

INTRINSIC_KEYS: Final = frozenset(
    {
        "Ref",
        "Condition",
        "Fn::GetAtt",
        "Fn::Sub",
        "Fn::Join",
        "Fn::Select",
        "Fn::Split",
        "Fn::If",
        "Fn::Not",
        "Fn::Equals",
        "Fn::And",
        "Fn::Or",
        "Fn::FindInMap",
        "Fn::Base64",
        "Fn::GetAZs",
        "Fn::ToJsonString",
        "Fn::ImportValue",
        "Fn::Cidr",
        "Fn::Transform",
        "Fn::Length",
    }
)


@dataclass
class Resolver:
    """Evaluates intrinsics; conditions are evaluated lazily and cached (they may reference each other)."""

    parameters: Mapping[str, Any]
    pseudo: Mapping[str, str]
    attributes: Mapping[str, Mapping[str, str]]
    condition_definitions: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    _condition_cache: dict[str, bool] = field(default_factory=dict, init=False, repr=False)
    _evaluating: set[str] = field(default_factory=set, init=False, repr=False)

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic inside ``value``; ``AWS::NoValue`` entries are dropped."""
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if key in INTRINSIC_KEYS:
                    return self._call(key, argument)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        return value

    def resolve_string(self, value: Any, what: str) -> str:
        """Resolve to a string, the way CloudFormation stringifies scalars (booleans in lower case)."""
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, int | float | str):
            return str(resolved)
        raise TemplateError(f"{what}: expected a string, got {resolved!r}")

    def condition(self, name: str) -> bool:
        """The value of a named condition of the template."""
        if name in self._condition_cache:
            return self._condition_cache[name]
        if name not in self.condition_definitions:
            raise TemplateError(f"unknown condition {name!r}")
        if name in self._evaluating:
            raise TemplateError(f"condition {name!r} refers to itself")
        self._evaluating.add(name)
        try:
            result = self._as_bool(self.resolve(self.condition_definitions[name]), f"condition {name}")
        finally:
            self._evaluating.discard(name)
        self._condition_cache[name] = result
        return result

    # ------------------------------------------------------------------ dispatch

    def _call(self, key: str, argument: Any) -> Any:
        handler = self._handlers().get(key)
        if handler is None:
            raise TemplateError(f"{key} is not supported by the local stack")
        return handler(argument)

    def _handlers(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": self._ref,
            "Condition": lambda name: self.condition(str(name)),
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::Not": self._not,
            "Fn::Equals": self._equals,
            "Fn::And": lambda args: all(self._as_bool(self.resolve(a), "Fn::And") for a in args),
            "Fn::Or": lambda args: any(self._as_bool(self.resolve(a), "Fn::Or") for a in args),
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": lambda arg: base64.b64encode(self.resolve_string(arg, "Fn::Base64").encode()).decode(),
            "Fn::GetAZs": self._get_azs,
            "Fn::ToJsonString": lambda arg: json.dumps(self.resolve(arg), separators=(",", ":")),
            "Fn::Length": lambda arg: len(self._as_list(self.resolve(arg), "Fn::Length")),
        }

    # ------------------------------------------------------------------ functions

    def _ref(self, name: Any) -> Any:
        name = str(name)
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self._attribute(name, "Ref")

    def _get_att(self, argument: Any) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not isinstance(argument, list) or len(argument) != 2:
            raise TemplateError(f"Fn::GetAtt needs [resource, attribute], got {argument!r}")
        resource, attribute = (self.resolve_string(part, "Fn::GetAtt") for part in argument)
        return self._attribute(resource, attribute)

    def _attribute(self, resource: str, attribute: str) -> str:
        values = self.attributes.get(resource)
        if values is None:
            raise TemplateError(f"unknown resource or parameter {resource!r}")
        if attribute not in values:
            raise TemplateError(f"the local stack has no value for {resource}.{attribute}")
        return values[attribute]

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], dict):
                raise TemplateError("Fn::Sub needs a string or [string, {variables}]")
            text, variables = argument[0], {k: self.resolve(v) for k, v in argument[1].items()}
        else:
            text, variables = argument, {}
        if not isinstance(text, str):
            raise TemplateError(f"Fn::Sub template must be a string, got {text!r}")

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            name = expression.strip()
            if name in variables:
                return self._stringify(variables[name], f"Fn::Sub ${{{name}}}")
            if "." in name and not name.startswith("AWS::"):
                return self._stringify(self._get_att(name.split(".", 1)), f"Fn::Sub ${{{name}}}")
            return self._stringify(self._ref(name), f"Fn::Sub ${{{name}}}")

        return _SUB_PATTERN.sub(replace, text)

    def _join(self, argument: Any) -> str:
        if not isinstance(argument, list) or len(argument) != 2:
            raise TemplateError("Fn::Join needs [delimiter, [values]]")
        delimiter = self.resolve_string(argument[0], "Fn::Join delimiter")
        items = self._as_list(self.resolve(argument[1]), "Fn::Join")
        return delimiter.join(self._stringify(item, "Fn::Join item") for item in items)

    def _select(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            raise TemplateError("Fn::Select needs [index, [values]]")
        index = int(self.resolve_string(argument[0], "Fn::Select index"))
        items = self._as_list(self.resolve(argument[1]), "Fn::Select")
        if not 0 <= index < len(items):
            raise TemplateError(f"Fn::Select index {index} is out of range")
        return items[index]

    def _split(self, argument: Any) -> list[str]:
        if not isinstance(argument, list) or len(argument) != 2:
            raise TemplateError("Fn::Split needs [delimiter, string]")
        delimiter = self.resolve_string(argument[0], "Fn::Split delimiter")
        return self.resolve_string(argument[1], "Fn::Split source").split(delimiter)

    def _if(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise TemplateError("Fn::If needs [condition, value_if_true, value_if_false]")
        chosen = argument[1] if self.condition(str(argument[0])) else argument[2]
        return self.resolve(chosen)

    def _not(self, argument: Any) -> bool:
        operands = argument if isinstance(argument, list) else [argument]
        if len(operands) != 1:
            raise TemplateError("Fn::Not needs exactly one condition")
        return not self._as_bool(self.resolve(operands[0]), "Fn::Not")

    def _equals(self, argument: Any) -> bool:
        if not isinstance(argument, list) or len(argument) != 2:
            raise TemplateError("Fn::Equals needs two values")
        left, right = (self.resolve(a) for a in argument)
        return self._stringify(left, "Fn::Equals") == self._stringify(right, "Fn::Equals")

    def _find_in_map(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise TemplateError("Fn::FindInMap needs [map, top-level key, second-level key]")
        map_name, top, second = (self.resolve_string(a, "Fn::FindInMap") for a in argument)
        try:
            return self.mappings[map_name][top][second]
        except KeyError as exc:
            raise TemplateError(f"Fn::FindInMap: no {map_name}.{top}.{second}") from exc

    def _get_azs(self, argument: Any) -> list[str]:
        region = self.resolve_string(argument, "Fn::GetAZs") or self.pseudo["AWS::Region"]
        return [f"{region}{suffix}" for suffix in "abc"]

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _as_bool(value: Any, what: str) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise TemplateError(f"{what}: expected a boolean, got {value!r}")

    @staticmethod
    def _as_list(value: Any, what: str) -> list[Any]:
        if isinstance(value, list):
            return value
        raise TemplateError(f"{what}: expected a list, got {value!r}")

    @staticmethod
    def _stringify(value: Any, what: str) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            # A CommaDelimitedList parameter substituted into a string.
            return ",".join(value)
        raise TemplateError(f"{what}: cannot turn {value!r} into a string")
