"""Signing in with JWTs: tokens, rotating refresh with a blacklist, logout, the login throttle, bad tokens,
and session authentication (with CSRF on unsafe methods) for the dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

API = "/api/v1/"


@pytest.fixture
def client():
    return APIClient()


def sign_in(client, username="trader_paper", password="pw-trader"):
    return client.post(API + "auth/token/", {"username": username, "password": password}, format="json")


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_sign_in_returns_a_token_pair_that_opens_the_api(client, users):
    response = sign_in(client)

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    brokers = bearer(response.json()["access"]).get(API + "brokers/")
    assert brokers.status_code == 200
    assert [b["name"] for b in brokers.json()["results"]] == ["paper"]


def test_wrong_password_is_401_and_missing_fields_are_400(client, users):
    wrong = sign_in(client, password="nope")
    missing = client.post(API + "auth/token/", {"username": "trader_paper"}, format="json")

    assert wrong.status_code == 401
    assert "detail" in wrong.json()
    assert missing.status_code == 400
    assert missing.json() == {"password": ["This field is required."]}


def test_refresh_rotates_and_the_old_refresh_token_is_revoked(client, users):
    pair = sign_in(client).json()

    rotated = client.post(API + "auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    reused = client.post(API + "auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    again = client.post(API + "auth/token/refresh/", {"refresh": rotated.json()["refresh"]}, format="json")

    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access", "refresh"}
    assert rotated.json()["refresh"] != pair["refresh"]
    assert bearer(rotated.json()["access"]).get(API + "brokers/").status_code == 200
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_not_valid"
    assert again.status_code == 200


def test_logout_revokes_the_refresh_token(client, users):
    pair = sign_in(client).json()

    logout = client.post(API + "auth/logout/", {"refresh": pair["refresh"]}, format="json")
    refresh = client.post(API + "auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    logout_again = client.post(API + "auth/logout/", {"refresh": pair["refresh"]}, format="json")

    assert logout.status_code == 205
    assert logout.content == b""
    assert refresh.status_code == 401
    assert logout_again.status_code == 401


def test_logout_needs_a_valid_refresh_token(client, users):
    assert client.post(API + "auth/logout/", {}, format="json").status_code == 400
    assert client.post(API + "auth/logout/", {"refresh": "garbage"}, format="json").status_code == 401
    access = sign_in(client).json()["access"]
    assert client.post(API + "auth/logout/", {"refresh": access}, format="json").status_code == 401


def test_the_eleventh_sign_in_attempt_in_a_minute_is_throttled(client, users):
    codes = [sign_in(client, password="pw-trader" if i % 2 else "wrong").status_code for i in range(10)]
    eleventh = sign_in(client)

    assert set(codes) == {200, 401}
    assert eleventh.status_code == 429
    assert "throttled" in eleventh.json()["detail"]
    assert int(eleventh.headers["Retry-After"]) > 0


def test_an_expired_access_token_is_401(users):
    token = AccessToken.for_user(users["admin"])
    token.set_exp(from_time=timezone.now() - timedelta(minutes=10))

    response = bearer(str(token)).get(API + "brokers/")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer garbage",
        "Bearer ",
        "Bearer a.b.c",
        "Token abc",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.bad-signature",
    ],
)
def test_a_garbage_token_is_401(users, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get(API + "brokers/").status_code == 401


def test_a_refresh_token_is_not_an_access_token(users):
    refresh = RefreshToken.for_user(users["admin"])

    assert bearer(str(refresh)).get(API + "brokers/").status_code == 401


def test_no_credentials_is_401_with_a_bearer_challenge(users):
    response = APIClient().get(API + "orders/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_session_auth_reads_and_needs_csrf_for_writes(users):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="trader_paper", password="pw-trader")

    read = client.get(API + "brokers/paper/")
    without_csrf = client.post(API + "brokers/paper/kill-switch/", {"engaged": True}, format="json")
    token = "csrfsecret0123456789abcdefABCDEF"  # a 32-character secret, as the csrftoken cookie holds
    client.cookies["csrftoken"] = token
    with_csrf = client.post(
        API + "brokers/paper/kill-switch/",
        {"engaged": True, "reason": "t"},
        format="json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert read.status_code == 200
    assert read.json()["role"] == "trader"
    assert without_csrf.status_code == 403
    assert "CSRF" in without_csrf.json()["detail"]
    assert with_csrf.status_code == 200
    assert with_csrf.json()["engaged"] is True
