"""make seed ENV=…: idempotent, the admin from its secret, nothing for prod unless asked."""

from __future__ import annotations

import json

import boto3
import pytest

from infra import seed_env


def test_plans_per_environment() -> None:
    assert seed_env.plan_for("prod", False, False) == seed_env.Plan(admin=False, demo=False)
    assert seed_env.plan_for("staging", False, False) == seed_env.Plan(admin=True, demo=True)
    assert seed_env.plan_for("prod", True, False) == seed_env.Plan(admin=True, demo=False)
    assert seed_env.plan_for("prod", False, True) == seed_env.Plan(admin=True, demo=True)


def test_admin_seed_is_idempotent(moto_table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="tickerleague/prod/seed-admin",
        SecretString=json.dumps({"email": "Ops@Example.com", "password": "a-long-seed-admin-password-42"}))
    monkeypatch.setenv("TABLE_NAME", moto_table)
    first = seed_env.seed("prod", seed_env.Plan(admin=True, demo=False), "us-east-1")
    second = seed_env.seed("prod", seed_env.Plan(admin=True, demo=False), "us-east-1")
    assert first["adminId"] == second["adminId"]
    from tickerleague.adapters.dynamodb.users import get_user, user_id_for_email

    assert user_id_for_email("ops@example.com") == first["adminId"]
    user = get_user(first["adminId"], consistent=True)
    assert user is not None and user.role == "admin"
    assert "a-long-seed-admin-password-42" not in json.dumps(first)


def test_prod_without_flags_seeds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert seed_env.main(["--env", "prod"]) == 0
    assert "nothing to seed" in capsys.readouterr().out


def test_table_name_from_the_stack_output(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import mock_aws

    monkeypatch.delenv("TABLE_NAME", raising=False)
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"TableName": {"Value": "tl-staging-Table-1"}}}
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudformation.create_stack(StackName="tickerleague-staging", TemplateBody=json.dumps(template))
        assert seed_env.table_name("staging", "us-east-1") == "tl-staging-Table-1"
