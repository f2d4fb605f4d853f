"""A new citizen, from nothing, at phone width in Chromium: registers with the SMS code, finds a published online
item in the guide, applies and uploads every required material, submits; a clerk accepts (through the service);
signed out, the citizen follows the case on 办件查询 by number and name. axe-core finds nothing on any page."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from applications.models import Application, Material, State
from applications.services import application_accept
from portal.models import Role, User
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS
from tests.factories import UserFactory, published_item, resident_id
from tests.files import build_pdf
from tests.sms_outbox import sms_outbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13700137000"
PASSWORD = "Zhengwu-2026"
NAME = "陈晓东"
ITEM = "食品经营许可（新办）"
PHONE_VIEWPORT = {"width": 390, "height": 844}


def fits_and_accessible(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"], page.url
    assert_accessible(page)


def upload(page, name, pdf):
    field = page.get_by_label(f"上传「{name}」")
    field.set_input_files(pdf)
    page.locator("form.upload").filter(has=field).get_by_role("button", name="上传", exact=True).click()
    expect(page.get_by_text(f"已上传「{name}」")).to_be_visible()


def register(page, sms, id_number):
    page.goto("/accounts/register/")
    fits_and_accessible(page)
    page.get_by_label("真实姓名").fill(NAME)
    page.get_by_label("居民身份证号码").fill(id_number)
    page.get_by_label("手机号码").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_role("status")).to_contain_text(f"验证码已发送至 {PHONE}")
    fits_and_accessible(page)
    page.get_by_label("短信验证码").fill(sms.code(PHONE))
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="注册", exact=True).click()
    page.wait_for_url("**/my/**")
    expect(page.get_by_role("main")).to_contain_text("注册成功")
    expect(page.get_by_role("banner")).to_contain_text(NAME)  # signed in by registering
    fits_and_accessible(page)


def query(page, number, name):
    page.get_by_label("办件编号").fill(number)
    page.get_by_label("申请人姓名").fill(name)
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state()


def test_a_new_citizen_registers_applies_and_follows_the_case(chromium, live_server, settings, tmp_path):
    sms = sms_outbox(settings, tmp_path)
    id_number = resident_id(11, region="110102")
    item = published_item(name=ITEM, online=True)
    required = list(item.current_version.materials.filter(required=True).order_by("order").values_list("name", flat=True))
    assert required
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(build_pdf(comment="材料"))

    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=PHONE_VIEWPORT, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        # --- 1. registers; the account is stored -----------------------------------------------------
        register(page, sms, id_number)
        citizen = User.objects.get(id_number=id_number)
        assert (citizen.role, citizen.real_name, citizen.phone) == (Role.APPLICANT, NAME, PHONE)
        assert len(sms.messages(PHONE)) == 1

        # --- 2. the guide, 在线办理, every required material, submitted -------------------------------
        page.goto(f"/guide/{item.code}/")
        expect(page.get_by_role("heading", level=1)).to_contain_text(ITEM)
        fits_and_accessible(page)
        page.get_by_role("link", name="在线办理").first.click()
        page.wait_for_url(f"**/apply/{item.code}/")
        fits_and_accessible(page)
        page.get_by_label("申请事项说明").fill("开办社区便利店，销售预包装食品")
        page.get_by_label("联系电话").fill(PHONE)
        page.get_by_label("联系地址").fill("长春市南关区人民大街 2 号")
        page.get_by_role("button", name="创建申请").click()
        page.wait_for_url("**/my/cases/NET-*/")
        case = Application.objects.get(applicant=citizen)
        assert case.state == State.DRAFT
        fits_and_accessible(page)
        for name in required:
            upload(page, name, pdf)
        assert sorted(Material.objects.filter(application=case).values_list("requirement__name", flat=True)) == sorted(required)
        fits_and_accessible(page)
        page.get_by_role("button", name="提交", exact=True).click()
        expect(page.get_by_text("申请已提交", exact=False).first).to_be_visible()
        case.refresh_from_db()
        assert case.state == State.SUBMITTED and case.submitted_at
        fits_and_accessible(page)

        # --- 3. a clerk accepts; signed out, the citizen finds the case on 办件查询 ----------------------
        application_accept(actor=UserFactory(clerk=True), application=case)
        case.refresh_from_db()
        assert case.state == State.ACCEPTED and case.accepted_at
        context.clear_cookies()
        page.goto("/query/")
        expect(page.get_by_role("banner").get_by_role("button", name="退出")).to_have_count(0)
        fits_and_accessible(page)

        query(page, case.number, "李四")
        expect(page.get_by_role("alert")).to_have_text("未找到该办件，请核对办件编号和申请人姓名")
        expect(page.locator(".query-result")).to_have_count(0)
        expect(page.get_by_role("main")).not_to_contain_text("已受理")
        fits_and_accessible(page)

        query(page, case.number, NAME)
        result = page.get_by_role("region", name="查询结果")
        expect(result).to_contain_text("已受理")
        expect(result).to_contain_text(ITEM)
        steps = [" ".join(step.split()) for step in result.get_by_role("listitem").all_inner_texts()]
        accepted = timezone.localtime(case.accepted_at).strftime("%Y-%m-%d %H:%M")
        assert f"{accepted} 受理" in steps, steps
        assert any(step.endswith("提交申请") for step in steps), steps
        assert PHONE not in page.content() and id_number not in page.content()
        fits_and_accessible(page)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "test_new_citizen_journey.png"), full_page=True)
        context.close()
