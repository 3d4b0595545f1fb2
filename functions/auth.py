"""Auth routes: sign-up, login, refresh, logout, and the current user."""

from __future__ import annotations

from tickerleague.clock import utcnow
from tickerleague.http.api import Access, Api, Reply, Request
from tickerleague.http.schemas_auth import LoginRequest, RefreshRequest, SignupRequest, TokenPair, User
from tickerleague.services import auth as auth_service
from tickerleague.services.audit import RequestOrigin

api = Api()
TAGS = ("auth",)


def _origin(request: Request) -> RequestOrigin:
    return RequestOrigin(request_id=request.request_id, source_ip=request.source_ip)


@api.route("POST", "/v1/auth/signup", access=Access.PUBLIC, summary="Create an account and sign in",
           body=SignupRequest, responses={201: TokenPair}, errors=("VALIDATION_FAILED", "EMAIL_TAKEN"), tags=TAGS)
def signup(request: Request) -> Reply:
    body: SignupRequest = request.body
    result = auth_service.signup(body.email, body.password, body.displayName, utcnow())
    return Reply(201, TokenPair.of(result))


@api.route("POST", "/v1/auth/login", access=Access.PUBLIC, summary="Sign in with email and password",
           body=LoginRequest, responses={200: TokenPair},
           errors=("INVALID_CREDENTIALS", "ACCOUNT_SUSPENDED", "TOO_MANY_ATTEMPTS"), tags=TAGS)
def login(request: Request) -> Reply:
    body: LoginRequest = request.body
    result = auth_service.login(body.email, body.password, request.source_ip, _origin(request), utcnow())
    return Reply(200, TokenPair.of(result))


@api.route("POST", "/v1/auth/refresh", access=Access.PUBLIC, summary="Trade a refresh token for a new pair",
           body=RefreshRequest, responses={200: TokenPair},
           errors=("UNAUTHENTICATED", "TOKEN_REUSED", "ACCOUNT_SUSPENDED"), tags=TAGS)
def refresh(request: Request) -> Reply:
    body: RefreshRequest = request.body
    return Reply(200, TokenPair.of(auth_service.refresh(body.refreshToken, _origin(request), utcnow())))


@api.route("POST", "/v1/auth/logout", access=Access.USER, summary="End the session of a refresh token",
           body=RefreshRequest, responses={204: None}, errors=("UNAUTHENTICATED",), tags=TAGS)
def logout(request: Request) -> Reply:
    body: RefreshRequest = request.body
    auth_service.logout(request.require_principal().user_id, body.refreshToken)
    return Reply(204)


@api.route("GET", "/v1/me", access=Access.USER, summary="The signed-in user", responses={200: User}, tags=TAGS)
def me(request: Request) -> Reply:
    return Reply(200, User.of(auth_service.me(request.require_principal().user_id)))
