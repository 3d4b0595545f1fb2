"""Intrinsic functions evaluated against local values."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local.intrinsics import NO_VALUE, Resolver, TemplateError


@pytest.fixture
def resolver() -> Resolver:
    return Resolver(
        parameters={"Stage": "dev", "List": ["a", "b"], "Empty": ""},
        pseudo={"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"},
        attributes={"Queue": {"Ref": "https://q/url", "Arn": "arn:q", "QueueName": "q"}},
        condition_definitions={
            "IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]},
            "NotDev": {"Fn::Not": [{"Condition": "IsDev"}]},
            "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Fn::Equals": ["1", "1"]}]},
            "Either": {"Fn::Or": [{"Condition": "NotDev"}, {"Condition": "IsDev"}]},
            "Loop": {"Condition": "Loop"},
        },
        mappings={"M": {"dev": {"Size": "3"}}},
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Ref": "Stage"}, "dev"),
        ({"Ref": "Queue"}, "https://q/url"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:q"),
        ({"Fn::GetAtt": "Queue.QueueName"}, "q"),
        ({"Fn::Sub": "${Stage}-${AWS::Region}-${Queue.Arn}-${!Literal}"}, "dev-us-east-1-arn:q-${Literal}"),
        ({"Fn::Sub": ["${X}/${Stage}", {"X": {"Ref": "Queue"}}]}, "https://q/url/dev"),
        ({"Fn::Sub": "${List}"}, "a,b"),
        ({"Fn::Join": ["-", [{"Ref": "Stage"}, "x", 1]]}, "dev-x-1"),
        ({"Fn::Join": [",", {"Ref": "List"}]}, "a,b"),
        ({"Fn::Select": ["1", {"Ref": "List"}]}, "b"),
        ({"Fn::Split": ["/", "a/b"]}, ["a", "b"]),
        ({"Fn::If": ["IsDev", "yes", "no"]}, "yes"),
        ({"Fn::If": ["NotDev", "yes", "no"]}, "no"),
        ({"Fn::FindInMap": ["M", {"Ref": "Stage"}, "Size"]}, "3"),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::GetAZs": ""}, ["us-east-1a", "us-east-1b", "us-east-1c"]),
        ({"Fn::ToJsonString": {"a": [1]}}, '{"a":[1]}'),
        ({"Fn::Length": {"Ref": "List"}}, 2),
        ({"a": {"Ref": "AWS::NoValue"}, "b": [1, {"Ref": "AWS::NoValue"}]}, {"b": [1]}),
    ],
)
def test_resolves(resolver: Resolver, expression: Any, expected: Any) -> None:
    assert resolver.resolve(expression) == expected


def test_conditions(resolver: Resolver) -> None:
    assert resolver.condition("IsDev") is True
    assert resolver.condition("NotDev") is False
    assert resolver.condition("Both") is True
    assert resolver.condition("Either") is True


def test_no_value_marker(resolver: Resolver) -> None:
    assert resolver.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_resolve_string_lowercases_booleans(resolver: Resolver) -> None:
    assert resolver.resolve_string(True, "x") == "true"
    assert resolver.resolve_string(5, "x") == "5"
    with pytest.raises(TemplateError, match="expected a string"):
        resolver.resolve_string({"Ref": "List"}, "x")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"Ref": "Nope"}, "unknown resource or parameter 'Nope'"),
        ({"Fn::GetAtt": ["Queue", "Nope"]}, "no value for Queue.Nope"),
        ({"Fn::Select": [5, ["a"]]}, "out of range"),
        ({"Fn::ImportValue": "x"}, "not supported by the local stack"),
        ({"Fn::If": ["Missing", 1, 2]}, "unknown condition"),
        ({"Fn::If": ["Loop", 1, 2]}, "refers to itself"),
        ({"Fn::FindInMap": ["M", "prod", "Size"]}, "no M.prod.Size"),
        ({"Fn::Join": ["-"]}, "Fn::Join needs"),
    ],
)
def test_errors_are_clear(resolver: Resolver, expression: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        resolver.resolve(expression)
