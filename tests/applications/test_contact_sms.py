"""SMS to the case's contact phone (DESIGN §13): a walk-in's acceptance reaches the phone on the application, and
so do the request for materials, the decision and the certificate being ready."""

import pytest

from applications.models import Application, State
from portal.models import Notification
from portal.notifications import notification_retry_sweep
from tests.factories import ApplicationFactory, UserFactory
from tests.files import upload
from tests.sms_outbox import sms_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings, tmp_path):
    return sms_outbox(settings, tmp_path)


def test_a_walk_in_case_tells_its_contact_phone_of_the_acceptance(as_user, clerk, item, requirements, outbox):
    client = as_user(clerk)
    response = client.post("/api/v1/applications/", {
        "item": item.code, "applicant": {"name": "王小明", "id_type": "111", "id_number": "220102199003071235"},
        "contact_phone": "13912345678",
    }, format="json")
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    for name in ("食品经营许可申请书", "营业执照"):
        assert upload(client, number, requirements[name]).status_code == 201
    assert client.post(f"/api/v1/applications/{number}/accept/").status_code == 200

    notification = Notification.objects.get(application=number, kind="accepted")
    assert notification.user.phone == "" and notification.contact_phone == "13912345678"
    assert notification_retry_sweep() == 1
    (sms,) = outbox.lines()
    assert sms["phone"] == "13912345678"
    assert "已受理" in sms["message"] and number in sms["message"]


def test_the_account_phone_is_not_texted_twice(as_user, clerk, item, outbox):
    """An online case's contact phone is the account's unless the applicant wrote another: one SMS, not two."""
    citizen = UserFactory(identified=True, phone="13700000001")
    case = ApplicationFactory(item=item, applicant=citizen, submitted=True)
    assert case.contact_phone == "13700000001"
    assert as_user(clerk).post(f"/api/v1/applications/{case.number}/accept/").status_code == 200
    assert notification_retry_sweep() == 1
    assert [line["phone"] for line in outbox.lines()] == ["13700000001"]


def test_a_walk_in_hears_of_every_stage_by_sms_on_the_contact_phone(as_user, clerk, licence_item, outbox):
    """一次性告知, 受理, the decision and the certificate ready, each through the real API or service, each an SMS
    to the phone written on the application (the walk-in's account has none) naming the case; nothing else."""
    clerk_api = as_user(clerk)
    created = clerk_api.post("/api/v1/applications/", {
        "item": licence_item.code, "applicant": {"name": "王小明", "id_type": "111", "id_number": "220102199003071235"},
        "contact_phone": "13912345678",
    }, format="json")
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    requirements = {r.name: r.pk for r in licence_item.current_version.materials.all()}
    for name, requirement in requirements.items():
        if name != "营业执照":
            assert upload(clerk_api, number, requirement).status_code == 201
    noticed = clerk_api.post(f"/api/v1/applications/{number}/request-materials/", {
        "deficiencies": [{"requirement": requirements["营业执照"], "reason": "复印件不清晰"}]}, format="json")
    assert noticed.status_code == 200, noticed.content
    assert upload(clerk_api, number, requirements["营业执照"]).status_code == 201
    assert clerk_api.post(f"/api/v1/applications/{number}/resubmit/").status_code == 200
    assert clerk_api.post(f"/api/v1/applications/{number}/accept/").status_code == 200
    case = ApplicationFactory.advance(Application.objects.get(number=number), to=State.ISSUED)
    assert case.certificate_identifier

    assert notification_retry_sweep() == Notification.objects.filter(application=number).count()
    sent = outbox.lines()
    assert {line["phone"] for line in sent} == {"13912345678"}
    assert all(number in line["message"] for line in sent)
    kinds = list(Notification.objects.filter(application=number).order_by("pk").values_list("kind", "contact_phone"))
    assert kinds == [("materials_notice", "13912345678"), ("accepted", "13912345678"), ("decided", "13912345678"),
                     ("issued", "13912345678")]
    texts = [line["message"] for line in sent]
    assert "需补正材料" in texts[0] and "营业执照（复印件不清晰）" in texts[0]
    assert "已受理" in texts[1] and "已审查通过" in texts[2]
    assert "已办结出证" in texts[3] and case.certificate_identifier in texts[3]
    # She has no account yet (registered at the window): told where the result is for her, not 「我的证照」 alone.
    assert "可到受理窗口领取，或凭本人证件号码注册账户后在「我的证照」查看和下载" in texts[3]


def test_an_applicant_who_signs_in_is_pointed_to_the_wallet(clerk, reviewer, custodian, seal, licence_item, outbox):
    citizen = UserFactory(identified=True, phone="13700000001")
    case = ApplicationFactory(item=licence_item, applicant=citizen, issued=True)
    told = Notification.objects.get(application=case.number, kind="issued")
    assert told.message.endswith(f"（证照标识 {case.certificate_identifier}），可在「我的证照」查看和下载。")


@pytest.mark.parametrize("method", ["pickup", "mail", "download"])
def test_the_result_leaving_the_window_is_texted_to_the_contact_phone(as_user, clerk, item, outbox, method):
    """领取 and 邮寄 are told at once (someone else collecting it is news); downloading it is the applicant's
    own act and tells nobody."""
    citizen = UserFactory(identified=True, phone="13700000001")
    case = ApplicationFactory(item=item, applicant=citizen, issued=True)
    Application.objects.filter(pk=case.pk).update(contact_phone="13912345678")
    data = {"method": method, "pickup": {"id_number": citizen.id_number},
            "mail": {"tracking_number": "SF1234567890", "address": "长春市朝阳区人民大街 1 号"}}.get(method, {})
    actor = citizen if method == "download" else clerk
    response = as_user(actor).post(f"/api/v1/applications/{case.number}/deliver/", {"method": method, **data},
                                   format="json")
    assert response.status_code == 200, response.content
    told = list(Notification.objects.filter(application=case.number, kind="delivered"))
    if method == "download":
        assert told == []
        return
    (notification,) = told
    assert notification.user == citizen and notification.contact_phone == "13912345678"
    notification_retry_sweep()
    texts = {line["phone"]: line["message"] for line in outbox.lines() if case.number in line["message"]
             and ("领取" in line["message"] or "寄出" in line["message"])}
    assert set(texts) == {"13700000001", "13912345678"}
    expected = "在窗口由申请人本人凭证件领取" if method == "pickup" else "快递单号 SF1234567890，寄往 长春市朝阳区人民大街 1 号"
    assert all(expected in text for text in texts.values())
