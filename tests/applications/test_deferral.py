"""容缺受理 (DESIGN §14; docs/decisions/051-deferral-and-commitment.md): a deferrable material missing at
acceptance gets a deadline on the case and the 受理通知书; approval and issuance are refused while it is
outstanding; the upload of the last one clears the deadline; the timers remind once and flag the lapse once."""

import io
from datetime import date

import pytest
import time_machine
from django.core.management import call_command

from applications import services
from applications.documents import DocumentKind, render_document_pdf
from applications.models import Application, Document, Material, State
from applications.services import application_deferral_sweep
from portal.models import AuditEvent, Notification
from seals.models import Issuance
from tests.applications.test_documents import flat, pdf_text, snapshot
from tests.assertions import unchanged
from tests.factories import ApplicationFactory, published_item
from tests.files import pdf_file, upload

pytestmark = pytest.mark.django_db

DEFERRED = "食品安全管理制度"


@pytest.fixture
def item(db):
    """The shared `item` with its 容缺 material required (due three working days after acceptance)."""
    return published_item(deferral_days=3, materials=[
        {"name": "食品经营许可申请书", "form": "original", "required": True},
        {"name": "营业执照", "form": "copy", "required": True},
        {"name": DEFERRED, "form": "original", "required": True, "deferrable": True},
    ])


def at(day: str, hour: str = "10:00"):
    return time_machine.travel(f"{day} {hour} +0800")


def act(client, number, action, day, data=None):
    with at(day):
        return client.post(f"/api/v1/applications/{number}/{action}/", data or {}, format="json")


def case(number) -> Application:
    return Application.objects.get(number=number)


def deferred_requirement(item) -> int:
    return item.current_version.materials.get(name=DEFERRED).pk


@pytest.fixture
def accepted(as_user, clerk, submitted):
    """The submitted case (its 容缺 material not handed in) accepted on Monday 2026-11-23."""
    response = act(as_user(clerk), submitted, "accept", "2026-11-23")
    assert response.status_code == 200, response.content
    return submitted


@pytest.fixture
def in_review(as_user, reviewer, accepted):
    assert act(as_user(reviewer), accepted, "claim", "2026-11-24").status_code == 200
    return accepted


def test_acceptance_sets_the_deadline_on_the_case_and_the_notice(as_user, citizen, accepted):
    stored = case(accepted)
    # Three working days after Monday 2026-11-23: Tue, Wed, Thu.
    assert stored.deferral_due == date(2026, 11, 26) and stored.deferral_lapsed is False
    body = as_user(citizen).get(f"/api/v1/applications/{accepted}/").json()
    assert body["deferral"] == {"due": "2026-11-26", "lapsed": False, "outstanding": [DEFERRED]}
    assert {row["name"]: row["status"] for row in body["materials"]}[DEFERRED] == "deferrable"
    notice = Document.objects.get(application=stored, kind=DocumentKind.ACCEPTANCE_NOTICE)
    assert notice.context["deferral_due"] == "2026-11-26"
    # The PDF is rendered from that frozen snapshot (sealing it is the intake documents' business).
    text = flat(pdf_text(render_document_pdf(kind=notice.kind, context=notice.context)))
    assert "容缺材料请于2026年11月26日前补齐" in text and "容缺后补" in text
    assert AuditEvent.objects.get(object_id=accepted, action="application_accept").payload["deferral_due"] == "2026-11-26"


def test_nothing_deferred_sets_no_deadline(as_user, clerk, citizen, item, draft):
    assert upload(as_user(citizen), draft, deferred_requirement(item)).status_code == 201
    number = ApplicationFactory.advance(case(draft), to=State.SUBMITTED).number
    assert act(as_user(clerk), number, "accept", "2026-11-23").status_code == 200
    assert case(number).deferral_due is None
    notice = Document.objects.get(application__number=number, kind=DocumentKind.ACCEPTANCE_NOTICE)
    assert notice.context["deferral_due"] == ""


def test_an_old_notice_without_the_deadline_still_renders():
    """Snapshots frozen before DESIGN §14 have no `deferral_due`: they print the earlier note."""
    context = snapshot(DocumentKind.ACCEPTANCE_NOTICE)
    assert "deferral_due" not in context
    text = flat(pdf_text(render_document_pdf(kind=DocumentKind.ACCEPTANCE_NOTICE, context=context)))
    assert "容缺后补" in text and "请在约定时限内补交" in text and "前补齐" not in text


def test_approval_is_refused_while_a_deferred_material_is_outstanding(as_user, reviewer, in_review):
    client = as_user(reviewer)
    assert "approve" not in client.get(f"/api/v1/applications/{in_review}/").json()["available_actions"]
    with unchanged(in_review):
        refused = act(client, in_review, "approve", "2026-11-24", {"opinion": "同意"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "deferred_materials_outstanding" and DEFERRED in refused.json()["detail"]
    assert case(in_review).state == State.IN_REVIEW and case(in_review).decided_at is None
    # The department may still refuse the case.
    assert "reject" in client.get(f"/api/v1/applications/{in_review}/").json()["available_actions"]


def test_the_last_deferred_upload_clears_the_deadline_then_approval_works(as_user, citizen, reviewer, item, in_review):
    response = upload(as_user(citizen), in_review, deferred_requirement(item))
    assert response.status_code == 201, response.content
    stored = case(in_review)
    assert stored.deferral_due is None and stored.deferral_lapsed is False
    event = AuditEvent.objects.get(object_id=in_review, action="application_deferral_complete")
    assert event.payload == {"deferral_due": "2026-11-26", "late": False}
    client = as_user(reviewer)
    assert "approve" in client.get(f"/api/v1/applications/{in_review}/").json()["available_actions"]
    assert act(client, in_review, "approve", "2026-11-25", {"opinion": "材料齐全"}).status_code == 200
    assert case(in_review).state == State.APPROVED


def test_reject_stays_possible(as_user, reviewer, in_review):
    response = act(as_user(reviewer), in_review, "reject", "2026-11-24",
                   {"opinion": "场所不符合要求", "legal_basis": "《食品经营许可和备案管理办法》第十二条"})
    assert response.status_code == 200 and case(in_review).state == State.REJECTED


def test_issue_is_refused_while_a_deferred_material_is_outstanding(client, custodian, seal, item, clerk):
    """A case approved before the rule with its 容缺 material outstanding (the state is made by hand: the
    services no longer let a case get there) is not stamped, and the queue says why."""
    stored = ApplicationFactory(item=item, in_review=True, clerk=clerk)
    upload_service(stored, deferred_requirement(item))
    stored = ApplicationFactory.advance(stored, to=State.APPROVED)
    Material.objects.filter(application=stored, requirement__name=DEFERRED).delete()
    Application.objects.filter(pk=stored.pk).update(deferral_due=date(2026, 11, 26))
    client.force_login(custodian)
    queue = client.get("/center/issuance/").content.decode()
    assert "容缺材料尚未补齐" in queue and f"/center/issuance/{stored.number}/issue/" not in queue
    with unchanged(stored.number):
        response = client.post(f"/center/issuance/{stored.number}/issue/", follow=True)
    page = response.content.decode()
    assert "容缺材料尚未补齐，不能用印签发" in page and DEFERRED in page
    assert not Issuance.objects.filter(application=stored).exists()
    assert case(stored.number).state == State.APPROVED and case(stored.number).issuing is False


def upload_service(stored: Application, requirement: int) -> None:
    services.application_material_upload(actor=stored.applicant, application=stored, requirement_id=requirement,
                                         upload=pdf_file())


def test_the_sweep_reminds_once_and_flags_the_lapse_once(as_user, citizen, reviewer, item, in_review):
    # Monday 11-23 accepted, due Thursday 11-26: on Tuesday the deadline is further than one working day.
    assert application_deferral_sweep(today=date(2026, 11, 24)) == {"reminded": 0, "lapsed": 0}
    assert application_deferral_sweep(today=date(2026, 11, 25)) == {"reminded": 1, "lapsed": 0}
    assert case(in_review).deferral_reminded_at is not None
    assert application_deferral_sweep(today=date(2026, 11, 26)) == {"reminded": 0, "lapsed": 0}
    reminders = Notification.objects.filter(user=citizen, kind="deferral_reminder", application=in_review)
    assert reminders.count() == 1 and "2026年11月26日" in reminders.get().message and DEFERRED in reminders.get().message
    assert case(in_review).deferral_lapsed is False  # the deadline day itself is still in time

    assert application_deferral_sweep(today=date(2026, 11, 27)) == {"reminded": 0, "lapsed": 1}
    assert application_deferral_sweep(today=date(2026, 11, 30)) == {"reminded": 0, "lapsed": 0}
    stored = case(in_review)
    assert stored.deferral_lapsed is True and stored.deferral_due == date(2026, 11, 26)
    assert AuditEvent.objects.filter(object_id=in_review, action="application_deferral_lapse").count() == 1
    assert Notification.objects.filter(user=citizen, kind="deferral_lapsed", application=in_review).count() == 1
    # The department: the reviewer who claimed the case.
    assert Notification.objects.filter(user=reviewer, kind="deferral_lapsed", application=in_review).count() == 1
    # The API shows the flag; a late upload clears the deadline and keeps the flag as the record.
    body = as_user(reviewer).get(f"/api/v1/applications/{in_review}/").json()
    assert body["deferral"] == {"due": "2026-11-26", "lapsed": True, "outstanding": [DEFERRED]}
    upload(as_user(citizen), in_review, deferred_requirement(item))
    stored = case(in_review)
    assert stored.deferral_due is None and stored.deferral_lapsed is True
    assert AuditEvent.objects.get(object_id=in_review, action="application_deferral_complete").payload["late"] is True


def test_a_lapse_before_anyone_claimed_it_goes_to_the_heads(head, citizen, accepted):
    assert application_deferral_sweep(today=date(2026, 12, 1))["lapsed"] == 1
    assert Notification.objects.filter(user=head, kind="deferral_lapsed", application=accepted).count() == 1


def test_the_sweep_runs_with_the_timers(accepted):
    with at("2026-12-01", "09:00"):
        call_command("run_timers", stdout=io.StringIO())
    assert case(accepted).deferral_lapsed is True


def test_the_flag_shows_on_the_work_list_and_the_case_pages(client, reviewer, clerk, citizen, in_review):
    application_deferral_sweep(today=date(2026, 12, 1))
    client.force_login(reviewer)
    with at("2026-12-01"):
        worklist = client.get("/review/").content.decode()
        review = client.get(f"/review/cases/{in_review}/").content.decode()
    assert "容缺逾期" in worklist
    assert "容缺逾期" in review and "2026-11-26" in review and DEFERRED in review
    assert "容缺材料尚未补齐" in review  # why 准予许可 is not offered
    client.force_login(clerk)
    window = client.get(f"/window/cases/{in_review}/").content.decode()
    assert "容缺逾期" in window and "2026-11-26" in window
    client.force_login(citizen)
    mine = client.get(f"/my/cases/{in_review}/").content.decode()
    assert "2026-11-26" in mine and DEFERRED in mine and "容缺逾期" in mine
