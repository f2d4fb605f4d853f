"""Sign-in by SMS code and password reset by SMS code (DESIGN §13, decision 046); the lock-out of decision 002
counts wrong codes as it counts wrong passwords."""

import pytest
import time_machine
from rest_framework.authtoken.models import Token

from portal.models import AuditEvent, SmsCode
from tests.assertions import unchanged
from tests.factories import TEST_PASSWORD, UserFactory
from tests.sms_outbox import sms_outbox

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
NEW_PASSWORD = "Xin-mima-2027"


@pytest.fixture
def sms(settings, tmp_path):
    return sms_outbox(settings, tmp_path)


@pytest.fixture
def person(db):
    return UserFactory(username=PHONE, phone=PHONE, identified=True, real_name="王小明")


def send(api, purpose, phone=PHONE):
    response = api.post("/api/v1/auth/sms-code/", {"phone": phone, "purpose": purpose}, format="json")
    assert response.status_code == 202, response.json()


def token_by_code(api, code, phone=PHONE):
    return api.post("/api/v1/auth/token/", {"phone": phone, "code": code}, format="json")


def other(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** 6:06d}"


def test_a_login_code_gives_a_token(api, sms, person):
    send(api, "login")
    response = token_by_code(api, sms.code(PHONE))
    assert response.status_code == 200
    assert Token.objects.get(user=person).key == response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api.get("/api/v1/notifications/").status_code == 200


def test_a_code_for_another_purpose_does_not_sign_in(api, sms, person):
    send(api, "register")
    response = token_by_code(api, sms.code(PHONE))
    assert response.status_code == 400
    assert response.json() == {"code": ["验证码已失效，请重新获取"]}
    assert not Token.objects.exists()


def test_a_wrong_code_names_the_code(api, sms, person):
    send(api, "login")
    response = token_by_code(api, other(sms.code(PHONE)))
    assert response.status_code == 400
    assert response.json() == {"code": ["验证码错误，还可尝试 4 次"]}


def test_a_phone_of_no_account_is_told_after_the_code(api, sms):
    send(api, "login")
    response = token_by_code(api, sms.code(PHONE))
    assert response.status_code == 400 and response.json() == {"phone": ["该手机号未注册账户，请先注册"]}


def test_staff_do_not_sign_in_by_code(api, sms):
    UserFactory(clerk=True, phone=PHONE)
    send(api, "login")
    assert token_by_code(api, sms.code(PHONE)).status_code == 400
    assert not Token.objects.exists()


def test_token_needs_both_halves_of_a_pair(api):
    assert set(api.post("/api/v1/auth/token/", {"phone": PHONE}, format="json").json()) == {"code"}
    assert set(api.post("/api/v1/auth/token/", {"username": "x"}, format="json").json()) == {"password"}


def test_repeated_wrong_codes_lock_the_account_out(api, sms, person):
    with time_machine.travel("2026-12-07 10:00 +0800", tick=False):
        send(api, "login")
        wrong = other(sms.code(PHONE))
        statuses = [token_by_code(api, wrong).status_code for _ in range(5)]
    # The fifth failure locks the account (decision 002), as five wrong passwords do.
    assert statuses == [400, 400, 400, 400, 429]
    with time_machine.travel("2026-12-07 10:01:05 +0800", tick=False):
        send(api, "login")
        code = sms.code(PHONE)
        refused = token_by_code(api, code)
        assert (refused.status_code, refused.json()["code"]) == (429, "locked_out")
        # The password is refused too: one account, one count.
        by_password = api.post("/api/v1/auth/token/", {"username": PHONE, "password": TEST_PASSWORD}, format="json")
        assert by_password.status_code == 429
    assert not Token.objects.exists()
    # Axes refused before the code was tried: the new code is still unspent.
    live = SmsCode.objects.get(phone=PHONE, purpose="login")
    assert (live.attempts, live.used_at) == (0, None)


def test_wrong_passwords_and_wrong_codes_add_up(api, sms, person):
    for _ in range(3):
        api.post("/api/v1/auth/token/", {"username": PHONE, "password": "wrong"}, format="json")
    send(api, "login")
    wrong = other(sms.code(PHONE))
    assert token_by_code(api, wrong).status_code == 400
    assert token_by_code(api, wrong).status_code == 429


def test_the_login_page_has_an_sms_tab(client, sms, person):
    page = client.get("/accounts/login/sms/?next=/inbox/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'aria-current="page">短信验证码登录' in body and "获取验证码" in body
    assert client.post("/accounts/login/sms/", {"phone": PHONE, "action": "send_code"}).status_code == 200
    wrong = client.post("/accounts/login/sms/", {"phone": PHONE, "code": other(sms.code(PHONE)), "action": "login"})
    assert wrong.status_code == 400 and "短信验证码：验证码错误，还可尝试 4 次" in wrong.content.decode()
    done = client.post("/accounts/login/sms/", {"phone": PHONE, "code": sms.code(PHONE), "action": "login",
                                                "next": "/inbox/"})
    assert done.status_code == 302 and done["Location"] == "/inbox/"
    assert client.session["_auth_user_id"] == str(person.pk)


def test_the_login_page_locks_out_after_wrong_codes(client, sms, person):
    client.post("/accounts/login/sms/", {"phone": PHONE, "action": "send_code"})
    wrong = other(sms.code(PHONE))
    for _ in range(5):
        response = client.post("/accounts/login/sms/", {"phone": PHONE, "code": wrong, "action": "login"})
    assert response.status_code == 429 and "账户已临时锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_reset_by_code_then_login_with_the_new_password(api, sms, person):
    Token.objects.create(user=person)
    send(api, "reset")
    response = api.post("/api/v1/auth/password-reset/", {"phone": PHONE, "code": sms.code(PHONE),
                                                          "password": NEW_PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.json() == {"detail": "密码已重置，请用新密码登录", "username": PHONE}
    assert not Token.objects.filter(user=person).exists()  # the old token stopped working
    assert AuditEvent.objects.filter(action="user_password_reset", object_id=str(person.pk)).count() == 1
    old = api.post("/api/v1/auth/token/", {"username": PHONE, "password": TEST_PASSWORD}, format="json")
    assert old.status_code == 400
    new = api.post("/api/v1/auth/token/", {"username": PHONE, "password": NEW_PASSWORD}, format="json")
    assert new.status_code == 200


def test_password_reset_refusals_change_nothing(api, sms, person):
    send(api, "reset")
    code = sms.code(PHONE)
    with unchanged(person):
        weak = api.post("/api/v1/auth/password-reset/", {"phone": PHONE, "code": code, "password": "12345678"},
                        format="json")
        wrong = api.post("/api/v1/auth/password-reset/", {"phone": PHONE, "code": other(code), "password": NEW_PASSWORD},
                         format="json")
    assert weak.status_code == 400 and "password" in weak.json()
    assert wrong.status_code == 400 and wrong.json() == {"code": ["验证码错误，还可尝试 4 次"]}


def test_the_reset_page(client, sms, person):
    assert client.get("/accounts/reset/").status_code == 200
    client.post("/accounts/reset/", {"phone": PHONE, "action": "send_code"})
    done = client.post("/accounts/reset/", {"phone": PHONE, "code": sms.code(PHONE), "password": NEW_PASSWORD,
                                            "password_again": NEW_PASSWORD, "action": "reset"}, follow=True)
    assert done.redirect_chain[-1][0] == "/accounts/login/"
    assert "密码已重置" in done.content.decode()
    login = client.post("/accounts/login/", {"username": PHONE, "password": NEW_PASSWORD})
    assert login.status_code == 302 and client.session["_auth_user_id"] == str(person.pk)
