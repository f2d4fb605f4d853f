"""Two clerks act on one case at the same moment: exactly one wins, the other gets 409 (PostgreSQL)."""


import pytest

from applications.models import Application, Document
from portal.models import AuditEvent
from tests.applications.conftest import pdf_file
from tests.concurrency import client_for, race
from tests.factories import HallFactory, UserFactory, published_item

pytestmark = pytest.mark.django_db(transaction=True)


def submitted_case():
    item = published_item()
    citizen = UserFactory(identified=True)
    client = client_for(citizen)
    number = client.post("/api/v1/applications/", {"item": item.code}, format="json").json()["number"]
    for requirement in item.current_version.materials.filter(required=True, deferrable=False):
        client.post(f"/api/v1/applications/{number}/materials/", {"requirement": requirement.pk, "file": pdf_file()}, format="multipart")
    assert client.post(f"/api/v1/applications/{number}/submit/").status_code == 200
    return number, item


def test_two_clerks_accept_at_once_exactly_one_wins():
    number, _ = submitted_case()
    hall = HallFactory()
    clerks = [client_for(UserFactory(clerk=True, hall=hall)) for _ in range(2)]
    responses = race([lambda c=c: c.post(f"/api/v1/applications/{number}/accept/") for c in clerks])
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert Application.objects.get(number=number).state == "accepted"
    assert AuditEvent.objects.filter(object_id=number, action="application_accept").count() == 1
    assert Document.objects.filter(application__number=number, kind="acceptance_notice").count() == 1


def test_accept_and_notice_at_once_exactly_one_wins():
    number, item = submitted_case()
    hall = HallFactory()
    first, second = (client_for(UserFactory(clerk=True, hall=hall)) for _ in range(2))
    requirement = item.current_version.materials.first().pk
    responses = race([
        lambda: first.post(f"/api/v1/applications/{number}/accept/"),
        lambda: second.post(f"/api/v1/applications/{number}/request-materials/",
                            {"deficiencies": [{"requirement": requirement, "reason": "不清晰"}]}, format="json"),
    ])
    assert sorted(r.status_code for r in responses) == [200, 409]
    state = Application.objects.get(number=number).state
    assert state in ("accepted", "pending_materials")
    transitions = AuditEvent.objects.filter(object_id=number, action__in=["application_accept", "application_request_materials"])
    assert transitions.count() == 1


def test_numbers_stay_unique_under_concurrent_creation():
    item = published_item()
    citizens = [client_for(UserFactory(identified=True)) for _ in range(6)]
    responses = race([lambda c=c: c.post("/api/v1/applications/", {"item": item.code}, format="json") for c in citizens])
    numbers = [r.json()["number"] for r in responses]
    assert all(r.status_code == 201 for r in responses)
    assert len(set(numbers)) == 6
    assert sorted(int(n[-6:]) for n in numbers) == list(range(1, 7))
