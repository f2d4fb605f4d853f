"""好差评 without signing in (DESIGN §15): a walk-in's SMS carries a one-use link to rate the stage just done;
the clerk puts the case on the window's pad and the person at the counter rates the clerk (一次一评)."""

import re

import pytest
from django.test import Client

from applications.models import Application, Rating
from portal.models import Notification
from portal.notifications import notification_retry_sweep
from tests.factories import ApplicationFactory, UserFactory
from tests.files import pdf_file
from tests.sms_outbox import sms_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings, tmp_path):
    return sms_outbox(settings, tmp_path)


def walk_in(as_user, clerk, item, requirements) -> str:
    client = as_user(clerk)
    response = client.post("/api/v1/applications/", {
        "item": item.code, "applicant": {"name": "王小明", "id_type": "111", "id_number": "220102199003071235"},
        "contact_phone": "13912345678",
    }, format="json")
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    for name in ("食品经营许可申请书", "营业执照"):
        response = client.post(f"/api/v1/applications/{number}/materials/", {"requirement": requirements[name], "file": pdf_file()},
                               format="multipart")
        assert response.status_code == 201
    assert client.post(f"/api/v1/applications/{number}/accept/").status_code == 200
    return number


def link_in(message: str) -> str:
    found = re.search(r"https?://[^/\s]+(/rate/[^/\s]+/)", message)
    assert found, message
    return found.group(1)


def test_a_walk_in_rates_the_intake_by_the_sms_link_once(as_user, clerk, item, requirements, outbox):
    number = walk_in(as_user, clerk, item, requirements)
    notification_retry_sweep()
    (sms,) = outbox.lines()
    path = link_in(sms["message"])
    anyone = Client()
    page = anyone.get(path).content.decode()
    assert "受理环节" in page and number in page and clerk.display_name in page
    response = anyone.post(path, {"score": "5", "comment": ""})
    assert "请写明不满意的原因" in response.content.decode()
    assert not Rating.objects.exists()
    anyone.post(path, {"score": "2", "comment": "窗口解释得很清楚"})
    rating = Rating.objects.get(application__number=number)
    case = Application.objects.get(number=number)
    assert (rating.stage, rating.channel, rating.staff, rating.rated_by) == ("intake", "sms", clerk, case.applicant)
    # the link cannot be used again
    again = anyone.post(path, {"score": "5", "comment": "再来一次"}, follow=True).content.decode()
    assert "已评价" in again and Rating.objects.count() == 1
    # a forged or altered link finds nothing
    assert anyone.get("/rate/not-a-token/").status_code == 404
    assert anyone.get(path[:-3] + "xx/").status_code == 404


def test_online_applicants_get_no_link_they_rate_in_their_account(as_user, clerk, submitted):
    assert as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/").status_code == 200
    accepted = Notification.objects.get(application=submitted, kind="accepted")
    assert "/rate/" not in accepted.message


def test_the_clerk_puts_the_case_on_the_window_pad_and_the_person_rates_the_clerk(as_user, clerk, item, requirements):
    number = walk_in(as_user, clerk, item, requirements)
    hall = clerk.hall
    pad = Client()
    assert pad.get(f"/halls/{hall.code}/rate/pending/", {"window": "2"}).json() == {"url": ""}
    window = Client()
    window.force_login(clerk)
    assert "请申请人在窗口评价器评价" in window.get(f"/window/cases/{number}/").content.decode()
    window.post(f"/window/cases/{number}/rating-pad/", {"window": "2"})
    pending = pad.get(f"/halls/{hall.code}/rate/pending/", {"window": "2"}).json()["url"]
    assert pending.startswith("/rate/")
    # the pad opens the form for that case
    opened = pad.get(f"/halls/{hall.code}/rate/", {"window": "2"})
    assert opened.status_code == 302 and opened["Location"] == pending
    pad.post(pending, {"score": "1", "comment": ""})
    rating = Rating.objects.get(application__number=number)
    assert (rating.stage, rating.channel, rating.staff) == ("intake", "window", clerk)
    # done: the pad waits for the next one, and the case has nothing left to put on it
    assert pad.get(f"/halls/{hall.code}/rate/pending/", {"window": "2"}).json() == {"url": ""}
    assert "请申请人在窗口评价器评价" not in window.get(f"/window/cases/{number}/").content.decode()
    refused = window.post(f"/window/cases/{number}/rating-pad/", {"window": "2"}, follow=True).content.decode()
    assert "暂无可评价的环节" in refused


def test_the_pad_refuses_a_bad_window_and_a_case_not_yet_accepted(as_user, clerk, item):
    case = ApplicationFactory(item=item, applicant=UserFactory(identified=True), submitted=True)
    window = Client()
    window.force_login(clerk)
    response = window.post(f"/window/cases/{case.number}/rating-pad/", {"window": "1"}, follow=True).content.decode()
    assert "暂无可评价的环节" in response
    response = window.post(f"/window/cases/{case.number}/rating-pad/", {"window": "999"}, follow=True).content.decode()
    assert "窗口号应为" in response
