"""投诉 (DESIGN §15, decision 059): from a case (routed to its department) or by phone; 回访 before the answer,
answer → rating → closed, 不满意 → 复核 (confirm or send back), due in working days, flagged once when
overdue; who may see and act, and what a refused step leaves (nothing)."""

from datetime import date

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client

from applications import services
from applications.models import Complaint
from applications.tasks import complaint_overdue_task
from portal.audit import audit_verify
from portal.models import AuditEvent, Notification
from tests.assertions import unchanged
from tests.factories import UserFactory, published_item

pytestmark = pytest.mark.django_db

FILED_AT = "2026-09-30 15:00 +0800"


@pytest.fixture
def supervisor(db):
    return UserFactory(supervisor=True, real_name="赵敏")


@pytest.fixture
def complaint(as_user, citizen, submitted, reviewer, head):
    """A complaint about the citizen's case, filed the day before the National Day holiday."""
    with time_machine.travel(FILED_AT):
        response = as_user(citizen).post("/api/v1/complaints/", {
            "application": submitted, "category": "efficiency", "content": "材料交了三次还说不齐"}, format="json")
    assert response.status_code == 201, response.content
    return Complaint.objects.get(number=response.json()["number"])


def step(client, complaint, action, **data):
    return client.post(f"/api/v1/complaints/{complaint.number}/{action}/", data, format="json")


def answered(as_user, reviewer, complaint, answer="已核实，窗口已一次性告知所需材料", at="2026-10-09 10:00 +0800"):
    with time_machine.travel(at):
        assert step(as_user(reviewer), complaint, "start", note="已电话联系投诉人，了解情况").status_code == 200
        response = step(as_user(reviewer), complaint, "answer", answer=answer)
    assert response.status_code == 200, response.content
    complaint.refresh_from_db()
    return complaint


# --- filing from a case -------------------------------------------------------------------------------------


def test_a_complaint_about_a_case_goes_to_its_department(complaint, citizen, submitted, item, reviewer, head):
    assert complaint.department == item.department
    assert complaint.application.number == submitted and complaint.item == item
    assert complaint.complainant == citizen and complaint.state == "open"
    assert complaint.number.startswith("TS-20260930-")
    # Ten working days from 09-30 skip the National Day holiday (10-01 … 10-07) and count Saturday 10-10, a
    # make-up workday: 10-08, 09, 10, 12, 13, 14, 15, 16, 19, 20.
    assert complaint.due_date == date(2026, 10, 20) and not complaint.due_date_provisional
    for user in (reviewer, head):
        told = Notification.objects.get(user=user, kind="complaint_received")
        assert complaint.number in told.message and "2026年10月20日" in told.message
    event = AuditEvent.objects.get(action="complaint_file", object_id=complaint.number)
    assert event.payload["application"] == submitted and event.actor == citizen


def test_the_due_date_follows_the_setting(as_user, citizen, submitted, settings):
    settings.COMPLAINT_DUE_WORKING_DAYS = 3
    with time_machine.travel(FILED_AT):
        response = as_user(citizen).post("/api/v1/complaints/", {
            "application": submitted, "category": "attitude", "content": "态度生硬"}, format="json")
    # Three working days after 09-30: 10-08, 10-09 and Saturday 10-10, the make-up workday.
    assert response.json()["due_date"] == "2026-10-10"


def test_another_citizens_case_is_a_404(as_user, submitted):
    other = UserFactory(identified=True)
    response = as_user(other).post("/api/v1/complaints/", {
        "application": submitted, "category": "other", "content": "不是我的办件"}, format="json")
    assert response.status_code == 404
    assert not Complaint.objects.exists()


def test_staff_do_not_file_complaints(as_user, reviewer, item):
    response = as_user(reviewer).post("/api/v1/complaints/", {
        "department": item.department.code, "category": "other", "content": "内部意见"}, format="json")
    assert response.status_code == 403
    assert not Complaint.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"category": "nonsense", "content": "内容"}, "category"),
    ({"category": "other", "content": "   "}, "content"),
    ({"category": "other", "content": "长" * 2001}, "content"),
    ({"category": "other", "content": "内容", "department": "NO-SUCH"}, "department"),
    ({"category": "other", "content": "内容", "item": "NO-SUCH-ITEM"}, "item"),
])
def test_bad_input_is_named_on_its_field(as_user, citizen, body, field):
    response = as_user(citizen).post("/api/v1/complaints/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert not Complaint.objects.exists()


def test_a_citizen_may_complain_about_an_items_department(as_user, citizen):
    item = published_item(name="户外广告设置许可")
    response = as_user(citizen).post("/api/v1/complaints/", {
        "item": item.code, "category": "materials", "content": "要求提供法律没有规定的材料"}, format="json")
    assert response.status_code == 201
    assert response.json()["department"] == item.department.code and response.json()["item"] == item.code


# --- who sees what ----------------------------------------------------------------------------------------


def test_another_department_and_another_citizen_get_404(as_user, complaint):
    other_reviewer, other_citizen = UserFactory(reviewer=True), UserFactory(identified=True)
    with unchanged(complaint):
        assert step(as_user(other_reviewer), complaint, "start", note="冒名回访").status_code == 404
        assert as_user(other_reviewer).get(f"/api/v1/complaints/{complaint.number}/").status_code == 404
        assert as_user(other_citizen).get(f"/api/v1/complaints/{complaint.number}/").status_code == 404
    assert as_user(other_reviewer).get("/api/v1/complaints/").json()["count"] == 0
    assert as_user(other_citizen).get("/api/v1/complaints/").json()["count"] == 0


def test_lists_by_audience(as_user, citizen, reviewer, supervisor, complaint):
    for user in (citizen, reviewer, supervisor):
        rows = as_user(user).get("/api/v1/complaints/").json()["results"]
        assert [row["number"] for row in rows] == [complaint.number]
    assert as_user(reviewer).get("/api/v1/complaints/").json()["results"][0]["available_actions"] == ["start"]
    assert as_user(citizen).get("/api/v1/complaints/").json()["results"][0]["available_actions"] == []
    department = complaint.department.code
    assert as_user(supervisor).get(f"/api/v1/complaints/?department={department}&state=open").json()["count"] == 1
    assert as_user(supervisor).get("/api/v1/complaints/?department=OTHER").json()["count"] == 0
    assert as_user(supervisor).get("/api/v1/complaints/?state=closed").json()["count"] == 0


# --- the department's steps -----------------------------------------------------------------------------------


def test_callback_is_required_before_the_answer(as_user, reviewer, complaint):
    client = as_user(reviewer)
    with unchanged(complaint):
        response = step(client, complaint, "answer", answer="直接答复")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    with unchanged(complaint):
        response = step(client, complaint, "start", note="  ")
    assert response.status_code == 400 and "note" in response.json()
    assert step(client, complaint, "start", note="已电话联系投诉人").json()["state"] == "in_progress"
    with unchanged(complaint):
        assert step(client, complaint, "answer", answer="").status_code == 400


def test_answer_rating_closes_it(as_user, reviewer, citizen, complaint):
    complaint = answered(as_user, reviewer, complaint)
    assert (complaint.state, complaint.answered_by, complaint.callback_by) == ("answered", reviewer, reviewer)
    assert complaint.first_answered_at == complaint.answered_at and complaint.answered_on_time
    told = Notification.objects.get(user=citizen, kind="complaint_answered")
    assert complaint.number in told.message and "一次性告知" in told.message
    assert told.contact_phone == complaint.phone
    # Only the complainant rates.
    with unchanged(complaint):
        assert step(as_user(reviewer), complaint, "rate", verdict="satisfied").status_code == 403
    response = step(as_user(citizen), complaint, "rate", verdict="basic")
    assert response.status_code == 200 and response.json()["state"] == "closed"
    complaint.refresh_from_db()
    assert complaint.verdict == "basic" and complaint.closed_at is not None
    with unchanged(complaint):
        assert step(as_user(citizen), complaint, "rate", verdict="satisfied").status_code == 409
    actions = list(AuditEvent.objects.filter(object_type="complaint", object_id=complaint.number)
                   .order_by("seq").values_list("action", flat=True))
    assert actions == ["complaint_file", "complaint_start", "complaint_respond", "complaint_accept_answer"]
    assert audit_verify()[1] is None


def test_dissatisfied_needs_why_then_goes_to_review_and_is_confirmed(as_user, reviewer, citizen, supervisor, complaint):
    complaint = answered(as_user, reviewer, complaint)
    with unchanged(complaint):
        response = step(as_user(citizen), complaint, "rate", verdict="dissatisfied", comment="")
    assert response.status_code == 400 and "comment" in response.json()
    response = step(as_user(citizen), complaint, "rate", verdict="dissatisfied", comment="答复没有解决问题")
    assert response.json()["state"] == "review"
    assert Notification.objects.filter(user=supervisor, kind="complaint_review", message__contains="没有解决").exists()
    # The department cannot close it; the supervisor does the 复核.
    with unchanged(complaint):
        assert step(as_user(reviewer), complaint, "confirm").status_code == 403
    response = step(as_user(supervisor), complaint, "confirm", note="答复依法有据")
    assert response.json()["state"] == "closed"
    complaint.refresh_from_db()
    assert complaint.reviewed_by == supervisor and complaint.review_note == "答复依法有据"
    assert Notification.objects.filter(user=citizen, kind="complaint_closed", message__contains="维持").exists()


def test_review_sends_it_back_once_then_a_second_dissatisfied_closes_it(as_user, reviewer, citizen, supervisor, complaint):
    complaint = answered(as_user, reviewer, complaint)
    step(as_user(citizen), complaint, "rate", verdict="dissatisfied", comment="没有回应我的诉求")
    with unchanged(complaint):
        assert step(as_user(supervisor), complaint, "send-back", note="").status_code == 400
    response = step(as_user(supervisor), complaint, "send-back", note="请说明材料要求的依据")
    assert response.json()["state"] == "in_progress"
    assert Notification.objects.filter(user=reviewer, kind="complaint_sent_back").exists()
    first = Complaint.objects.get(pk=complaint.pk).first_answered_at
    response = step(as_user(reviewer), complaint, "answer", answer="依据《食品经营许可管理办法》第十一条")
    assert response.json()["state"] == "answered"
    complaint.refresh_from_db()
    assert complaint.first_answered_at == first  # the on-time share counts the first answer
    # 复核 happens once: a second 不满意 closes it.
    response = step(as_user(citizen), complaint, "rate", verdict="dissatisfied", comment="仍不认可")
    assert response.json()["state"] == "closed"


def test_refused_steps_are_409_and_change_nothing(as_user, reviewer, supervisor, citizen, complaint):
    with unchanged(complaint):
        assert step(as_user(supervisor), complaint, "confirm").status_code == 409
        assert step(as_user(supervisor), complaint, "start", note="监察不办理").status_code == 403
        assert step(as_user(citizen), complaint, "rate", verdict="satisfied").status_code == 409
        assert step(as_user(reviewer), complaint, "nonsense").status_code == 404
    complaint = answered(as_user, reviewer, complaint)
    with unchanged(complaint):
        assert step(as_user(reviewer), complaint, "start", note="再次回访").status_code == 409
        assert step(as_user(reviewer), complaint, "answer", answer="再答一次").status_code == 409


# --- the overdue timer ---------------------------------------------------------------------------------------


def test_overdue_is_flagged_once(complaint, head, supervisor):
    with time_machine.travel("2026-10-20 23:00 +0800"):
        assert complaint_overdue_task.apply().get() == 0  # the due day itself is still in time
    with time_machine.travel("2026-10-21 01:00 +0800"):
        assert complaint_overdue_task.apply().get() == 1
        assert complaint_overdue_task.apply().get() == 0
    complaint.refresh_from_db()
    assert complaint.overdue and complaint.flagged_at is not None and complaint.state == "open"
    for user in (head, supervisor):
        assert Notification.objects.filter(user=user, kind="complaint_overdue").count() == 1
    assert AuditEvent.objects.filter(action="complaint_overdue", object_id=complaint.number).count() == 1


def test_an_answered_complaint_is_never_flagged(as_user, reviewer, complaint, supervisor):
    answered(as_user, reviewer, complaint)
    with time_machine.travel("2026-11-30 09:00 +0800"):
        assert services.complaint_overdue_sweep() == 0
    assert as_user(supervisor).get("/api/v1/complaints/?overdue=1").json()["count"] == 0


def test_late_answer_is_not_on_time(as_user, reviewer, complaint, supervisor):
    with time_machine.travel("2026-10-22 09:00 +0800"):
        services.complaint_overdue_sweep()
    complaint = answered(as_user, reviewer, complaint, at="2026-10-22 10:00 +0800")
    assert complaint.answered_on_time is False and complaint.overdue


def test_run_timers_includes_the_complaint_timer(settings, complaint, capsys):
    assert settings.CELERY_BEAT_SCHEDULE["complaint-overdue"]["task"] == "applications.complaint_overdue_task"
    settings.CELERY_BEAT_SCHEDULE = {"complaint-overdue": settings.CELERY_BEAT_SCHEDULE["complaint-overdue"]}
    with time_machine.travel("2026-10-21 09:00 +0800"):
        call_command("run_timers")
    assert "complaint-overdue: 1" in capsys.readouterr().out


def test_the_timer_reads_the_partial_index_only(complaint):
    """Its work grows with the complaints awaiting the department: the plan uses complaint_overdue_idx."""
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM applications_complaint WHERE overdue = false"
                       " AND state IN ('open', 'in_progress') AND due_date < %s", [date(2026, 10, 21)])
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "complaint_overdue_idx" in plan



def test_the_public_page_counts_complaints_per_department_without_personal_data(as_user, reviewer, complaint, api):
    answered(as_user, reviewer, complaint)
    with time_machine.travel("2026-12-01 09:00 +0800"):
        page = api.get("/ratings/?year=2026").content.decode()
    assert "2026 年各部门投诉办理情况" in page and complaint.department.name in page
    row = page[page.index("各部门投诉办理情况"):]
    assert "<td>1</td><td>1</td>" in row and "100%" in row
    for private in filter(None, (complaint.number, complaint.content, complaint.phone, complaint.answer)):
        assert private not in page
    # The same counts in the public API (DESIGN §10 ratings/public/), and nothing personal there either.
    with time_machine.travel("2026-12-01 09:00 +0800"):
        body = api.get("/api/v1/ratings/public/", {"year": 2026})
    assert body.status_code == 200
    assert body.json()["complaints"] == [{"department": complaint.department.name, "received": 1, "answered": 1,
                                          "answered_on_time": 1, "on_time_share": 1.0}]
    for private in filter(None, (complaint.number, complaint.content, complaint.phone, complaint.answer)):
        assert private not in body.content.decode()


def test_the_statistics_page_counts_complaints_in_its_period(as_user, reviewer, complaint, supervisor, head):
    answered(as_user, reviewer, complaint, at="2026-10-22 10:00 +0800")  # after the due date
    client = Client()
    client.force_login(supervisor)
    page = client.get("/supervision/stats/?from=2026-09-01&to=2026-09-30").content.decode()
    section = page[page.index("投诉办理"):]
    assert complaint.department.name in section and "<td>1</td><td>1</td><td>0</td>" in section and "0%" in section
    assert "统计期内没有投诉" in client.get("/supervision/stats/?from=2026-10-01&to=2026-10-31").content.decode()
    client.force_login(head)  # a head: their own department, the same figures
    assert complaint.department.name in client.get("/supervision/stats/?from=2026-09-01&to=2026-09-30").content.decode()
