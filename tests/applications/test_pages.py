"""Intake pages through django.test.Client: what each role sees, the online flow end to end, refusals,
permission boundaries and bounded queries."""

import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from applications.models import Application, Deficiency, Document, Material, Notice, State
from portal.models import AuditEvent, User
from portal.security import FILE_POLICY
from tests.factories import UserFactory, published_item
from tests.files import pdf_file

pytestmark = pytest.mark.django_db

VALID_ID = "220102199003071235"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


def create_online(client, item, **overrides):
    data = {"description": "在人民大街 1 号开办餐馆", "contact_phone": "13800000000", "contact_address": "人民大街 1 号"}
    response = client.post(f"/apply/{item.code}/", {**data, **overrides})
    assert response.status_code == 302, text(response)
    return response


def upload_page(client, url, requirement, file=None):
    return client.post(url, {"requirement": requirement, "file": file or pdf_file()})


@pytest.fixture
def citizen_client(citizen):
    return login(citizen)


@pytest.fixture
def clerk_client(clerk):
    return login(clerk)


# --- each page renders ---------------------------------------------------------------------------------


def test_apply_page_shows_the_materials_of_the_current_version(citizen_client, item):
    response = citizen_client.get(f"/apply/{item.code}/")
    assert response.status_code == 200
    body = text(response)
    assert "在线办理：食品经营许可（新办）" in body
    for name in ("食品经营许可申请书", "营业执照", "食品安全管理制度", "场所平面图"):
        assert name in body
    assert "申请事项说明" in body and "联系电话" in body and "联系地址" in body


def test_every_page_renders_for_its_role(citizen, clerk, head, submitted):
    assert "我的办件" in text(login(citizen).get("/my/cases/"))
    assert submitted in text(login(citizen).get(f"/my/cases/{submitted}/"))
    clerk_client = login(clerk)
    for url, expected in [
        ("/window/prereview/", "网上预审"),
        ("/window/intake/", "窗口受理"),
        (f"/window/cases/{submitted}/", "一次性告知"),
    ]:
        response = clerk_client.get(url)
        assert response.status_code == 200, url
        assert expected in text(response)
    response = login(head).get("/dept/referrals/")
    assert response.status_code == 200 and "转部门研判的办件" in text(response)


def test_navigation_shows_the_role_pages(citizen, clerk, head):
    assert 'href="/my/cases/"' in text(login(citizen).get("/"))
    clerk_home = text(login(clerk).get("/"))
    assert 'href="/window/prereview/"' in clerk_home and 'href="/window/intake/"' in clerk_home
    assert 'href="/dept/referrals/"' in text(login(head).get("/"))


def test_my_cases_newest_first_with_state_badges(citizen_client, item):
    with time_machine.travel("2026-11-23 10:00 +0800"):
        create_online(citizen_client, item)
    with time_machine.travel("2026-11-24 10:00 +0800"):
        create_online(citizen_client, item)
    body = text(citizen_client.get("/my/cases/")).split('class="case-list"', 1)[1]
    assert body.index("NET-20261124-000001") < body.index("NET-20261123-000001")
    assert body.count('class="state state-draft"') == 2 and "草稿" in body


# --- the online flow -----------------------------------------------------------------------------------


def test_online_flow_notice_with_two_deficiencies_resubmit_and_accept(citizen, citizen_client, clerk_client, item, requirements,
                                                                      center_seal):
    # Create through /apply/.
    response = create_online(citizen_client, item)
    case = Application.objects.get()
    assert response["Location"] == f"/my/cases/{case.number}/"
    assert case.state == State.DRAFT and case.applicant == citizen
    assert case.form_data == {"申请事项说明": "在人民大街 1 号开办餐馆"} and case.contact_phone == "13800000000"

    # Submitting with a material missing is refused and shown; nothing changes.
    response = citizen_client.post(f"/my/cases/{case.number}/submit/", follow=True)
    assert "材料不齐全" in text(response)
    assert Application.objects.get().state == State.DRAFT

    # Upload each required material, then submit.
    page = f"/my/cases/{case.number}/"
    for name in ("食品经营许可申请书", "营业执照"):
        response = upload_page(citizen_client, f"{page}materials/", requirements[name])
        assert response.status_code == 302
    assert Material.objects.count() == 2
    body = text(citizen_client.get(page))
    assert "提交" in body and "申请书.pdf" in body
    response = citizen_client.post(f"{page}submit/", follow=True)
    assert "申请已提交" in text(response)
    assert Application.objects.get().state == State.SUBMITTED

    # The clerk sees it in pre-review and sends one notice naming two deficiencies.
    assert case.number in text(clerk_client.get("/window/prereview/"))
    licence, plan = requirements["营业执照"], requirements["场所平面图"]
    response = clerk_client.post(f"/window/cases/{case.number}/notice/", {
        f"notice-named_{licence}": "on", f"notice-reason_{licence}": "营业执照已过期",
        f"notice-named_{plan}": "on", f"notice-reason_{plan}": "缺少场所平面图",
        f"notice-reason_{requirements['食品经营许可申请书']}": "unchecked rows are ignored",
    })
    assert response.status_code == 302
    notice = Notice.objects.get()
    assert sorted(Deficiency.objects.filter(notice=notice).values_list("reason", flat=True)) == ["缺少场所平面图", "营业执照已过期"]
    assert Application.objects.get().state == State.PENDING_MATERIALS
    notice_pdf = Document.objects.get(kind="materials_notice")

    # The citizen sees both reasons and the notice PDF, and may upload only what was noticed.
    body = text(citizen_client.get(page))
    assert "一次性告知" in body and "营业执照已过期" in body and "缺少场所平面图" in body
    assert f"/api/v1/applications/{case.number}/documents/{notice_pdf.pk}/pdf/" in body
    assert f'id="file-{licence}"' in body and f'id="file-{plan}"' in body
    assert f'id="file-{requirements["食品经营许可申请书"]}"' not in body
    document = citizen_client.get(f"/api/v1/applications/{case.number}/documents/{notice_pdf.pk}/pdf/")
    assert document.status_code == 200 and document["Content-Type"] == "application/pdf"
    # Our own documents are downloads too, sandboxed, never kept by a cache (decision 040).
    assert document["Content-Disposition"].startswith("attachment;") and document["Content-Security-Policy"] == FILE_POLICY
    assert document["X-Content-Type-Options"] == "nosniff" and document["Cache-Control"] == "no-store"

    # Resubmitting before supplying everything is refused with the reason.
    upload_page(citizen_client, f"{page}materials/", licence, pdf_file("新营业执照.pdf"))
    response = citizen_client.post(f"{page}resubmit/", follow=True)
    assert "尚未补正：场所平面图" in text(response)
    assert Application.objects.get().state == State.PENDING_MATERIALS
    upload_page(citizen_client, f"{page}materials/", plan, pdf_file("平面图.pdf"))
    response = citizen_client.post(f"{page}resubmit/", follow=True)
    assert "补正材料已提交" in text(response)
    assert Application.objects.get().state == State.SUBMITTED
    # The replaced licence keeps its first version.
    assert list(Material.objects.filter(requirement_id=licence).values_list("version", flat=True).order_by("version")) == [1, 2]

    # The clerk accepts; the page shows the due date it will get (2026-11-24 + 5 working days).
    with time_machine.travel("2026-11-24 10:00 +0800"):
        body = text(clerk_client.get(f"/window/cases/{case.number}/"))
        assert "2026-12-01" in body and "受理" in body
        response = clerk_client.post(f"/window/cases/{case.number}/accept/", follow=True)
    body = text(response)
    assert "已受理" in body and "2026-12-01" in body and "受理通知书" in body
    case.refresh_from_db()
    assert case.state == State.ACCEPTED and str(case.due_date) == "2026-12-01" and case.accepted_by.role == "clerk"

    # The citizen's timeline lists every step, oldest first.
    body = text(citizen_client.get(page))
    steps = ["创建申请", "提交", "一次性告知补正", "补正后重新提交", "受理"]
    positions = [body.index(f"<strong>{step}</strong>") for step in steps]
    assert positions == sorted(positions)


def test_accept_shows_a_provisional_due_date_in_an_unknown_year(clerk, submitted):
    # chinese-calendar's data ends with 2026: a 2027 due date is computed from weekends and shown as 预计.
    with time_machine.travel("2027-03-01 10:00 +0800"):
        body = text(login(clerk).get(f"/window/cases/{submitted}/"))
    assert "2027-03-08" in body and "（预计）" in body


def test_second_accept_click_shows_the_refusal_and_changes_nothing(clerk_client, submitted):
    clerk_client.post(f"/window/cases/{submitted}/accept/")
    case = Application.objects.get(number=submitted)
    events, documents = AuditEvent.objects.count(), Document.objects.count()
    response = clerk_client.post(f"/window/cases/{submitted}/accept/", follow=True)
    assert response.status_code == 200
    assert "办件当前状态为「已受理」，不能受理" in text(response)
    again = Application.objects.get(number=submitted)
    assert (again.state, again.accepted_at, again.due_date) == (State.ACCEPTED, case.accepted_at, case.due_date)
    assert (AuditEvent.objects.count(), Document.objects.count()) == (events, documents)


def test_notice_needs_a_reason_for_each_checked_material(clerk_client, submitted, requirements):
    licence = requirements["营业执照"]
    response = clerk_client.post(f"/window/cases/{submitted}/notice/", {f"notice-named_{licence}": "on"})
    assert response.status_code == 200
    assert re.search(r'name="notice-reason_%d"[^>]*>\s*<p class="field-error">请写明补正原因' % licence, text(response))
    assert not Notice.objects.exists() and Application.objects.get().state == State.SUBMITTED


def test_notice_with_nothing_checked_is_refused_by_the_service(clerk_client, submitted):
    response = clerk_client.post(f"/window/cases/{submitted}/notice/", {})
    assert response.status_code == 200 and "请至少列出一项需要补正的材料" in text(response)
    assert not Notice.objects.exists()


def test_a_bad_file_is_explained_next_to_its_material(citizen_client, draft, requirements):
    licence = requirements["营业执照"]
    fake = SimpleUploadedFile("伪装.pdf", b"MZ not a pdf at all", content_type="application/pdf")
    response = citizen_client.post(f"/my/cases/{draft}/materials/", {"requirement": licence, "file": fake})
    assert response.status_code == 200
    assert re.search(r'id="file-%d-error">文件格式不支持' % licence, text(response))
    assert not Material.objects.exists()


def test_withdraw_asks_to_confirm_first(citizen_client, draft):
    response = citizen_client.get(f"/my/cases/{draft}/withdraw/")
    assert response.status_code == 200 and "确认撤回" in text(response)
    assert Application.objects.get().state == State.DRAFT
    response = citizen_client.post(f"/my/cases/{draft}/withdraw/", follow=True)
    assert "申请已撤回" in text(response) and Application.objects.get().state == State.WITHDRAWN


def test_apply_needs_a_verified_identity(item):
    client = login(UserFactory())
    response = client.post(f"/apply/{item.code}/", {"description": "x", "contact_phone": "13800000000"})
    assert response.status_code == 200 and "请先完成实名认证" in text(response)
    assert not Application.objects.exists()


def test_apply_field_errors_stay_next_to_the_fields(citizen_client, item):
    response = citizen_client.post(f"/apply/{item.code}/", {"description": "", "contact_phone": "abc"})
    body = text(response)
    assert "该字段是必填项" in body and "请填写正确的电话号码" in body
    assert not Application.objects.exists()


def test_window_only_item_cannot_be_applied_for_online(citizen_client):
    item = published_item(online=False)
    response = citizen_client.get(f"/apply/{item.code}/")
    assert response.status_code == 200 and "暂不支持网上办理" in text(response)


# --- walk-in registration --------------------------------------------------------------------------------


def test_walk_in_with_a_bad_id_shows_the_error_and_stores_nothing(clerk_client, item):
    users = User.objects.count()
    response = clerk_client.post("/window/intake/", {
        "item": item.code, "applicant_name": "王小明", "id_type": "111", "id_number": "220102199003071234",
    })
    assert response.status_code == 200
    assert re.search(r'id="id_id_number"[^>]*>\s*<p class="field-error">居民身份证号码校验位错误', text(response))
    assert not Application.objects.exists() and User.objects.count() == users


def test_walk_in_registration_goes_to_the_checklist_and_accepts(clerk_client, clerk, item, requirements):
    response = clerk_client.get("/window/intake/", {"q": "食品经营"})
    assert f'value="{item.code}"' in text(response)
    response = clerk_client.post("/window/intake/", {
        "item": item.code, "applicant_name": "王小明", "id_type": "111", "id_number": VALID_ID,
        "contact_phone": "0431-88888888",
    })
    case = Application.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/window/cases/{case.number}/"
    assert case.channel == "window" and case.applicant.real_name == "王小明" and case.hall == clerk.hall
    body = text(clerk_client.get(response["Location"]))
    assert "王小明" in body and "220102********1235" in body and "必要" in body and "可容缺" in body
    for name in ("食品经营许可申请书", "营业执照"):
        assert upload_page(clerk_client, f"/window/cases/{case.number}/materials/", requirements[name]).status_code == 302
    response = clerk_client.post(f"/window/cases/{case.number}/accept/", follow=True)
    assert "已受理" in text(response)
    assert Application.objects.get().state == State.ACCEPTED


def test_clerk_following_the_guide_button_lands_on_intake(clerk_client, item):
    response = clerk_client.get(f"/apply/{item.code}/")
    assert response.status_code == 302 and response["Location"] == f"/window/intake/?item={item.code}"
    assert f'value="{item.code}" selected' in text(clerk_client.get(response["Location"]))


# --- referral to the department ---------------------------------------------------------------------------


def test_refer_then_head_declines_with_legal_basis(clerk_client, head, submitted):
    response = clerk_client.post(f"/window/cases/{submitted}/refer/", {"refer-reason": ""})
    assert "请写明转部门研判的原因" in text(response)
    assert Application.objects.get().state == State.SUBMITTED
    clerk_client.post(f"/window/cases/{submitted}/refer/", {"refer-reason": "经营场所疑似住宅"})
    case = Application.objects.get()
    assert case.state == State.REFERRED

    head_client = login(head)
    body = text(head_client.get("/dept/referrals/"))
    assert submitted in body and "经营场所疑似住宅" in body
    prefix = f"decline-{case.pk}"
    response = head_client.post(f"/dept/referrals/{submitted}/decline/", {f"{prefix}-reason": "场所为住宅", f"{prefix}-legal_basis": ""})
    assert response.status_code == 200 and "请写明法律依据" in text(response)
    assert Application.objects.get().state == State.REFERRED
    response = head_client.post(f"/dept/referrals/{submitted}/decline/", {
        f"{prefix}-reason": "场所为住宅", f"{prefix}-legal_basis": "《食品经营许可管理办法》第十一条",
    }, follow=True)
    assert "不予受理决定" in text(response)
    assert Application.objects.get().state == State.NOT_ACCEPTED
    assert Document.objects.filter(kind="refusal_notice").exists()


def test_head_returns_a_referral_to_the_window(clerk_client, head, submitted):
    clerk_client.post(f"/window/cases/{submitted}/refer/", {"refer-reason": "请部门确认"})
    case = Application.objects.get()
    response = login(head).post(f"/dept/referrals/{submitted}/return/", {f"return-{case.pk}-reason": "可以受理"}, follow=True)
    assert "已退回窗口" in text(response)
    assert Application.objects.get().state == State.SUBMITTED


# --- permission boundaries --------------------------------------------------------------------------------


def test_another_citizens_case_is_404(draft, requirements):
    other = login(UserFactory(identified=True))
    assert other.get(f"/my/cases/{draft}/").status_code == 404
    assert other.post(f"/my/cases/{draft}/materials/", {"requirement": requirements["营业执照"], "file": pdf_file()}).status_code == 404
    assert other.post(f"/my/cases/{draft}/withdraw/").status_code == 404
    assert other.post(f"/my/cases/{draft}/submit/").status_code == 404
    assert Application.objects.get().state == State.DRAFT and not Material.objects.exists()


def test_head_of_another_department_cannot_answer_a_referral(clerk_client, submitted):
    clerk_client.post(f"/window/cases/{submitted}/refer/", {"refer-reason": "请部门确认"})
    other_head = login(UserFactory(head=True))
    assert submitted not in text(other_head.get("/dept/referrals/"))
    assert other_head.post(f"/dept/referrals/{submitted}/return/").status_code == 404
    assert Application.objects.get().state == State.REFERRED


@pytest.mark.parametrize("url", ["/window/prereview/", "/window/intake/", "/window/cases/{number}/"])
def test_window_pages_are_404_for_other_roles(reviewer, citizen, head, submitted, url):
    url = url.format(number=submitted)
    assert login(reviewer).get(url).status_code == 404
    assert login(citizen).get(url).status_code == 404
    assert login(head).get(url).status_code == 404


def test_non_clerks_cannot_accept(reviewer, submitted):
    assert login(reviewer).post(f"/window/cases/{submitted}/accept/").status_code == 404
    assert Application.objects.get().state == State.SUBMITTED


def test_department_and_citizen_pages_are_role_bound(clerk, reviewer, citizen):
    assert login(clerk).get("/dept/referrals/").status_code == 404
    assert login(reviewer).get("/dept/referrals/").status_code == 404
    assert login(clerk).get("/my/cases/").status_code == 404


@pytest.mark.parametrize("url", ["/my/cases/", "/window/prereview/", "/window/intake/", "/dept/referrals/", "/apply/X/"])
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_posts_need_csrf(citizen, draft):
    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen)
    assert client.post(f"/my/cases/{draft}/withdraw/").status_code == 403
    assert Application.objects.get().state == State.DRAFT


# --- bounded queries --------------------------------------------------------------------------------------
# The page's own queries are few (the page count, the page of cases with their items joined, and for the
# queue the calendar once); the rest is per request (session, user, what base.html shows). The ceiling
# allows a little of the latter; the second measurement pins that more cases never add a query.


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


def _many_cases(citizen, item, count):
    client = login(citizen)
    for _ in range(count):
        create_online(client, item)


def test_my_cases_query_count_does_not_grow(citizen, citizen_client, item, django_assert_max_num_queries):
    _many_cases(citizen, item, 2)
    with django_assert_max_num_queries(6):
        baseline = _queries(citizen_client, "/my/cases/")
    _many_cases(citizen, item, 10)
    with django_assert_max_num_queries(baseline):
        response = citizen_client.get("/my/cases/")
    assert text(response).count('class="case-row"') == 12


def test_prereview_query_count_does_not_grow(clerk_client, item, requirements, django_assert_max_num_queries):
    def submit_many(count):
        for _ in range(count):
            applicant = UserFactory(identified=True)
            client = login(applicant)
            create_online(client, item)
            number = Application.objects.get(applicant=applicant).number
            for name in ("食品经营许可申请书", "营业执照"):
                upload_page(client, f"/my/cases/{number}/materials/", requirements[name])
            client.post(f"/my/cases/{number}/submit/")

    submit_many(2)
    with django_assert_max_num_queries(8):
        baseline = _queries(clerk_client, "/window/prereview/")
    submit_many(6)
    with django_assert_max_num_queries(baseline):
        response = clerk_client.get("/window/prereview/")
    body = text(response)
    assert body.count('class="case-row"') == 8 and "剩 5 个工作日" in body


def test_window_does_not_see_an_online_draft(clerk_client, draft, requirements):
    # The citizen's draft is theirs until submitted: the window gets a 404, as for any case it may not see.
    assert clerk_client.get(f"/window/cases/{draft}/").status_code == 404
    assert clerk_client.post(f"/window/cases/{draft}/accept/").status_code == 404
    assert Application.objects.get(number=draft).state == "draft"


def test_a_noticed_material_reads_needs_supplement_until_a_new_file_comes(citizen_client, clerk, submitted, requirements):
    """Issue 18: a flagged material showed 「需补正」 and 「已上传」 at once."""
    from applications import services

    case = Application.objects.get(number=submitted)
    services.application_request_materials(actor=clerk, application=case, deficiencies=[
        {"requirement": requirements["营业执照"], "reason": "复印件不清晰"}])

    def flags(html: str) -> str:
        row = html[html.index('<strong class="material-name">营业执照</strong>'):]
        return row[:row.index("</span>\n      </div>")]

    before = flags(citizen_client.get(f"/my/cases/{submitted}/").content.decode())
    assert "需补正" in before and "已上传" not in before
    response = citizen_client.post(f"/my/cases/{submitted}/materials/", {"requirement": requirements["营业执照"], "file": pdf_file()})
    assert response.status_code == 302
    after = flags(citizen_client.get(f"/my/cases/{submitted}/").content.decode())
    assert "已补正" in after and "需补正" not in after
