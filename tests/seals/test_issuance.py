"""One seal (DESIGN §7): the closed loop, signed PDFs that pdfsig accepts, and every use in the audit chain."""

import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from applications.models import Application, Document
from portal.audit import audit_verify
from portal.models import AuditEvent
from seals.models import Issuance, Seal, SealAuthority, SealUse
from seals.services import seal_create, seal_issue_complete, seal_revoke
from seals.signing import pdf_signature_is_valid
from seals.tasks import seal_issue_task
from tests.assertions import unchanged
from tests.factories import UserFactory, published_item

pytestmark = pytest.mark.django_db

# Kept for people to look at (CI keeps test-artifacts/): the sealed documents as issued.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARTIFACTS.mkdir(exist_ok=True)


def issue(client, number):
    return client.post(f"/api/v1/applications/{number}/issue/")


def run_issuance(number):
    """What the worker does with the queued task (run here in-process, through the task itself)."""
    issuance = Issuance.objects.get(application__number=number, status="pending")
    assert seal_issue_task.apply(args=[issuance.pk]).get() is True


def pdfsig(path: Path, nss_dir: Path | None = None) -> str:
    args = ["pdfsig", *(["-nssdir", f"sql:{nss_dir}"] if nss_dir else []), str(path)]
    return subprocess.run(args, capture_output=True, text=True).stdout


def trusted_nss_db(tmp_path, authority) -> Path:
    """An NSS database that trusts our CA, as a PDF reader configured for the city would."""
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    ca = tmp_path / "ca.pem"
    ca.write_text(authority.certificate_pem)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", "center-ca", "-t", "CT,C,C", "-i", str(ca)], check=True)
    return nss


class TestCommands:
    def test_init_seal_ca_is_idempotent(self, capsys):
        call_command("init_seal_ca")
        call_command("init_seal_ca")
        assert SealAuthority.objects.count() == 1
        assert "已存在" in capsys.readouterr().out

    def test_create_seal(self, authority, item, capsys):
        call_command("create_seal", "--department", item.department.code)
        seal = Seal.objects.get(department=item.department)
        assert seal.name == f"{item.department.name}行政审批专用章" and seal.status == "active"
        assert bytes(seal.image).startswith(b"\x89PNG")
        # The key is stored encrypted: no PEM private key anywhere in the row.
        assert b"PRIVATE KEY" not in bytes(seal.encrypted_key)
        with pytest.raises(CommandError, match="已有启用中"):
            call_command("create_seal", "--department", item.department.code)
        with pytest.raises(CommandError, match="--department: 部门 NOPE 不存在"):
            call_command("create_seal", "--department", "NOPE")


class TestClosedLoop:
    def test_custodian_issues_a_certificate(self, as_user, custodian, seal, decided, citizen, tmp_path, authority):
        number = decided("approve")
        response = issue(as_user(custodian), number)
        assert response.status_code == 202
        assert response.json()["state"] == "approved" and response.json()["issuing"] is True
        run_issuance(number)
        case = Application.objects.get(number=number)
        assert case.state == "issued" and not case.issuing and case.certificate_identifier
        use = SealUse.objects.get(application=case)
        assert (use.seal, use.custodian, use.decision) == (seal, custodian, "approved")
        event = AuditEvent.objects.get(chain=use.audit_chain, seq=use.audit_seq)
        assert event.action == "seal_use" and event.payload["document_sha256"] == use.document_sha256
        assert audit_verify()[1] is None
        body = as_user(citizen).get(f"/api/v1/applications/{number}/").json()
        assert body["state"] == "issued" and body["certificate"] == case.certificate_identifier
        # The e-certificate is signed by the seal, and that signature chains to the center CA.
        from certificates.models import Certificate

        certificate = Certificate.objects.get(identifier=case.certificate_identifier)
        signed = certificate.pdf.read()
        assert pdf_signature_is_valid(signed)
        assert certificate.sha256 == use.document_sha256
        path = ARTIFACTS / "sealed-certificate.pdf"
        path.write_bytes(signed)
        report = pdfsig(path, trusted_nss_db(tmp_path, authority))
        assert "Signature is Valid" in report and "Certificate is Trusted" in report, report
        # One message tells the applicant, naming the certificate (not a case notice and a certificate notice).
        from portal.models import Notification

        told = Notification.objects.filter(user=citizen, kind__in=["issued", "certificate_issued"])
        assert [n.kind for n in told] == ["issued"]
        assert case.certificate_identifier in told[0].message and certificate.type.name in told[0].message

    def test_rejection_letter_is_sealed_and_pdfsig_trusts_it(self, as_user, custodian, seal, decided, tmp_path, authority):
        number = decided("reject")
        assert issue(as_user(custodian), number).status_code == 202
        run_issuance(number)
        document = Document.objects.get(application__number=number, kind="rejection_decision")
        path = ARTIFACTS / "sealed-rejection-decision.pdf"
        path.write_bytes(document.pdf.read())
        report = pdfsig(path, trusted_nss_db(tmp_path, authority))
        assert "Signature is Valid" in report, report
        assert "Certificate is Trusted" in report, report
        assert seal.name in report
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
        assert "不予行政许可决定书" in text and "行政复议" in text
        assert pdf_signature_is_valid(path.read_bytes())

    def test_one_changed_byte_breaks_the_signature(self, as_user, custodian, seal, decided, tmp_path):
        number = decided("reject")
        issue(as_user(custodian), number)
        run_issuance(number)
        data = bytearray(Document.objects.get(application__number=number, kind="rejection_decision").pdf.read())
        position = data.index(b"/Contents") - 200  # inside the signed range, before the signature
        data[position] = ord("X") if data[position] != ord("X") else ord("Y")
        tampered = tmp_path / "tampered.pdf"
        tampered.write_bytes(bytes(data))
        assert "Signature is Valid" not in pdfsig(tampered)
        assert pdf_signature_is_valid(bytes(data)) is False

    def test_department_staff_cannot_issue(self, as_user, reviewer, head, seal, decided):
        number = decided("approve")
        with unchanged(number):
            assert issue(as_user(reviewer), number).status_code == 403
            assert issue(as_user(head), number).status_code == 403
        assert not Issuance.objects.exists() and Application.objects.get(number=number).state == "approved"

    def test_the_reviewer_who_decided_cannot_stamp_it_after_becoming_a_custodian(self, as_user, client, reviewer, seal, decided):
        """审批与用印分离 by person: a role change does not let the decider stamp their own decision."""
        number = decided("approve")
        reviewer.role, reviewer.department = "custodian", None
        reviewer.save(update_fields=["role", "department"])
        events = AuditEvent.objects.count()
        with unchanged(number):
            response = issue(as_user(reviewer), number)
        assert response.status_code == 403 and "不能为其用印签发" in response.json()["detail"]
        assert not Issuance.objects.exists() and AuditEvent.objects.count() == events
        case = Application.objects.get(number=number)
        assert case.state == "approved" and not case.issuing
        # The queue page says why instead of offering the button; the page's POST is refused the same way.
        client.force_login(reviewer)
        page = client.get("/center/issuance/").content.decode()
        assert "不能为其用印签发" in page and f"/center/issuance/{number}/issue/" not in page
        with unchanged(number):
            client.post(f"/center/issuance/{number}/issue/")
        assert not Issuance.objects.exists()

    def test_custodian_cannot_decide(self, as_user, custodian, clerk, reviewer, submitted):
        as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/")
        as_user(reviewer).post(f"/api/v1/applications/{submitted}/claim/")
        # Custodians see decided cases only: an undecided one is not theirs to see.
        with unchanged(submitted):
            response = as_user(custodian).post(f"/api/v1/applications/{submitted}/approve/", {"opinion": "同意"}, format="json")
        assert response.status_code == 404
        assert Application.objects.get(number=submitted).state == "in_review"

    def test_undecided_case_cannot_be_stamped(self, as_user, custodian, seal, clerk, submitted):
        as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/")
        with unchanged(submitted):
            assert issue(as_user(custodian), submitted).status_code == 404

    def test_second_issue_click_is_refused(self, as_user, custodian, seal, decided):
        number = decided("approve")
        client = as_user(custodian)
        assert issue(client, number).status_code == 202
        with unchanged(number):
            second = issue(client, number)
        assert second.status_code == 409 and second.json()["code"] == "issuing"
        run_issuance(number)
        with unchanged(number):
            third = issue(client, number)
        assert third.status_code == 409 and third.json()["code"] == "invalid_transition"
        assert SealUse.objects.count() == 1

    def test_department_a_case_cannot_take_department_b_seal(self, as_user, custodian, seal, decided, authority):
        number = decided("approve")
        other = published_item(name="公积金提取")
        other_seal = seal_create(department_code=other.department.code)
        issue(as_user(custodian), number)
        issuance = Issuance.objects.get(application__number=number)
        Issuance.objects.filter(pk=issuance.pk).update(seal=other_seal)  # forged order
        with unchanged(number, issuance, other_seal), pytest.raises(Exception, match="只能用本部门印章"):
            seal_issue_complete(issuance_id=issuance.pk)
        assert not SealUse.objects.exists()
        assert Application.objects.get(number=number).state == "approved"

    def test_revoked_seal_cannot_sign(self, as_user, custodian, seal, decided):
        number = decided("approve")
        issue(as_user(custodian), number)
        seal_revoke(seal=seal, reason="印章遗失")
        issuance = Issuance.objects.get(application__number=number)
        with unchanged(number, issuance, seal), pytest.raises(Exception, match="印章已注销"):
            seal_issue_complete(issuance_id=issuance.pk)
        assert not SealUse.objects.exists()
        # And no new order can be placed without an active seal.
        with unchanged(number, issuance, seal):
            assert issue(as_user(custodian), number).status_code == 409

    def test_no_seal_no_issue(self, as_user, custodian, decided, authority):
        number = decided("approve")
        with unchanged(number):
            response = issue(as_user(custodian), number)
        assert response.status_code == 409 and response.json()["code"] == "no_seal"


def test_seal_keys_are_never_shown_in_admin(client, seal):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    body = client.get(f"/admin/seals/seal/{seal.pk}/change/").content.decode()
    assert seal.name in body and "data:image/png;base64," in body
    assert "encrypted_key" not in body and "PRIVATE KEY" not in body
    assert client.get("/admin/seals/seal/add/").status_code == 403


class TestPages:
    def test_queue_issue_and_log(self, client, custodian, seal, decided):
        number = decided("reject")
        client.force_login(custodian)
        body = client.get("/center/issuance/").content.decode()
        assert number in body and "用印签发" in body
        response = client.post(f"/center/issuance/{number}/issue/", follow=True)
        assert "正在制证" in response.content.decode()
        assert "制证中" in client.get("/center/issuance/").content.decode()
        run_issuance(number)
        log = client.get("/center/seal-log/").content.decode()
        assert number in log and seal.name in log

    def test_supervisor_reads_the_log_but_has_no_queue(self, client, seal):
        client.force_login(UserFactory(supervisor=True))
        assert client.get("/center/seal-log/").status_code == 200
        assert client.get("/center/issuance/").status_code == 404

    def test_reviewer_has_neither(self, client, reviewer):
        client.force_login(reviewer)
        assert client.get("/center/issuance/").status_code == 404
        assert client.get("/center/seal-log/").status_code == 404


class TestFaceData:
    """照面信息: the reviewer confirms what the certificate will say; the center prints exactly that."""

    @pytest.fixture
    def typed_item(self, db):
        from certificates.models import CertificateType
        from tests.factories import DepartmentFactory

        department = DepartmentFactory(name="长春市市场监督管理局")
        certificate_type = CertificateType.objects.create(
            code="FOOD-BIZ", name="食品经营许可证", department=department, validity_years=5,
            face_fields=["经营者名称", "统一社会信用代码", "经营场所", "经营项目", "许可证编号"],
            face_field_types={"经营者名称": "org_name", "统一社会信用代码": "uscc"}, number_field="许可证编号",
        )
        return published_item(department=department, certificate_type=certificate_type)

    def test_approval_needs_every_face_field_then_the_certificate_carries_them(self, as_user, clerk, custodian, typed_item, authority):
        from certificates.models import Certificate
        from tests.factories import UserFactory, credit_code
        from tests.files import pdf_file

        citizen = UserFactory(identified=True, real_name="张伟")
        applicant = as_user(citizen)
        number = applicant.post("/api/v1/applications/", {"item": typed_item.code, "form_data": {"经营场所": "人民大街 1 号"}}, format="json").json()["number"]
        for requirement in typed_item.current_version.materials.filter(required=True, deferrable=False):
            applicant.post(f"/api/v1/applications/{number}/materials/", {"requirement": requirement.pk, "file": pdf_file()}, format="multipart")
        applicant.post(f"/api/v1/applications/{number}/submit/")
        as_user(clerk).post(f"/api/v1/applications/{number}/accept/")
        reviewer = as_user(UserFactory(reviewer=True, department=typed_item.department))
        reviewer.post(f"/api/v1/applications/{number}/claim/")
        with unchanged(number):
            refused = reviewer.post(f"/api/v1/applications/{number}/approve/", {"opinion": "同意"}, format="json")
        # A person's case: neither the business's name nor its credit code is taken from the person (DESIGN §13,
        # §14); the reviewer types them. The licence number is never asked for: approval draws it.
        assert refused.status_code == 400
        assert refused.json()["face_data"] == ["经营者名称：请填写", "统一社会信用代码：请填写", "经营项目：请填写"]
        assert Application.objects.get(number=number).state == "in_review"
        response = reviewer.post(f"/api/v1/applications/{number}/approve/", {
            "opinion": "同意", "face_data": {"经营者名称": "长春市南关区张伟餐馆", "经营项目": "预包装食品销售（含冷藏冷冻食品）",
                                             "统一社会信用代码": credit_code(7)}},
            format="json")
        assert response.status_code == 200
        stored = Application.objects.get(number=number).face_data
        assert stored["经营者名称"] == "长春市南关区张伟餐馆" and stored["经营场所"] == "人民大街 1 号"
        assert stored["统一社会信用代码"] == credit_code(7) != citizen.id_number
        # The type has a number field and no format of its own: code, year, sequence (decision 053).
        assert stored["许可证编号"] == f"FOOD-BIZ-{timezone.localdate().year}-000001"
        seal_create(department_code=typed_item.department.code)
        assert issue(as_user(custodian), number).status_code == 202
        run_issuance(number)
        certificate = Certificate.objects.get(application_number=number)
        assert certificate.face_data == stored
        text = subprocess.run(["pdftotext", "-", "-"], input=certificate.pdf.read(), capture_output=True).stdout.decode()
        assert "预包装食品销售" in text.replace(" ", "").replace("\n", "")


def test_review_page_asks_the_reviewer_to_confirm_face_data(client, seal, as_user, clerk, reviewer, submitted):
    as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/")
    as_user(reviewer).post(f"/api/v1/applications/{submitted}/claim/")
    client.force_login(reviewer)
    # The test item's certificate type declares no face fields: no fieldset, and approval works by the form.
    body = client.get(f"/review/cases/{submitted}/").content.decode()
    assert "准予许可" in body and "照面信息（将印制在电子证照上" not in body
    response = client.post(f"/review/cases/{submitted}/approve/", {"approve-opinion": "同意"}, follow=True)
    assert response.status_code == 200
    assert Application.objects.get(number=submitted).state == "approved"


def test_long_department_names_still_get_a_seal(authority):
    from tests.factories import DepartmentFactory

    department = DepartmentFactory(code="CYRS", name="长春市朝阳区人力资源和社会保障局")
    seal = seal_create(department_code="CYRS")
    assert seal.name == "长春市朝阳区人力资源和社会保障局行政审批专用章"
    from cryptography.x509.oid import NameOID

    from seals.keys import load_certificate

    subject = load_certificate(seal.certificate_pem).subject
    # 23 Chinese characters are 69 UTF-8 bytes, over X.520's 64: the CN falls back to the seal code.
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CYRS-SP-01行政审批专用章"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == department.name


def test_a_failing_issuance_is_retried_then_released_never_half_issued(as_user, custodian, seal, decided):
    """Rendering or signing that fails rolls everything back; the task retries, and after the last retry
    the case leaves 制证中 so the custodian can try again — no certificate, no seal use in between."""
    from celery.exceptions import Retry

    from certificates.models import Certificate

    number = decided("approve")
    issue(as_user(custodian), number)
    issuance = Issuance.objects.get(application__number=number)
    seal_revoke(seal=seal, reason="印章遗失")  # makes every attempt fail
    with pytest.raises(Retry):
        seal_issue_task.apply(args=[issuance.pk], throw=True)
    issuance.refresh_from_db()
    assert issuance.status == "pending" and Application.objects.get(number=number).issuing is True
    result = seal_issue_task.apply(args=[issuance.pk], retries=seal_issue_task.max_retries)
    assert result.failed()
    issuance.refresh_from_db()
    case = Application.objects.get(number=number)
    assert issuance.status == "failed" and "印章已注销" in issuance.last_error
    assert case.issuing is False and case.state == "approved"
    assert not Certificate.objects.filter(application_number=number).exists() and not SealUse.objects.exists()
    # Releasing 制证中 is a write like any other: it is on the case's audit trail, with the reason.
    released = AuditEvent.objects.get(object_type="application", object_id=number, action="application_issuing_failed")
    assert released.from_state == released.to_state == "approved" and "印章已注销" in released.payload["error"]
