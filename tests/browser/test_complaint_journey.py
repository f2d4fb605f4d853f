"""投诉 in Chromium (issue 19, decision 059): a person without an account files a complaint on a phone with an
SMS code read from the outbox, a reviewer of the department records the 回访 and answers at a desk, and the
person opens the link from the SMS and rates 满意; a citizen complains from a case's page, is not satisfied,
and a supervisor sends the answer back. axe-core finds nothing on any page, in any of its states."""

import re

import pytest
from playwright.sync_api import expect

from applications import selectors, services
from applications.models import Complaint
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS, log_in
from tests.factories import DepartmentFactory, UserFactory, published_item
from tests.files import pdf_file
from tests.sms_outbox import sms_outbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13700007777"
PHONE_SIZE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}


def open_page(chromium, live_server, viewport, **options):
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=viewport, **options)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_an_anonymous_complaint_is_answered_and_rated(chromium, live_server, settings, tmp_path):
    sms = sms_outbox(settings, tmp_path)
    department = DepartmentFactory(name="市场监督管理局")
    published_item(department=department, name="食品经营许可（新办）")
    reviewer = UserFactory(reviewer=True, department=department, real_name="王审查")

    person_context, person = open_page(chromium, live_server, PHONE_SIZE, is_mobile=True)
    staff_context, staff = open_page(chromium, live_server, DESK)
    try:
        person.goto("/")
        person.get_by_role("link", name=re.compile("^投诉")).click()
        person.wait_for_url("**/complaints/new/")
        fits(person, PHONE_SIZE["width"])
        assert_accessible(person)

        with person.expect_navigation():  # choosing the department lists its items
            person.get_by_label("投诉部门").select_option(label="市场监督管理局")
        assert_accessible(person)
        person.get_by_label("相关事项（可不选）").select_option(label="食品经营许可（新办）")
        person.get_by_label("投诉类别").select_option(label="办事效率")
        person.get_by_label("投诉内容").fill("提交材料后两周没有任何消息，电话也打不通")
        person.get_by_label("手机号码").fill(PHONE)
        person.get_by_role("button", name="获取验证码").click()
        person.wait_for_load_state()
        expect(person.get_by_role("status")).to_contain_text(f"验证码已发送至 {PHONE}")
        assert_accessible(person)
        ARTIFACTS.mkdir(exist_ok=True)
        person.screenshot(path=str(ARTIFACTS / "test_complaint_journey_form.png"), full_page=True)

        # A wrong code is named on its field; nothing is filed.
        right = sms.code(PHONE)
        person.get_by_label("短信验证码").fill("000000" if right != "000000" else "111111")
        person.get_by_role("button", name="提交投诉").click()
        person.wait_for_load_state()
        expect(person.get_by_role("alert")).to_contain_text("短信验证码")
        assert person.get_by_label("短信验证码").get_attribute("aria-invalid") == "true"
        assert not Complaint.objects.exists()
        assert_accessible(person)

        person.get_by_label("短信验证码").fill(right)
        person.get_by_role("button", name="提交投诉").click()
        person.wait_for_url("**/complaints/follow/**")
        complaint = Complaint.objects.get()
        expect(person.locator("main")).to_contain_text(f"投诉已提交，编号 {complaint.number}")
        fits(person, PHONE_SIZE["width"])
        assert_accessible(person)
        assert complaint.number in sms.messages(PHONE)[-1]
        assert complaint.item.current_version.name == "食品经营许可（新办）"

        log_in(staff, reviewer.username)
        staff.get_by_role("navigation", name="主导航").get_by_role("link", name="投诉处理").click()
        staff.wait_for_url("**/review/complaints/")
        expect(staff.get_by_text(complaint.number)).to_be_visible()
        assert_accessible(staff)
        staff.get_by_role("link", name=re.compile("办事效率")).click()
        staff.wait_for_url(f"**/review/complaints/{complaint.number}/")
        expect(staff.locator("main")).to_contain_text(PHONE)
        assert_accessible(staff)

        staff.get_by_role("button", name="记录回访，开始处理").click()  # empty: refused on its field
        staff.wait_for_load_state()
        expect(staff.locator("main")).to_contain_text("回访情况：请先回访投诉人")
        assert_accessible(staff)
        staff.get_by_label("回访情况").fill("已电话联系投诉人，材料在审查中，承诺本周内办结")
        staff.get_by_role("button", name="记录回访，开始处理").click()
        staff.wait_for_load_state()
        expect(staff.locator("main")).to_contain_text("处理中")
        staff.get_by_label("答复内容").fill("经核实，因系统升级导致电话无人接听，已增设专人接听并于 3 日内办结您的申请。")
        staff.get_by_role("button", name="答复投诉人").click()
        staff.wait_for_load_state()
        expect(staff.locator("main")).to_contain_text("已答复")
        assert_accessible(staff)

        answer = sms.messages(PHONE)[-1]
        assert "已答复" in answer
        link = re.search(r"https?://\S+?(/complaints/follow/[^/\s]+/)", answer).group(1)
        person.goto(link)
        expect(person.get_by_text("增设专人接听")).to_be_visible()
        fits(person, PHONE_SIZE["width"])
        assert_accessible(person)
        person.get_by_role("radio", name="满意", exact=True).check()
        person.get_by_role("button", name="提交评价").click()
        person.wait_for_load_state()
        expect(person.locator("main")).to_contain_text("感谢您的评价")
        expect(person.locator("main")).to_contain_text("已办结")
        assert_accessible(person)
        complaint.refresh_from_db()
        assert (complaint.state, complaint.verdict) == ("closed", "satisfied")
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        person.screenshot(path=str(ARTIFACTS / "test_complaint_journey_phone.png"), full_page=True)
        staff.screenshot(path=str(ARTIFACTS / "test_complaint_journey_desk.png"), full_page=True)
        person_context.close()
        staff_context.close()


def test_a_citizen_complains_about_a_case_and_a_supervisor_reviews_it(chromium, live_server, tmp_path, settings):
    """From the case's page at phone width; the 不满意 goes to a supervisor, who sends it back, on a phone too."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    department = DepartmentFactory(name="住房保障局")
    item = published_item(department=department, name="公共租赁住房申请")
    citizen = UserFactory(identified=True, real_name="张伟", phone="13600006666")
    reviewer = UserFactory(reviewer=True, department=department)
    supervisor = UserFactory(supervisor=True, real_name="赵监察")
    case = services.application_create(actor=citizen, item_code=item.code, contact_phone=citizen.phone)
    for requirement in selectors.missing_requirements(case):
        services.application_material_upload(actor=citizen, application=case, requirement_id=requirement.pk,
                                             upload=pdf_file())
    case = services.application_submit(actor=citizen, application=case)

    context, page = open_page(chromium, live_server, PHONE_SIZE, is_mobile=True)
    try:
        log_in(page, citizen.username)
        page.goto(f"/my/cases/{case.number}/")
        page.get_by_role("link", name="投诉", exact=True).click()
        page.wait_for_url(f"**/my/cases/{case.number}/complaint/")
        assert_accessible(page)
        page.get_by_role("button", name="提交投诉").click()  # nothing chosen: named on the fields
        page.wait_for_load_state()
        expect(page.get_by_role("alert")).to_contain_text("投诉类别")
        assert_accessible(page)
        page.get_by_label("投诉类别").select_option(label="材料要求")
        page.get_by_label("投诉内容").fill("要求提供单位出具的无房证明，但单位早已注销")
        page.get_by_role("button", name="提交投诉").click()
        page.wait_for_url("**/my/complaints/TS-*/")
        complaint = Complaint.objects.get()
        assert complaint.application_id == case.pk and complaint.department == department
        fits(page, PHONE_SIZE["width"])
        assert_accessible(page)

        services.complaint_start(actor=reviewer, complaint=complaint, note="已电话联系")
        services.complaint_answer(actor=reviewer, complaint=complaint, answer="无房证明可由住建部门查询出具")
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的投诉").click()
        page.wait_for_url("**/my/complaints/")
        assert_accessible(page)
        page.get_by_role("link", name=re.compile("材料要求")).click()
        page.get_by_role("radio", name="不满意", exact=True).check()
        page.get_by_role("button", name="提交评价").click()  # no reason: refused on its field
        page.wait_for_load_state()
        expect(page.locator("main")).to_contain_text("请写明原因")
        assert_accessible(page)
        page.get_by_label("评价意见").fill("住建部门说不出具这种证明")
        page.get_by_role("button", name="提交评价").click()
        page.wait_for_load_state()
        expect(page.locator("main")).to_contain_text("监察人员正在复核")

        page.get_by_role("banner").get_by_role("button", name="退出").click()
        log_in(page, supervisor.username)
        page.goto("/review/complaints/?state=review")
        fits(page, PHONE_SIZE["width"])
        assert_accessible(page)
        page.get_by_role("link", name=re.compile("材料要求")).click()
        expect(page.locator("main")).to_contain_text("住建部门说不出具这种证明")
        assert_accessible(page)
        page.get_by_label("退回理由").fill("请与住建部门协调后重新答复")
        page.get_by_role("button", name="退回部门重新答复").click()
        page.wait_for_load_state()
        expect(page.locator("main")).to_contain_text("处理中")
        complaint.refresh_from_db()
        assert complaint.state == "in_progress" and complaint.reviewed_by == supervisor
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "test_complaint_review_phone.png"), full_page=True)
        context.close()
