"""Back-office review (DESIGN §5): claim, suspend/resume with the clock, extend, approve/reject, alerts."""

from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from applications.models import Application, State, Suspension
from applications.services import application_alert_sweep
from portal.models import AuditEvent, CalendarDay, Notification
from tests.assertions import unchanged
from tests.factories import UserFactory
from tests.files import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def accepted_on(as_user, clerk, submitted):
    """Accept the submitted case on a given day (Beijing time); returns its number."""

    def accept(day: str):
        with time_machine.travel(f"{day} 10:00 +0800"):
            response = as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/")
        assert response.status_code == 200, response.content
        return submitted

    return accept


def act(client, number, action, when, data=None):
    with time_machine.travel(f"{when} 10:00 +0800"):
        return client.post(f"/api/v1/applications/{number}/{action}/", data or {}, format="json")


def case(number):
    return Application.objects.get(number=number)


def test_due_date_across_national_day(accepted_on):
    number = accepted_on("2026-09-30")
    # 5 working days: 10-08, 10-09, 10-10 (make-up Saturday), 10-12, 10-13.
    assert case(number).due_date == date(2026, 10, 13)


def test_claim_approve(as_user, reviewer, accepted_on, citizen):
    number = accepted_on("2026-11-23")
    client = as_user(reviewer)
    assert act(client, number, "claim", "2026-11-24").json()["state"] == "in_review"
    with unchanged(number):
        assert act(client, number, "approve", "2026-11-24", {"opinion": ""}).status_code == 400
    response = act(client, number, "approve", "2026-11-24", {"opinion": "材料齐全，符合法定条件，准予许可"})
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "approved" and body["outcome"] == "approved"
    assert body["decision"]["opinion"] == "材料齐全，符合法定条件，准予许可"
    stored = case(number)
    assert stored.decided_by == reviewer and stored.next_alert_on is None
    assert Notification.objects.filter(user=citizen, kind="decided", application=number).exists()


def test_reject_needs_legal_basis_and_states_rights(as_user, reviewer, accepted_on, citizen):
    number = accepted_on("2026-11-23")
    client = as_user(reviewer)
    act(client, number, "claim", "2026-11-24")
    with unchanged(number):
        refused = act(client, number, "reject", "2026-11-24", {"opinion": "经营场所不符合要求", "legal_basis": ""})
    assert refused.status_code == 400 and "legal_basis" in refused.json()
    assert case(number).state == State.IN_REVIEW
    response = act(client, number, "reject", "2026-11-24", {"opinion": "经营场所不符合要求", "legal_basis": "《食品经营许可管理办法》第十一条"})
    assert response.json()["outcome"] == "rejected"
    message = Notification.objects.get(user=citizen, kind="decided").message
    assert "行政复议" in message and "行政诉讼" in message and "《食品经营许可管理办法》第十一条" in message


def test_reviewer_cannot_approve_before_claim_and_clerk_cannot_approve(as_user, reviewer, clerk, accepted_on):
    number = accepted_on("2026-11-23")
    with unchanged(number):
        response = act(as_user(reviewer), number, "approve", "2026-11-24", {"opinion": "同意"})
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    act(as_user(reviewer), number, "claim", "2026-11-24")
    with unchanged(number):
        assert act(as_user(clerk), number, "approve", "2026-11-24", {"opinion": "同意"}).status_code == 403
    assert case(number).state == State.IN_REVIEW


def test_another_reviewer_of_the_department_cannot_take_over(as_user, reviewer, accepted_on, item):
    number = accepted_on("2026-11-23")
    act(as_user(reviewer), number, "claim", "2026-11-24")
    colleague = UserFactory(reviewer=True, department=item.department)
    with unchanged(number):
        assert act(as_user(colleague), number, "approve", "2026-11-24", {"opinion": "同意"}).status_code == 403


def test_reviewer_of_another_department_gets_404(as_user, accepted_on):
    number = accepted_on("2026-11-23")
    stranger = UserFactory(reviewer=True)
    with unchanged(number):
        assert act(as_user(stranger), number, "claim", "2026-11-24").status_code == 404
    assert as_user(stranger).get(f"/api/v1/applications/{number}/").status_code == 404


class TestSuspension:
    def test_suspension_spanning_national_day_moves_the_due_date(self, as_user, reviewer, accepted_on, citizen):
        number = accepted_on("2026-09-24")  # Thu; 09-25…27 Mid-Autumn: due 28, 29, 30, 10-08, 10-09
        assert case(number).due_date == date(2026, 10, 9)
        client = as_user(reviewer)
        act(client, number, "claim", "2026-09-25")
        response = act(client, number, "suspend", "2026-09-29", {"kind": "site_inspection", "reason": "需现场核查经营场所"})
        assert response.status_code == 200 and response.json()["suspended"] is True
        assert Notification.objects.filter(user=citizen, kind="suspended").exists()
        # Resumed 10-12: working days in [09-29, 10-12) = 09-29, 09-30, 10-08, 10-09, 10-10 = 5.
        response = act(client, number, "resume", "2026-10-12")
        body = response.json()
        assert body["state"] == "in_review"
        assert body["due_date"] == "2026-10-15"  # 10-09 + 5 working days: 10 (Sat, make-up), 12, 13, 14, 15
        suspension = Suspension.objects.get(application__number=number)
        assert (suspension.started_on, suspension.ended_on, suspension.working_days) == (date(2026, 9, 29), date(2026, 10, 12), 5)
        assert body["suspensions"][0]["working_days"] == 5

    def test_suspended_case_is_frozen_and_not_swept(self, as_user, reviewer, accepted_on):
        number = accepted_on("2026-11-02")
        client = as_user(reviewer)
        act(client, number, "claim", "2026-11-03")
        act(client, number, "suspend", "2026-11-04", {"kind": "expert_review", "reason": "专家论证"})
        frozen = case(number).alert_level
        assert application_alert_sweep(today=date(2026, 12, 31)) == 0
        assert case(number).alert_level == frozen

    def test_supplement_during_review_follows_the_one_time_rule(self, as_user, reviewer, accepted_on, citizen, requirements):
        number = accepted_on("2026-11-23")
        client = as_user(reviewer)
        act(client, number, "claim", "2026-11-24")
        with unchanged(number):
            assert act(client, number, "suspend", "2026-11-24", {"kind": "supplement", "reason": "补正"}).status_code == 400
        response = act(client, number, "suspend", "2026-11-24", {
            "kind": "supplement", "reason": "需补正",
            "deficiencies": [{"requirement": requirements["营业执照"], "reason": "已过期"}],
        })
        assert response.status_code == 200
        assert response.json()["notices"][0]["deficiencies"][0]["name"] == "营业执照"
        applicant = as_user(citizen)
        assert upload(applicant, number, requirements["营业执照"]).status_code == 201
        with unchanged(number):
            assert upload(applicant, number, requirements["食品经营许可申请书"]).status_code == 409

    def test_unknown_kind_and_missing_reason_are_400(self, as_user, reviewer, accepted_on):
        number = accepted_on("2026-11-23")
        client = as_user(reviewer)
        act(client, number, "claim", "2026-11-24")
        with unchanged(number):
            response = act(client, number, "suspend", "2026-11-24", {"kind": "holiday", "reason": ""})
        assert response.status_code == 400 and {"kind", "reason"} <= set(response.json())
        assert case(number).state == State.IN_REVIEW


class TestExtension:
    def test_head_extends_once(self, as_user, head, accepted_on, citizen):
        number = accepted_on("2026-11-23")  # Mon + 5 → Mon 11-30
        client = as_user(head)
        with unchanged(number):
            assert act(client, number, "extend", "2026-11-24", {"days": 11, "reason": "情况复杂"}).status_code == 400
            assert act(client, number, "extend", "2026-11-24", {"days": 3, "reason": ""}).status_code == 400
        response = act(client, number, "extend", "2026-11-24", {"days": 3, "reason": "需征求相关部门意见"})
        assert response.status_code == 200 and response.json()["due_date"] == "2026-12-03"
        with unchanged(number):
            again = act(client, number, "extend", "2026-11-25", {"days": 1, "reason": "再延"})
        assert again.status_code == 409 and again.json()["code"] == "already_extended"
        assert case(number).due_date == date(2026, 12, 3)
        assert AuditEvent.objects.filter(object_id=number, action="application_extend").count() == 1
        assert Notification.objects.filter(user=citizen, kind="extended").exists()

    def test_reviewer_cannot_extend(self, as_user, reviewer, accepted_on):
        number = accepted_on("2026-11-23")
        with unchanged(number):
            assert act(as_user(reviewer), number, "extend", "2026-11-24", {"days": 3, "reason": "x"}).status_code == 403


class TestAlerts:
    """Levels of DESIGN §5 and the notification each sends — once, not on every sweep."""

    def test_levels_and_notifications(self, as_user, reviewer, head, accepted_on):
        supervisor = UserFactory(supervisor=True)
        number = accepted_on("2026-11-23")  # due Mon 11-30; warning days = max(1, 20 % of 5) = 1
        act(as_user(reviewer), number, "claim", "2026-11-23")
        assert (case(number).alert_level, case(number).next_alert_on) == ("green", date(2026, 11, 27))
        assert application_alert_sweep(today=date(2026, 11, 26)) == 0
        # Fri 11-27: only Mon 11-30 remains → yellow; the reviewer is told.
        assert application_alert_sweep(today=date(2026, 11, 27)) == 1
        assert case(number).alert_level == "yellow"
        assert list(Notification.objects.filter(kind="alert_yellow").values_list("user", flat=True)) == [reviewer.pk]
        assert application_alert_sweep(today=date(2026, 11, 28)) == 0  # nothing changed: nothing sent
        assert application_alert_sweep(today=date(2026, 11, 30)) == 1
        assert case(number).alert_level == "red"
        assert set(Notification.objects.filter(kind="alert_red").values_list("user", flat=True)) == {reviewer.pk, head.pk}
        assert application_alert_sweep(today=date(2026, 12, 1)) == 1
        assert case(number).alert_level == "overdue" and case(number).next_alert_on is None
        assert set(Notification.objects.filter(kind="alert_overdue").values_list("user", flat=True)) == {head.pk, supervisor.pk}
        assert application_alert_sweep(today=date(2026, 12, 2)) == 0
        # One notification per recipient per change: 1 yellow, 2 red, 2 overdue — none repeated.
        assert Notification.objects.filter(kind__startswith="alert_").count() == 5

    def test_sweep_statements_do_not_grow_with_the_changed_cases(self, as_user, reviewer, head, accepted_on):
        number = accepted_on("2026-11-23")  # due 11-30: yellow from 11-27
        act(as_user(reviewer), number, "claim", "2026-11-23")

        def sweep_with(changing: int) -> int:
            Application.objects.exclude(number=number).delete()
            Notification.objects.all().delete()
            original = case(number)
            for index in range(1, changing):
                clone = case(number)
                clone.pk, clone.number = None, f"{original.number[:-6]}{900000 + index:06d}"
                clone.save()
            Application.objects.update(alert_level="green", next_alert_on=date(2026, 11, 27))
            with CaptureQueriesContext(connection) as queries:
                assert application_alert_sweep(today=date(2026, 11, 27)) == changing
            assert Notification.objects.filter(kind="alert_yellow", user=reviewer).count() == changing
            assert set(Application.objects.values_list("alert_level", flat=True)) == {"yellow"}
            return len(queries)

        assert sweep_with(1) == sweep_with(40)

    def test_sweep_touches_only_cases_whose_day_came(self, as_user, accepted_on):
        number = accepted_on("2026-11-23")
        Application.objects.filter(number=number).update(next_alert_on=date(2027, 1, 1))
        assert application_alert_sweep(today=date(2026, 12, 15)) == 0
        assert case(number).alert_level == "green"

    def test_case_due_in_january_2027_is_provisional(self, as_user, clerk, submitted):
        with time_machine.travel("2026-12-28 10:00 +0800"):
            body = as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/").json()
        # 12-29, 12-30, 12-31, then 2027 by weekdays: 01-01 (Fri), 01-04 (Mon).
        assert body["due_date"] == "2027-01-04" and body["due_date_provisional"] is True

    def test_admin_holiday_override_counts(self, as_user, clerk, submitted):
        CalendarDay.objects.create(date=date(2027, 1, 1), is_workday=False, note="元旦")
        with time_machine.travel("2026-12-28 10:00 +0800"):
            body = as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/").json()
        assert body["due_date"] == "2027-01-05"
