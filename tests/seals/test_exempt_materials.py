"""免交 (DESIGN §8): a requirement whose `satisfied_by` type the applicant holds as a valid e-certificate
needs no upload; clerk and reviewer see it as such."""

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from applications.models import Application
from applications.services import application_accept
from certificates.models import Certificate, CertificateType
from tests.assertions import unchanged
from tests.factories import published_item
from tests.files import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def licence(issued):
    """The citizen already holds a 食品经营许可证 issued by this system."""
    return Certificate.objects.get(application_number=issued)


@pytest.fixture
def follow_up_item(item):
    """An item whose 食品经营许可证 requirement can be met by the held licence."""
    food = CertificateType.objects.get(code="FOOD-BIZ")
    return published_item(code="11220100MB1234567K4000117002000", name="食品经营许可（变更）", department=item.department, materials=[
        {"name": "变更申请书", "form": "original", "required": True},
        {"name": "食品经营许可证", "form": "copy", "required": True, "satisfied_by": food},
    ])


def test_held_certificate_satisfies_the_requirement(as_user, citizen, clerk, reviewer, licence, follow_up_item):
    client = as_user(citizen)
    number = client.post("/api/v1/applications/", {"item": follow_up_item.code}, format="json").json()["number"]
    requirements = {r.name: r.pk for r in follow_up_item.current_version.materials.all()}
    upload(client, number, requirements["变更申请书"])
    response = client.post(f"/api/v1/applications/{number}/submit/")
    assert response.status_code == 200, response.content  # no licence upload was needed
    row = next(m for m in response.json()["materials"] if m["name"] == "食品经营许可证")
    assert row["status"] == "satisfied" and row["certificate"] == "FOOD-BIZ" and row["files"] == []
    clerk_view = as_user(clerk).get(f"/api/v1/applications/{number}/").json()
    assert next(m for m in clerk_view["materials"] if m["name"] == "食品经营许可证")["status"] == "satisfied"
    body = as_user(clerk).post(f"/api/v1/applications/{number}/accept/").json()
    assert body["state"] == "accepted"
    reviewer_view = as_user(reviewer).get(f"/api/v1/applications/{number}/").json()
    assert next(m for m in reviewer_view["materials"] if m["name"] == "食品经营许可证")["status"] == "satisfied"


def test_revoked_certificate_satisfies_nothing(as_user, citizen, licence, follow_up_item):
    from certificates.services import certificate_revoke
    from tests.factories import UserFactory

    head = UserFactory(head=True, department=licence.issuer)
    certificate_revoke(actor=head, certificate=licence, reason="经营者申请注销")
    client = as_user(citizen)
    number = client.post("/api/v1/applications/", {"item": follow_up_item.code}, format="json").json()["number"]
    requirements = {r.name: r.pk for r in follow_up_item.current_version.materials.all()}
    upload(client, number, requirements["变更申请书"])
    with unchanged(number):
        response = client.post(f"/api/v1/applications/{number}/submit/")
    assert response.status_code == 409 and "食品经营许可证" in response.json()["detail"]
    assert Application.objects.get(number=number).state == "draft"


def test_expired_by_date_satisfies_nothing(as_user, citizen, licence, follow_up_item):
    client = as_user(citizen)
    number = client.post("/api/v1/applications/", {"item": follow_up_item.code}, format="json").json()["number"]
    requirements = {r.name: r.pk for r in follow_up_item.current_version.materials.all()}
    upload(client, number, requirements["变更申请书"])
    with time_machine.travel("2032-01-05 10:00 +0800"), unchanged(number):  # the 5-year licence ended in 2031
        response = client.post(f"/api/v1/applications/{number}/submit/")
    assert response.status_code == 409


def test_an_uploaded_material_needs_no_look_in_the_wallet(as_user, citizen, clerk, licence, follow_up_item):
    """An upload comes first: where every material is uploaded, acceptance does not read the applicant's
    certificates at all (one query less on every acceptance, DESIGN §12), and the licence shows as uploaded."""
    client = as_user(citizen)
    number = client.post("/api/v1/applications/", {"item": follow_up_item.code}, format="json").json()["number"]
    requirements = {r.name: r.pk for r in follow_up_item.current_version.materials.all()}
    upload(client, number, requirements["变更申请书"])
    upload(client, number, requirements["食品经营许可证"])
    assert client.post(f"/api/v1/applications/{number}/submit/").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        application_accept(actor=clerk, application=Application(pk=Application.objects.get(number=number).pk))
    assert not [query["sql"] for query in captured if 'FROM "certificates_certificate"' in query["sql"]]
    body = as_user(clerk).get(f"/api/v1/applications/{number}/").json()
    assert body["state"] == "accepted"
    assert next(m for m in body["materials"] if m["name"] == "食品经营许可证")["status"] == "uploaded"
    notice = Application.objects.get(number=number).documents.get(kind="acceptance_notice")
    assert [row["name"] for row in notice.context["materials"]] == ["变更申请书", "食品经营许可证"]
