"""Delivery (DESIGN §5): pickup checks the holder's ID and is a visit; mail needs a tracking number;
the applicant's download is delivery with zero visits."""

import pytest

from applications.models import Application
from tests.assertions import unchanged

pytestmark = pytest.mark.django_db


def deliver(client, number, **data):
    return client.post(f"/api/v1/applications/{number}/deliver/", data, format="json")


def test_pickup_checks_the_id_and_counts_a_visit(as_user, clerk, citizen, issued):
    client = as_user(clerk)
    with unchanged(issued):
        wrong = deliver(client, issued, method="pickup", id_number="110105194912310021")
    assert wrong.status_code == 400 and "id_number" in wrong.json()
    assert Application.objects.get(number=issued).state == "issued"
    response = deliver(client, issued, method="pickup", id_number=citizen.id_number.lower())
    assert response.status_code == 200 and response.json()["state"] == "delivered"
    case = Application.objects.get(number=issued)
    assert case.visits == 1 and case.delivery_method == "pickup"


def test_mail_needs_a_tracking_number(as_user, clerk, issued):
    client = as_user(clerk)
    with unchanged(issued):
        assert deliver(client, issued, method="mail").status_code == 400
    response = deliver(client, issued, method="mail", tracking_number="SF1234567890", address="长春市朝阳区人民大街 1 号")
    assert response.status_code == 200
    case = Application.objects.get(number=issued)
    assert (case.tracking_number, case.visits) == ("SF1234567890", 0)


def test_download_by_the_applicant_is_zero_visit_delivery(as_user, citizen, clerk, issued):
    with unchanged(issued):
        assert deliver(as_user(clerk), issued, method="download").status_code == 403
    response = deliver(as_user(citizen), issued, method="download")
    assert response.status_code == 200 and response.json()["visits"] == 0


def test_citizen_cannot_mark_mail_delivered_and_nothing_twice(as_user, citizen, clerk, issued):
    with unchanged(issued):
        assert deliver(as_user(citizen), issued, method="mail", tracking_number="x").status_code == 403
    address = "长春市朝阳区人民大街 1 号"
    assert deliver(as_user(clerk), issued, method="mail", tracking_number="SF1", address=address).status_code == 200
    with unchanged(issued):
        again = deliver(as_user(clerk), issued, method="mail", tracking_number="SF2", address=address)
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_unknown_method_names_the_field(as_user, clerk, issued):
    with unchanged(issued):
        response = deliver(as_user(clerk), issued, method="pigeon")
    assert response.status_code == 400 and "method" in response.json()
