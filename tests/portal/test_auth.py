"""Login page, API tokens, and the lock-out after repeated failed logins."""

import pytest
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_login_page_logs_in_and_shows_the_role(client, password):
    user = UserFactory(clerk=True, username="lina", real_name="李娜")
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert "登录" in page.content.decode()
    response = client.post("/accounts/login/", {"username": "lina", "password": password}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    body = response.content.decode()
    assert "李娜" in body and "综合窗口人员" in body and user.hall.name in body
    assert client.session["_auth_user_id"] == str(user.pk)


def test_wrong_password_shows_an_error_and_no_session(client):
    UserFactory(username="lina")
    response = client.post("/accounts/login/", {"username": "lina", "password": "wrong"})
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_needs_post(client, password):
    user = UserFactory()
    client.force_login(user)
    assert client.get("/accounts/logout/").status_code == 405
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session


def test_login_page_locks_out_after_five_failures(client, password):
    UserFactory(username="target")
    for _ in range(5):
        client.post("/accounts/login/", {"username": "target", "password": "guess"})
    response = client.post("/accounts/login/", {"username": "target", "password": password})
    assert response.status_code == 429
    assert "账户已临时锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_token_round_trip(api, password):
    user = UserFactory(username="reviewer1", reviewer=True)
    response = api.post("/api/v1/auth/token/", {"username": "reviewer1", "password": password}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=user).key == token
    again = api.post("/api/v1/auth/token/", {"username": "reviewer1", "password": password}, format="json")
    assert again.json()["token"] == token


def test_token_wrong_password(api):
    UserFactory(username="someone")
    response = api.post("/api/v1/auth/token/", {"username": "someone", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "authentication_failed"
    assert not Token.objects.exists()


def test_token_missing_field_names_it(api):
    response = api.post("/api/v1/auth/token/", {"username": "someone"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()


def test_token_endpoint_locks_out_after_five_failures(api, password):
    UserFactory(username="victim")
    for _ in range(4):
        assert api.post("/api/v1/auth/token/", {"username": "victim", "password": "x"}, format="json").status_code == 400
    # The fifth failure locks the account; from then on even the right password is refused.
    assert api.post("/api/v1/auth/token/", {"username": "victim", "password": "x"}, format="json").status_code == 429
    response = api.post("/api/v1/auth/token/", {"username": "victim", "password": password}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    assert not Token.objects.exists()


def test_lockout_of_one_account_leaves_others_alone(api, password):
    UserFactory(username="victim")
    UserFactory(username="colleague")
    for _ in range(6):
        api.post("/api/v1/auth/token/", {"username": "victim", "password": "x"}, format="json")
    response = api.post("/api/v1/auth/token/", {"username": "colleague", "password": password}, format="json")
    assert response.status_code == 200


def test_inactive_user_gets_no_token(api, password):
    UserFactory(username="gone", is_active=False)
    response = api.post("/api/v1/auth/token/", {"username": "gone", "password": password}, format="json")
    assert response.status_code == 400


def test_token_endpoint_is_rate_limited(api, password):
    UserFactory(username="busy")
    statuses = [
        api.post("/api/v1/auth/token/", {"username": "busy", "password": password}, format="json").status_code
        for _ in range(21)
    ]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
