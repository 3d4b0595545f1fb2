"""Auth routes end to end in-process: handlers, services and the table (moto)."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest

from functions import auth, authorizer
from tests.support.events import Caller, HttpAnswer, api_event, call

PASSWORD = "correct horse battery"


def signup(email: str = "ada@example.com", password: str = PASSWORD, name: str = "Ada") -> HttpAnswer:
    return call(auth.signup, api_event("POST", "/v1/auth/signup",
                                       body={"email": email, "password": password, "displayName": name}))


def login(email: str = "ada@example.com", password: str = PASSWORD, ip: str = "198.51.100.7") -> HttpAnswer:
    return call(auth.login, api_event("POST", "/v1/auth/login", body={"email": email, "password": password},
                                      source_ip=ip))


def refresh(token: str) -> HttpAnswer:
    return call(auth.refresh, api_event("POST", "/v1/auth/refresh", body={"refreshToken": token}))


def caller_of(answer: HttpAnswer) -> Caller:
    claims = jwt.decode(answer.body["accessToken"], options={"verify_signature": False})
    return Caller(user_id=claims["sub"], role=claims["role"], session_id=claims["sid"])


@pytest.fixture(autouse=True)
def _table(moto_table: str) -> None:
    """Every test on its own moto table (caches are reset for every test by tests/conftest.py)."""


def test_signup_returns_user_and_token_pair() -> None:
    answer = signup(email="  Ada@Example.COM ")
    assert answer.status == 201
    assert answer.body["user"]["email"] == "ada@example.com"
    assert answer.body["user"]["role"] == "user"
    assert answer.body["user"]["status"] == "active"
    assert answer.body["tokenType"] == "Bearer"
    assert answer.body["expiresIn"] == 900
    assert answer.body["user"]["createdAt"].endswith("Z")
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    header = jwt.get_unverified_header(answer.body["accessToken"])
    assert header["kid"] == "test1" and header["alg"] == "HS256"
    claims = jwt.decode(answer.body["accessToken"], options={"verify_signature": False})
    assert {"iss", "aud", "exp", "iat", "sub", "sid"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 900


def test_second_signup_with_same_email_in_other_case_is_email_taken() -> None:
    assert signup().status == 201
    again = signup(email="ADA@example.com ")
    assert (again.status, again.error_code) == (409, "EMAIL_TAKEN")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD, "displayName": "A"}, "email"),
        ({"email": "a@example.com", "password": "short", "displayName": "A"}, "password"),
        ({"email": "a@example.com", "password": "x" * 129, "displayName": "A"}, "password"),
        ({"email": "longenough@example.com", "password": "longenough@example.com", "displayName": "A"}, "password"),
        ({"email": "a@example.com", "password": "password123", "displayName": "A"}, "password"),
        ({"email": "a@example.com", "password": PASSWORD, "displayName": "   "}, "displayName"),
        ({"email": "a@example.com", "password": PASSWORD, "displayName": "bad\u202ename"}, "displayName"),
        ({"email": "a@example.com", "password": PASSWORD}, "displayName"),
        ({"email": "a@example.com", "password": PASSWORD, "displayName": "A", "role": "admin"}, "role"),
        ({"email": 12, "password": PASSWORD, "displayName": "A"}, "email"),
    ],
)
def test_signup_validation_names_the_field_and_writes_nothing(body: dict[str, Any], field: str) -> None:
    answer = call(auth.signup, api_event("POST", "/v1/auth/signup", body=body))
    assert (answer.status, answer.error_code) == (422, "VALIDATION_FAILED")
    assert field in answer.body["error"]["details"]["fields"]
    assert answer.body["error"]["requestId"]
    assert login(email="a@example.com").error_code == "INVALID_CREDENTIALS"


def test_signup_names_every_bad_field_at_once() -> None:
    body = {"email": "not-an-email", "password": "password123", "extra": 1}
    answer = call(auth.signup, api_event("POST", "/v1/auth/signup", body=body))
    assert (answer.status, answer.error_code) == (422, "VALIDATION_FAILED")
    assert answer.body["error"]["details"]["fields"] == {
        "email": "must be a valid email address", "password": "is too common; choose another",
        "displayName": "is required", "extra": "is not a known field",
    }


@pytest.mark.parametrize(
    ("raw", "headers", "status", "code"),
    [
        ("{not json", {}, 400, "BAD_REQUEST"),
        ('{"email": NaN}', {}, 400, "BAD_REQUEST"),
        ('"just a string"', {}, 422, "VALIDATION_FAILED"),
        ("[]", {}, 422, "VALIDATION_FAILED"),
        ('{"email": "\\ud800@x.com", "password": "abcdefghijkl", "displayName": "A"}', {}, 400, "BAD_REQUEST"),
        ("", {}, 400, "BAD_REQUEST"),
        ('{"email": "a@b.co"}', {"Content-Type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ('{"pad": "' + "x" * 70_000 + '"}', {}, 413, "PAYLOAD_TOO_LARGE"),
    ],
)
def test_malformed_bodies_get_the_envelope(raw: str, headers: dict[str, str], status: int, code: str) -> None:
    answer = call(auth.signup, api_event("POST", "/v1/auth/signup", raw_body=raw, headers=headers))
    assert (answer.status, answer.error_code) == (status, code)
    assert set(answer.body["error"]) >= {"code", "message", "requestId"}


def test_base64_body_is_decoded() -> None:
    event = api_event("POST", "/v1/auth/signup", raw_body=base64.b64encode(json.dumps(
        {"email": "b@example.com", "password": PASSWORD, "displayName": "B"}).encode()).decode())
    event["isBase64Encoded"] = True
    assert call(auth.signup, event).status == 201


def test_login_wrong_password_and_unknown_email_look_the_same() -> None:
    signup()
    wrong = login(password="wrong password!")
    unknown = login(email="nobody@example.com")
    assert (wrong.status, wrong.error_code) == (401, "INVALID_CREDENTIALS")
    assert (unknown.status, unknown.error_code) == (401, "INVALID_CREDENTIALS")
    assert wrong.body["error"]["message"] == unknown.body["error"]["message"]


def test_login_is_throttled_per_email_with_retry_after() -> None:
    signup()
    for _ in range(5):
        assert login(password="wrong password!").status == 401
    blocked = login()  # even the right password is refused while throttled
    assert (blocked.status, blocked.error_code) == (429, "TOO_MANY_ATTEMPTS")
    assert int(blocked.headers["Retry-After"]) > 0


def test_login_is_throttled_per_source_ip(monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.config import settings

    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_IP", "3")
    settings.cache_clear()
    for index in range(3):
        assert login(email=f"u{index}@example.com", ip="203.0.113.9").status == 401
    assert login(email="other@example.com", ip="203.0.113.9").error_code == "TOO_MANY_ATTEMPTS"
    assert login(email="other@example.com", ip="203.0.113.10").error_code == "INVALID_CREDENTIALS"


def test_refresh_rotates_and_reuse_revokes_the_whole_session() -> None:
    first = signup()
    second = refresh(first.body["refreshToken"])
    assert second.status == 200
    assert second.body["refreshToken"] != first.body["refreshToken"]
    reused = refresh(first.body["refreshToken"])
    assert (reused.status, reused.error_code) == (401, "TOKEN_REUSED")
    newest = refresh(second.body["refreshToken"])
    assert newest.status == 401
    assert newest.error_code == "UNAUTHENTICATED"


def test_access_token_is_not_a_refresh_token_and_garbage_is_401() -> None:
    first = signup()
    assert refresh(first.body["accessToken"]).error_code == "UNAUTHENTICATED"
    assert refresh("garbage").error_code == "UNAUTHENTICATED"


def test_logout_ends_that_session_only() -> None:
    first = signup()
    other = login()
    caller = caller_of(first)
    answer = call(auth.logout, api_event("POST", "/v1/auth/logout", body={"refreshToken": first.body["refreshToken"]},
                                         caller=caller))
    assert answer.status == 204 and answer.body is None
    assert refresh(first.body["refreshToken"]).status == 401
    assert refresh(other.body["refreshToken"]).status == 200


def test_logout_with_someone_elses_refresh_token_is_refused() -> None:
    mine = signup()
    theirs = signup(email="bob@example.com", name="Bob")
    answer = call(auth.logout, api_event("POST", "/v1/auth/logout",
                                         body={"refreshToken": theirs.body["refreshToken"]}, caller=caller_of(mine)))
    assert answer.status == 401
    assert refresh(theirs.body["refreshToken"]).status == 200


def test_me_returns_the_user() -> None:
    first = signup()
    answer = call(auth.me, api_event("GET", "/v1/me", caller=caller_of(first)))
    assert answer.status == 200
    assert answer.body == first.body["user"]


def test_me_without_principal_is_401() -> None:
    answer = call(auth.me, api_event("GET", "/v1/me"))
    assert (answer.status, answer.error_code) == (401, "UNAUTHENTICATED")


def _authorize(token: str) -> dict[str, Any]:
    return authorizer.handler({"type": "TOKEN", "authorizationToken": token,
                               "methodArn": "arn:aws:execute-api:us-east-1:1:api/v1-stage/GET/v1/me"}, None)


def test_authorizer_allows_valid_token_with_api_wide_policy() -> None:
    first = signup()
    policy = _authorize(f"Bearer {first.body['accessToken']}")
    statement = policy["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:1:api/v1-stage/*"
    assert policy["context"]["userId"] == first.body["user"]["id"]
    assert policy["context"]["role"] == "user"


def _forge(claims: dict[str, Any], key: str, alg: str = "HS256", kid: str = "test1") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


@pytest.mark.parametrize("case", ["missing", "garbage", "expired", "wrong_key", "wrong_audience", "alg_none",
                                  "unknown_kid", "refresh_as_access", "basic_scheme"])
def test_authorizer_rejects_bad_tokens(case: str) -> None:
    first = signup()
    good = jwt.decode(first.body["accessToken"], options={"verify_signature": False})
    secret = "t" * 48
    tokens = {
        "missing": "",
        "garbage": "Bearer abc.def.ghi",
        "expired": "Bearer " + _forge({**good, "iat": 1, "exp": 2}, secret),
        "wrong_key": "Bearer " + _forge(good, "k" * 48),
        "wrong_audience": "Bearer " + _forge({**good, "aud": "someone-else"}, secret),
        "alg_none": "Bearer " + jwt.encode(good, None, algorithm="none", headers={"kid": "test1"}),
        "unknown_kid": "Bearer " + _forge(good, secret, kid="nope"),
        "refresh_as_access": "Bearer " + first.body["refreshToken"],
        "basic_scheme": "Basic " + first.body["accessToken"],
    }
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(tokens[case])


def test_authorizer_accepts_tokens_signed_with_an_older_listed_key() -> None:
    first = signup()
    good = jwt.decode(first.body["accessToken"], options={"verify_signature": False})
    policy = _authorize("Bearer " + _forge(good, "o" * 48, kid="old0"))
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_suspended_user_is_denied_with_account_suspended() -> None:
    from tickerleague.adapters.dynamodb.users import UserItem

    first = signup()
    user = UserItem.get(*UserItem.key(first.body["user"]["id"]))
    user.update(actions=[UserItem.status.set("suspended")])
    from tickerleague.services.principals import clear_cache

    clear_cache()
    policy = _authorize(f"Bearer {first.body['accessToken']}")
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert policy["context"]["errorCode"] == "ACCOUNT_SUSPENDED"
    assert login().error_code == "ACCOUNT_SUSPENDED"
    assert refresh(first.body["refreshToken"]).error_code == "ACCOUNT_SUSPENDED"


def test_login_rehashes_when_parameters_change(monkeypatch: pytest.MonkeyPatch) -> None:
    from tickerleague.adapters import passwords
    from tickerleague.adapters.dynamodb.users import UserItem

    first = signup()
    before = UserItem.get(*UserItem.key(first.body["user"]["id"])).password_hash
    monkeypatch.setenv("ARGON2_TIME_COST", "2")
    passwords._hasher.cache_clear()
    try:
        assert login().status == 200
        after = UserItem.get(*UserItem.key(first.body["user"]["id"])).password_hash
        assert after != before and "t=2" in after
    finally:
        passwords._hasher.cache_clear()


def test_audit_records_login_failure_and_refresh_reuse() -> None:
    from tickerleague.adapters.dynamodb.audit import AuditItem

    first = signup()
    login(password="wrong password!")
    refresh(first.body["refreshToken"])
    refresh(first.body["refreshToken"])
    actions = sorted(item.action for item in AuditItem.gsi2.query("AUDIT#ALL"))
    assert actions == ["auth.login_failed", "auth.refresh_reused"]
    dumped = json.dumps([item.attribute_values for item in AuditItem.gsi2.query("AUDIT#ALL")], default=str)
    assert PASSWORD not in dumped and first.body["refreshToken"] not in dumped


def test_logs_are_json_with_request_id_and_carry_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from tickerleague.http.logs import logger

    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    event = api_event("POST", "/v1/auth/signup",
                      body={"email": "log@example.com", "password": PASSWORD, "displayName": "Log"})
    answer = call(auth.signup, event)
    refreshed = refresh(answer.body["refreshToken"])
    output = stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access_lines = [line for line in lines if line.get("message") == "request"]
    assert access_lines and access_lines[0]["requestId"] == event["requestContext"]["requestId"]
    assert access_lines[0]["status"] == 201
    for secret in (PASSWORD, answer.body["accessToken"], answer.body["refreshToken"],
                   refreshed.body["refreshToken"]):
        assert secret not in output


def test_concurrent_requests_log_their_own_request_id(monkeypatch: pytest.MonkeyPatch) -> None:
    # The local gateway runs requests on threads: a request's log lines must not take another's requestId.
    import io
    import threading

    from tickerleague.http.logs import logger
    from tickerleague.services import health as health_service

    from functions import health

    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    second_done = threading.Event()
    real_check = health_service.check

    def slow_first_check() -> Any:
        if threading.current_thread().name == "first":
            assert second_done.wait(10)
        return real_check()

    monkeypatch.setattr(health_service, "check", slow_first_check)
    first, second = api_event("GET", "/v1/health"), api_event("GET", "/v1/health")
    worker = threading.Thread(target=health.api.handle, args=(first, None), name="first")
    worker.start()
    health.api.handle(second, None)
    second_done.set()
    worker.join(10)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    logged = [line["requestId"] for line in lines if line.get("message") == "request"]
    expected = [second["requestContext"]["requestId"], first["requestContext"]["requestId"]]
    assert logged == expected and expected[0] != expected[1]


def test_success_and_error_answers_are_json_with_content_type() -> None:
    ok = signup()
    bad = signup()
    assert ok.headers["Content-Type"] == "application/json"
    assert bad.headers["Content-Type"] == "application/json"
    assert "multiValueHeaders" not in auth.signup(api_event("POST", "/v1/auth/signup", raw_body="{"), None)


@pytest.mark.parametrize(("raw", "status"), [("", 200), ("{}", 200), ('{"x": 1}', 400), ("{", 400)])
def test_bodyless_routes_accept_nothing_or_an_empty_object(raw: str, status: int) -> None:
    caller = caller_of(signup())
    answer = call(auth.me, api_event("GET", "/v1/me", raw_body=raw, caller=caller))
    assert answer.status == status
