"""Who sees what (DESIGN §5): another user's case is a 404; reviewers never see contact data."""

import pytest

from applications.models import Application
from portal.models import AuditEvent
from tests.assertions import unchanged
from tests.factories import UserFactory
from tests.files import upload

pytestmark = pytest.mark.django_db


def test_another_citizen_gets_404_everywhere(as_user, submitted, requirements):
    stranger = as_user(UserFactory(identified=True))
    material = Application.objects.get(number=submitted).materials.first()
    with unchanged(submitted):
        for url in [f"/api/v1/applications/{submitted}/", f"/api/v1/applications/{submitted}/events/",
                    f"/api/v1/applications/{submitted}/materials/{material.pk}/"]:
            assert stranger.get(url).status_code == 404, url
        assert stranger.post(f"/api/v1/applications/{submitted}/withdraw/").status_code == 404
        assert upload(stranger, submitted, requirements["营业执照"]).status_code == 404
    assert stranger.get("/api/v1/applications/").json()["count"] == 0


def test_reviewer_of_another_department_gets_404(as_user, submitted):
    other = as_user(UserFactory(reviewer=True))
    assert other.get(f"/api/v1/applications/{submitted}/").status_code == 404
    material = Application.objects.get(number=submitted).materials.first()
    assert other.get(f"/api/v1/applications/{submitted}/materials/{material.pk}/").status_code == 404


def test_reviewer_sees_materials_but_not_contact_data(as_user, reviewer, submitted):
    Application.objects.filter(number=submitted).update(contact_phone="13800000000", contact_address="幸福小区 3 栋 201")
    body = as_user(reviewer).get(f"/api/v1/applications/{submitted}/").json()
    assert body["contact"] is None
    assert "13800000000" not in str(body) and "幸福小区" not in str(body)
    assert body["materials"][0]["files"]


def test_applicant_and_clerk_see_contact_data(as_user, citizen, clerk, submitted):
    Application.objects.filter(number=submitted).update(contact_phone="13800000000")
    assert as_user(citizen).get(f"/api/v1/applications/{submitted}/").json()["contact"]["phone"] == "13800000000"
    assert as_user(clerk).get(f"/api/v1/applications/{submitted}/").json()["contact"]["phone"] == "13800000000"


def test_department_does_not_see_drafts(as_user, reviewer, draft):
    assert as_user(reviewer).get(f"/api/v1/applications/{draft}/").status_code == 404


def test_reviewer_cannot_accept_and_citizen_cannot_accept(as_user, reviewer, citizen, submitted):
    with unchanged(submitted):
        assert as_user(reviewer).post(f"/api/v1/applications/{submitted}/accept/").status_code == 403
        assert as_user(citizen).post(f"/api/v1/applications/{submitted}/accept/").status_code == 403
    assert Application.objects.get(number=submitted).state == "submitted"


def test_reading_a_material_is_recorded(as_user, reviewer, submitted):
    material = Application.objects.get(number=submitted).materials.first()
    response = as_user(reviewer).get(f"/api/v1/applications/{submitted}/materials/{material.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    event = AuditEvent.objects.get(action="material_read")
    assert event.actor == reviewer and event.payload["material"] == material.pk


def test_anonymous_gets_401_or_403(api, submitted):
    assert api.get(f"/api/v1/applications/{submitted}/").status_code in (401, 403)


def test_events_are_the_audit_chain_oldest_first(as_user, citizen, submitted):
    events = as_user(citizen).get(f"/api/v1/applications/{submitted}/events/").json()
    assert [e["action"] for e in events] == ["application_create", "material_upload", "material_upload", "application_submit"]
    assert events[-1]["from_state"] == "draft" and events[-1]["to_state"] == "submitted" and len(events[-1]["hash"]) == 64


def test_clerk_does_not_see_a_citizens_online_draft(as_user, clerk, draft, requirements):
    client = as_user(clerk)
    with unchanged(draft):
        assert client.get(f"/api/v1/applications/{draft}/").status_code == 404
        assert client.post(f"/api/v1/applications/{draft}/accept/").status_code == 404
        assert upload(client, draft, requirements["营业执照"]).status_code == 404
    assert Application.objects.get(number=draft).state == "draft"
