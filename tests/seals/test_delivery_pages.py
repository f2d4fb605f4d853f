"""送达 at the window (DESIGN §5 deliver, §10 clerk pages): the pickup list, the ID check on the case page,
mail with a tracking number; errors name the field and nothing changes."""

import pytest
from django.test import Client

from applications.models import Application
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pickup_list_finds_the_case_by_number_or_id(clerk, citizen, issued):
    client = page_client(clerk)
    body = client.get("/window/pickup/").content.decode()
    assert issued in body and "领取送达" in body
    assert issued in client.get("/window/pickup/", {"q": citizen.id_number}).content.decode()
    assert issued not in client.get("/window/pickup/", {"q": "110105194912310021"}).content.decode()
    assert page_client(citizen).get("/window/pickup/").status_code == 404


def test_pickup_checks_the_id_on_the_case_page(clerk, citizen, issued):
    client = page_client(clerk)
    page = client.get(f"/window/cases/{issued}/").content.decode()
    assert "确认送达" in page and "领取人证件号码" in page
    response = client.post(f"/window/cases/{issued}/deliver/",
                           {"deliver-method": "pickup", "deliver-id_number": "110105194912310021"})
    assert response.status_code == 200 and "领取人证件号码与申请人不符" in response.content.decode()
    assert Application.objects.get(number=issued).state == "issued"

    response = client.post(f"/window/cases/{issued}/deliver/",
                           {"deliver-method": "pickup", "deliver-id_number": citizen.id_number}, follow=True)
    assert "已核验证件，当面交付，办件已送达" in response.content.decode()
    case = Application.objects.get(number=issued)
    assert (case.state, case.delivery_method, case.visits) == ("delivered", "pickup", 1)
    assert AuditEvent.objects.filter(object_id=issued, action="application_deliver").count() == 1
    # A second click changes nothing: the case is delivered.
    again = client.post(f"/window/cases/{issued}/deliver/",
                        {"deliver-method": "pickup", "deliver-id_number": citizen.id_number}, follow=True)
    assert "不能" in again.content.decode() and Application.objects.get(number=issued).visits == 1


def test_mail_needs_a_tracking_number_on_the_page(clerk, issued):
    client = page_client(clerk)
    response = client.post(f"/window/cases/{issued}/deliver/", {"deliver-method": "mail"})
    assert response.status_code == 200 and "邮寄送达须填写快递单号" in response.content.decode()
    response = client.post(f"/window/cases/{issued}/deliver/",
                           {"deliver-method": "mail", "deliver-tracking_number": "SF1234567890",
                            "deliver-address": "长春市朝阳区人民大街 1 号"}, follow=True)
    assert "已邮寄至 长春市朝阳区人民大街 1 号（单号 SF1234567890）" in response.content.decode()
    case = Application.objects.get(number=issued)
    assert (case.state, case.tracking_number, case.visits) == ("delivered", "SF1234567890", 0)
