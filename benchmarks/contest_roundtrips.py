"""DynamoDB round trips per contest and entry route, counted with botocore `before-call` hooks.

    .venv/bin/python -m benchmarks.contest_roundtrips                 # against moto (in-process)
    .venv/bin/python -m benchmarks.contest_roundtrips --endpoint http://127.0.0.1:8000   # against DynamoDB Local

Every handler runs in-process with a synthetic API Gateway event. PynamoDB makes its own botocore session per
connection and thread, and the entry adapter uses boto3's default session, so both are hooked. Prints a markdown
table; exits 1 when a join costs more than one transaction plus one read (the design's promise).
Counts, not times: nothing here depends on the machine's speed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks._support import ROOT, CallCounter, RouteMeter, create_table, install, set_environment, trips_table


def _state_machine() -> None:
    import boto3

    definition = (ROOT / "statemachines" / "contest_lifecycle.asl.json").read_text().replace(
        "${LifecycleFunctionArn}", "arn:aws:lambda:us-east-1:123456789012:function:LifecycleFunction")
    arn = boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
        name="ContestLifecycle", definition=definition, roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
    os.environ["LIFECYCLE_STATE_MACHINE_ARN"] = arn


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(counter: CallCounter) -> list[tuple[str, Counter[str]]]:
    """Each route once (some twice: first and repeated call), in a realistic order."""
    sys.path.insert(0, str(ROOT))
    from tickerleague.services import auth

    from functions import contests, entries
    from tests.support.events import Caller, api_event, call

    now = datetime.now(UTC)
    admin_auth = auth.signup("bench-admin@example.com", "bench password 123", "Admin", now, role="admin")
    player_auth = auth.signup("bench-player@example.com", "bench password 123", "Player", now)
    admin = Caller(admin_auth.user.id, "admin")
    player = Caller(player_auth.user.id, "user")
    player_bearer = {"Authorization": f"Bearer {player_auth.access_token}"}
    meter = RouteMeter(counter)
    measure = meter.measure

    def path_event(method: str, template: str, contest_id: str, **kwargs: Any) -> dict[str, Any]:
        return api_event(method, template.replace("{contestId}", contest_id), resource=template,
                         path_params={"contestId": contest_id}, **kwargs)

    body = {"name": "Bench Cup", "startsAt": _iso(timedelta(days=1)), "endsAt": _iso(timedelta(days=8))}
    created = measure("POST /v1/contests (create draft)", contests.create,
                      api_event("POST", "/v1/contests", body=body, caller=admin), 201)
    measure("POST /v1/contests (slug taken: -2)", contests.create,
            api_event("POST", "/v1/contests", body=body, caller=admin), 201)
    cid = created["id"]
    measure("PATCH /v1/contests/{id} (draft)", contests.update,
            path_event("PATCH", "/v1/contests/{contestId}", cid, body={"maxEntries": 100}, caller=admin), 200)
    measure("POST /v1/contests/{id}/publish", contests.publish,
            path_event("POST", "/v1/contests/{contestId}/publish", cid, caller=admin), 200)
    measure("PATCH /v1/contests/{id} (scheduled, new times)", contests.update,
            path_event("PATCH", "/v1/contests/{contestId}", cid, body={"startsAt": _iso(timedelta(days=2))},
                       caller=admin), 200)
    measure("GET /v1/contests (anonymous)", contests.list_contests, api_event("GET", "/v1/contests"), 200)
    measure("GET /v1/contests (signed in, first call: token's account read)", contests.list_contests,
            api_event("GET", "/v1/contests", headers=player_bearer), 200)
    measure("GET /v1/contests/{id} (by id, anonymous)", contests.get,
            path_event("GET", "/v1/contests/{contestId}", cid), 200)
    measure("GET /v1/contests/{slug} (by slug, anonymous)", contests.get,
            path_event("GET", "/v1/contests/{contestId}", created["slug"]), 200)
    measure("POST /v1/contests/{id}/entries (new entry)", entries.join,
            path_event("POST", "/v1/contests/{contestId}/entries", cid, caller=player), 201)
    measure("POST /v1/contests/{id}/entries (already joined)", entries.join,
            path_event("POST", "/v1/contests/{contestId}/entries", cid, caller=player), 200)
    measure("GET /v1/contests/{id}/portfolio", entries.portfolio,
            path_event("GET", "/v1/contests/{contestId}/portfolio", cid, caller=player), 200)

    private = call(contests.create, api_event("POST", "/v1/contests", caller=admin,
                                              body={**body, "name": "Bench Private", "visibility": "private"})).body
    call(contests.publish, path_event("POST", "/v1/contests/{contestId}/publish", private["id"], caller=admin))
    call(entries.join, path_event("POST", "/v1/contests/{contestId}/entries", private["id"], caller=player,
                                  body={"inviteCode": private["inviteCode"]}))
    measure("GET /v1/contests/{id} (private, as entrant)", contests.get,
            path_event("GET", "/v1/contests/{contestId}", private["id"], headers=player_bearer), 200)
    measure("POST /v1/contests/{id}/cancel", contests.cancel,
            path_event("POST", "/v1/contests/{contestId}/cancel", cid, caller=admin), 200)
    return meter.rows


def join_within_budget(rows: list[tuple[str, Counter[str]]]) -> bool:
    """A new join: exactly one TransactWriteItems plus at most one read round trip."""
    counted = dict(rows)["POST /v1/contests/{id}/entries (new entry)"]
    reads = sum(count for name, count in counted.items() if name != "TransactWriteItems")
    return counted["TransactWriteItems"] == 1 and reads <= 1


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", help="DynamoDB endpoint (DynamoDB Local); default: moto in-process")
    args = parser.parse_args(argv)
    set_environment("tl-bench", args.endpoint)
    os.environ["EVENT_BUS_NAME"] = "tickerleague-bench"
    from moto import mock_aws

    config: Any = {"core": {"passthrough": {"services": ["dynamodb"], "urls": []}}} if args.endpoint else None
    with mock_aws(config=config):
        from tickerleague.config import settings

        settings.cache_clear()
        create_table()
        _state_machine()
        counter = CallCounter()
        install(counter)
        rows = run(counter)
    out(f"DynamoDB round trips per request ({'DynamoDB Local' if args.endpoint else 'moto'}):\n")
    out(trips_table(rows))
    if not join_within_budget(rows):
        out("\nFAIL: a join must be one transaction plus at most one read")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
