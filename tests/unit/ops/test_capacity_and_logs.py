"""Logs and capacity in template.yaml and samconfig.toml: one log group for every function with the stage's
retention; queue consumers drain at a bounded concurrency; scheduled jobs may reserve concurrency where a stage
says so (never by default: a new account's pool may be 10)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from infra.local.cfn_yaml import load_cfn_file

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = load_cfn_file(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}


def _events(function: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in (function["Properties"].get("Events") or {}).values() if e["Type"] == kind]


def _stage_parameters() -> dict[str, dict[str, str]]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    found = {}
    for stage in ("dev", "staging", "prod"):
        overrides = config[stage]["deploy"]["parameters"]["parameter_overrides"]
        found[stage] = dict(pair.split("=", 1) for pair in overrides.split())
    return found


def test_every_function_logs_into_the_one_retained_log_group() -> None:
    logging = TEMPLATE["Globals"]["Function"]["LoggingConfig"]
    assert logging["LogGroup"] == {"Ref": "FunctionLogs"}
    group = RESOURCES["FunctionLogs"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert group["DeletionPolicy"] == "Retain"
    overriding = [name for name, f in FUNCTIONS.items() if "LoggingConfig" in f["Properties"]]
    assert not overriding, f"functions that log elsewhere: {overriding}"


def test_each_stage_keeps_logs_for_an_allowed_number_of_days() -> None:
    allowed = {int(days) for days in TEMPLATE["Parameters"]["LogRetentionDays"]["AllowedValues"]}
    retention = {stage: int(values["LogRetentionDays"]) for stage, values in _stage_parameters().items()}
    assert set(retention.values()) <= allowed
    assert retention["prod"] >= 365 and retention["dev"] <= retention["staging"] <= retention["prod"]


def test_queue_consumers_have_a_bounded_concurrency() -> None:
    consumers = {name: _events(f, "SQS") for name, f in FUNCTIONS.items() if _events(f, "SQS")}
    assert set(consumers) >= {"StripeEventsFunction", "NotificationsFunction"}
    for name, events in consumers.items():
        for event in events:
            scaling = event["Properties"].get("ScalingConfig") or {}
            assert scaling.get("MaximumConcurrency") == {"Ref": "QueueConsumerMaxConcurrency"}, name
    assert int(TEMPLATE["Parameters"]["QueueConsumerMaxConcurrency"]["MinValue"]) == 2  # SQS's own minimum


def test_scheduled_jobs_reserve_concurrency_only_where_a_stage_asks() -> None:
    jobs = {name for name, f in FUNCTIONS.items() if _events(f, "Schedule") or _events(f, "ScheduleV2")}
    assert jobs, "no scheduled jobs found"
    reserved = {"Fn::If": ["HasJobsReservedConcurrency", {"Ref": "JobsReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}
    for name in jobs:
        assert FUNCTIONS[name]["Properties"].get("ReservedConcurrentExecutions") == reserved, name
    api_functions = [name for name, f in FUNCTIONS.items() if _events(f, "Api")]
    assert not [name for name in api_functions if "ReservedConcurrentExecutions" in FUNCTIONS[name]["Properties"]]
    assert TEMPLATE["Parameters"]["JobsReservedConcurrency"]["Default"] == 0
    assert _stage_parameters()["dev"]["JobsReservedConcurrency"] == "0"
