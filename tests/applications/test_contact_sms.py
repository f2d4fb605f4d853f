"""SMS to the case's contact phone (DESIGN §13): a walk-in's acceptance reaches the phone on the application."""

import pytest

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
