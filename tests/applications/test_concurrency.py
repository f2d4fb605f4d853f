"""Two clerks act on one case at the same moment: exactly one wins, the other gets 409 (PostgreSQL)."""


import pytest

from applications.models import Application, Document
from portal.models import AuditEvent
from tests.concurrency import client_for, race
from tests.factories import HallFactory, UserFactory, published_item
from tests.files import pdf_file

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


def test_a_request_that_cannot_get_the_row_answers_409_and_changes_nothing():
    """Something else holds the case's row (a long issuance, a stuck session): the request waits at most the
    lock timeout and answers 409 — API and page alike — instead of a 500 or a stalled worker."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks and lock_timeout are PostgreSQL's")
    import psycopg

    number, _ = submitted_case()
    clerk = UserFactory(clerk=True, hall=HallFactory())
    config = connection.settings_dict
    holder = psycopg.connect(dbname=config["NAME"], host=config["HOST"], port=config["PORT"], user=config["USER"],
                             password=config["PASSWORD"] or None)
    try:
        holder.execute("SELECT 1 FROM applications_application WHERE number = %s FOR UPDATE", [number])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        events = AuditEvent.objects.count()
        response = client_for(clerk).post(f"/api/v1/applications/{number}/accept/")
        assert response.status_code == 409 and response.json()["code"] == "conflict", response.content
        from django.test import Client

        page = Client()
        page.force_login(clerk)
        answer = page.post(f"/window/cases/{number}/accept/")
        assert answer.status_code == 409 and "本次操作未生效" in answer.content.decode()
    finally:
        holder.rollback()
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert Application.objects.get(number=number).state == "submitted" and AuditEvent.objects.count() == events
