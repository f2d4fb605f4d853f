"""The applicant's case page (DESIGN §14): a progress bar of the steps with the current one and the working
days left, and a refused case's reason and legal basis in the page, not only in the PDF."""

import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from applications import services
from applications.models import Application, State
from portal.workdays import WorkCalendar
from tests.factories import REJECTION_LEGAL_BASIS, REJECTION_OPINION, ApplicationFactory

pytestmark = pytest.mark.django_db


def page(user, number) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/my/cases/{number}/")
    assert response.status_code == 200
    return response.content.decode()


def steps(html: str) -> list[tuple[str, str]]:
    """(status, label) of each step, in order."""
    return re.findall(r'<li class="step step-(\w+)"[^>]*>\s*<span class="step-mark"[^>]*>[^<]*</span>\s*'
                      r'<span class="step-label">([^<]+)</span>', html)


def current(html: str) -> str:
    found = re.findall(r'<li class="step step-\w+" aria-current="step">.*?<span class="step-label">([^<]+)</span>', html, re.S)
    assert len(found) == 1, found
    return found[0]


def test_a_draft_is_at_the_first_step(citizen, draft):
    html = page(citizen, draft)
    assert steps(html)[0] == ("current", "提交申请")
    assert [status for status, _ in steps(html)[1:]] == ["todo"] * 5
    assert "请填写申请并上传材料后提交" in html


def test_a_submitted_case_counts_down_to_deemed_acceptance(citizen, submitted):
    case = Application.objects.get(number=submitted)
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        html = page(citizen, case.number)
    assert current(html) == "窗口受理"
    assert steps(html)[0] == ("done", "提交申请")
    assert "窗口预审期限" in html
    due = services.deemed_acceptance_due(submitted_on=timezone.localdate(case.submitted_at), calendar=WorkCalendar.load())
    assert f"{due.year}年{due.month}月{due.day}日" in html


def test_an_accepted_case_shows_the_due_date_and_working_days_left(citizen, clerk, submitted):
    with time_machine.travel("2026-11-24 10:00 +0800", tick=False):  # a Tuesday
        ApplicationFactory.advance(Application.objects.get(number=submitted), to=State.ACCEPTED, clerk=clerk)
    case = Application.objects.get(number=submitted)
    with time_machine.travel("2026-11-26 10:00 +0800", tick=False):  # Thursday: Wed and Thu of the clock are gone
        html = page(citizen, case.number)
    assert current(html) == "部门审查"
    assert [status for status, _ in steps(html)] == ["done", "done", "current", "todo", "todo", "todo"]
    promised = case.item_version.promised_days
    assert re.search(rf"还剩 <strong>{promised - 2}</strong> 个工作日", html), html[html.find("progress-clock"):][:300]
    with time_machine.travel("2026-12-31 10:00 +0800", tick=False):
        late = page(citizen, case.number)
    assert "已超期" in late


def test_an_approved_case_is_at_issuance(citizen, decided):
    number = decided("approve")
    html = page(citizen, number)
    assert current(html) == "用印出证"
    assert steps(html)[3] == ("done", "准予许可")
    assert 'class="card refusal"' not in html


def test_a_rejected_case_shows_its_reason_and_legal_basis_in_the_page(citizen, decided):
    number = decided("reject")
    html = page(citizen, number)
    assert steps(html)[3] == ("done", "不予许可")
    refusal = html[html.find('class="card refusal"'):]
    assert REJECTION_OPINION in refusal and REJECTION_LEGAL_BASIS in refusal
    assert "行政复议" in refusal


def test_a_case_not_accepted_shows_the_department_reason(citizen, clerk, head, submitted):
    case = Application.objects.get(number=submitted)
    services.application_refer(actor=clerk, application=case, reason="经营场所是否符合规划存疑")
    services.application_decline(actor=head, application=case, reason="经营场所位于居民住宅楼内",
                                 legal_basis="《食品经营许可管理办法》第十一条")
    html = page(citizen, submitted)
    assert [status for status, _ in steps(html)][:2] == ["done", "stopped"]
    refusal = html[html.find('class="card refusal"'):]
    assert "经营场所位于居民住宅楼内" in refusal and "第十一条" in refusal


def test_a_withdrawn_case_stops_where_it_was(citizen, submitted):
    services.application_withdraw(actor=citizen, application=Application.objects.get(number=submitted))
    html = page(citizen, submitted)
    assert [status for status, _ in steps(html)][:2] == ["done", "stopped"]
    assert "申请人已撤回" in html
