"""The certificate API through APIClient by URL: who sees what, revocation boundaries, public verification."""

import hashlib

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from certificates.models import CertificateStatus
from certificates.services import certificate_revoke
from portal.models import AuditEvent
from portal.security import FILE_POLICY
from tests.assertions import unchanged
from tests.certificates.factories import (
    COMPANY_CODE,
    FOOD_FACE_DATA,
    PERSON_ID,
    PERSON_ID_MASKED,
    CertificateTypeFactory,
    issue_certificate,
    marked_signature,
)
from tests.certificates.test_verification import VALIDATOR
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def certificate(food_type, holder):
    with time_machine.travel("2026-11-24 10:00 +0800"):
        return issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA, sign=marked_signature)


@pytest.fixture
def other_certificate(db):
    """Issued by another department to someone else."""
    department = DepartmentFactory(name="长春市交通运输局")
    kind = CertificateTypeFactory(code="TAXI", name="网络预约出租汽车运输证", department=department)
    return issue_certificate(certificate_type=kind, holder_name="李四有限公司", holder_id_type="001", holder_id_number=COMPANY_CODE)


def url(certificate, suffix="") -> str:
    return f"/api/v1/certificates/{certificate.identifier}/{suffix}"


# --- lists and details ----------------------------------------------------------------------------------


def test_the_holder_lists_their_own(certificate, other_certificate, holder):
    response = client_for(holder).get("/api/v1/certificates/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["identifier"] == certificate.identifier
    assert item["type"] == {"code": "FOOD-BIZ", "name": "食品经营许可证"}
    assert item["holder"] == {"name": "张伟", "id_type": "111", "id_masked": PERSON_ID_MASKED}
    assert item["issuer"] == "长春市市场监督管理局"
    assert (item["issued_on"], item["valid_until"], item["status"]) == ("2026-11-24", "2031-11-23", "valid")
    assert item["sha256"] == certificate.sha256
    assert PERSON_ID not in response.content.decode()


@pytest.mark.parametrize(("who", "sees"), [
    ("head", {"mine"}), ("reviewer", {"mine"}), ("other_head", {"other"}), ("supervisor", {"mine", "other"}),
    ("clerk", set()), ("stranger", set()),
])
def test_who_lists_what(certificate, other_certificate, who, sees, request):
    users = {"supervisor": lambda: UserFactory(supervisor=True), "clerk": lambda: UserFactory(clerk=True),
             "stranger": lambda: UserFactory(identified=True)}
    user = users[who]() if who in users else request.getfixturevalue(who)
    if who == "other_head":
        user.department = other_certificate.issuer
        user.save()
    response = client_for(user).get("/api/v1/certificates/")
    assert response.status_code == 200
    expected = {{"mine": certificate, "other": other_certificate}[name].identifier for name in sees}
    assert {item["identifier"] for item in response.json()["results"]} == expected


def test_anonymous_is_refused(certificate):
    assert client_for().get("/api/v1/certificates/").status_code in (401, 403)
    assert client_for().get(url(certificate)).status_code in (401, 403)
    assert client_for().get(url(certificate, "pdf/")).status_code in (401, 403)


def test_list_filters(certificate, licence_type, holder, head):
    licence = issue_certificate(certificate_type=licence_type, holder=holder)
    certificate_revoke(actor=head, certificate=licence, reason="申请人申请注销")
    client = client_for(holder)
    assert [c["identifier"] for c in client.get("/api/v1/certificates/?status=valid").json()["results"]] == [certificate.identifier]
    assert [c["identifier"] for c in client.get("/api/v1/certificates/?status=revoked").json()["results"]] == [licence.identifier]
    assert [c["identifier"] for c in client.get("/api/v1/certificates/?type=BIZ-LICENSE").json()["results"]] == [licence.identifier]
    response = client.get("/api/v1/certificates/?status=lost")
    assert response.status_code == 400 and "status" in response.json()


def test_detail_and_another_users_certificate_is_404(certificate, other_certificate, holder):
    client = client_for(holder)
    response = client.get(url(certificate))
    assert response.status_code == 200
    body = response.json()
    assert body["face_data"] == FOOD_FACE_DATA
    assert body["can_revoke"] is False
    assert body["pdf_url"] == url(certificate, "pdf/")
    assert client.get(url(other_certificate)).status_code == 404
    assert client.get(url(other_certificate, "pdf/")).status_code == 404
    assert client.get("/api/v1/certificates/1.2.156.3005.2.NOPE.11220100MB1234567K.00000001.001.Q/").status_code == 404


def test_the_pdf_is_the_file_as_issued(certificate, holder, reviewer):
    response = client_for(holder).get(url(certificate, "pdf/"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;") and response["Content-Security-Policy"] == FILE_POLICY
    assert response["X-Content-Type-Options"] == "nosniff" and response["Cache-Control"] == "no-store"
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == certificate.sha256
    assert not AuditEvent.objects.filter(action="certificate_read").exists()  # the holder's own: not recorded
    # Staff reading someone's certificate (the full ID number is on it) is recorded.
    assert client_for(reviewer).get(url(certificate, "pdf/")).status_code == 200
    event = AuditEvent.objects.get(action="certificate_read")
    assert (event.actor, event.object_id) == (reviewer, certificate.identifier)


# --- revocation -----------------------------------------------------------------------------------------


def test_the_head_of_the_issuing_department_revokes(certificate, head):
    response = client_for(head).post(url(certificate, "revoke/"), {"reason": "以欺骗手段取得许可"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "revoked" and response.json()["revoke_reason"] == "以欺骗手段取得许可"
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.REVOKED
    with unchanged(certificate):
        again = client_for(head).post(url(certificate, "revoke/"), {"reason": "再次注销"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_a_reason_is_required(certificate, head):
    with unchanged(certificate):
        response = client_for(head).post(url(certificate, "revoke/"), {"reason": " "}, format="json")
        assert response.status_code == 400 and "reason" in response.json()
        response = client_for(head).post(url(certificate, "revoke/"), {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.VALID


@pytest.mark.parametrize(("who", "code"), [("reviewer", 403), ("holder", 403), ("other_head", 404)])
def test_others_cannot_revoke(certificate, who, code, request):
    actor = request.getfixturevalue(who)
    with unchanged(certificate):
        response = client_for(actor).post(url(certificate, "revoke/"), {"reason": "理由"}, format="json")
    assert response.status_code == code
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.VALID


def test_a_supervisor_sees_but_cannot_revoke(certificate):
    supervisor = UserFactory(supervisor=True)
    with unchanged(certificate):
        response = client_for(supervisor).post(url(certificate, "revoke/"), {"reason": "理由"}, format="json")
    assert response.status_code == 403


# --- public verification ----------------------------------------------------------------------------------


def test_verify_by_identifier_is_public_and_masks_the_holder(certificate):
    response = client_for().get(f"/api/v1/verify/{certificate.identifier}/")
    assert response.status_code == 200
    body = response.json()
    assert body["identifier"] == certificate.identifier
    assert body["type"] == {"code": "FOOD-BIZ", "name": "食品经营许可证"}
    assert body["holder"]["name"] == "张伟" and body["holder"]["id_masked"] == "220102********1235"
    assert body["issuer"] == "长春市市场监督管理局"
    assert (body["issued_on"], body["valid_until"], body["status"]) == ("2026-11-24", "2031-11-23", "valid")
    text = response.content.decode()
    assert PERSON_ID not in text and "face_data" not in text and "sha256" not in text


def test_verify_shows_revoked_expired_and_superseded(certificate, head, holder, food_type, ccsj):
    certificate_revoke(actor=head, certificate=certificate, reason="以欺骗手段取得许可")
    body = client_for().get(f"/api/v1/verify/{certificate.identifier}/").json()
    # Why it was revoked is part of the public answer (DESIGN §14): whoever relies on the licence must know.
    assert (body["status"], body["revoke_reason"]) == ("revoked", "以欺骗手段取得许可")
    old = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    new = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA, previous=old)
    body = client_for().get(f"/api/v1/verify/{old.identifier}/").json()
    assert (body["status"], body["current_identifier"]) == ("superseded", new.identifier)
    one_year = CertificateTypeFactory(code="ONE-YEAR", department=ccsj, validity_years=1)
    with time_machine.travel("2026-01-10 10:00 +0800"):
        short = issue_certificate(certificate_type=one_year, holder=holder)
    with time_machine.travel("2027-01-10 10:00 +0800"):
        assert client_for().get(f"/api/v1/verify/{short.identifier}/").json()["status"] == "expired"


@pytest.mark.parametrize("identifier", [
    "1.2.156.3005.2.FOOD-BIZ.11220100MB1234567K.00000009.001.9",  # well formed, never issued
    "1.2.156.3005.2.FOOD-BIZ.11220100MB1234567K.00000001.001.R",  # check character wrong
    "nonsense",
])
def test_verify_an_unknown_identifier_is_404(certificate, identifier):
    assert client_for().get(f"/api/v1/verify/{identifier}/").status_code == 404


def pdf_upload(data: bytes, name="证照.pdf"):
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def test_verify_a_file(certificate, settings):
    settings.PDF_SIGNATURE_VALIDATOR = VALIDATOR
    data = certificate.pdf.read()
    response = client_for().post("/api/v1/verify/", {"file": pdf_upload(data)}, format="multipart")
    assert response.status_code == 200
    assert response.json() == {"genuine": True, "signature_valid": True, "identifier": certificate.identifier, "status": "valid"}
    changed = bytearray(data)
    changed[1000] ^= 0x20
    response = client_for().post("/api/v1/verify/", {"file": pdf_upload(bytes(changed))}, format="multipart")
    assert response.status_code == 200
    assert response.json()["genuine"] is False and response.json()["identifier"] is None


@pytest.mark.parametrize(("data", "name"), [
    (b"GIF89a\x01\x00", "证照.pdf"),  # not a PDF whatever its name says
    (b"", "empty.pdf"),
    (b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024), "big.pdf"),
])
def test_verify_refuses_what_is_not_a_pdf_or_too_big(settings, data, name):
    settings.PDF_SIGNATURE_VALIDATOR = VALIDATOR
    response = client_for().post("/api/v1/verify/", {"file": pdf_upload(data, name)}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_verify_without_a_file_names_the_field(settings):
    response = client_for().post("/api/v1/verify/", {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()
