"""好差评 and rectification (DESIGN §6): the applicant rates an issued case once; a 4 or 5 opens a
rectification for the department, due in 10 working days, handled by the head or judged invalid by a
supervisor, and flagged once by the timer when overdue."""

from datetime import date

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from applications import services
from applications.models import Application, Rating, Rectification, State
from applications.tasks import rectification_overdue_task
from portal.audit import audit_verify
from portal.errors import Forbidden, Refused
from portal.models import AuditEvent, Notification
from tests.assertions import unchanged
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db


def issue(number, *, at="2026-09-25 10:00 +0800"):
    """What seals.seal_issue_complete does around the stamp: the applications service inside its transaction."""
    custodian = UserFactory(custodian=True)
    with time_machine.travel(at), transaction.atomic():
        services.application_issue(actor=custodian, application=Application.objects.get(number=number),
                                   certificate_identifier="1.2.156.3005.2.TEST")


@pytest.fixture
def decided(clerk, reviewer, submitted):
    with time_machine.travel("2026-09-21 10:00 +0800"):
        ApplicationFactory.advance(Application.objects.get(number=submitted), to=State.APPROVED, clerk=clerk, reviewer=reviewer,
                                   opinion="符合条件")
    return submitted


@pytest.fixture
def issued(decided):
    issue(decided)
    return decided


@pytest.fixture
def supervisor(db):
    return UserFactory(supervisor=True, real_name="赵敏")


def rate(client, number, **data):
    return client.post(f"/api/v1/applications/{number}/rate/", data, format="json")


# --- the rating ---------------------------------------------------------------------------------------


def test_applicant_rates_an_issued_case(as_user, citizen, issued):
    with time_machine.travel("2026-09-30 09:00 +0800"):
        response = rate(as_user(citizen), issued, score=1, comment="办事很快", channel="mobile")
    assert response.status_code == 200, response.content
    assert response.json()["number"] == issued
    rating = Rating.objects.get(application__number=issued)
    assert (rating.score, rating.get_score_display(), rating.comment, rating.channel) == (1, "非常满意", "办事很快", "mobile")
    assert rating.rated_by == citizen and rating.department_id == Application.objects.get(number=issued).department_id
    # A good rating opens nothing.
    assert not Rectification.objects.exists()
    assert AuditEvent.objects.filter(object_id=issued, action="application_rate", payload__score=1).count() == 1
    assert audit_verify()[1] is None


def test_scores_carry_the_national_labels():
    from applications.models import Score

    assert [(s.value, s.label) for s in Score] == [
        (1, "非常满意"), (2, "满意"), (3, "基本满意"), (4, "不满意"), (5, "非常不满意"),
    ]


def test_a_delivered_case_can_be_rated(as_user, citizen, issued):
    assert as_user(citizen).post(f"/api/v1/applications/{issued}/deliver/", {"method": "download"}, format="json").status_code == 200
    assert rate(as_user(citizen), issued, score=2).status_code == 200


def test_rating_issuance_before_issue_is_409_and_changes_nothing(as_user, citizen, decided):
    with unchanged(decided):
        response = rate(as_user(citizen), decided, score=1, stage="issuance")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert not Rating.objects.exists()


def test_the_intake_stage_is_rated_once_the_window_accepted_naming_the_clerk(as_user, citizen, clerk, decided):
    response = rate(as_user(citizen), decided, score=2)  # no stage: the one open, intake
    assert response.status_code == 200, response.content
    rating = Rating.objects.get(application__number=decided)
    assert (rating.stage, rating.staff, rating.channel) == ("intake", clerk, "pc")
    with unchanged(decided, rating):
        again = rate(as_user(citizen), decided, score=5, comment="再评", stage="intake")
    assert again.status_code == 409 and again.json()["code"] == "already_rated"
    with unchanged(decided):
        assert rate(as_user(citizen), decided, score=1, stage="later").status_code == 400


def test_rating_a_submitted_case_is_409(as_user, citizen, submitted):
    with unchanged(submitted):
        assert rate(as_user(citizen), submitted, score=3).json()["code"] == "invalid_transition"


def test_each_stage_is_rated_once_then_409_already_rated(as_user, citizen, issued):
    assert rate(as_user(citizen), issued, score=2).status_code == 200  # no stage: issuance first
    issuance = Rating.objects.get(application__number=issued)
    stamped_by = AuditEvent.objects.get(object_id=issued, action="application_issue").actor
    assert (issuance.stage, issuance.staff, issuance.staff.role) == ("issuance", stamped_by, "custodian")
    assert rate(as_user(citizen), issued, score=1).status_code == 200  # then intake
    with unchanged(issued, *Rating.objects.filter(application__number=issued)):
        response = rate(as_user(citizen), issued, score=5, comment="再评一次")
        repeat = rate(as_user(citizen), issued, score=5, comment="再评一次", stage="issuance")
    assert response.status_code == 409 and response.json()["code"] == "already_rated"
    assert repeat.status_code == 409 and repeat.json()["code"] == "already_rated"
    assert sorted(Rating.objects.filter(application__number=issued).values_list("stage", "score")) == [
        ("intake", 1), ("issuance", 2)]
    assert not Rectification.objects.exists()


def test_another_applicants_case_is_404(as_user, issued):
    stranger = UserFactory(identified=True)
    with unchanged(issued):
        assert rate(as_user(stranger), issued, score=5, comment="不是我的").status_code == 404
    assert not Rating.objects.exists()


def test_staff_who_see_the_case_may_not_rate_it(as_user, clerk, issued):
    with unchanged(issued):
        response = rate(as_user(clerk), issued, score=1)
    assert response.status_code == 403
    assert not Rating.objects.exists()


@pytest.mark.parametrize("score", [0, 6, -1])
def test_score_out_of_range_is_400_on_score(as_user, citizen, issued, score):
    with unchanged(issued):
        response = rate(as_user(citizen), issued, score=score)
    assert response.status_code == 400
    assert "score" in response.json()


def test_unknown_channel_is_400_on_channel(as_user, citizen, issued):
    with unchanged(issued):
        response = rate(as_user(citizen), issued, score=1, channel="carrier-pigeon")
    assert response.status_code == 400 and "channel" in response.json()


@pytest.mark.parametrize("score", [4, 5])
def test_poor_score_needs_a_comment(as_user, citizen, issued, score):
    with unchanged(issued):
        response = rate(as_user(citizen), issued, score=score, comment="   ")
    assert response.status_code == 400
    assert "comment" in response.json()
    assert not Rating.objects.exists() and not Rectification.objects.exists()


# --- rectification ---------------------------------------------------------------------------------------


@pytest.fixture
def rectification(as_user, citizen, issued, head):
    # 2026-09-30: ten working days skip the National Day holiday (10-01 … 10-07) and count Saturday
    # 10-10, a make-up workday: 10-08, 09, 10, 12, 13, 14, 15, 16, 19, 20.
    with time_machine.travel("2026-09-30 15:00 +0800"):
        response = rate(as_user(citizen), issued, score=5, comment="窗口让我跑了三次")
    assert response.status_code == 200, response.content
    return Rectification.objects.get(application__number=issued)


@pytest.mark.parametrize("score", [4, 5])
def test_poor_score_opens_a_rectification_for_the_department(as_user, citizen, issued, head, score):
    with time_machine.travel("2026-09-30 15:00 +0800"):
        assert rate(as_user(citizen), issued, score=score, comment="等候太久").status_code == 200
    rectification = Rectification.objects.get(application__number=issued)
    assert rectification.state == "pending" and rectification.get_state_display() == "待整改"
    assert rectification.department == head.department
    assert rectification.due_date == date(2026, 10, 20)
    assert not rectification.due_date_provisional
    assert AuditEvent.objects.filter(action="rectification_open", object_id=str(rectification.pk)).count() == 1
    told = Notification.objects.get(user=head, kind="rectification_opened")
    assert issued in told.message and "2026年10月20日" in told.message


def test_head_calls_back_then_rectifies_and_it_awaits_review(as_user, head, citizen, rectification):
    client = as_user(head)
    response = client.post(f"/api/v1/rectifications/{rectification.pk}/start/", {"note": "约谈窗口人员"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "in_progress" and response.json()["state_display"] == "整改中"
    # Closing needs a note saying what was done.
    assert client.post(f"/api/v1/rectifications/{rectification.pk}/complete/", {"note": ""}, format="json").status_code == 400
    response = client.post(f"/api/v1/rectifications/{rectification.pk}/complete/", {"note": "已优化一次性告知流程"}, format="json")
    assert response.status_code == 200
    rectification.refresh_from_db()
    assert (rectification.state, rectification.note, rectification.handled_by) == ("review", "已优化一次性告知流程", head)
    assert rectification.callback_note == "约谈窗口人员" and rectification.callback_at is not None
    assert rectification.closed_at is not None
    # The rater hears back (整改反馈).
    assert Notification.objects.filter(user=citizen, kind="rectification_closed", message__contains="已优化").exists()
    actions = list(AuditEvent.objects.filter(object_type="rectification", object_id=str(rectification.pk)).values_list("action", flat=True))
    assert actions == ["rectification_open", "rectification_start", "rectification_complete"]
    assert audit_verify()[1] is None


def test_head_may_declare_it_impossible_with_a_reason(as_user, head, rectification):
    client = as_user(head)
    assert client.post(f"/api/v1/rectifications/{rectification.pk}/start/", {"note": "已电话回访评价人"}, format="json").status_code == 200
    response = client.post(f"/api/v1/rectifications/{rectification.pk}/impossible/", {"note": "法定材料不能减免"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "impossible"


def test_steps_out_of_order_are_409(as_user, head, rectification):
    client = as_user(head)
    with unchanged(rectification):
        response = client.post(f"/api/v1/rectifications/{rectification.pk}/complete/", {"note": "跳过整改中"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert client.post(f"/api/v1/rectifications/{rectification.pk}/start/", {"note": "已电话回访评价人"}, format="json").status_code == 200
    with unchanged(rectification):
        assert client.post(f"/api/v1/rectifications/{rectification.pk}/start/", {"note": "已电话回访评价人"}, format="json").status_code == 409
    rectification.refresh_from_db()
    assert rectification.state == "in_progress"


def test_only_the_rated_departments_head_handles_it(as_user, reviewer, rectification):
    other_head = UserFactory(head=True)
    # Another department's head does not see it at all; the department's reviewer sees no rectifications.
    with unchanged(rectification):
        assert as_user(other_head).post(f"/api/v1/rectifications/{rectification.pk}/start/", {"note": "已电话回访评价人"}, format="json").status_code == 404
        assert as_user(reviewer).post(f"/api/v1/rectifications/{rectification.pk}/start/", {"note": "已电话回访评价人"}, format="json").status_code == 404
    assert as_user(other_head).get("/api/v1/rectifications/").json()["count"] == 0


def test_supervisor_judges_a_rating_invalid(as_user, supervisor, head, citizen, rectification):
    client = as_user(supervisor)
    assert client.get("/api/v1/rectifications/").json()["count"] == 1
    # The supervisor does not do the department's work.
    with unchanged(rectification):
        assert client.post(f"/api/v1/rectifications/{rectification.pk}/start/", {"note": "已电话回访评价人"}, format="json").status_code == 403
        assert client.post(f"/api/v1/rectifications/{rectification.pk}/invalidate/", {"reason": ""}, format="json").status_code == 400
    response = client.post(f"/api/v1/rectifications/{rectification.pk}/invalidate/", {"reason": "评价内容与本办件无关"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "invalid" and response.json()["invalid_reason"] == "评价内容与本办件无关"
    assert Rating.objects.get(pk=rectification.rating_id).invalid is True
    # Closed: the head can no longer act on it, and it cannot be judged twice.
    with unchanged(rectification, Rating.objects.get(pk=rectification.rating_id)):
        assert as_user(head).post(f"/api/v1/rectifications/{rectification.pk}/start/", {"note": "已电话回访评价人"}, format="json").status_code == 409
        assert client.post(f"/api/v1/rectifications/{rectification.pk}/invalidate/", {"reason": "再判"}, format="json").status_code == 409
    assert Notification.objects.filter(user=citizen, kind="rectification_closed", message__contains="无效评价").exists()


def test_a_head_may_not_judge_invalid(as_user, head, rectification):
    with unchanged(rectification, Rating.objects.get(pk=rectification.rating_id)):
        response = as_user(head).post(f"/api/v1/rectifications/{rectification.pk}/invalidate/", {"reason": "不认可"}, format="json")
    assert response.status_code == 403
    rectification.refresh_from_db()
    assert rectification.state == "pending"


def test_an_in_progress_rectification_can_still_be_judged_invalid(as_user, head, supervisor, rectification):
    assert as_user(head).post(f"/api/v1/rectifications/{rectification.pk}/start/", {"note": "已电话回访评价人"}, format="json").status_code == 200
    response = as_user(supervisor).post(f"/api/v1/rectifications/{rectification.pk}/invalidate/", {"reason": "恶意差评"}, format="json")
    assert response.json()["state"] == "invalid"


# --- the overdue timer ---------------------------------------------------------------------------------------


def test_overdue_rectification_is_flagged_once(rectification, head, supervisor):
    with time_machine.travel("2026-10-20 23:00 +0800"):
        assert rectification_overdue_task.apply().get() == 0  # the due day itself is still in time
    with time_machine.travel("2026-10-21 01:00 +0800"):
        assert rectification_overdue_task.apply().get() == 1
        assert rectification_overdue_task.apply().get() == 0
    rectification.refresh_from_db()
    assert rectification.overdue is True and rectification.flagged_at is not None
    assert rectification.state == "pending"
    for user in (head, supervisor):
        assert Notification.objects.filter(user=user, kind="rectification_overdue").count() == 1
    assert AuditEvent.objects.filter(action="rectification_overdue", object_id=str(rectification.pk)).count() == 1


def test_a_closed_rectification_is_never_flagged(as_user, supervisor, rectification):
    as_user(supervisor).post(f"/api/v1/rectifications/{rectification.pk}/invalidate/", {"reason": "无关"}, format="json")
    with time_machine.travel("2026-11-30 09:00 +0800"):
        assert services.rectification_overdue_sweep() == 0
    assert not Notification.objects.filter(kind="rectification_overdue").exists()


def test_overdue_list_filter(as_user, supervisor, rectification):
    with time_machine.travel("2026-10-22 09:00 +0800"):
        services.rectification_overdue_sweep()
    rows = as_user(supervisor).get("/api/v1/rectifications/?overdue=1").json()["results"]
    assert [row["id"] for row in rows] == [rectification.pk] and rows[0]["overdue"] is True


def test_run_timers_includes_the_rectification_timer_when_scheduled(settings, rectification, capsys):
    settings.CELERY_BEAT_SCHEDULE = {
        "rectification-overdue": {"task": "applications.rectification_overdue_task", "schedule": 3600},
    }
    with time_machine.travel("2026-10-21 09:00 +0800"):
        call_command("run_timers")
    assert "rectification-overdue: 1" in capsys.readouterr().out


# --- pages: the applicant's rating page and the rectification list ---------------------------------------------


def page_client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_rating_page_needs_a_reason_for_a_poor_score_then_rates(citizen, issued, head):
    client = page_client(citizen)
    assert "提交出证环节评价" in client.get(f"/my/cases/{issued}/rate/").content.decode()
    with unchanged(issued):
        response = client.post(f"/my/cases/{issued}/rate/", {"score": "4", "comment": "", "stage": "issuance"})
    assert response.status_code == 200 and "请写明不满意的原因" in response.content.decode()
    assert not Rating.objects.exists()
    response = client.post(f"/my/cases/{issued}/rate/", {"score": "4", "comment": "材料说明不清楚", "stage": "issuance"},
                           follow=True)
    body = response.content.decode()
    assert "感谢您的评价" in body and "不满意" in body and "待整改" in body
    assert Rectification.objects.filter(application__number=issued).exists()


def test_rating_page_before_issue_offers_no_form(citizen, submitted):
    body = page_client(citizen).get(f"/my/cases/{submitted}/rate/").content.decode()
    assert "办结出证后即可评价" in body and "即可评价受理环节" in body and 'name="score"' not in body


def test_rating_page_of_anothers_case_is_404(issued):
    assert page_client(UserFactory(identified=True)).get(f"/my/cases/{issued}/rate/").status_code == 404


def test_rectification_page_head_acts_supervisor_judges(head, supervisor, rectification):
    client = page_client(head)
    body = client.get("/supervision/rectifications/").content.decode()
    assert "窗口让我跑了三次" in body and "开始整改" in body and "判定无效评价" not in body
    response = client.post(f"/supervision/rectifications/{rectification.pk}/start/", {"text": "约谈"}, follow=True)
    assert "已更新整改状态" in response.content.decode()
    with unchanged(rectification):
        response = client.post(f"/supervision/rectifications/{rectification.pk}/complete/", {"text": ""}, follow=True)
    assert "请写明整改措施" in response.content.decode()
    rectification.refresh_from_db()
    assert rectification.state == "in_progress"
    body = page_client(supervisor).get("/supervision/rectifications/").content.decode()
    assert "判定无效评价" in body and "整改完成" not in body


def test_rectification_page_is_not_for_reviewers(reviewer):
    assert page_client(reviewer).get("/supervision/rectifications/").status_code == 404



# --- 回访, 复核, 申诉 (DESIGN §15) ------------------------------------------------------------------------------


def test_rectifying_starts_only_after_the_rater_was_called_back(as_user, head, rectification):
    with unchanged(rectification):
        response = as_user(head).post(f"/api/v1/rectifications/{rectification.pk}/start/", {"note": "  "}, format="json")
    assert response.status_code == 400 and "回访" in response.json()["note"][0]


def completed(as_user, head, rectification):
    client = as_user(head)
    assert client.post(f"/api/v1/rectifications/{rectification.pk}/start/", {"note": "评价人反映等候太久"}, format="json").status_code == 200
    assert client.post(f"/api/v1/rectifications/{rectification.pk}/complete/", {"note": "增开窗口"}, format="json").status_code == 200


def test_a_completed_rectification_counts_as_closed_only_once_a_supervisor_confirms_it(as_user, head, supervisor, rectification):
    completed(as_user, head, rectification)
    assert Notification.objects.filter(user=supervisor, kind="rectification_review").exists()
    # the head cannot confirm their own work; out of order is 409
    with unchanged(rectification):
        assert as_user(head).post(f"/api/v1/rectifications/{rectification.pk}/confirm/", format="json").status_code == 403
    response = as_user(supervisor).post(f"/api/v1/rectifications/{rectification.pk}/confirm/", {"note": "已现场核实"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "done"
    rectification.refresh_from_db()
    assert (rectification.reviewed_by, rectification.review_note) == (supervisor, "已现场核实")
    with unchanged(rectification):
        assert as_user(supervisor).post(f"/api/v1/rectifications/{rectification.pk}/confirm/", format="json").status_code == 409


def test_a_supervisor_sends_it_back_with_why(as_user, head, supervisor, rectification):
    completed(as_user, head, rectification)
    client = as_user(supervisor)
    with unchanged(rectification):
        assert client.post(f"/api/v1/rectifications/{rectification.pk}/send-back/", {"note": ""}, format="json").status_code == 400
    response = client.post(f"/api/v1/rectifications/{rectification.pk}/send-back/", {"note": "未见整改材料"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "in_progress"
    assert Notification.objects.filter(user=head, kind="rectification_sent_back", message__contains="未见整改材料").exists()


def test_the_rater_appeals_once_and_it_opens_again(as_user, head, supervisor, citizen, rectification, issued):
    completed(as_user, head, rectification)
    as_user(supervisor).post(f"/api/v1/rectifications/{rectification.pk}/confirm/", format="json")
    page = Client()
    page.force_login(citizen)
    html = page.get(f"/my/cases/{issued}/rate/").content.decode()
    assert "提交申诉" in html
    page.post(f"/my/cases/{issued}/rate/appeal/", {"reason": "", "rectification": rectification.pk})
    rectification.refresh_from_db()
    assert rectification.state == "done"  # a reason is required: nothing changed
    with time_machine.travel("2026-11-02 10:00 +0800", tick=False):
        page.post(f"/my/cases/{issued}/rate/appeal/", {"reason": "窗口仍未增开，等候仍超过一小时",
                                                       "rectification": rectification.pk})
    rectification.refresh_from_db()
    assert (rectification.state, rectification.appeal_reason) == ("in_progress", "窗口仍未增开，等候仍超过一小时")
    assert rectification.due_date == date(2026, 11, 16) and rectification.overdue is False
    assert Notification.objects.filter(user=head, kind="rectification_appealed").exists()
    assert Notification.objects.filter(user=supervisor, kind="rectification_appealed").exists()
    # once only: after the next round, no second appeal
    completed_again = as_user(head).post(f"/api/v1/rectifications/{rectification.pk}/complete/", {"note": "已增开两个窗口"}, format="json")
    assert completed_again.status_code == 200
    as_user(supervisor).post(f"/api/v1/rectifications/{rectification.pk}/confirm/", format="json")
    assert "提交申诉" not in page.get(f"/my/cases/{issued}/rate/").content.decode()
    with pytest.raises(Refused):
        services.rectification_appeal(actor=citizen, rectification=rectification, reason="再次申诉")
    # nobody but the rater appeals
    with pytest.raises(Forbidden):
        services.rectification_appeal(actor=head, rectification=rectification, reason="代为申诉")
