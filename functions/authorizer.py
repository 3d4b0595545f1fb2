"""The API's Lambda authorizer (TOKEN type): verifies the JWT and hands {userId, role, sessionId} to handlers.

No or bad token: raise "Unauthorized" (API Gateway answers 401 through the UNAUTHORIZED gateway response).
Suspended account: a Deny policy whose context carries the error code, rendered by the ACCESS_DENIED gateway response
as 403 ACCOUNT_SUSPENDED. The Allow policy covers the whole API because API Gateway caches it per token.
"""

from __future__ import annotations

from typing import Any

from tickerleague import tracing
from tickerleague.errors import AccountSuspended, Unauthenticated
from tickerleague.services.principals import authenticate


def _api_wide_resource(method_arn: str) -> str:
    # arn:aws:execute-api:region:account:apiId/stage/METHOD/path -> arn:...:apiId/stage/*
    prefix, _, rest = method_arn.partition(":execute-api:")
    parts = rest.split("/")
    return f"{prefix}:execute-api:{parts[0]}/{parts[1]}/*" if len(parts) >= 2 else method_arn


def _policy(principal_id: str, effect: str, resource: str, context: dict[str, str]) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }


@tracing.handler
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    method_arn = str(event.get("methodArn", ""))
    try:
        principal = authenticate(event.get("authorizationToken"))
    except Unauthenticated:
        raise Exception("Unauthorized") from None
    except AccountSuspended as error:
        return _policy("suspended", "Deny", _api_wide_resource(method_arn),
                       {"errorCode": error.code, "errorMessage": error.message})
    return _policy(principal.user_id, "Allow", _api_wide_resource(method_arn),
                   {"userId": principal.user_id, "role": principal.role, "sessionId": principal.session_id})
