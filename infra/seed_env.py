"""`make seed ENV=dev|staging|prod`: seed a deployed stage, idempotently (run it again and nothing changes).

- The admin comes from the secret `tickerleague/<env>/seed-admin` (`{"email": ..., "password": ...}`, docs/secrets.md);
  an existing account is left as it is (made an active admin if it was not).
- Demo contests and players: dev and staging by default; prod only with `--demo`.
- prod seeds nothing unless asked (`--admin` and/or `--demo`).
The table is the stack's `TableName` output (stack `tickerleague-<env>`), or TABLE_NAME when set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

ENVIRONMENTS = ("dev", "staging", "prod")


@dataclass(frozen=True)
class Plan:
    admin: bool
    demo: bool


def plan_for(env: str, admin: bool, demo: bool) -> Plan:
    """What to seed: the flags when any is given, else the environment's default (nothing for prod)."""
    if admin or demo:
        return Plan(admin=admin or demo, demo=demo)  # demo contests need an admin to own them
    return Plan(admin=env != "prod", demo=env != "prod")


def table_name(env: str, region: str, cloudformation: Any | None = None) -> str:
    if os.environ.get("TABLE_NAME"):
        return os.environ["TABLE_NAME"]
    import boto3

    client = cloudformation or boto3.client("cloudformation", region_name=region)
    (stack,) = client.describe_stacks(StackName=f"tickerleague-{env}")["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return str(outputs["TableName"])


def admin_credentials(env: str, region: str) -> tuple[str, str]:
    import boto3

    raw = boto3.client("secretsmanager", region_name=region).get_secret_value(
        SecretId=f"tickerleague/{env}/seed-admin")["SecretString"]
    secret = json.loads(raw)
    return str(secret["email"]), str(secret["password"])


def seed(env: str, plan: Plan, region: str) -> dict[str, Any]:
    """Apply the plan; returns what was seeded (ids, never the password)."""
    os.environ["TABLE_NAME"] = table_name(env, region)
    os.environ.setdefault("STAGE", env)
    from tickerleague.config import settings

    settings.cache_clear()
    from tickerleague.adapters.dynamodb.base import bind_table

    bind_table()
    done: dict[str, Any] = {"env": env, "table": os.environ["TABLE_NAME"]}
    if not plan.admin:
        return done
    from infra.seed import seed_admin

    email, password = admin_credentials(env, region)
    done["adminId"] = seed_admin(email, password)
    if plan.demo:
        from infra.seed_demo import seed_demo

        done["contests"] = [contest.contest_id for contest in seed_demo(done["adminId"])]
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS)
    parser.add_argument("--admin", action="store_true", help="seed the admin from the seed-admin secret")
    parser.add_argument("--demo", action="store_true", help="seed demo contests and players (and the admin)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    args = parser.parse_args(argv)
    plan = plan_for(args.env, args.admin, args.demo)
    if not (plan.admin or plan.demo):
        print(f"{args.env}: nothing to seed (prod seeds only with --admin or --demo)")
        return 0
    print(json.dumps(seed(args.env, plan, args.region)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
