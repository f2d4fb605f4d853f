"""投诉 pages (decision 059): filing without an account with an SMS code (a wrong or expired code is refused on
its field and nothing is stored; the code requests and the filings are limited), filing from a case's page,
the department's pages (回访, answer; another department's complaint is a 404; a refused step is a 409 page),
and the link the complainant follows to rate the answer."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from applications.complaint_links import complaint_link_path, complaint_link_read
from applications.models import Complaint
from portal.models import AuditEvent, SmsCode
from tests.assertions import unchanged
from tests.factories import UserFactory, published_item
from tests.sms_outbox import sms_outbox

pytestmark = pytest.mark.django_db

PHONE = "13900001111"
FILED_AT = "2026-09-30 15:00 +0800"


def followed(text: str) -> Complaint | None:
    """The complaint of the signed link in a redirect or an SMS."""
    token = re.search(r"/complaints/follow/([^/\s]+)/", text).group(1)
    return complaint_link_read(token)


def page_client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def form(item, /, **fields):
    return {"department": item.department.code, "item": item.code, "category": "attitude", "content": "窗口人员态度生硬，不解释原因",
            "name": "陈先生", "phone": PHONE, "code": "", "action": "file", **fields}


@pytest.fixture
def outbox(settings, tmp_path):
    return sms_outbox(settings, tmp_path)


def send_code(client, item):
    return client.post("/complaints/new/", form(item, action="send_code"))


def test_anonymous_complaint_with_an_sms_code(item, outbox, reviewer, django_capture_on_commit_callbacks):
    client = page_client()
    page = client.get("/complaints/new/")
    assert page.status_code == 200 and "短信验证码" in page.content.decode()
    response = send_code(client, item)
    assert response.status_code == 200 and f"验证码已发送至 {PHONE}" in response.content.decode()
    assert "投诉验证码" in outbox.messages(PHONE)[-1]
    code = outbox.code(PHONE)
    with time_machine.travel(FILED_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        # The code was sent "now"; travelling back keeps it alive (it expires 5 minutes after it was sent).
        SmsCode.objects.filter(phone=PHONE).update(expires_at=timezone.now() + timedelta(minutes=5))
        response = client.post("/complaints/new/", form(item, code=code))
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert followed(response["Location"]) == complaint
    assert (complaint.complainant, complaint.phone, complaint.name) == (None, PHONE, "陈先生")
    assert complaint.department == item.department and complaint.item == item and complaint.category == "attitude"
    assert str(complaint.due_date) == "2026-10-20"
    sent = outbox.messages(PHONE)[-1]
    assert complaint.number in sent and followed(sent) == complaint
    page = client.get(response["Location"]).content.decode()
    assert complaint.number in page and "待处理" in page and "窗口人员态度生硬" in page
    assert AuditEvent.objects.get(action="complaint_file").payload["anonymous"] is True


def test_a_wrong_code_is_refused_on_its_field_and_nothing_stored(item, outbox):
    client = page_client()
    send_code(client, item)
    wrong = "000000" if outbox.code(PHONE) != "000000" else "111111"
    response = client.post("/complaints/new/", form(item, code=wrong))
    assert response.status_code == 400
    assert "短信验证码：验证码错误，还可尝试 4 次" in response.content.decode()
    assert not Complaint.objects.exists() and not AuditEvent.objects.filter(action="complaint_file").exists()


def test_an_expired_code_is_refused(item, outbox):
    client = page_client()
    send_code(client, item)
    code = outbox.code(PHONE)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        response = client.post("/complaints/new/", form(item, code=code))
    assert response.status_code == 400 and "验证码已失效，请重新获取" in response.content.decode()
    assert not Complaint.objects.exists()


def test_fields_are_checked_before_the_code_is_spent(item, outbox):
    client = page_client()
    send_code(client, item)
    response = client.post("/complaints/new/", form(item, item="", department="", content="", code=outbox.code(PHONE)))
    body = response.content.decode()
    assert response.status_code == 400 and "请选择投诉的部门" in body and "请填写投诉内容" in body
    assert SmsCode.objects.get(phone=PHONE).attempts == 0
    assert not Complaint.objects.exists()


def test_code_requests_are_limited_per_phone_and_filings_per_address(item, outbox, settings):
    client = page_client()
    assert send_code(client, item).status_code == 200
    response = send_code(client, item)
    assert response.status_code == 429 and "该手机号获取验证码请求过于频繁" in response.content.decode()
    assert len(outbox.messages(PHONE)) == 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "complaint_file": "2/hour"}}
    response = client.post("/complaints/new/", form(item, code="123456"))
    assert response.status_code == 429 and response["Retry-After"]
    assert not Complaint.objects.exists()


def test_a_signed_in_applicant_files_without_a_code(citizen, item):
    client = page_client(citizen)
    page = client.get("/complaints/new/").content.decode()
    assert "短信验证码" not in page
    response = client.post("/complaints/new/", {"department": item.department.code, "item": item.code, "category": "policy",
                                                "content": "政策口径不一致", "action": "file"})
    complaint = Complaint.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/my/complaints/{complaint.number}/"
    assert complaint.complainant == citizen
    mine = client.get("/my/complaints/").content.decode()
    assert complaint.number in mine and "政策执行" in mine


# --- from a case's page ----------------------------------------------------------------------------------------


def test_complaint_from_the_case_page(citizen, submitted, item):
    client = page_client(citizen)
    assert f"/my/cases/{submitted}/complaint/" in client.get(f"/my/cases/{submitted}/").content.decode()
    page = client.get(f"/my/cases/{submitted}/complaint/").content.decode()
    assert item.department.name in page
    response = client.post(f"/my/cases/{submitted}/complaint/", {"category": "", "content": ""})
    assert response.status_code == 400 and "请选择投诉类别" in response.content.decode()
    assert not Complaint.objects.exists()
    response = client.post(f"/my/cases/{submitted}/complaint/", {"category": "efficiency", "content": "超过承诺时间没有消息"})
    complaint = Complaint.objects.get()
    assert response.status_code == 302 and complaint.application.number == submitted
    assert complaint.department == item.department and complaint.complainant == citizen


def test_another_citizens_case_page_is_a_404(submitted):
    client = page_client(UserFactory(identified=True))
    assert client.get(f"/my/cases/{submitted}/complaint/").status_code == 404
    assert client.post(f"/my/cases/{submitted}/complaint/", {"category": "other", "content": "冒名"}).status_code == 404
    assert not Complaint.objects.exists()


# --- the department's pages and the link ---------------------------------------------------------------------


@pytest.fixture
def anonymous_complaint(item, outbox, reviewer, head, django_capture_on_commit_callbacks):
    client = page_client()
    send_code(client, item)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/complaints/new/", form(item, code=outbox.code(PHONE)))
    return Complaint.objects.get()


def test_department_records_callback_then_answers_and_the_person_rates(
        anonymous_complaint, reviewer, outbox, django_capture_on_commit_callbacks):
    complaint = anonymous_complaint
    staff = page_client(reviewer)
    listing = staff.get("/review/complaints/").content.decode()
    assert complaint.number in listing and "答复期限" in listing
    url = f"/review/complaints/{complaint.number}/"
    page = staff.get(url).content.decode()
    assert PHONE in page and "记录回访" in page
    with unchanged(complaint):
        response = staff.post(f"{url}answer/", {"text": "直接答复"})
    assert response.status_code == 409 and "不能答复" in response.content.decode()
    with unchanged(complaint):
        response = staff.post(f"{url}start/", {"text": ""})
    assert response.status_code == 400 and "回访情况：请先回访投诉人" in response.content.decode()
    assert staff.post(f"{url}start/", {"text": "已电话联系陈先生"}).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(f"{url}answer/", {"text": "已对窗口人员批评教育"}).status_code == 302
    complaint.refresh_from_db()
    assert complaint.state == "answered" and complaint.answer == "已对窗口人员批评教育"
    sent = outbox.messages(PHONE)[-1]
    assert "已答复" in sent and followed(sent) == complaint

    person = page_client()
    link = complaint_link_path(complaint)
    assert "评价答复" in person.get(link).content.decode()
    response = person.post(link, {"verdict": "dissatisfied", "comment": ""})
    assert response.status_code == 400 and "请写明原因" in response.content.decode()
    assert person.post(link, {"verdict": "satisfied"}).status_code == 302
    complaint.refresh_from_db()
    assert (complaint.state, complaint.verdict) == ("closed", "satisfied")
    # The link rates once.
    with unchanged(complaint):
        response = person.post(link, {"verdict": "dissatisfied", "comment": "改主意了"})
    assert response.status_code == 409
    assert AuditEvent.objects.get(action="complaint_accept_answer").payload["by"] == "link"


def test_another_departments_complaint_page_is_a_404(anonymous_complaint):
    other = page_client(UserFactory(reviewer=True))
    with unchanged(anonymous_complaint):
        assert other.get(f"/review/complaints/{anonymous_complaint.number}/").status_code == 404
        assert other.post(f"/review/complaints/{anonymous_complaint.number}/start/", {"text": "回访"}).status_code == 404
    assert anonymous_complaint.number not in other.get("/review/complaints/").content.decode()


def test_a_citizen_or_clerk_cannot_open_the_department_pages(anonymous_complaint, citizen, clerk):
    for user in (citizen, clerk):
        assert page_client(user).get("/review/complaints/").status_code == 404


def test_a_forged_link_is_a_404(anonymous_complaint):
    assert page_client().get("/complaints/follow/not-a-token/").status_code == 404
    link = complaint_link_path(anonymous_complaint)
    assert page_client().get(link[:-3] + "xx/").status_code == 404


def test_supervisor_filters_and_reviews_on_the_page(anonymous_complaint, reviewer, citizen):
    supervisor = UserFactory(supervisor=True)
    client = page_client(supervisor)
    code = anonymous_complaint.department.code
    assert anonymous_complaint.number in client.get(f"/review/complaints/?department={code}&state=open").content.decode()
    assert anonymous_complaint.number not in client.get("/review/complaints/?overdue=1").content.decode()
    url = f"/review/complaints/{anonymous_complaint.number}/"
    staff = page_client(reviewer)
    staff.post(f"{url}start/", {"text": "已联系"})
    staff.post(f"{url}answer/", {"text": "已处理"})
    page_client().post(complaint_link_path(anonymous_complaint), {"verdict": "dissatisfied", "comment": "没有处理"})
    assert "退回部门重新答复" in client.get(url).content.decode()
    response = client.post(f"{url}send-back/", {"text": ""})
    assert response.status_code == 400 and "退回理由：请写明退回的理由" in response.content.decode()
    assert client.post(f"{url}send-back/", {"text": "请核实窗口录像"}).status_code == 302
    anonymous_complaint.refresh_from_db()
    assert anonymous_complaint.state == "in_progress" and anonymous_complaint.review_note == "请核实窗口录像"


def test_the_lists_cost_the_same_queries_for_one_complaint_or_many(citizen, submitted, reviewer):
    def file(count):
        for _ in range(count):
            page_client(citizen).post(f"/my/cases/{submitted}/complaint/", {"category": "other", "content": "再次投诉"})

    def queries(user, url):
        client = page_client(user)
        client.get(url)  # the session and the nav's first reads
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    file(1)
    one = {url: queries(user, url) for user, url in ((reviewer, "/review/complaints/"), (citizen, "/my/complaints/"))}
    file(4)
    many = {url: queries(user, url) for user, url in ((reviewer, "/review/complaints/"), (citizen, "/my/complaints/"))}
    assert one == many


def test_choosing_a_department_lists_its_items_only(item):
    other = published_item(name="户外广告设置许可")
    client = page_client()
    first = client.get("/complaints/new/").content.decode()
    assert "请先选择投诉部门" in first and item.current_version.name not in first
    listed = client.post("/complaints/new/", {"department": item.department.code, "content": "写了一半", "action": "items"})
    body = listed.content.decode()
    assert listed.status_code == 200 and item.current_version.name in body and other.current_version.name not in body
    assert "写了一半" in body and "field-error" not in body
    from_guide = client.get(f"/complaints/new/?item={other.code}").content.decode()
    assert f'value="{other.code}" selected' in from_guide and f'value="{other.department.code}" selected' in from_guide
    assert not Complaint.objects.exists()
