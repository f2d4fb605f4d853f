"""Sealed intake documents (DESIGN §14, 行政许可法 第三十二条): the 受理通知书, 不予受理通知书, 补正材料通知书 and
材料接收凭证 carry the service center's 政务服务专用章 and a date; pdfsig accepts them, a changed byte breaks
them. Intake never renders or signs: a worker seals after commit, or the first reader does."""

import hashlib
import subprocess
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from applications.documents import DocumentKind, size_label
from applications.models import Application, Document, State
from portal.audit import audit_verify
from portal.models import AuditEvent
from seals.models import SealUse
from seals.services import seal_create_center
from seals.signing import pdf_signature_is_valid
from seals.tasks import document_seal_retry_task, document_seal_task
from tests.factories import ApplicationFactory
from tests.files import pdf_file, upload
from tests.seals.test_issuance import ARTIFACTS, pdfsig, trusted_nss_db

pytestmark = pytest.mark.django_db

CENTER = "长春市政务服务中心"


def pdf_of(client, number, document) -> bytes:
    response = client.get(f"/api/v1/applications/{number}/documents/{document.pk}/pdf/")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf"
    return b"".join(response.streaming_content) if response.streaming else response.content


def text_of(pdf: bytes) -> str:
    return "".join(subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode().split())


def produce(kind, *, as_user, clerk, head, submitted) -> Document:
    """The case `submitted` taken to where the window (or the department) hands out `kind`."""
    client = as_user(clerk)
    if kind == DocumentKind.MATERIALS_NOTICE:
        requirement = Application.objects.get(number=submitted).item_version.materials.get(name="营业执照").pk
        response = client.post(f"/api/v1/applications/{submitted}/request-materials/", {
            "deficiencies": [{"requirement": requirement, "reason": "营业执照已过期"}]}, format="json")
    elif kind == DocumentKind.ACCEPTANCE_NOTICE:
        response = client.post(f"/api/v1/applications/{submitted}/accept/")
    elif kind == DocumentKind.REFUSAL_NOTICE:
        assert client.post(f"/api/v1/applications/{submitted}/refer/", {"reason": "是否属本部门职权"}, format="json").status_code == 200
        response = as_user(head).post(f"/api/v1/applications/{submitted}/decline/", {
            "reason": "不属于本机关职权范围", "legal_basis": "《中华人民共和国行政许可法》第三十二条第一款第（二）项"}, format="json")
    else:
        response = None  # the receipt was given at online submission
    assert response is None or response.status_code == 200, response.content
    return Document.objects.get(application__number=submitted, kind=kind)


@pytest.mark.parametrize("kind", sorted(DocumentKind.values[:4]))
def test_every_intake_document_is_sealed_by_the_center_and_pdfsig_trusts_it(
        kind, as_user, citizen, clerk, head, submitted, center_seal, authority, tmp_path):
    document = produce(kind, as_user=as_user, clerk=clerk, head=head, submitted=submitted)
    # The intake transaction stored the snapshot only: nothing rendered or signed in it (DESIGN §12).
    assert not document.pdf and document.sha256 == ""
    pdf = pdf_of(as_user(citizen), submitted, document)  # the first reader seals it
    document.refresh_from_db()
    assert document.sha256 == hashlib.sha256(pdf).hexdigest() == hashlib.sha256(document.pdf.read()).hexdigest()
    path = ARTIFACTS / f"sealed-{kind}.pdf"
    path.write_bytes(pdf)
    report = pdfsig(path, trusted_nss_db(tmp_path, authority))
    assert "Signature is Valid" in report and "Certificate is Trusted" in report, report
    assert f"Signer Certificate Common Name: {CENTER}政务服务专用章" in report, report
    assert "Signature Validation: Signature is Valid" in report and "Total document signed" in report, report
    assert pdf_signature_is_valid(pdf)
    # Dated and signed by the center, under the seal.
    text = text_of(pdf)
    assert DocumentKind(kind).label in text and CENTER in text and "年" in text
    use = SealUse.objects.get(application__number=submitted)
    assert (use.seal, use.custodian, use.decision, use.document_kind, use.document_sha256) == (
        center_seal, None, "", kind, document.sha256)
    event = AuditEvent.objects.get(seq=use.audit_seq)
    assert event.action == "seal_use" and event.actor is None and event.object_id == submitted
    assert event.payload["document_sha256"] == document.sha256 and event.payload["document_kind"] == kind
    assert audit_verify()[1] is None
    # Read again: the same sealed bytes, stamped once.
    assert pdf_of(as_user(clerk), submitted, document) == pdf
    assert SealUse.objects.filter(application__number=submitted).count() == 1


def test_a_changed_byte_breaks_the_seal(as_user, citizen, submitted, center_seal, tmp_path):
    document = Document.objects.get(application__number=submitted, kind=DocumentKind.RECEIPT)
    data = bytearray(pdf_of(as_user(citizen), submitted, document))
    position = data.index(b"/Contents") - 200  # inside the signed range
    data[position] = ord("X") if data[position] != ord("X") else ord("Y")
    tampered = tmp_path / "tampered-receipt.pdf"
    tampered.write_bytes(bytes(data))
    assert "Signature is Valid" not in pdfsig(tampered)
    assert pdf_signature_is_valid(bytes(data)) is False


def test_the_worker_seals_after_commit_and_readers_get_that_pdf(as_user, citizen, clerk, submitted, center_seal):
    assert as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/").status_code == 200
    notice = Document.objects.get(application__number=submitted, kind=DocumentKind.ACCEPTANCE_NOTICE)
    assert document_seal_task.apply(args=[notice.pk]).get() is True
    notice.refresh_from_db()
    assert notice.sha256 and notice.pdf
    assert document_seal_task.apply(args=[notice.pk]).get() is True  # a second delivery changes nothing
    assert hashlib.sha256(pdf_of(as_user(citizen), submitted, notice)).hexdigest() == notice.sha256
    assert SealUse.objects.filter(document_kind="acceptance_notice").count() == 1


def test_the_commit_wakes_one_drain_that_seals_every_waiting_document(
        settings, as_user, citizen, clerk, submitted, center_seal, django_capture_on_commit_callbacks):
    """Acceptance wakes the sealing drain (portal.broker.wake); the drain clears the mark and seals what waits:
    the submission's receipt and the acceptance notice, one SealUse each."""
    from django.core.cache import cache

    from applications.documents import DOCUMENT_SEAL_WAKE
    from seals.tasks import document_seal_drain_task

    settings.BROKER_WAKE_SHARED = True
    cache.delete(f"wake:{DOCUMENT_SEAL_WAKE}")
    with django_capture_on_commit_callbacks(execute=True):
        assert as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/").status_code == 200
    assert cache.get(f"wake:{DOCUMENT_SEAL_WAKE}") == 1  # a drain is queued and has not begun
    assert document_seal_drain_task.apply().get() == 2
    assert cache.get(f"wake:{DOCUMENT_SEAL_WAKE}") is None  # the next commit wakes the next drain
    assert not Document.objects.filter(application__number=submitted, sha256="").exists()
    notice = Document.objects.get(application__number=submitted, kind=DocumentKind.ACCEPTANCE_NOTICE)
    assert hashlib.sha256(pdf_of(as_user(citizen), submitted, notice)).hexdigest() == notice.sha256
    assert document_seal_drain_task.apply().get() == 0  # nothing left: nothing sealed twice
    assert SealUse.objects.filter(application__number=submitted).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_drain_that_shares_its_batch_with_another_still_wakes_the_next(settings, item, clerk, center_seal):
    """Two drains at once read the same oldest documents, and each finds some locked by the other: a batch
    looked at in full with something sealed wakes the next drain, or the rest would wait for the sweep.
    The other drain is stood in for by a transaction holding the oldest document's row."""
    import threading

    from django.core.cache import cache
    from django.db import connection, transaction

    from applications.documents import DOCUMENT_SEAL_WAKE
    from applications.services import application_accept
    from seals.services import document_seal_drain

    settings.BROKER_WAKE_SHARED = True
    first = ApplicationFactory(submitted=True, item=item)
    ApplicationFactory(submitted=True, item=item)
    application_accept(actor=clerk, application=first)
    waiting = list(Document.objects.filter(sha256="").order_by("pk").values_list("pk", flat=True))
    assert len(waiting) == 3  # two receipts and an acceptance notice
    holding, done = threading.Event(), threading.Event()

    def other_drain():
        try:
            with transaction.atomic():
                Document.objects.select_for_update().get(pk=waiting[0])
                holding.set()
                done.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_drain)
    thread.start()
    try:
        assert holding.wait(30)
        cache.delete(f"wake:{DOCUMENT_SEAL_WAKE}")
        assert document_seal_drain(batch=2) == 1  # the held one skipped, the next sealed
        assert cache.get(f"wake:{DOCUMENT_SEAL_WAKE}") == 1  # and the next drain is queued for the rest
    finally:
        done.set()
        thread.join()
    assert document_seal_drain(batch=2) == 2
    assert not Document.objects.filter(sha256="").exists()
    cache.delete(f"wake:{DOCUMENT_SEAL_WAKE}")


def test_without_a_center_seal_the_reader_is_told_to_wait_and_the_sweep_seals_it_later(
        as_user, citizen, clerk, submitted, authority):
    """A fresh database before `create_seal --center`: no unsealed PDF is handed out as the document, no 500."""
    assert as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/").status_code == 200
    notice = Document.objects.get(application__number=submitted, kind=DocumentKind.ACCEPTANCE_NOTICE)
    assert document_seal_task.apply(args=[notice.pk]).get() is False
    response = as_user(citizen).get(f"/api/v1/applications/{submitted}/documents/{notice.pk}/pdf/")
    assert response.status_code == 409
    assert response.json() == {"detail": "文书正在加盖印章，请稍后再试", "code": "document_sealing"}
    assert document_seal_retry_task.apply().get() == 0
    notice.refresh_from_db()
    assert not notice.pdf and not notice.sha256 and not SealUse.objects.exists()
    # The timers run the sweep (Celery beat and `manage.py run_timers` share the schedule).
    assert any(entry["task"] == "seals.document_seal_retry_task" for entry in settings.CELERY_BEAT_SCHEDULE.values())

    seal_create_center()
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        # the receipt of the submission and the acceptance notice, both left unsealed
        assert document_seal_retry_task.apply().get() == 2
        assert document_seal_retry_task.apply().get() == 0
    assert not Document.objects.filter(application__number=submitted, sha256="").exists()
    assert pdf_signature_is_valid(pdf_of(as_user(citizen), submitted, notice))
    assert SealUse.objects.filter(custodian__isnull=True).count() == 2


def test_a_revoked_center_seal_no_longer_seals(as_user, citizen, submitted, center_seal):
    from seals.services import seal_revoke

    seal_revoke(seal=center_seal, reason="印章遗失")
    receipt = Document.objects.get(application__number=submitted, kind=DocumentKind.RECEIPT)
    assert as_user(citizen).get(f"/api/v1/applications/{submitted}/documents/{receipt.pk}/pdf/").status_code == 409
    assert not SealUse.objects.exists()


def test_decision_letters_keep_the_departments_seal(as_user, custodian, seal, center_seal, decided):
    number = decided("reject")
    ApplicationFactory.advance(Application.objects.get(number=number), to=State.ISSUED, custodian=custodian, decision="reject")
    use = SealUse.objects.get(application__number=number, document_kind="rejection_decision")
    assert use.seal == seal and use.custodian == custodian and use.decision == "rejected"


# --- the 材料接收凭证 ----------------------------------------------------------------------------------


def register_walk_in(client, item) -> str:
    response = client.post("/api/v1/applications/", {
        "item": item.code, "applicant": {"name": "王小明", "id_type": "111", "id_number": "220102199003071235"},
    }, format="json")
    assert response.status_code == 201, response.content
    return response.json()["number"]


def kinds(number) -> list[str]:
    return list(Document.objects.filter(application__number=number).order_by("pk").values_list("kind", flat=True))


def test_receipt_lists_each_file_its_version_and_size(as_user, clerk, item, requirements, center_seal):
    client = as_user(clerk)
    number = register_walk_in(client, item)
    with time_machine.travel("2026-11-24 09:32 +0800", tick=False):
        upload(client, number, requirements["食品经营许可申请书"], pdf_file("申请书-初稿.pdf"))
        upload(client, number, requirements["食品经营许可申请书"], pdf_file("申请书-签字版.pdf", text="签字" * 700))
        upload(client, number, requirements["营业执照"], pdf_file("营业执照.pdf"))
    with time_machine.travel("2026-11-24 09:40 +0800", tick=False):
        assert client.post(f"/api/v1/applications/{number}/accept/").status_code == 200
    assert kinds(number) == ["receipt", "acceptance_notice"]
    receipt = Document.objects.get(application__number=number, kind="receipt")
    rows = receipt.context["materials"]
    assert [(row["name"], row["version"], row["file_name"]) for row in rows] == [
        ("食品经营许可申请书", 2, "申请书-签字版.pdf"), ("营业执照", 1, "营业执照.pdf")]
    assert rows[0]["size"] > 2048 and rows[0]["size_label"] == size_label(rows[0]["size"]) and rows[0]["size_label"].endswith("KB")
    assert receipt.context["clerk_name"] == "李娜" and receipt.context["hall_name"] == "长春市政务服务中心"
    text = text_of(pdf_of(client, number, receipt))
    assert "材料接收凭证" in text and "不作为受理凭证" in text
    assert "2026年11月24日9时40分" in text  # when the window received them
    assert "食品经营许可申请书申请书-签字版.pdf第2版" + rows[0]["size_label"].replace(" ", "") + "2026年11月24日9时32分" in text
    assert "营业执照营业执照.pdf第1版" in text
    assert "申请书-初稿.pdf" not in text  # the version handed in is the last one


def test_size_label_reads_like_a_file_manager():
    assert [size_label(n) for n in (820, 36045, 1258291, 3 * 1024 ** 3)] == ["820 B", "35.2 KB", "1.2 MB", "3.0 GB"]


def test_receipt_at_online_submission_and_at_resubmission(as_user, citizen, clerk, submitted, requirements):
    assert kinds(submitted) == ["receipt"]
    first = Document.objects.get(application__number=submitted)
    assert first.context["clerk_name"] == "" and {row["name"] for row in first.context["materials"]} == {"食品经营许可申请书", "营业执照"}
    licence = requirements["营业执照"]
    assert as_user(clerk).post(f"/api/v1/applications/{submitted}/request-materials/", {
        "deficiencies": [{"requirement": licence, "reason": "营业执照已过期"}]}, format="json").status_code == 200
    client = as_user(citizen)
    assert upload(client, submitted, licence, pdf_file("新营业执照.pdf")).status_code == 201
    assert client.post(f"/api/v1/applications/{submitted}/resubmit/").status_code == 200
    assert kinds(submitted) == ["receipt", "materials_notice", "receipt"]
    second = Document.objects.filter(application__number=submitted, kind="receipt").last()
    assert {row["name"]: (row["version"], row["file_name"]) for row in second.context["materials"]}["营业执照"] == (2, "新营业执照.pdf")
    # Accepting a case already submitted gives no further receipt.
    assert as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/").status_code == 200
    assert kinds(submitted) == ["receipt", "materials_notice", "receipt", "acceptance_notice"]


def test_receipt_at_the_windows_first_intake_action_only(as_user, clerk, head, item, requirements):
    client = as_user(clerk)
    noticed = register_walk_in(client, item)
    upload(client, noticed, requirements["食品经营许可申请书"])
    assert client.post(f"/api/v1/applications/{noticed}/request-materials/", {
        "deficiencies": [{"requirement": requirements["营业执照"], "reason": "未带营业执照"}]}, format="json").status_code == 200
    upload(client, noticed, requirements["营业执照"])
    assert client.post(f"/api/v1/applications/{noticed}/resubmit/").status_code == 200
    assert client.post(f"/api/v1/applications/{noticed}/accept/").status_code == 200
    assert kinds(noticed) == ["receipt", "materials_notice", "receipt", "acceptance_notice"]

    referred = register_walk_in(client, item)
    upload(client, referred, requirements["食品经营许可申请书"])
    upload(client, referred, requirements["营业执照"])
    assert client.post(f"/api/v1/applications/{referred}/refer/", {"reason": "经营范围是否需前置审批"}, format="json").status_code == 200
    assert as_user(head).post(f"/api/v1/applications/{referred}/return/", {"reason": "可以受理"}, format="json").status_code == 200
    assert client.post(f"/api/v1/applications/{referred}/accept/").status_code == 200
    assert kinds(referred) == ["receipt", "acceptance_notice"]


def test_the_receipt_is_on_the_applicants_and_the_windows_case_page(client, citizen, clerk, submitted, center_seal):
    receipt = Document.objects.get(application__number=submitted, kind="receipt")
    link = f"/api/v1/applications/{submitted}/documents/{receipt.pk}/pdf/"
    for user, page in ((citizen, f"/my/cases/{submitted}/"), (clerk, f"/window/cases/{submitted}/")):
        client.force_login(user)
        response = client.get(page)
        assert response.status_code == 200
        assert "材料接收凭证" in response.text and link in response.text
        assert client.get(link).status_code == 200


def test_the_seal_log_shows_the_centers_stamps(client, as_user, citizen, submitted, center_seal):
    from tests.factories import UserFactory

    receipt = Document.objects.get(application__number=submitted, kind="receipt")
    pdf_of(as_user(citizen), submitted, receipt)
    client.force_login(UserFactory(supervisor=True))
    response = client.get("/center/seal-log/")
    assert response.status_code == 200
    row = response.text[response.text.index(submitted) - 400:response.text.index(submitted) + 400]
    assert f"{CENTER}政务服务专用章" in row and "材料接收凭证" in row and "系统自动用印" in row
    assert "不予许可" not in row and "决定书" not in row


def test_the_sweep_reads_only_the_newest_documents(as_user, citizen, clerk, submitted, authority, monkeypatch):
    """Its cost stays flat as the table grows; an older unsealed document is sealed by its first reader."""
    from seals import services as seal_services

    assert as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/").status_code == 200
    receipt, notice = Document.objects.filter(application__number=submitted).order_by("pk")
    seal_create_center()
    monkeypatch.setattr(seal_services, "SWEEP_WINDOW", 1)
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assert document_seal_retry_task.apply().get() == 1
    receipt.refresh_from_db(), notice.refresh_from_db()
    assert notice.sha256 and not receipt.sha256
    assert pdf_signature_is_valid(pdf_of(as_user(citizen), submitted, receipt))
