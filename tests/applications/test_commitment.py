"""告知承诺制 (DESIGN §14; docs/decisions/051-deferral-and-commitment.md): a signed commitment (承诺书) stands in
for named materials on a draft; approval opens a verification task due in the item's verification_days; the
department records the outcome once; a commitment found false revokes the certificate with that reason."""

from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from applications import services
from applications.documents import DocumentKind
from applications.models import Application, Commitment, Document, State
from certificates.models import Certificate, CertificateType
from portal.models import AuditEvent, Notification
from tests.assertions import unchanged
from tests.factories import ApplicationFactory, DepartmentFactory, UserFactory, published_item
from tests.files import upload

pytestmark = pytest.mark.django_db

PROMISED = "食品安全管理制度"
SITE_PROOF = "经营场所使用证明"


@pytest.fixture
def item(db):
    """A licence item (approval yields 食品经营许可证) on which two materials may be promised instead."""
    department = DepartmentFactory(name="长春市市场监督管理局")
    certificate_type = CertificateType.objects.create(code="FOOD-BIZ", name="食品经营许可证", department=department,
                                                      validity_years=5)
    return published_item(department=department, certificate_type=certificate_type, verification_days=10, materials=[
        {"name": "食品经营许可申请书", "form": "original", "required": True},
        {"name": PROMISED, "form": "original", "required": True, "commitment_allowed": True},
        {"name": SITE_PROOF, "form": "copy", "required": True, "commitment_allowed": True},
    ])


def requirement(item, name) -> int:
    return item.current_version.materials.get(name=name).pk


def commit(client, number, ids):
    return client.post(f"/api/v1/applications/{number}/commitment/", {"requirements": ids}, format="json")


def verify(client, number, outcome, note="", day="2026-12-01"):
    with time_machine.travel(f"{day} 10:00 +0800"):
        return client.post(f"/api/v1/applications/{number}/commitment/verify/", {"outcome": outcome, "note": note},
                           format="json")


def case(number) -> Application:
    return Application.objects.get(number=number)


@pytest.fixture
def submitted(as_user, citizen, item, draft):
    """The citizen's draft with both materials promised, the rest uploaded, submitted (the shared fixtures
    `decided` and `issued` take it further)."""
    response = commit(as_user(citizen), draft, [requirement(item, PROMISED), requirement(item, SITE_PROOF)])
    assert response.status_code == 200, response.content
    return ApplicationFactory.advance(case(draft), to=State.SUBMITTED).number


def test_the_applicant_signs_a_commitment_on_the_draft(as_user, citizen, item, draft):
    ids = [requirement(item, SITE_PROOF), requirement(item, PROMISED)]
    assert "commitment" in as_user(citizen).get(f"/api/v1/applications/{draft}/").json()["available_actions"]
    response = commit(as_user(citizen), draft, ids)
    assert response.status_code == 200, response.content
    body = response.json()
    statuses = {row["name"]: row["status"] for row in body["materials"]}
    assert statuses[PROMISED] == statuses[SITE_PROOF] == "committed"
    assert statuses["食品经营许可申请书"] == "missing"
    assert sorted(body["commitment"]["requirements"]) == sorted(ids) and body["commitment"]["outcome"] is None
    text = body["commitment"]["text"]
    # What is promised, that it is true, and what follows if it is not: frozen as signed.
    assert "告知承诺书" in text and PROMISED in text and SITE_PROOF in text and "真实" in text
    assert "撤销行政许可" in text and "信用惩戒" in text and "10 个工作日" in text and "张伟" in text
    assert text.index(PROMISED) < text.index(SITE_PROOF)  # the version's order
    stored = Commitment.objects.get(application__number=draft)
    assert stored.signed_by == citizen and stored.text == text and stored.verification_due is None
    assert set(stored.requirements.values_list("pk", flat=True)) == set(ids)
    event = AuditEvent.objects.get(object_id=draft, action="application_commit")
    assert [row["name"] for row in event.payload["requirements"]] == [PROMISED, SITE_PROOF]
    assert "commitment" not in body["available_actions"]


def test_committed_materials_count_as_handed_in_at_submission_and_acceptance(as_user, citizen, clerk, item, draft):
    client = as_user(citizen)
    assert upload(client, draft, requirement(item, "食品经营许可申请书")).status_code == 201
    refused = client.post(f"/api/v1/applications/{draft}/submit/")
    assert refused.status_code == 409 and PROMISED in refused.json()["detail"]
    assert commit(client, draft, [requirement(item, PROMISED), requirement(item, SITE_PROOF)]).status_code == 200
    assert client.post(f"/api/v1/applications/{draft}/submit/").status_code == 200
    response = as_user(clerk).post(f"/api/v1/applications/{draft}/accept/")
    assert response.status_code == 200, response.content
    notice = Document.objects.get(application__number=draft, kind=DocumentKind.ACCEPTANCE_NOTICE)
    statuses = {row["name"]: row["status"] for row in notice.context["materials"]}
    assert statuses[PROMISED] == statuses[SITE_PROOF] == "以告知承诺代替"


def test_a_clerk_signs_for_a_walk_in_draft(as_user, clerk, item):
    response = as_user(clerk).post("/api/v1/applications/", {
        "item": item.code, "applicant": {"name": "王小明", "id_type": "111", "id_number": "220102199003071235"},
    }, format="json")
    number = response.json()["number"]
    response = commit(as_user(clerk), number, [requirement(item, PROMISED)])
    assert response.status_code == 200, response.content
    stored = Commitment.objects.get(application__number=number)
    assert stored.signed_by == clerk and "王小明" in stored.text and "220102********1235" in stored.text


def test_a_material_that_does_not_allow_it_is_refused_by_name(as_user, citizen, item, draft):
    with unchanged(draft):
        response = commit(as_user(citizen), draft, [requirement(item, PROMISED), requirement(item, "食品经营许可申请书")])
    assert response.status_code == 400
    assert "食品经营许可申请书" in str(response.json()["requirements"]) and "告知承诺" in str(response.json()["requirements"])
    other = published_item(name="另一事项")
    for ids in ([], [other.current_version.materials.first().pk], ["x"]):
        with unchanged(draft):
            assert commit(as_user(citizen), draft, ids).status_code == 400
    assert not Commitment.objects.exists()


def test_twice_is_refused(as_user, citizen, item, draft):
    assert commit(as_user(citizen), draft, [requirement(item, PROMISED)]).status_code == 200
    with unchanged(draft):
        response = commit(as_user(citizen), draft, [requirement(item, SITE_PROOF)])
    assert response.status_code == 409 and response.json()["code"] == "already_committed"
    assert list(Commitment.objects.get().requirements.values_list("name", flat=True)) == [PROMISED]


def test_outside_a_draft_is_refused(as_user, citizen, item, draft):
    client = as_user(citizen)
    for name in ("食品经营许可申请书", PROMISED, SITE_PROOF):
        upload(client, draft, requirement(item, name))
    assert client.post(f"/api/v1/applications/{draft}/submit/").status_code == 200
    with unchanged(draft):
        response = commit(client, draft, [requirement(item, PROMISED)])
    assert response.status_code == 409 and not Commitment.objects.exists()


def test_only_a_party_or_the_window_signs(as_user, item, draft, reviewer):
    stranger = UserFactory(identified=True)
    with unchanged(draft):
        assert commit(as_user(stranger), draft, [requirement(item, PROMISED)]).status_code == 404
        assert commit(as_user(reviewer), draft, [requirement(item, PROMISED)]).status_code == 404


def test_approval_opens_the_verification_task_on_the_departments_list(client, as_user, reviewer, item, decided):
    number = decided("approve")  # on Tuesday 2026-11-24
    commitment = Commitment.objects.get(application__number=number)
    # Ten working days after 2026-11-24: 25, 26, 27, 30, 12-01, 02, 03, 04, 07, 08.
    assert commitment.verification_due == date(2026, 12, 8)
    event = AuditEvent.objects.get(object_id=number, action="application_approve")
    assert event.payload["verification_due"] == "2026-12-08"
    body = as_user(reviewer).get(f"/api/v1/applications/{number}/").json()
    assert body["commitment"]["verification_due"] == "2026-12-08"
    assert "commitment/verify" in body["available_actions"]
    client.force_login(reviewer)
    with time_machine.travel("2026-12-01 10:00 +0800"):
        page = client.get("/review/commitments/").content.decode()
    assert number in page and "2026-12-08" in page and "剩 5 个工作日" in page
    # Another department does not see it.
    client.force_login(UserFactory(reviewer=True))
    assert number not in client.get("/review/commitments/").content.decode()


def test_the_task_list_is_soonest_first_overdue_marked_and_has_no_n_plus_1(client, reviewer, item, clerk):
    numbers = []
    for day in ("2026-11-10", "2026-11-02", "2026-11-17"):
        with time_machine.travel(f"{day} 10:00 +0800"):
            draft = ApplicationFactory(item=item)
            services.application_commit(actor=draft.applicant, application=draft, requirements=[requirement(item, PROMISED)])
            numbers.append(ApplicationFactory.advance(draft, to=State.APPROVED, clerk=clerk, reviewer=reviewer).number)
    client.force_login(reviewer)
    with time_machine.travel("2026-11-18 10:00 +0800"), CaptureQueriesContext(connection) as queries:
        page = client.get("/review/commitments/").content.decode()
    positions = [page.index(number) for number in numbers]
    assert positions[1] < positions[0] < positions[2]
    assert "超期" in page and "overdue" in page  # 11-02 + 10 working days = 11-16, past on 11-18
    assert len(queries) <= 12, [q["sql"] for q in queries]
    with time_machine.travel("2026-11-18 10:00 +0800"), CaptureQueriesContext(connection) as fewer:
        client.get("/review/commitments/")
    assert len(fewer) == len(queries)


def test_one_outcome_only(as_user, reviewer, decided):
    number = decided("approve")
    response = verify(as_user(reviewer), number, "confirmed", "现场核查属实")
    assert response.status_code == 200, response.content
    commitment = Commitment.objects.get(application__number=number)
    assert commitment.outcome == "confirmed" and commitment.verified_by == reviewer and commitment.note == "现场核查属实"
    assert response.json()["commitment"]["outcome"] == "confirmed"
    assert AuditEvent.objects.get(object_id=number, action="commitment_verify").payload["outcome"] == "confirmed"
    with unchanged(number):
        again = verify(as_user(reviewer), number, "false", "不实")
    assert again.status_code == 409 and again.json()["code"] == "already_verified"
    assert Commitment.objects.get(pk=commitment.pk).outcome == "confirmed"


def test_bad_input_and_the_wrong_people_are_refused(as_user, reviewer, citizen, decided):
    number = decided("approve")
    client = as_user(reviewer)
    with unchanged(number):
        assert "outcome" in verify(client, number, "maybe").json()
        assert "note" in verify(as_user(UserFactory(head=True, department=reviewer.department)), number, "false").json()
        assert verify(client, number, "false", "场所不符").status_code == 403  # the head's to find
        assert verify(as_user(citizen), number, "confirmed").status_code == 403
        assert verify(as_user(UserFactory(reviewer=True)), number, "confirmed").status_code == 404
    assert Commitment.objects.get(application__number=number).outcome == ""


def test_no_verification_before_approval(as_user, reviewer, clerk, submitted):
    as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/")
    with unchanged(submitted):
        response = verify(as_user(reviewer), submitted, "confirmed")
    assert response.status_code == 409 and response.json()["code"] == "not_approved"


def test_false_revokes_the_certificate_with_the_reason(as_user, citizen, reviewer, issued):
    head = UserFactory(head=True, department=reviewer.department, real_name="刘洋")
    certificate = Certificate.objects.get(identifier=case(issued).certificate_identifier)
    assert certificate.status == "valid"
    response = verify(as_user(head), issued, "false", "现场核查发现无食品安全管理制度")
    assert response.status_code == 200, response.content
    certificate.refresh_from_db()
    assert certificate.status == "revoked" and certificate.revoked_by == head
    assert "告知承诺不实" in certificate.revoke_reason and "现场核查发现无食品安全管理制度" in certificate.revoke_reason
    event = AuditEvent.objects.get(object_id=issued, action="commitment_verify")
    assert event.payload["outcome"] == "false" and event.payload["certificate_revoked"] == certificate.identifier
    assert AuditEvent.objects.filter(object_id=certificate.identifier, action="certificate_revoke").exists()
    assert Notification.objects.filter(user=citizen, kind="commitment_false", application=issued).exists()


def test_false_before_issuance_refuses_issuance(as_user, reviewer, custodian, seal, decided, client):
    number = decided("approve")
    head = UserFactory(head=True, department=reviewer.department)
    assert verify(as_user(head), number, "false", "承诺的场所证明系伪造").status_code == 200
    client.force_login(custodian)
    with unchanged(number):
        response = client.post(f"/center/issuance/{number}/issue/", follow=True)
    assert "告知承诺经核查不实，不予签发" in response.content.decode()
    assert case(number).state == State.APPROVED and not Certificate.objects.exists()


def test_the_case_pages_sign_it_for_the_applicant_and_for_a_walk_in(client, citizen, clerk, item, draft):
    client.force_login(citizen)
    page = client.get(f"/my/cases/{draft}/").content.decode()
    assert "签署告知承诺书" in page and f"以告知承诺代替「{PROMISED}」" in page
    assert f"以告知承诺代替「食品经营许可申请书」" not in page
    response = client.post(f"/my/cases/{draft}/commitment/", {"commit-requirements": [requirement(item, PROMISED)]},
                           follow=True)
    body = response.content.decode()
    assert f"已签署告知承诺书，以承诺代替：{PROMISED}。" in body and "告知承诺书" in body and "撤销行政许可" in body
    assert "签署告知承诺书</h2>" not in body  # once
    assert Commitment.objects.get(application__number=draft).signed_by == citizen

    walk_in = services.application_create(actor=clerk, item_code=item.code, applicant={
        "name": "王小明", "id_type": "111", "id_number": "220102199003071235"})
    client.force_login(clerk)
    with unchanged(walk_in.number):
        refused = client.post(f"/window/cases/{walk_in.number}/commitment/",
                              {"commit-requirements": [requirement(item, "食品经营许可申请书")]}, follow=True)
    assert "所选材料不适用告知承诺制" in refused.content.decode()
    client.post(f"/window/cases/{walk_in.number}/commitment/", {"commit-requirements": [requirement(item, SITE_PROOF)]})
    assert Commitment.objects.get(application=walk_in).signed_by == clerk
