"""Registration with real name (DESIGN §13, decision 046): the ID checked by check digit, one account per ID,
and the claim of an identity a clerk registered at the window (same name and ID: the same person row, so their
walk-in cases show in the new account)."""

import pytest

from applications import services as applications
from portal.models import AuditEvent, Role, User
from tests.assertions import unchanged
from tests.factories import UserFactory, resident_id
from tests.sms_outbox import sms_outbox

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
PASSWORD = "Zhengwu-2026"
ID_NUMBER = resident_id(7, region="110101")


@pytest.fixture
def sms(settings, tmp_path):
    return sms_outbox(settings, tmp_path)


@pytest.fixture
def code(api, sms):
    """A `register` code sent to PHONE, as the person reads it from the SMS."""
    assert api.post("/api/v1/auth/sms-code/", {"phone": PHONE, "purpose": "register"}, format="json").status_code == 202
    return sms.code(PHONE)


def register(api, code, **fields):
    body = {"real_name": "王小明", "id_type": "111", "id_number": ID_NUMBER, "phone": PHONE, "code": code,
            "password": PASSWORD, **fields}
    return api.post("/api/v1/auth/register/", body, format="json")


def token_for(api, username, password=PASSWORD):
    response = api.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["token"]


def test_register_end_to_end(api, code):
    response = register(api, code, id_number=ID_NUMBER.lower()[:-1] + ID_NUMBER[-1].lower())
    assert response.status_code == 201, response.json()
    body = response.json()
    user = User.objects.get(pk=body["id"])
    assert body == {"id": user.pk, "username": PHONE, "real_name": "王小明", "id_masked": user.id_masked,
                    "phone": PHONE, "claimed": False}
    assert (user.role, user.id_type, user.id_number, user.phone) == (Role.APPLICANT, "111", ID_NUMBER, PHONE)
    assert user.check_password(PASSWORD)
    event = AuditEvent.objects.get(action="user_register")
    assert (event.actor_id, event.object_id, event.payload["username"]) == (user.pk, str(user.pk), PHONE)
    # Signed in by the phone as username and the password, the account applies online with its real name.
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(api, PHONE)}")
    assert api.get("/api/v1/applications/").json()["count"] == 0


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"id_number": ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1")}, "id_number", "居民身份证号码校验位错误"),
    ({"id_number": "1234"}, "id_number", "居民身份证号码长度应为 18 位"),
    ({"id_type": "001"}, "id_type", "网上注册仅支持居民身份证"),
    ({"real_name": "  "}, "real_name", None),
    ({"password": "12345678"}, "password", None),
    ({"password": "aaaabbbb"}, "password", "密码过于简单：至少应包含 4 个不同的字符，不能由同一字符重复组成。"),
    ({"phone": "010-12345678"}, "phone", "请填写正确的 11 位手机号码"),
    ({"code": "12ab"}, "code", None),
])
def test_invalid_input_names_the_field_stores_nothing_and_keeps_the_code(api, code, fields, field, message):
    response = register(api, **{"code": code, **fields})
    assert response.status_code == 400
    assert field in response.json()
    if message:
        assert message in response.json()[field]
    assert not User.objects.filter(id_number=ID_NUMBER).exists() and not AuditEvent.objects.exists()
    # Shape is checked before the code: the typo did not cost the code.
    assert register(api, code).status_code == 201


def test_one_account_per_id_number(api, code):
    existing = UserFactory(username="wxm", real_name="王小明", id_type="111", id_number=ID_NUMBER, phone="13900000000")
    with unchanged(existing):
        response = register(api, code)
    assert response.status_code == 409
    assert response.json() == {"detail": "该证件号码已注册账户，请直接登录；如忘记密码，可通过短信验证码找回",
                               "code": "already_registered"}
    assert not User.objects.filter(phone=PHONE).exists()


def test_a_phone_already_registered_is_refused(api, code):
    existing = UserFactory(username=PHONE, phone=PHONE, identified=True)
    with unchanged(existing):
        response = register(api, code)
    assert response.status_code == 409 and response.json()["code"] == "phone_taken"
    assert not User.objects.filter(id_number=ID_NUMBER).exists()


@pytest.fixture
def walk_in(clerk, item):
    """A person a clerk registered at the window (name + ID, no account of their own), with their case."""
    case = applications.application_create(actor=clerk, item_code=item.code,
                                           applicant={"name": "王小明", "id_type": "111", "id_number": ID_NUMBER})
    assert not case.applicant.has_usable_password() and case.applicant.phone == ""
    return case


def test_registering_claims_the_walk_in_identity_and_its_cases(api, code, walk_in):
    person = walk_in.applicant
    response = register(api, code)
    assert response.status_code == 201, response.json()
    assert response.json()["claimed"] is True and response.json()["id"] == person.pk
    assert User.objects.filter(id_number=ID_NUMBER).count() == 1
    person.refresh_from_db()
    assert (person.username, person.phone, person.real_name) == (PHONE, PHONE, "王小明")
    assert person.check_password(PASSWORD)
    event = AuditEvent.objects.get(action="user_claim")
    assert event.object_id == str(person.pk) and event.payload["walk_in_username"] == f"id{ID_NUMBER}"
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(api, PHONE)}")
    listed = api.get("/api/v1/applications/").json()
    assert [case["number"] for case in listed["results"]] == [walk_in.number]
    assert api.get(f"/api/v1/applications/{walk_in.number}/").status_code == 200


def test_the_same_id_with_another_name_is_refused_on_the_name(api, code, walk_in):
    person = walk_in.applicant
    with unchanged(person, walk_in.number):
        response = register(api, code, real_name="王晓明")
    assert response.status_code == 400
    assert response.json() == {"real_name": ["姓名与窗口登记的该证件号码的姓名不一致，请核对；如有疑问请到窗口咨询"]}
    assert not User.objects.filter(phone=PHONE).exists()


def test_a_claimed_identity_cannot_be_claimed_again(api, sms, code, walk_in):
    assert register(api, code).status_code == 201
    api.post("/api/v1/auth/sms-code/", {"phone": "13900000001", "purpose": "register"}, format="json")
    person = User.objects.get(id_number=ID_NUMBER)
    with unchanged(person):
        again = register(api, sms.code("13900000001"), phone="13900000001")
    assert again.status_code == 409 and again.json()["code"] == "already_registered"


def test_staff_ids_are_not_claimed(api, code):
    clerk = UserFactory(clerk=True, real_name="王小明", id_type="111", id_number=ID_NUMBER)
    with unchanged(clerk):
        assert register(api, code).status_code == 409


def test_the_register_page(client, sms, walk_in):
    page = client.get("/accounts/register/")
    body = page.content.decode()
    assert page.status_code == 200
    for label in ("真实姓名", "居民身份证号码", "手机号码", "短信验证码", "设置密码", "获取验证码"):
        assert label in body
    fields = {"real_name": "王小明", "id_number": ID_NUMBER, "phone": PHONE}
    sent = client.post("/accounts/register/", {**fields, "action": "send_code"})
    assert sent.status_code == 200
    assert f"验证码已发送至 {PHONE}" in sent.content.decode()
    assert f'value="{ID_NUMBER}"' in sent.content.decode()  # what was typed stays
    mismatch = client.post("/accounts/register/", {**fields, "code": sms.code(PHONE), "password": PASSWORD,
                                                   "password_again": PASSWORD + "x", "action": "register"})
    assert mismatch.status_code == 400 and "再次输入密码：两次输入的密码不一致" in mismatch.content.decode()
    done = client.post("/accounts/register/", {**fields, "code": sms.code(PHONE), "password": PASSWORD,
                                               "password_again": PASSWORD, "action": "register"}, follow=True)
    assert done.status_code == 200
    assert "您在窗口办理的事项和证照已在本账户中" in done.content.decode()
    assert walk_in.number in done.content.decode()
    assert client.session["_auth_user_id"] == str(walk_in.applicant_id)


def test_the_register_page_names_the_field_in_error(client, code):
    response = client.post("/accounts/register/", {
        "real_name": "王小明", "id_number": ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1"), "phone": PHONE,
        "code": code, "password": PASSWORD, "password_again": PASSWORD, "action": "register"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "居民身份证号码：居民身份证号码校验位错误" in body
    # The input points at its hint and its error (Django's aria-describedby), and the summary links to it.
    assert 'aria-invalid="true" aria-describedby="id_id_number_helptext id_id_number_error"' in body
    assert '<a href="#id_id_number">居民身份证号码</a>' in body
    assert 'id="id_id_number_error"' in body


def test_anonymous_visitors_are_offered_registration(client):
    assert 'href="/accounts/register/"' in client.get("/").content.decode()
    assert 'href="/accounts/register/"' in client.get("/accounts/login/").content.decode()
