"""API tokens expire after API_TOKEN_TTL_HOURS and end with sign-out (issue 14); the contract of
`POST auth/token/` (DESIGN §10) stays as it was."""

import pytest
import time_machine
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def obtain(username, password):
    response = APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"token"}
    return response.json()["token"]


def with_token(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_works_until_it_expires_then_401(password, settings):
    UserFactory(username="lina")
    with time_machine.travel("2026-11-24 08:00 +0800", tick=False):
        key = obtain("lina", password)
    with time_machine.travel("2026-11-24 19:59 +0800", tick=False):
        assert with_token(key).get("/api/v1/notifications/").status_code == 200
    with time_machine.travel(f"2026-11-24 {8 + settings.API_TOKEN_TTL_HOURS}:00 +0800", tick=False):
        response = with_token(key).get("/api/v1/notifications/")
    assert response.status_code == 401
    assert response.json()["detail"] == "登录凭证已过期，请重新获取"
    assert response["WWW-Authenticate"] == "Token"
    assert not Token.objects.filter(key=key).exists()


def test_signing_in_again_gives_the_same_token_a_new_lifetime_or_a_new_one_once_expired(password):
    UserFactory(username="lina")
    with time_machine.travel("2026-11-24 08:00 +0800", tick=False):
        first = obtain("lina", password)
    with time_machine.travel("2026-11-24 18:00 +0800", tick=False):
        assert obtain("lina", password) == first
    # Twelve hours after the second sign-in, not the first.
    with time_machine.travel("2026-11-25 05:00 +0800", tick=False):
        assert with_token(first).get("/api/v1/notifications/").status_code == 200
    with time_machine.travel("2026-11-25 07:00 +0800", tick=False):
        second = obtain("lina", password)
    assert second != first
    with time_machine.travel("2026-11-25 07:01 +0800", tick=False):
        assert with_token(first).get("/api/v1/notifications/").status_code == 401
        assert with_token(second).get("/api/v1/notifications/").status_code == 200


def test_api_logout_deletes_the_token(password):
    UserFactory(username="lina")
    key = obtain("lina", password)
    client = with_token(key)
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert not Token.objects.filter(key=key).exists()
    assert client.get("/api/v1/notifications/").status_code == 401
    # Anonymous: nothing to sign out of.
    assert APIClient().post("/api/v1/auth/logout/").status_code in (401, 403)


def test_signing_out_of_the_pages_ends_the_api_token_too(client, password):
    user = UserFactory(username="lina")
    key = obtain("lina", password)
    client.force_login(user)
    client.post("/accounts/logout/")
    assert not Token.objects.filter(user=user).exists()
    assert with_token(key).get("/api/v1/notifications/").status_code == 401
