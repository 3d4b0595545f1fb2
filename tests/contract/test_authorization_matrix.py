"""Who may call what: every Api route of template.yaml, called in-process as four callers, against an explicit table.

Callers: `anon` (no token; on routes behind the authorizer the gateway would deny, so the handler sees no principal),
`other` (a signed-in player who has not joined anything), `player` (a signed-in player who joined the contest and
placed an order) and `admin`. The scenario, fresh for each route: a PRIVATE contest, active, that `player` joined.

Expectations are deliberately coarse where access is allowed (OK: neither 401 nor 403, and no 5xx: the body may be
incomplete, so 400/404/409/422 are fine) and exact where it is denied (401, 403, or 404 for what the caller may not
see). A route in the template without a row here fails `test_every_route_has_an_expectation`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.events import Caller, HttpAnswer, api_event, call

ROOT = Path(__file__).resolve().parents[2]
OK = "ok"  # allowed: not 401/403, not 5xx
CALLERS = ("anon", "other", "player", "admin")


def _row(anon: int | str, other: int | str, player: int | str, admin: int | str) -> dict[str, int | str]:
    return dict(zip(CALLERS, (anon, other, player, admin), strict=True))


PUBLIC = _row(OK, OK, OK, OK)
SIGNED_IN = _row(401, OK, OK, OK)
ADMIN_ONLY = _row(401, 403, 403, OK)
ENTRANTS = _row(401, 404, OK, OK)  # the contest is private: others may not know it exists
MY_ENTRY = _row(401, 404, OK, 404)  # things of the caller's own entry (the admin has none)

EXPECTED: dict[tuple[str, str], dict[str, int | str]] = {
    ("GET", "/v1/health"): PUBLIC,
    ("POST", "/v1/auth/signup"): PUBLIC,
    ("POST", "/v1/auth/login"): PUBLIC,
    ("POST", "/v1/auth/refresh"): PUBLIC,
    ("POST", "/v1/auth/logout"): SIGNED_IN,
    ("GET", "/v1/me"): SIGNED_IN,
    ("POST", "/v1/contests"): ADMIN_ONLY,
    ("GET", "/v1/contests"): PUBLIC,
    ("GET", "/v1/contests/{contestId}"): _row(404, 404, OK, OK),
    ("PATCH", "/v1/contests/{contestId}"): ADMIN_ONLY,
    ("POST", "/v1/contests/{contestId}/publish"): ADMIN_ONLY,
    ("POST", "/v1/contests/{contestId}/cancel"): ADMIN_ONLY,
    ("POST", "/v1/contests/{contestId}/entries"): ENTRANTS,
    ("GET", "/v1/contests/{contestId}/portfolio"): MY_ENTRY,
    ("POST", "/v1/contests/{contestId}/orders"): _row(401, 404, OK, OK),
    ("GET", "/v1/contests/{contestId}/orders"): _row(401, 404, OK, OK),
    ("GET", "/v1/contests/{contestId}/orders/{orderId}"): MY_ENTRY,
    ("DELETE", "/v1/contests/{contestId}/orders/{orderId}"): MY_ENTRY,
    ("GET", "/v1/stocks"): SIGNED_IN,
    ("GET", "/v1/stocks/{symbol}/quote"): SIGNED_IN,
    ("GET", "/v1/market/clock"): PUBLIC,
    ("GET", "/v1/contests/{contestId}/leaderboard"): _row(404, 404, OK, OK),
    ("GET", "/v1/contests/{contestId}/leaderboard/me"): MY_ENTRY,
    ("GET", "/v1/contests/{contestId}/portfolio/history"): MY_ENTRY,
    ("GET", "/v1/admin/users"): ADMIN_ONLY,
    ("GET", "/v1/admin/users/{userId}"): ADMIN_ONLY,
    ("POST", "/v1/admin/users/{userId}/suspend"): ADMIN_ONLY,
    ("POST", "/v1/admin/users/{userId}/reinstate"): ADMIN_ONLY,
    ("GET", "/v1/admin/contests/{contestId}/entries"): ADMIN_ONLY,
    ("GET", "/v1/admin/audit"): ADMIN_ONLY,
    ("PATCH", "/v1/me"): SIGNED_IN,
    ("POST", "/v1/auth/password"): SIGNED_IN,
    ("POST", "/v1/auth/password-reset"): PUBLIC,
    ("POST", "/v1/auth/password-reset/confirm"): PUBLIC,
    ("GET", "/v1/contests/{contestId}/entries/me/payment"): MY_ENTRY,  # a free contest: 404 for its entrant too
    ("POST", "/v1/admin/contests/{contestId}/entries/{entryId}/refund"): ADMIN_ONLY,
    ("POST", "/v1/webhooks/stripe"): PUBLIC,  # unsigned: 400 BAD_SIGNATURE for everyone
}


# Valid bodies where an empty one would stop at validation before the access rules are reached.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/contests/{contestId}/orders"): {"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "limit",
                                                 "limitPrice": "1.00"},
    ("POST", "/v1/admin/users/{userId}/suspend"): {"reason": "authorization matrix"},
    ("PATCH", "/v1/me"): {"displayName": "Renamed"},
    ("POST", "/v1/admin/contests/{contestId}/entries/{entryId}/refund"): {"reason": "matrix"},
}


def _template_routes() -> list[tuple[str, str, str, bool]]:
    """(method, path, handler, behind the authorizer) of every Api event in template.yaml."""
    from infra.local.template import load_template

    template = load_template(ROOT / "template.yaml", parameters_file=None)
    functions = template.functions
    return sorted((route.method.upper(), route.path, functions[route.function_id].handler, route.authorizer is not None)
                  for route in template.routes)


ROUTES = _template_routes()


def test_every_route_has_an_expectation() -> None:
    in_template = {(method, path) for method, path, _, _ in ROUTES}
    assert in_template - set(EXPECTED) == set(), "add the new routes to EXPECTED"
    assert set(EXPECTED) - in_template == set(), "EXPECTED names routes the template no longer has"


def test_routes_behind_no_authorizer_are_exactly_the_public_ones() -> None:
    """The gateway lets anyone through on these; the table must not promise a 401 there, and vice versa."""
    for method, path, _, guarded in ROUTES:
        anon = EXPECTED[(method, path)]["anon"]
        assert (anon == 401) is guarded, (method, path)


# ---------------------------------------------------------------------------------------------------- scenario
@dataclass
class Scenario:
    people: dict[str, Any]  # caller name -> Person (None for anon)
    params: dict[str, str]


@pytest.fixture
def scenario(moto_table: str, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    import boto3
    from tickerleague.adapters import events, stepfunctions
    from tickerleague.config import settings
    from tickerleague.services.principals import clear_cache

    from tests.unit.contests.helpers import force_status, make_person

    definition = (ROOT / "statemachines" / "contest_lifecycle.asl.json").read_text().replace(
        "${LifecycleFunctionArn}", "arn:aws:lambda:us-east-1:123456789012:function:LifecycleFunction")
    arn = boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
        name="ContestLifecycle", definition=definition, roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
    monkeypatch.setenv("LIFECYCLE_STATE_MACHINE_ARN", arn)
    settings.cache_clear()
    stepfunctions._client.cache_clear()
    events._client.cache_clear()
    clear_cache()
    from functions import contests, entries, orders
    from tests.unit.contests.helpers import future

    player = make_person("player@example.com", "Player")
    admin = make_person("admin@example.com", "Admin", role="admin")
    people = {"anon": None, "other": make_person("other@example.com", "Other"), "player": player, "admin": admin}
    created = call(contests.create, api_event("POST", "/v1/contests", caller=admin.caller, body={
        "name": "Matrix", "startsAt": future(1), "endsAt": future(8), "visibility": "private"})).body
    contest_id = created["id"]
    call(contests.publish, _event("POST", "/v1/contests/{contestId}/publish", {"contestId": contest_id},
                                  caller=admin.caller))
    joined = call(entries.join, _event("POST", "/v1/contests/{contestId}/entries", {"contestId": contest_id},
                                       caller=player.caller, body={"inviteCode": created["inviteCode"]}))
    force_status(contest_id, "active")
    placed = call(orders.place, _event("POST", "/v1/contests/{contestId}/orders", {"contestId": contest_id},
                                       caller=player.caller,
                                       body=BODIES[("POST", "/v1/contests/{contestId}/orders")]))
    assert placed.status == 201, placed.body
    return Scenario(people, {"contestId": contest_id, "orderId": placed.body["id"], "symbol": "AAPL",
                             "userId": player.user_id, "entryId": joined.body["id"]})


def _event(method: str, resource: str, params: dict[str, str], *, caller: Caller | None = None,
           headers: dict[str, str] | None = None, body: Any = None) -> dict[str, Any]:
    path = resource
    for key, value in params.items():
        path = path.replace("{" + key + "}", value)
    return api_event(method, path, resource=resource, path_params=params or None, caller=caller, headers=headers,
                     body=body)


def _handler(handler_name: str) -> Any:
    module_name, _, function = handler_name.rpartition(".")
    module = importlib.import_module("functions." + module_name.replace("/", "."))
    return getattr(module, function)


def _call_as(who: str, scenario: Scenario, method: str, resource: str, handler: Any, guarded: bool) -> HttpAnswer:
    person = scenario.people[who]
    names = [part[1:-1] for part in resource.split("/") if part.startswith("{")]
    params = {name: scenario.params[name] for name in names}
    body = BODIES.get((method, resource), {}) if handler.spec.body is not None else None
    caller = person.caller if person is not None and guarded else None
    headers = person.bearer if person is not None and not guarded else None
    return call(handler, _event(method, resource, params, caller=caller, headers=headers, body=body))


def _meets(expected: int | str, answer: HttpAnswer) -> bool:
    if expected == OK:
        return answer.status not in (401, 403) and answer.status < 500
    return answer.status == expected


@pytest.mark.parametrize(("method", "path", "handler_name", "guarded"), ROUTES,
                         ids=[f"{method} {path}" for method, path, _, _ in ROUTES])
def test_route_answers_each_caller_as_expected(scenario: Scenario, method: str, path: str, handler_name: str,
                                               guarded: bool) -> None:
    expected = EXPECTED[(method, path)]
    handler = _handler(handler_name)
    audit_before = _audit_items()
    seen = {}
    for who in CALLERS:  # the admin last: its calls change the most
        answer = _call_as(who, scenario, method, path, handler, guarded)
        seen[who] = (answer.status, answer.error_code)
    wrong = {who: seen[who] for who in CALLERS
             if not _meets(expected[who], HttpAnswer(seen[who][0], {}, None))}
    assert not wrong, f"{method} {path}: expected {expected}, got {seen}"
    # No route, as any caller, edits or deletes an audit event: every one written before is still there, unchanged.
    audit_after = _audit_items()
    assert audit_before, "the scenario writes audit events (contest.created, contest.published)"
    changed = {key for key, item in audit_before.items() if audit_after.get(key) != item}
    assert not changed, f"{method} {path} changed or removed audit events {changed}"


def _audit_items() -> dict[tuple[str, str], dict[str, Any]]:
    """Every audit item of the (small, moto) test table, raw. A scan is fine here: it is the test's oracle."""
    import boto3
    from tickerleague.config import settings

    client = boto3.client("dynamodb", region_name="us-east-1")
    items = client.scan(TableName=settings().table_name, FilterExpression="begins_with(PK, :audit)",
                        ExpressionAttributeValues={":audit": {"S": "AUDIT#"}})["Items"]
    return {(item["PK"]["S"], item["SK"]["S"]): item for item in items}


def test_every_function_that_can_write_the_table_cannot_edit_audit_events() -> None:
    """IAM backs the rule up: AuditAppendOnlyPolicy (no UpdateItem/DeleteItem/BatchWriteItem on AUDIT# keys) on
    every function with write access, and AuditNoWritePolicy (no PutItem either) on those that record no event."""
    from infra.local.cfn_yaml import load_cfn_file

    resources = load_cfn_file(ROOT / "template.yaml")["Resources"]
    deny = resources["AuditAppendOnlyPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert deny["Effect"] == "Deny" and {"dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= set(deny["Action"])
    assert deny["Condition"]["ForAnyValue:StringLike"]["dynamodb:LeadingKeys"] == ["AUDIT#*"]
    writers = {"auth.login", "auth.refresh", "contests.create", "contests.update", "contests.publish",
               "contests.cancel", "jobs/reconcile.nightly", "admin.suspend_user", "admin.reinstate_user",
               "account.change_password", "account.confirm_password_reset",
                   # payments: the refund claim writes entry.refunded (admin refunds, late successes, cancellations)
                   "payments.refund_entry", "jobs/stripe_events.handler", "jobs/payment_holds.sweep",
                   "jobs/payments_reconcile.nightly"}
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        policies = properties.get("Policies") or []
        can_write = any(isinstance(policy, dict) and "DynamoDBCrudPolicy" in policy for policy in policies)
        if not can_write:
            continue
        refs = {policy.get("Ref") for policy in policies if isinstance(policy, dict)}
        assert "AuditAppendOnlyPolicy" in refs, name
        if properties["Handler"] not in writers:
            assert "AuditNoWritePolicy" in refs, name
