"""Back-office pages through django.test.Client: the work list (order by due date, colours with words,
filters, bounded queries), the head's overdue list, and the review page with every action through its form;
refusals shown with nothing changed, 受审分离 and the department boundary."""

import re
from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test import Client

from applications import services
from applications.models import Application, Deficiency, Notice, State, Suspension
from portal.models import AuditEvent, Notification
from tests.factories import UserFactory, published_item, resident_id
from tests.files import pdf_file

pytestmark = pytest.mark.django_db

PHONE, ADDRESS = "13912345678", "幸福小区8栋302室"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


def at(day: str):
    """Beijing office hours on `day`."""
    return time_machine.travel(f"{day} 10:00 +0800")


_applicants = iter(range(1, 10_000))


def accepted_case(clerk, item, day: str, *, phone: str = "", address: str = "") -> Application:
    """A walk-in registered, checked and accepted at the window on `day`, through the services."""
    with at(day):
        case = services.application_create(
            actor=clerk, item_code=item.code, form_data={"经营场所": "人民大街 1 号"},
            applicant={"name": "王小明", "id_type": "111", "id_number": resident_id(next(_applicants), region="220104")},
            contact_phone=phone, contact_address=address,
        )
        for requirement in item.current_version.materials.filter(required=True, deferrable=False):
            services.application_material_upload(actor=clerk, application=case, requirement_id=requirement.pk, upload=pdf_file())
        services.application_accept(actor=clerk, application=case)
    return Application.objects.get(pk=case.pk)


def post(client, day: str, url: str, data=None, **kwargs):
    with at(day):
        return client.post(url, data or {}, **kwargs)


def get(client, day: str, url: str, data=None):
    with at(day):
        return client.get(url, data or {})


def review_url(case, action: str = "") -> str:
    return f"/review/cases/{case.number}/" + (f"{action}/" if action else "")


def refreshed(case) -> Application:
    return Application.objects.get(pk=case.pk)


@pytest.fixture(autouse=True)
def long_sessions(settings):
    # The tests visit on fixed days, some after the real today: a session made now must still be valid then.
    settings.SESSION_COOKIE_AGE = 5 * 365 * 24 * 3600


@pytest.fixture
def reviewer_client(reviewer):
    return login(reviewer)


@pytest.fixture
def head_client(head):
    return login(head)


# --- the work list --------------------------------------------------------------------------------------


@pytest.fixture
def board(clerk, item, reviewer):
    """Five cases seen on Wednesday 2026-11-25 (5 promised days, yellow at ≤ 1 day left), created out of
    due-date order; the deadline sweep has run that morning."""
    green = accepted_case(clerk, item, "2026-11-23")        # due 11-30: 3 days left
    overdue = accepted_case(clerk, item, "2026-11-16")      # due 11-23: 2 days late
    suspended = accepted_case(clerk, item, "2026-11-20")    # due 11-27, suspended on 11-24
    red = accepted_case(clerk, item, "2026-11-18")          # due 11-25: today
    yellow = accepted_case(clerk, item, "2026-11-19")       # due 11-26: 1 day left
    with at("2026-11-24"):
        services.application_claim(actor=reviewer, application=suspended)
        services.application_suspend(actor=reviewer, application=suspended, kind="expert_review", reason="组织专家论证")
        services.application_claim(actor=reviewer, application=yellow)
    services.application_alert_sweep(today=date(2026, 11, 25))
    return {"green": green, "overdue": overdue, "suspended": suspended, "red": red, "yellow": yellow}


def rows(body: str) -> list[str]:
    return re.findall(r'<tr class="alert-row[^"]*">.*?</tr>', body, flags=re.DOTALL)


def numbers(body: str) -> list[str]:
    return re.findall(r'/review/cases/([^/]+)/"', "".join(rows(body)))


def test_worklist_sorted_by_due_date_with_colour_and_words(reviewer_client, board):
    body = text(get(reviewer_client, "2026-11-25", "/review/"))
    expected = ["overdue", "red", "yellow", "suspended", "green"]
    assert numbers(body) == [board[name].number for name in expected]
    labels = {"overdue": "已超期", "red": "今日到期", "yellow": "预警", "suspended": "暂停计时", "green": "正常"}
    for row, name in zip(rows(body), expected):
        assert f'class="alert-row alert-row-{name}"' in row
        assert f'<span class="alert alert-{name}">{labels[name]}</span>' in row
    overdue, red, yellow, suspended, green = rows(body)
    assert "超期 2 个工作日" in overdue and "2026-11-23" in overdue and "待认领" in overdue
    assert "今日到期" in red
    assert "剩 1 个工作日" in yellow and "王芳" in yellow and "审查中" in yellow
    assert "计时暂停" in suspended and "已中止计时" in suspended
    assert "剩 3 个工作日" in green and "已受理" in green
    assert "共 5 件" in body


def test_worklist_shows_a_provisional_due_date(reviewer_client, clerk, item):
    # chinese-calendar's data ends with 2026: a due date in 2027 is computed from weekends, shown as 预计.
    case = accepted_case(clerk, item, "2026-12-30")
    body = text(get(reviewer_client, "2026-12-30", "/review/"))
    assert case.due_date_provisional and f"{case.due_date:%Y-%m-%d}<span class=\"hint\">（预计）</span>" in body


@pytest.mark.parametrize("query, expected", [
    ({"state": "in_review"}, ["yellow"]),
    ({"state": "accepted"}, ["overdue", "red", "green"]),
    ({"alert": "overdue"}, ["overdue"]),
    ({"alert": "yellow"}, ["yellow"]),
    ({"alert": "suspended"}, ["suspended"]),
    ({"mine": "on"}, ["yellow", "suspended"]),
    ({"mine": "on", "state": "suspended"}, ["suspended"]),
    ({"state": "accepted", "alert": "suspended"}, []),
    ({"state": "nonsense"}, ["overdue", "red", "yellow", "suspended", "green"]),
])
def test_worklist_filters(reviewer_client, board, query, expected):
    body = text(get(reviewer_client, "2026-11-25", "/review/", query))
    assert numbers(body) == [board[name].number for name in expected]


def test_worklist_item_search_by_name_or_number(reviewer_client, clerk, item, board):
    other = published_item(code="11220100MB1234567K400011700SEARCH", name="小餐饮经营许可", department=item.department)
    noodle = accepted_case(clerk, other, "2026-11-24")
    body = text(get(reviewer_client, "2026-11-25", "/review/", {"q": "小餐饮"}))
    assert numbers(body) == [noodle.number] and "共 1 件（已筛选）" in body
    body = text(get(reviewer_client, "2026-11-25", "/review/", {"q": board["red"].number.lower()}))
    assert numbers(body) == [board["red"].number]
    body = text(get(reviewer_client, "2026-11-25", "/review/", {"q": "不存在的事项"}))
    assert numbers(body) == [] and "没有符合条件的办件" in body


def test_worklist_lists_only_open_cases_of_the_own_department(reviewer_client, reviewer, clerk, item, board):
    decided = board["yellow"]
    with at("2026-11-25"):
        services.application_approve(actor=reviewer, application=decided, opinion="同意")
    stranger = accepted_case(clerk, published_item(name="建筑工程施工许可"), "2026-11-24")
    body = text(get(reviewer_client, "2026-11-25", "/review/"))
    assert decided.number not in body and stranger.number not in body
    assert len(numbers(body)) == 4
    assert numbers(text(get(login(UserFactory(reviewer=True)), "2026-11-25", "/review/"))) == []


def test_worklist_pages_keep_the_filters(reviewer_client, clerk, item, monkeypatch):
    monkeypatch.setattr("applications.views.department.WORKLIST_PAGE_SIZE", 2)
    cases = [accepted_case(clerk, item, day) for day in ("2026-11-16", "2026-11-17", "2026-11-18")]
    body = text(get(reviewer_client, "2026-11-18", "/review/", {"state": "accepted"}))
    assert numbers(body) == [c.number for c in cases[:2]]
    assert 'href="?state=accepted&amp;page=2"' in body and "第 1 / 2 页" in body
    body = text(get(reviewer_client, "2026-11-18", "/review/", {"state": "accepted", "page": 2}))
    assert numbers(body) == [cases[2].number]


# The page's own queries: one COUNT and one page query on the cases, the calendar once (one statement for its
# two tables), the user's department for the heading; the rest is per request (session, user, the unread
# count in base.html). More rows add nothing.
WORKLIST_QUERIES = 7


def _case_queries(context) -> list[str]:
    return [q["sql"] for q in context.captured_queries if '"applications_application"' in q["sql"]]


def test_worklist_query_count_is_pinned_and_does_not_grow(reviewer_client, clerk, item, reviewer, django_assert_num_queries):
    for day in ("2026-11-16", "2026-11-18"):
        accepted_case(clerk, item, day)
    with django_assert_num_queries(WORKLIST_QUERIES) as context:
        response = get(reviewer_client, "2026-11-19", "/review/")
    assert len(numbers(text(response))) == 2
    count, page = _case_queries(context)
    assert count.startswith("SELECT COUNT(*)")
    # PostgreSQL merges one index range per state; SQLite cannot cut the arms of a UNION: one sorted query.
    assert ("UNION ALL" in page) == connection.features.supports_slicing_ordering_in_compound
    # The page reads only the columns it shows: no applicant data, no contact data.
    assert "contact_phone" not in page and "applicant_name" not in page

    cases = [accepted_case(clerk, item, day) for day in ("2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19") * 3]
    with at("2026-11-19"):
        for case in cases[:4]:
            services.application_claim(actor=reviewer, application=case)
        services.application_suspend(actor=reviewer, application=cases[0], kind="testing", reason="送检")
    with django_assert_num_queries(WORKLIST_QUERIES):
        response = get(reviewer_client, "2026-11-19", "/review/")
    assert len(numbers(text(response))) == 14
    # A search by item name first finds the department's matching item versions: one query more.
    with django_assert_num_queries(WORKLIST_QUERIES + 1):
        response = get(reviewer_client, "2026-11-19", "/review/", {"mine": "on", "alert": "green", "q": "食品"})
    assert len(numbers(text(response))) == 3
    # …and when nothing matches, neither the cases (count, page) nor the calendar are read.
    with django_assert_num_queries(WORKLIST_QUERIES + 1 - 2 - 1) as context:
        response = get(reviewer_client, "2026-11-19", "/review/", {"q": "不存在的事项"})
    assert not _case_queries(context) and "没有符合条件的办件" in text(response)


# --- the head's overdue list and sub-navigation ---------------------------------------------------------------


def test_head_sees_overdue_and_due_today_only(head_client, board):
    body = text(get(head_client, "2026-11-25", "/dept/overdue/"))
    assert numbers(body) == [board["overdue"].number, board["red"].number]
    assert "共 2 件" in body


def test_head_pages_link_to_each_other(head_client):
    for url in ("/dept/referrals/", "/dept/overdue/"):
        body = text(head_client.get(url))
        nav = body.split('class="subnav"', 1)[1].split("</nav>", 1)[0]
        assert 'href="/dept/referrals/"' in nav and 'href="/dept/overdue/"' in nav and 'href="/review/"' in nav
        assert f'href="{url}" aria-current="page"' in nav
    assert 'href="/review/"' in text(head_client.get("/"))


# --- the review page ------------------------------------------------------------------------------------------


def test_review_page_shows_the_standard_materials_and_no_contact_data(reviewer, reviewer_client, clerk, item):
    case = accepted_case(clerk, item, "2026-11-23", phone=PHONE, address=ADDRESS)
    body = text(get(reviewer_client, "2026-11-24", review_url(case)))
    # The standard of the pinned version.
    version = case.item_version
    assert f"第 {version.number} 版" in body and "法定 20 个工作日，承诺 5 个工作日" in body
    assert "申请人具有合法主体资格" in body and "办理流程" in body and "<li>审查</li>" in body
    # 受审分离: the applicant's name and masked ID, never the phone or address.
    assert "王小明" in body and PHONE not in body and ADDRESS not in body
    assert "人民大街 1 号" in body  # what was applied for is part of the case
    # Each uploaded file links to the file API, which the reviewer may read with the session (and it is recorded).
    material = case.materials.first()
    link = f"/api/v1/applications/{case.number}/materials/{material.pk}/"
    assert f'href="{link}"' in body
    assert 'type="file"' not in body
    response = reviewer_client.get(link)
    assert response.status_code == 200 and b"%PDF" in b"".join(response.streaming_content)
    assert AuditEvent.objects.filter(action="material_read", object_id=case.number, actor=reviewer).exists()
    # Only claiming is offered before the case is claimed.
    assert f'action="{review_url(case, "claim")}"' in body
    assert review_url(case, "approve") not in body and review_url(case, "extend") not in body


def test_claim_suspend_for_site_inspection_resume_and_approve(reviewer, reviewer_client, clerk, item, citizen):
    case = accepted_case(clerk, item, "2026-09-24")  # Thu; Mid-Autumn 09-25…27: due 10-09
    assert case.due_date == date(2026, 10, 9)

    response = post(reviewer_client, "2026-09-25", review_url(case, "claim"), follow=True)
    assert "已认领，开始审查" in text(response)
    assert (refreshed(case).state, refreshed(case).reviewer) == (State.IN_REVIEW, reviewer)
    body = text(response)
    assert "中止计时" in body and "准予许可" in body and "不予许可" in body
    assert '<option value="site_inspection">现场勘验</option>' in body
    for kind in ("supplement", "hearing", "expert_review", "testing"):
        assert f'<option value="{kind}">' in body

    response = post(reviewer_client, "2026-09-29", review_url(case, "suspend"), {
        "suspend-kind": "site_inspection", "suspend-reason": "需现场核查经营场所",
    }, follow=True)
    body = text(response)
    assert "已中止计时（现场勘验）" in body and refreshed(case).state == State.SUSPENDED
    assert "暂停计时" in body and "需现场核查经营场所" in body and "中止中" in body
    assert f'action="{review_url(case, "resume")}"' in body and review_url(case, "approve") not in body
    assert not Notice.objects.exists()  # a site inspection is no notice to the applicant

    # Resumed 10-12: working days in [09-29, 10-12) are 09-29, 09-30, 10-08, 10-09, 10-10 (make-up Saturday).
    response = post(reviewer_client, "2026-10-12", review_url(case, "resume"), follow=True)
    body = text(response)
    assert "已恢复计时，承诺办结日期为 2026-10-15" in body
    suspension = Suspension.objects.get(application=case)
    assert (suspension.ended_on, suspension.working_days) == (date(2026, 10, 12), 5)
    suspensions = body.split('class="suspensions"', 1)[1].split("</table>", 1)[0]
    assert "现场勘验" in suspensions and "2026-09-29" in suspensions and "2026-10-12" in suspensions and "<td data-label=\"不计时工作日\">5</td>" in suspensions

    response = post(reviewer_client, "2026-10-13", review_url(case, "approve"), {"approve-opinion": ""})
    assert response.status_code == 200
    assert re.search(r'name="approve-opinion"[^>]*>\s*</textarea>\s*<p class="field-error">请填写审查意见', text(response))
    assert refreshed(case).state == State.IN_REVIEW
    response = post(reviewer_client, "2026-10-13", review_url(case, "approve"),
                    {"approve-opinion": "材料齐全，现场核查符合要求，准予许可"}, follow=True)
    body = text(response)
    assert "已作出准予许可决定" in body
    stored = refreshed(case)
    assert (stored.state, stored.outcome, stored.decided_by) == (State.APPROVED, "approved", reviewer)
    assert "材料齐全，现场核查符合要求，准予许可" in body and review_url(case, "approve") not in body
    # The timeline lists every step, oldest first.
    steps = ["受理", "认领审查", "中止计时", "恢复计时", "作出准予决定"]
    positions = [body.index(f"<strong>{step}</strong>") for step in steps]
    assert positions == sorted(positions)
    assert "现场勘验：需现场核查经营场所" in body
    assert Notification.objects.filter(kind="decided", application=case.number).exists()


def test_reject_needs_a_legal_basis_and_shows_the_rights_it_sends(reviewer, reviewer_client, clerk, item):
    case = accepted_case(clerk, item, "2026-11-23")
    post(reviewer_client, "2026-11-24", review_url(case, "claim"))
    body = text(get(reviewer_client, "2026-11-24", review_url(case)))
    assert services.RECONSIDERATION_RIGHTS in body

    response = post(reviewer_client, "2026-11-24", review_url(case, "reject"), {"reject-opinion": "经营场所为住宅", "reject-legal_basis": ""})
    assert response.status_code == 200
    body = text(response)
    assert re.search(r'name="reject-legal_basis"[^>]*>\s*<p class="field-error">不予许可须写明法律依据', body)
    assert '<details class="action" id="reject" open>' in body and "经营场所为住宅" in body  # kept as typed
    assert refreshed(case).state == State.IN_REVIEW

    response = post(reviewer_client, "2026-11-24", review_url(case, "reject"), {
        "reject-opinion": "经营场所为住宅", "reject-legal_basis": "《食品经营许可管理办法》第十一条",
    }, follow=True)
    assert "已作出不予许可决定" in text(response)
    stored = refreshed(case)
    assert (stored.state, stored.decision_legal_basis) == (State.REJECTED, "《食品经营许可管理办法》第十一条")
    message = Notification.objects.get(kind="decided", application=case.number).message
    assert services.RECONSIDERATION_RIGHTS in message


def test_supplement_suspension_is_a_one_time_notice_of_two_requirements(reviewer_client, clerk, item, requirements, citizen):
    case = accepted_case(clerk, item, "2026-11-23")
    post(reviewer_client, "2026-11-24", review_url(case, "claim"))
    licence, plan, form = requirements["营业执照"], requirements["场所平面图"], requirements["食品经营许可申请书"]

    # Nothing checked: the service's rule is shown, nothing changes.
    response = post(reviewer_client, "2026-11-24", review_url(case, "suspend"), {"suspend-kind": "supplement", "suspend-reason": "需补正"})
    assert response.status_code == 200 and "补正材料须列出全部需要补正的材料" in text(response)
    # A checked requirement without its reason: the error sits next to that row.
    response = post(reviewer_client, "2026-11-24", review_url(case, "suspend"), {
        "suspend-kind": "supplement", "suspend-reason": "需补正", f"suspend-named_{licence}": "on",
    })
    assert re.search(rf'name="suspend-reason_{licence}"[^>]*>\s*<p class="field-error">请写明补正原因', text(response))
    assert (refreshed(case).state, Suspension.objects.count(), Notice.objects.count()) == (State.IN_REVIEW, 0, 0)

    response = post(reviewer_client, "2026-11-24", review_url(case, "suspend"), {
        "suspend-kind": "supplement", "suspend-reason": "材料需补正",
        f"suspend-named_{licence}": "on", f"suspend-reason_{licence}": "营业执照已过期",
        f"suspend-named_{plan}": "on", f"suspend-reason_{plan}": "缺少场所平面图",
        f"suspend-reason_{form}": "an unchecked row is not named",
    }, follow=True)
    body = text(response)
    assert "已中止计时（补正材料），已一次性告知申请人需补正的全部材料" in body
    assert refreshed(case).state == State.SUSPENDED
    assert Suspension.objects.get(application=case).kind == "supplement"
    assert sorted(Deficiency.objects.filter(notice__application=case).values_list("reason", flat=True)) == ["缺少场所平面图", "营业执照已过期"]
    assert "营业执照已过期" in body and "缺少场所平面图" in body
    # The applicant is told, and may now upload exactly what was named.
    assert Notification.objects.filter(user=case.applicant, kind="suspended").exists()


def test_a_checked_row_under_another_kind_is_not_a_notice(reviewer_client, clerk, item, requirements):
    case = accepted_case(clerk, item, "2026-11-23")
    post(reviewer_client, "2026-11-24", review_url(case, "claim"))
    response = post(reviewer_client, "2026-11-24", review_url(case, "suspend"), {
        "suspend-kind": "testing", "suspend-reason": "样品送检", f"suspend-named_{requirements['营业执照']}": "on",
    }, follow=True)
    assert "已中止计时（检验检测）" in text(response)
    assert not Notice.objects.exists()


def test_suspend_needs_a_kind_and_a_reason(reviewer_client, clerk, item):
    case = accepted_case(clerk, item, "2026-11-23")
    post(reviewer_client, "2026-11-24", review_url(case, "claim"))
    response = post(reviewer_client, "2026-11-24", review_url(case, "suspend"), {"suspend-kind": "", "suspend-reason": ""})
    body = text(response)
    assert re.search(r'name="suspend-kind"[^>]*>.*?</select>\s*<p class="field-error">中止类型应为', body, flags=re.DOTALL)
    assert re.search(r'name="suspend-reason"[^>]*>\s*</textarea>\s*<p class="field-error">请写明中止理由', body)
    assert refreshed(case).state == State.IN_REVIEW and not Suspension.objects.exists()


def test_head_extends_once_and_the_second_time_is_refused(head, head_client, clerk, item):
    case = accepted_case(clerk, item, "2026-11-23")  # due 11-30
    body = text(get(head_client, "2026-11-24", review_url(case)))
    assert f'action="{review_url(case, "extend")}"' in body and "延长办理期限" in body

    response = post(head_client, "2026-11-24", review_url(case, "extend"), {"extend-days": "11", "extend-reason": "需补充调查"})
    assert re.search(r'name="extend-days"[^>]*>\s*<p class="field-error">延长期限应为 1 至 10 个工作日', text(response))
    assert refreshed(case).extended_days == 0

    response = post(head_client, "2026-11-24", review_url(case, "extend"), {"extend-days": "3", "extend-reason": "需补充调查"}, follow=True)
    body = text(response)
    assert "办理期限已延长 3 个工作日，承诺办结日期为 2026-12-03" in body
    stored = refreshed(case)
    assert (stored.extended_days, stored.due_date, stored.extension_reason) == (3, date(2026, 12, 3), "需补充调查")
    assert "3 个工作日：需补充调查" in body and review_url(case, "extend") not in body  # no second form

    events = AuditEvent.objects.count()
    response = post(head_client, "2026-11-25", review_url(case, "extend"), {"extend-days": "2", "extend-reason": "再延"}, follow=True)
    assert "办理期限只能延长一次" in text(response)
    again = refreshed(case)
    assert (again.extended_days, again.due_date) == (3, date(2026, 12, 3)) and AuditEvent.objects.count() == events


def test_reviewer_cannot_extend(reviewer_client, clerk, item):
    case = accepted_case(clerk, item, "2026-11-23")
    post(reviewer_client, "2026-11-24", review_url(case, "claim"))
    body = text(get(reviewer_client, "2026-11-24", review_url(case)))
    assert review_url(case, "extend") not in body and "延长办理期限" not in body
    events = AuditEvent.objects.count()
    response = post(reviewer_client, "2026-11-24", review_url(case, "extend"), {"extend-days": "5", "extend-reason": "想延长"}, follow=True)
    assert "只有本部门负责人可以批准延长办理期限" in text(response)
    stored = refreshed(case)
    assert (stored.extended_days, stored.due_date) == (0, case.due_date) and AuditEvent.objects.count() == events


def test_a_second_claim_is_refused_with_a_message(reviewer_client, head_client, clerk, item, reviewer):
    case = accepted_case(clerk, item, "2026-11-23")
    post(reviewer_client, "2026-11-24", review_url(case, "claim"))
    response = post(head_client, "2026-11-24", review_url(case, "claim"), follow=True)
    assert "办件当前状态为「审查中」，不能认领审查" in text(response)
    assert refreshed(case).reviewer == reviewer


def test_a_colleague_sees_who_claimed_and_cannot_decide(reviewer_client, clerk, item):
    case = accepted_case(clerk, item, "2026-11-23")
    post(reviewer_client, "2026-11-24", review_url(case, "claim"))
    colleague = login(UserFactory(reviewer=True, department=item.department))
    body = text(get(colleague, "2026-11-24", review_url(case)))
    assert "该办件由 王芳 认领审查" in body and review_url(case, "approve") not in body
    response = post(colleague, "2026-11-24", review_url(case, "approve"), {"approve-opinion": "同意"}, follow=True)
    assert "该办件已由其他审查人员认领" in text(response)
    assert refreshed(case).state == State.IN_REVIEW


# --- permission boundaries -------------------------------------------------------------------------------------


def test_reviewer_of_another_department_gets_404(clerk, item):
    case = accepted_case(clerk, item, "2026-11-23")
    stranger = login(UserFactory(reviewer=True))
    assert stranger.get(review_url(case)).status_code == 404
    for action in ("claim", "suspend", "resume", "approve", "reject", "extend"):
        assert stranger.post(review_url(case, action), {"approve-opinion": "同意"}).status_code == 404
    assert login(UserFactory(head=True)).post(review_url(case, "extend"), {"extend-days": "3", "extend-reason": "x"}).status_code == 404
    stored = refreshed(case)
    assert (stored.state, stored.reviewer, stored.extended_days) == (State.ACCEPTED, None, 0)


@pytest.mark.parametrize("url", ["/review/", "/review/cases/{number}/", "/dept/overdue/"])
def test_back_office_pages_are_404_for_other_roles(clerk, citizen, item, url):
    case = accepted_case(clerk, item, "2026-11-23")
    url = url.format(number=case.number)
    assert login(clerk).get(url).status_code == 404
    assert login(citizen).get(url).status_code == 404
    assert login(UserFactory(supervisor=True)).get(url).status_code == 404


def test_overdue_list_is_for_heads_only(reviewer_client):
    assert reviewer_client.get("/dept/overdue/").status_code == 404


def test_applicant_cannot_post_review_actions(citizen, submitted):
    client = login(citizen)
    assert client.post(f"/review/cases/{submitted}/claim/").status_code == 404
    assert Application.objects.get(number=submitted).state == State.SUBMITTED


@pytest.mark.parametrize("url", ["/review/", "/review/cases/X/", "/dept/overdue/"])
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_review_posts_need_csrf_and_post(reviewer, clerk, item):
    case = accepted_case(clerk, item, "2026-11-23")
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    assert client.post(review_url(case, "claim")).status_code == 403
    assert login(reviewer).get(review_url(case, "claim")).status_code == 405
    assert refreshed(case).state == State.ACCEPTED


def test_worklist_count_stops_at_the_cap(reviewer_client, clerk, item, monkeypatch):
    from applications import selectors

    for day in ("2026-11-16", "2026-11-17", "2026-11-18"):
        accepted_case(clerk, item, day)
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)  # the real cap is 10,000 cases
    body = text(get(reviewer_client, "2026-11-19", "/review/"))
    assert "共 2+ 件" in body and "按到期日显示最早的 2 件" in body
    assert len(numbers(body)) == 2
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    body = text(get(reviewer_client, "2026-11-19", "/review/"))
    assert "共 3 件" in body and "按到期日显示最早" not in body and len(numbers(body)) == 3
