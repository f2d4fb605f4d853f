"""SMS verification codes (DESIGN §13, decision 046): 6 digits, 5 minutes, 5 tries, stored hashed, one live
code per phone and purpose, limited per phone and per client address; read back from the SMS file backend."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from portal.models import SmsCode, User
from tests.factories import resident_id
from tests.sms_outbox import sms_outbox

pytestmark = pytest.mark.django_db

PHONE = "13800138000"


@pytest.fixture
def sms(settings, tmp_path):
    return sms_outbox(settings, tmp_path)


def request_code(api, phone=PHONE, purpose="register", **headers):
    return api.post("/api/v1/auth/sms-code/", {"phone": phone, "purpose": purpose}, format="json", **headers)


def register(api, code, *, phone=PHONE, n=1, name="王小明", password="Zhengwu-2026"):
    return api.post("/api/v1/auth/register/", {
        "real_name": name, "id_type": "111", "id_number": resident_id(n, region="110101"), "phone": phone,
        "code": code, "password": password,
    }, format="json")


def test_a_code_is_sent_once_and_stored_only_hashed(api, sms):
    response = request_code(api, phone="+86 138-0013-8000")
    assert response.status_code == 202
    assert response.json() == {"detail": "验证码已发送", "expires_in": 300}
    [message] = sms.messages(PHONE)
    code = sms.code(PHONE)
    assert "注册验证码" in message and "5 分钟内有效" in message
    row = SmsCode.objects.get(phone=PHONE, purpose="register")
    assert code not in str(SmsCode.objects.filter(pk=row.pk).values().get())
    assert len(row.code_hash) == 64 and row.attempts == 0 and row.used_at is None
    assert row.expires_at - row.created_at == timedelta(minutes=5)


def test_a_new_request_replaces_the_live_code(api, sms):
    with time_machine.travel("2026-12-07 10:00 +0800", tick=False):
        request_code(api)
        first = sms.code(PHONE)
    with time_machine.travel("2026-12-07 10:01:05 +0800", tick=False):
        assert request_code(api).status_code == 202
        second = sms.code(PHONE)
        assert SmsCode.objects.filter(phone=PHONE, purpose="register").count() == 1
        if first != second:  # one in a million they are the same
            assert register(api, first).json() == {"code": ["验证码错误，还可尝试 4 次"]}
        assert register(api, second).status_code == 201


def test_codes_of_different_purposes_live_side_by_side(api, sms):
    with time_machine.travel("2026-12-07 10:00 +0800", tick=False):
        request_code(api, purpose="register")
        register_code = sms.code(PHONE)
    with time_machine.travel("2026-12-07 10:01:05 +0800", tick=False):
        request_code(api, purpose="reset")
        assert SmsCode.objects.filter(phone=PHONE).count() == 2
        assert register(api, register_code).status_code == 201


def test_wrong_codes_count_and_the_sixth_try_is_refused_even_with_the_right_code(api, sms):
    request_code(api)
    code = sms.code(PHONE)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    answers = [register(api, wrong).json()["code"][0] for _ in range(5)]
    assert answers == ["验证码错误，还可尝试 4 次", "验证码错误，还可尝试 3 次", "验证码错误，还可尝试 2 次",
                       "验证码错误，还可尝试 1 次", "验证码错误次数过多，已失效，请重新获取"]
    response = register(api, code)
    assert response.status_code == 400
    assert response.json() == {"code": ["验证码已失效，请重新获取"]}
    assert SmsCode.objects.get(phone=PHONE).attempts == 5
    assert not SmsCode._meta.apps.get_model("portal", "User").objects.filter(phone=PHONE).exists()


def test_an_expired_code_is_refused(api, sms):
    with time_machine.travel("2026-12-07 10:00 +0800", tick=False):
        request_code(api)
        code = sms.code(PHONE)
    with time_machine.travel("2026-12-07 10:05:01 +0800", tick=False):
        response = register(api, code)
    assert response.status_code == 400
    assert response.json() == {"code": ["验证码已失效，请重新获取"]}
    assert not User.objects.filter(phone=PHONE).exists()
    assert SmsCode.objects.get(phone=PHONE).used_at is None


def test_a_code_is_spent_by_its_use(api, sms):
    request_code(api)
    code = sms.code(PHONE)
    assert register(api, code).status_code == 201
    again = register(api, code, phone=PHONE, n=2)
    assert again.status_code == 400 and again.json() == {"code": ["验证码已失效，请重新获取"]}
    assert list(User.objects.filter(phone=PHONE).values_list("id_number", flat=True)) == [resident_id(1, region="110101")]
    assert not User.objects.filter(id_number=resident_id(2, region="110101")).exists()


def test_one_code_a_minute_per_phone_and_nothing_sent_beyond(api, sms):
    with time_machine.travel("2026-12-07 10:00 +0800", tick=False):
        assert request_code(api).status_code == 202
        # Another purpose, another client address: the phone's own limit still holds.
        refused = request_code(api, purpose="login", REMOTE_ADDR="203.0.113.5")
        assert refused.status_code == 429
        assert refused.json()["code"] == "throttled" and "该手机号获取验证码请求过于频繁" in refused.json()["detail"]
        assert 1 <= int(refused["Retry-After"]) <= 60
        assert len(sms.messages(PHONE)) == 1
        assert not SmsCode.objects.filter(phone=PHONE, purpose="login").exists()  # nothing stored for it
    with time_machine.travel("2026-12-07 10:01:01 +0800", tick=False):
        assert request_code(api, purpose="login").status_code == 202
        assert len(sms.messages(PHONE)) == 2


def test_ten_codes_a_day_per_phone(api, sms):
    start = timezone.datetime(2026, 12, 7, 8, 0, tzinfo=timezone.get_default_timezone())
    for n in range(10):
        with time_machine.travel(start + timedelta(minutes=2 * n), tick=False):
            assert request_code(api).status_code == 202
    live = SmsCode.objects.values("pk", "code_hash", "expires_at").get(phone=PHONE)
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        refused = request_code(api)
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert len(sms.messages(PHONE)) == 10
    assert list(SmsCode.objects.filter(phone=PHONE).values("pk", "code_hash", "expires_at")) == [live]  # not replaced


def test_thirty_codes_an_hour_per_client_address(api, sms):
    phones = [f"1390000{n:04d}" for n in range(31)]
    statuses = [request_code(api, phone=phone).status_code for phone in phones]
    assert statuses == [202] * 30 + [429]
    assert sms.messages(phones[30]) == []
    # Another address is counted on its own.
    assert request_code(api, phone=phones[30], REMOTE_ADDR="198.51.100.7").status_code == 202


def test_the_page_button_shares_the_address_limit(api, client, sms):
    for n in range(30):
        request_code(api, phone=f"1390000{n:04d}")
    response = client.post("/accounts/register/", {"phone": "13900009999", "action": "send_code"})
    assert response.status_code == 429
    assert "访问过于频繁" in response.content.decode()
    assert sms.messages("13900009999") == []


@pytest.mark.parametrize(("body", "field"), [
    ({"phone": "12345", "purpose": "register"}, "phone"),
    ({"phone": "1380013800a", "purpose": "register"}, "phone"),
    ({"phone": PHONE, "purpose": "anything"}, "purpose"),
    ({"purpose": "login"}, "phone"),
])
def test_bad_requests_name_the_field_and_send_nothing(api, sms, body, field):
    response = api.post("/api/v1/auth/sms-code/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert sms.messages() == [] and not SmsCode.objects.exists()


class FailingGateway:
    calls = 0

    def send(self, *, phone, message):
        FailingGateway.calls += 1
        raise OSError("gateway down")


def test_a_gateway_outage_is_a_503_and_is_not_waited_for_again(api, settings, sms):
    settings.SMS_BACKEND = "tests.portal.test_sms_codes.FailingGateway"
    FailingGateway.calls = 0
    first = request_code(api)
    assert first.status_code == 503 and first.json()["code"] == "sms_unavailable"
    second = request_code(api, phone="13900001111")
    assert second.status_code == 503
    assert FailingGateway.calls == 1  # the second request did not try the gateway during the pause
