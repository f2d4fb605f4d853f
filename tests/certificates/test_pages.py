"""Certificate pages through django.test.Client: public verification (by identifier and by file), the
wallet, the department head's list and revocation, the admin; bounded queries."""

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from certificates.models import CertificateStatus
from certificates.services import certificate_revoke
from portal.models import AuditEvent, Notification
from portal.security import FILE_POLICY
from tests.assertions import unchanged
from tests.certificates.factories import (
    FOOD_FACE_DATA,
    PERSON_ID,
    PERSON_ID_MASKED,
    CertificateTypeFactory,
    issue_certificate,
    marked_signature,
)
from tests.certificates.test_verification import VALIDATOR
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def certificate(food_type, holder):
    with time_machine.travel("2026-11-24 10:00 +0800"):
        return issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA, sign=marked_signature)


# --- public verification ---------------------------------------------------------------------------------


def test_the_verification_page_of_a_valid_certificate(certificate):
    response = Client().get(f"/verify/{certificate.identifier}/")
    assert response.status_code == 200
    body = text(response)
    assert '<p class="status-big" id="status-title">有效</p>' in body
    for expected in ("食品经营许可证", "长春市市场监督管理局", "张伟", PERSON_ID_MASKED, "2026年11月24日", "2031年11月23日",
                     certificate.identifier):
        assert expected in body
    assert PERSON_ID not in body
    assert "热食类食品制售" not in body  # face data stays on the certificate


def test_the_verification_page_of_a_revoked_and_a_superseded_certificate(certificate, head, holder, food_type):
    certificate_revoke(actor=head, certificate=certificate, reason="以欺骗手段取得许可")
    body = text(Client().get(f"/verify/{certificate.identifier}/"))
    assert '<p class="status-big" id="status-title">已注销</p>' in body and "注销原因：以欺骗手段取得许可" in body
    old = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    new = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA, previous=old)
    body = text(Client().get(f"/verify/{old.identifier}/"))
    assert '<p class="status-big" id="status-title">已换发</p>' in body and new.identifier in body


def test_the_verification_page_of_an_expired_certificate(ccsj, holder):
    one_year = CertificateTypeFactory(code="ONE-YEAR", department=ccsj, validity_years=1)
    with time_machine.travel("2026-01-10 10:00 +0800"):
        short = issue_certificate(certificate_type=one_year, holder=holder)
    with time_machine.travel("2027-01-10 10:00 +0800"):
        body = text(Client().get(f"/verify/{short.identifier}/"))
    assert '<p class="status-big" id="status-title">已过期</p>' in body and "2027年1月9日" in body


@pytest.mark.parametrize(("identifier", "says"), [
    ("1.2.156.3005.2.FOOD-BIZ.11220100MB1234567K.00000009.001.9", "本平台没有签发过"),
    ("1.2.156.3005.2.FOOD-BIZ.11220100MB1234567K.00000001.001.R", "校验位不符"),
])
def test_an_unknown_identifier_is_a_404_page(certificate, identifier, says):
    response = Client().get(f"/verify/{identifier}/")
    assert response.status_code == 404
    body = text(response)
    assert "未找到该电子证照" in body and says in body and identifier in body


def test_the_verify_form_goes_to_the_identifier_page(certificate):
    response = Client().get("/verify/", {"identifier": f"  {certificate.identifier} "})
    assert response.status_code == 302 and response.url == f"/verify/{certificate.identifier}/"
    page = Client().get("/verify/")
    assert page.status_code == 200 and "按证照标识或许可证编号查询" in text(page) and "上传证照文件核验" in text(page)
    assert "请输入证照标识" in text(Client().get("/verify/", {"identifier": ""}))


def test_uploading_the_issued_file(certificate, settings):
    settings.PDF_SIGNATURE_VALIDATOR = VALIDATOR
    upload = SimpleUploadedFile("证照.pdf", certificate.pdf.read(), content_type="application/pdf")
    client = Client(enforce_csrf_checks=False)
    body = text(client.post("/verify/", {"file": upload}))
    assert "核验通过：该文件是本平台签发的电子证照原件" in body
    assert "与签发时的文件逐字节一致" in body and "电子签章：</b>有效" in body
    assert "cert-status-valid" in body and certificate.identifier in body and PERSON_ID_MASKED in body


def test_uploading_a_changed_file(certificate, settings):
    settings.PDF_SIGNATURE_VALIDATOR = VALIDATOR
    data = bytearray(certificate.pdf.read())
    data[2000] ^= 0x01
    body = text(Client().post("/verify/", {"file": SimpleUploadedFile("证照.pdf", bytes(data))}))
    assert "核验未通过：该文件不是本平台签发的原始文件" in body
    assert "与任何签发记录都不一致" in body


def test_uploading_a_revoked_certificate_warns(certificate, head, settings):
    settings.PDF_SIGNATURE_VALIDATOR = VALIDATOR
    certificate_revoke(actor=head, certificate=certificate, reason="申请人申请注销")
    body = text(Client().post("/verify/", {"file": SimpleUploadedFile("证照.pdf", certificate.pdf.read())}))
    assert "核验通过" in body and "该证照当前状态为「已注销」" in body


def test_uploading_something_else_is_refused_next_to_the_field(settings):
    settings.PDF_SIGNATURE_VALIDATOR = VALIDATOR
    response = Client().post("/verify/", {"file": SimpleUploadedFile("证照.pdf", b"\x89PNG\r\n\x1a\n....")})
    assert response.status_code == 200
    assert "只能核验 PDF 格式的电子证照文件" in text(response)
    assert "请选择要核验的 PDF 文件" in text(Client().post("/verify/", {}))


# --- the wallet -------------------------------------------------------------------------------------------


def test_the_wallet_lists_the_holders_certificates_with_downloads(certificate, licence_type, holder, head):
    licence = issue_certificate(certificate_type=licence_type, holder=None)  # reached by the ID number
    certificate_revoke(actor=head, certificate=licence, reason="申请人申请注销")
    issue_certificate(certificate_type=licence_type, holder_name="李四", holder_id_number="110101199003074311")
    response = login(holder).get("/my/certificates/")
    assert response.status_code == 200
    body = text(response)
    assert "食品经营许可证" in body and "营业执照" in body and "李四" not in body
    assert f'href="/certificates/{certificate.identifier}/pdf/"' in body
    assert f'href="/verify/{certificate.identifier}/"' in body
    assert "cert-status-valid" in body and "cert-status-revoked" in body


def test_the_wallet_needs_a_login_and_can_be_empty(db):
    response = Client().get("/my/certificates/")
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert "您名下还没有电子证照" in text(login(UserFactory(identified=True)).get("/my/certificates/"))


def test_the_wallet_has_bounded_queries(food_type, holder):
    def count() -> int:
        client = login(holder)
        client.get("/my/certificates/")  # session and first-request work out of the way
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/my/certificates/").status_code == 200
        return len(queries)

    issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    one = count()
    for _ in range(5):
        issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    assert count() == one


def test_downloading_from_the_wallet(certificate, holder):
    response = login(holder).get(f"/certificates/{certificate.identifier}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    # A download, sandboxed should it be opened in the browser, never kept by a cache (decision 040).
    assert response["Content-Disposition"] == f'attachment; filename="{certificate.identifier}.pdf"'
    assert response["Content-Security-Policy"] == FILE_POLICY and response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content) == certificate.pdf.read()
    stranger = UserFactory(identified=True)
    assert login(stranger).get(f"/certificates/{certificate.identifier}/pdf/").status_code == 404


# --- the department head ------------------------------------------------------------------------------------


def test_the_head_lists_and_revokes(certificate, head, holder):
    client = login(head)
    page = client.get("/dept/certificates/")
    assert page.status_code == 200
    body = text(page)
    assert certificate.identifier in body and PERSON_ID_MASKED in body and PERSON_ID not in body
    assert f'action="/dept/certificates/{certificate.identifier}/revoke/"' in body
    response = client.post(f"/dept/certificates/{certificate.identifier}/revoke/", {"reason": "以欺骗手段取得许可"})
    assert response.status_code == 302 and response.url == "/dept/certificates/"
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.REVOKED and certificate.revoked_by == head
    assert AuditEvent.objects.filter(action="certificate_revoke", object_id=certificate.identifier).count() == 1
    assert Notification.objects.filter(user=holder, kind="certificate_revoked").exists()
    body = text(client.get("/dept/certificates/"))
    assert "已注销" in body and "以欺骗手段取得许可" in body and "确认注销" not in body


def test_revoking_without_a_reason_shows_the_error_and_changes_nothing(certificate, head):
    with unchanged(certificate):
        response = login(head).post(f"/dept/certificates/{certificate.identifier}/revoke/", {"reason": ""})
    assert response.status_code == 400
    assert "请填写注销原因" in text(response) and "<details class=\"revoke\" open>" in text(response)
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.VALID


def test_the_head_list_filters(certificate, licence_type, head):
    issue_certificate(certificate_type=licence_type, holder_name="李四", holder_id_number="110101199003074311")
    body = text(login(head).get("/dept/certificates/", {"q": "李四"}))
    assert "李四" in body and certificate.identifier not in body
    body = text(login(head).get("/dept/certificates/", {"status": "revoked"}))
    assert "没有符合条件的证照" in body


def test_the_department_page_is_for_heads_only(certificate, reviewer, holder, other_head):
    assert login(reviewer).get("/dept/certificates/").status_code == 404
    assert login(holder).get("/dept/certificates/").status_code == 404
    assert Client().get("/dept/certificates/").status_code == 302
    # Another department's head: their own (empty) list; this certificate is not theirs to see or revoke.
    assert certificate.identifier not in text(login(other_head).get("/dept/certificates/"))
    response = login(other_head).post(f"/dept/certificates/{certificate.identifier}/revoke/", {"reason": "理由"})
    assert response.status_code == 404
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.VALID


def test_the_department_page_has_bounded_queries(food_type, head, holder):
    def count() -> int:
        client = login(head)
        client.get("/dept/certificates/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/dept/certificates/").status_code == 200
        return len(queries)

    first = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    certificate_revoke(actor=head, certificate=first, reason="申请人申请注销")
    one = count()
    for _ in range(5):
        revoked = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
        certificate_revoke(actor=head, certificate=revoked, reason="申请人申请注销")
    assert count() == one


# --- navigation and admin ----------------------------------------------------------------------------------


def test_the_navigation_links_verify_and_the_wallet(holder):
    body = text(login(holder).get("/my/certificates/"))
    assert 'href="/verify/"' in body and 'href="/my/certificates/"' in body


def test_the_admin_shows_certificates_read_only(certificate):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = login(admin)
    listing = client.get("/admin/certificates/certificate/")
    assert listing.status_code == 200 and certificate.identifier in text(listing) and PERSON_ID not in text(listing)
    change = client.get(f"/admin/certificates/certificate/{certificate.pk}/change/")
    assert change.status_code == 200
    assert PERSON_ID_MASKED in text(change) and PERSON_ID not in text(change)
    assert 'name="pdf"' not in text(change) and 'name="status"' not in text(change)
    with unchanged(certificate):
        assert client.post(f"/admin/certificates/certificate/{certificate.pk}/change/", {"holder_name": "王五"}).status_code == 403
        assert client.get("/admin/certificates/certificate/add/").status_code == 403
        assert client.post(f"/admin/certificates/certificate/{certificate.pk}/delete/", {"post": "yes"}).status_code == 403
    certificate.refresh_from_db()
    assert certificate.holder_name == "张伟"
    assert login(UserFactory(is_staff=True, catalogue_admin=True)).get("/admin/certificates/certificate/").status_code == 403
