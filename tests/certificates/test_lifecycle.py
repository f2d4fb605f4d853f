"""Licence lifecycle by application (DESIGN §14): a renew/change/replace/cancel case names the held
certificate, checked at creation; issuance makes the next version of it or revokes it; the wallet shows the
chain of versions; expiry reminders at 90 and 30 days link to the renew item."""

from contextlib import contextmanager
from datetime import date

import pytest
import time_machine

from applications.models import Application, State
from certificates.models import Certificate, CertificateStatus
from certificates.services import certificate_expiry_sweep, certificate_revoke
from items.models import CertificateAction
from portal.models import AuditEvent, Notification
from seals.models import Issuance, Seal
from seals.services import seal_ca_init, seal_create
from seals.tasks import seal_issue_task
from tests.certificates.factories import PERSON_ID, CertificateTypeFactory, issue_certificate
from tests.factories import UserFactory, organisation_with_rep, published_item
from tests.files import upload

pytestmark = pytest.mark.django_db

CODES = {
    "issue": "11220100MB1234567K0100040400001",
    "renew": "11220100MB1234567K0100040400002",
    "change": "11220100MB1234567K0100040400003",
    "cancel": "11220100MB1234567K0100040400004",
    "replace": "11220100MB1234567K0100040400005",
}
NAMES = {"issue": "食品经营许可（新办）", "renew": "食品经营许可（延续）", "change": "食品经营许可（变更）",
         "cancel": "食品经营许可（注销）", "replace": "食品经营许可证补办"}


@pytest.fixture
def food(ccsj):
    return CertificateTypeFactory(code="FOOD-BIZ", name="食品经营许可证", department=ccsj, validity_years=5,
                                  renewal_grace_days=30)


@pytest.fixture
def items(food, ccsj):
    return {
        action: published_item(code=CODES[action], name=NAMES[action], department=ccsj, certificate_type=food,
                               certificate_action=action, audience=["1", "2"],
                               materials=[{"name": f"{NAMES[action]}申请书", "form": "original", "required": True}])
        for action in CODES
    }


@pytest.fixture
def holder(db):
    return UserFactory(real_name="张伟", id_type="111", id_number=PERSON_ID)


@pytest.fixture
def licence(food, holder):
    """Version 001 of the holder's 食品经营许可证, issued 2026-01-05, valid to 2031-01-04."""
    return issue_certificate(certificate_type=food, holder=holder, issued_on=date(2026, 1, 5))


def create(client, action, certificate="", **extra):
    return client.post("/api/v1/applications/", {"item": CODES[action], "certificate": certificate, **extra}, format="json")


def drive_to_issued(login_api, number, *, ccsj, when="2026-11-24 10:00 +0800"):
    """submit → accept → claim → approve → issue → the issuance task, every step through the API."""
    case = Application.objects.get(number=number)
    applicant = login_api(case.applicant)
    clerk, reviewer, custodian = UserFactory(clerk=True), UserFactory(reviewer=True, department=ccsj), UserFactory(custodian=True)
    with time_machine.travel(when):
        if not Seal.objects.filter(department=ccsj, status="active").exists():
            seal_ca_init()
            seal_create(department_code=ccsj.code)
        for requirement in case.item_version.materials.all():
            assert upload(applicant, number, requirement.pk).status_code == 201
        steps = [(applicant, "submit", {}), (login_api(clerk), "accept", {}), (login_api(reviewer), "claim", {}),
                 (login_api(reviewer), "approve", {"opinion": "材料齐全，符合法定条件，准予办理"}),
                 (login_api(custodian), "issue", {})]
        for client, action, body in steps:
            response = client.post(f"/api/v1/applications/{number}/{action}/", body, format="json")
            assert response.status_code in (200, 202), (action, response.json())
        issuance = Issuance.objects.get(application__number=number, status="pending")
        assert seal_issue_task.apply(args=[issuance.pk]).get() is True
    case.refresh_from_db()
    assert case.state == State.ISSUED
    return case


# ---------------------------------------------------------------------------------------------- renew


def test_a_renew_case_takes_version_001_to_002(login_api, client, items, licence, holder, ccsj):
    api = login_api(holder)
    with time_machine.travel("2026-11-20 10:00 +0800"):
        response = create(api, "renew", licence.identifier.lower())  # any letter case
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["held_certificate"]["identifier"] == licence.identifier
    assert (body["held_certificate"]["version"], body["held_certificate"]["status"]) == (1, "valid")
    case = Application.objects.get(number=body["number"])
    assert case.held_certificate == licence

    case = drive_to_issued(login_api, case.number, ccsj=ccsj)
    old, new = Certificate.objects.get(pk=licence.pk), Certificate.objects.get(identifier=case.certificate_identifier)
    assert (old.status, old.version) == (CertificateStatus.SUPERSEDED, 1)
    assert (new.status, new.version, new.serial) == (CertificateStatus.VALID, 2, licence.serial)
    assert new.identifier.split(".")[-2] == "002" and old.identifier.split(".")[-2] == "001"
    # 延续: a new period from the day of issue.
    assert (new.valid_from, new.valid_until) == (date(2026, 11, 24), date(2031, 11, 23))
    assert AuditEvent.objects.filter(action="certificate_supersede", object_id=old.identifier).exists()

    # Public verification of 001 says it was re-issued; 002 is valid.
    page = client.get(f"/verify/{old.identifier}/").content.decode()
    assert "已换发" in page
    assert login_api(holder).get(f"/api/v1/applications/{case.number}/").json()["held_certificate"]["status"] == "superseded"


def test_change_and_replace_keep_the_period_of_validity(login_api, items, licence, holder, ccsj):
    number = create(login_api(holder), "change", licence.identifier).json()["number"]
    case = drive_to_issued(login_api, number, ccsj=ccsj)
    changed = Certificate.objects.get(identifier=case.certificate_identifier)
    assert (changed.version, changed.valid_from, changed.valid_until) == (2, licence.valid_from, licence.valid_until)
    number = create(login_api(holder), "replace", changed.identifier).json()["number"]
    case = drive_to_issued(login_api, number, ccsj=ccsj, when="2026-11-26 10:00 +0800")
    replaced = Certificate.objects.get(identifier=case.certificate_identifier)
    assert (replaced.version, replaced.valid_until) == (3, licence.valid_until)
    assert list(Certificate.objects.filter(serial=licence.serial).order_by("version").values_list("status", flat=True)) == [
        "superseded", "superseded", "valid"]


def test_cancel_revokes_the_licence_and_issues_the_sealed_letter(login_api, client, items, licence, holder, ccsj):
    number = create(login_api(holder), "cancel", licence.identifier).json()["number"]
    case = drive_to_issued(login_api, number, ccsj=ccsj)
    licence.refresh_from_db()
    assert licence.status == CertificateStatus.REVOKED and licence.revoke_reason == "注销"
    assert case.certificate_identifier == ""  # no new certificate: the decision letter is the result
    letter = case.documents.get(kind="approval_decision")
    assert letter.context["document_title"] == "准予注销决定书"
    assert letter.context["held_certificate"]["identifier"] == licence.identifier
    assert letter.pdf and letter.pdf.read().startswith(b"%PDF-")
    event = AuditEvent.objects.get(action="certificate_revoke", object_id=licence.identifier)
    assert event.payload["application_number"] == case.number
    assert "已注销" in client.get(f"/verify/{licence.identifier}/").content.decode()


def test_an_organisation_renews_its_own_licence(login_api, items, food, ccsj):
    organisation, rep = organisation_with_rep(kind="2")
    licence = issue_certificate(certificate_type=food, holder_name=organisation.name, holder_id_type="001",
                                holder_id_number=organisation.credit_code)
    response = create(login_api(rep), "renew", licence.identifier, organisation=organisation.credit_code)
    assert response.status_code == 201, response.json()
    # The legal representative in person does not hold the organisation's licence.
    response = create(login_api(rep), "renew", licence.identifier)
    assert response.status_code == 400 and "未持有" in response.json()["certificate"][0]


# ---------------------------------------------------------------------------------------------- bad input


@contextmanager
def nothing_stored():
    """A refused request left no case, no audit event and no certificate change behind."""
    before = (Application.objects.count(), AuditEvent.objects.count(), list(Certificate.objects.values().order_by("pk")))
    yield
    assert (Application.objects.count(), AuditEvent.objects.count(), list(Certificate.objects.values().order_by("pk"))) == before


def refused(client, action, certificate, *, status=400, fragment=""):
    with nothing_stored():
        response = create(client, action, certificate)
    assert response.status_code == status, response.json()
    message = response.json()["certificate"][0] if status == 400 else response.json()["detail"]
    assert fragment in message, message
    return message


def test_a_certificate_the_applicant_does_not_hold_is_refused(login_api, items, licence):
    stranger = UserFactory(identified=True)
    refused(login_api(stranger), "renew", licence.identifier, fragment="申请人未持有证照")
    refused(login_api(stranger), "renew", "1.2.156.3005.2.FOOD-BIZ.NOPE", fragment="申请人未持有证照")


def test_a_certificate_of_another_type_is_refused(login_api, items, holder, ccsj):
    other = issue_certificate(certificate_type=CertificateTypeFactory(code="BIZ-LICENSE", name="营业执照", department=ccsj),
                              holder=holder)
    refused(login_api(holder), "renew", other.identifier, fragment="所选证照为「营业执照」，本事项办理的是「食品经营许可证」")


def test_a_revoked_certificate_is_refused(login_api, items, licence, holder, ccsj):
    certificate_revoke(actor=UserFactory(head=True, department=ccsj), certificate=licence, reason="吊销")
    refused(login_api(holder), "renew", licence.identifier, fragment="已于")
    refused(login_api(holder), "change", licence.identifier, fragment="注销，不能办理变更")


def test_a_cancel_of_a_superseded_version_is_refused(login_api, items, licence, holder, food):
    issue_certificate(certificate_type=food, holder=holder, previous=licence)
    refused(login_api(holder), "cancel", licence.identifier, fragment="已换发新版本")


def test_renewal_after_expiry_only_within_the_grace_window(login_api, items, licence, holder):
    # valid_until 2031-01-04, grace 30 days: 2031-02-03 is the last day to renew.
    with time_machine.travel("2031-02-03 10:00 +0800"):
        certificate_expiry_sweep()
        licence.refresh_from_db()
        assert licence.status == CertificateStatus.EXPIRED
        refused(login_api(holder), "change", licence.identifier, fragment="到期失效，不能办理变更")
        response = create(login_api(holder), "renew", licence.identifier)
        assert response.status_code == 201, response.json()
        login_api(holder).post(f"/api/v1/applications/{response.json()['number']}/withdraw/", {}, format="json")
    with time_machine.travel("2031-02-04 10:00 +0800"):
        refused(login_api(holder), "renew", licence.identifier, fragment="超过到期后 30 天的延续申请期限")


def test_a_second_open_case_on_the_same_certificate_is_a_409(login_api, items, licence, holder):
    first = create(login_api(holder), "renew", licence.identifier)
    assert first.status_code == 201
    message = refused(login_api(holder), "change", licence.identifier, status=409)
    assert first.json()["number"] in message
    # Once the first is withdrawn the certificate is free again.
    assert login_api(holder).post(f"/api/v1/applications/{first.json()['number']}/withdraw/", {}, format="json").status_code == 200
    assert create(login_api(holder), "change", licence.identifier).status_code == 201


def test_an_issue_item_refuses_a_certificate_and_a_lifecycle_item_needs_one(login_api, items, licence, holder):
    refused(login_api(holder), "issue", licence.identifier, fragment="新办事项，不能指定所持证照")
    refused(login_api(holder), "renew", "", fragment="办理延续须选择所持有的「食品经营许可证」")


def test_the_window_checks_the_certificate_of_the_walk_in(login_api, items, licence, holder, hall):
    clerk = UserFactory(clerk=True, hall=hall)
    applicant = {"name": "张伟", "id_type": "111", "id_number": PERSON_ID}
    response = create(login_api(clerk), "renew", licence.identifier, applicant=applicant)
    assert response.status_code == 201, response.json()
    assert Application.objects.get(number=response.json()["number"]).held_certificate == licence
    other = {"name": "李四", "id_type": "111", "id_number": "110101199003078515"}
    with nothing_stored():
        response = create(login_api(clerk), "change", licence.identifier, applicant=other)
    assert response.status_code == 400 and "未持有" in response.json()["certificate"][0]


# ---------------------------------------------------------------------------------------------- pages


def test_every_case_page_shows_the_held_certificate(client, login_api, items, licence, holder, hall, ccsj):
    number = create(login_api(holder), "renew", licence.identifier).json()["number"]
    client.force_login(holder)
    page = client.get(f"/my/cases/{number}/").content.decode()
    assert "延续证照" in page and licence.identifier in page and "第 1 版" in page
    case = Application.objects.get(number=number)
    for requirement in case.item_version.materials.all():
        upload(login_api(holder), number, requirement.pk)
    assert login_api(holder).post(f"/api/v1/applications/{number}/submit/").status_code == 200
    clerk, reviewer = UserFactory(clerk=True, hall=hall), UserFactory(reviewer=True, department=ccsj)
    for user, url in ((clerk, f"/window/cases/{number}/"), (reviewer, f"/review/cases/{number}/")):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert "延续证照" in page and licence.identifier in page, url


def test_the_wallet_shows_the_chain_and_the_actions(client, items, licence, holder, food):
    second = issue_certificate(certificate_type=food, holder=holder, previous=licence, issued_on=date(2026, 6, 1))
    client.force_login(holder)
    page = client.get("/my/certificates/").content.decode()
    assert second.identifier in page and licence.identifier in page
    assert page.index(second.identifier) < page.index(licence.identifier)  # the current version first
    assert "已换发" in page and "2026-06-01" in page
    for action, label in (("renew", "延续"), ("change", "变更"), ("replace", "补证"), ("cancel", "注销")):
        assert f"/apply/{CODES[action]}/?certificate={second.identifier}" in page, action
        assert label in page
    # The apply page offers the held certificate, preselected.
    apply = client.get(f"/apply/{CODES['renew']}/", {"certificate": second.identifier}).content.decode()
    assert second.identifier in apply and licence.identifier not in apply


def test_the_apply_page_files_a_renewal(client, items, licence, holder):
    client.force_login(holder)
    response = client.post(f"/apply/{CODES['renew']}/", {
        "applying_as": "self", "description": "延续食品经营许可", "contact_phone": "13800000000",
        "certificate": licence.identifier,
    })
    assert response.status_code == 302, response.context["form"].errors
    case = Application.objects.get(item_version__item__code=CODES["renew"])
    assert case.held_certificate == licence


# ---------------------------------------------------------------------------------------------- reminders


def test_reminders_at_90_and_30_days_each_once_with_the_renew_link(items, licence, holder):
    # valid_until 2031-01-04: 90 days before is 2030-10-06, 30 days before is 2030-12-05.
    with time_machine.travel("2030-10-05 09:00 +0800"):
        assert certificate_expiry_sweep()["reminded"] == 0
    with time_machine.travel("2030-10-06 09:00 +0800"):
        assert certificate_expiry_sweep()["reminded"] == 1
        assert certificate_expiry_sweep()["reminded"] == 0
    with time_machine.travel("2030-12-04 09:00 +0800"):
        assert certificate_expiry_sweep()["reminded"] == 0
    with time_machine.travel("2030-12-05 09:00 +0800"):
        assert certificate_expiry_sweep()["reminded"] == 1
        assert certificate_expiry_sweep()["reminded"] == 0
    notes = list(Notification.objects.filter(kind="certificate_expiring", user=holder).order_by("pk"))
    assert len(notes) == 2
    assert "还有 90 天" in notes[0].message and "还有 30 天" in notes[1].message
    for note in notes:
        assert f"/apply/{CODES['renew']}/?certificate={licence.identifier}" in note.message


def test_a_reminder_without_a_renew_item_says_to_contact_the_department(holder, ccsj):
    plain = CertificateTypeFactory(code="PLAIN", name="某许可证", department=ccsj, validity_years=1)
    certificate = issue_certificate(certificate_type=plain, holder=holder, issued_on=date(2026, 1, 5))
    with time_machine.travel("2026-12-05 09:00 +0800"):
        assert certificate_expiry_sweep()["reminded"] == 1
    note = Notification.objects.get(kind="certificate_expiring", user=holder)
    assert "/apply/" not in note.message and ccsj.name in note.message and certificate.type.name in note.message


def test_a_certificate_issued_less_than_30_days_before_its_end_gets_one_reminder(holder, ccsj):
    plain = CertificateTypeFactory(code="SHORT", name="临时许可证", department=ccsj, validity_years=1)
    issue_certificate(certificate_type=plain, holder=holder, issued_on=date(2026, 1, 5))
    with time_machine.travel("2026-12-20 09:00 +0800"):  # 15 days before: one reminder, not two at once
        assert certificate_expiry_sweep()["reminded"] == 1
        assert certificate_expiry_sweep()["reminded"] == 0
    assert Notification.objects.filter(kind="certificate_expiring", user=holder).count() == 1


def test_items_fixture_actions(items):
    assert {item.current_version.certificate_action for item in items.values()} == set(CertificateAction.values)
