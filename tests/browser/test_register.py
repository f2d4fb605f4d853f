"""A new citizen registers on the page at phone width in Chromium: the SMS code from the file backend, an error
named on its field, then the account; axe-core finds nothing on the form in any of its states."""

import pytest

from applications.services import application_create
from portal.models import User
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS
from tests.factories import UserFactory, published_item, resident_id
from tests.sms_outbox import sms_outbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13800138000"
PASSWORD = "Zhengwu-2026"


def test_a_citizen_registers_on_a_phone(chromium, live_server, settings, tmp_path):
    sms = sms_outbox(settings, tmp_path)
    id_number = resident_id(3, region="110101")
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844},
                                   is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto("/")
        page.get_by_role("banner").get_by_role("link", name="注册").click()
        page.wait_for_url("**/accounts/register/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert_accessible(page)

        page.get_by_label("真实姓名").fill("王小明")
        page.get_by_label("居民身份证号码").fill(id_number[:-1] + ("0" if id_number[-1] != "0" else "1"))
        page.get_by_label("手机号码").fill(PHONE)
        page.get_by_role("button", name="获取验证码").click()
        page.wait_for_load_state()
        assert f"验证码已发送至 {PHONE}" in page.get_by_role("status").inner_text()
        assert page.get_by_label("真实姓名").input_value() == "王小明"  # what was typed stays
        assert_accessible(page)

        page.get_by_label("短信验证码").fill(sms.code(PHONE))
        page.get_by_label("设置密码").fill(PASSWORD)
        page.get_by_label("再次输入密码").fill(PASSWORD)
        page.get_by_role("button", name="注册", exact=True).click()
        page.wait_for_load_state()
        # The wrong check digit is named on its field and in the summary; the code was not spent on it.
        assert "居民身份证号码：居民身份证号码校验位错误" in page.get_by_role("alert").inner_text()
        assert page.get_by_label("居民身份证号码").get_attribute("aria-invalid") == "true"
        assert_accessible(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "test_register_form_with_an_error.png"), full_page=True)

        page.get_by_label("居民身份证号码").fill(id_number)
        page.get_by_label("设置密码").fill(PASSWORD)
        page.get_by_label("再次输入密码").fill(PASSWORD)
        page.get_by_label("再次输入密码").press("Enter")  # Enter registers; it does not send another code
        page.wait_for_url("**/my/**")
        assert "注册成功" in page.locator("main").inner_text()
        assert "王小明" in page.get_by_role("banner").inner_text()
        assert len(sms.messages(PHONE)) == 1
        assert User.objects.get(phone=PHONE).id_number == id_number
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "test_a_citizen_registers_on_a_phone.png"), full_page=True)
        context.close()


def test_a_walk_in_registers_online_and_finds_the_case_from_the_window(page, settings, tmp_path):
    """Registered at the window by a clerk (name + ID, no account of their own), the person registers online
    with the same name and ID: the case the clerk took is in 我的办件."""
    sms = sms_outbox(settings, tmp_path)
    id_number = resident_id(5, region="110101")
    clerk = UserFactory(clerk=True, real_name="李娜")
    case = application_create(actor=clerk, item_code=published_item().code,
                              applicant={"name": "赵敏", "id_type": "111", "id_number": id_number})
    page.goto("/accounts/register/")
    page.get_by_label("真实姓名").fill("赵敏")
    page.get_by_label("居民身份证号码").fill(id_number)
    page.get_by_label("手机号码").fill("13900001234")
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_load_state()
    page.get_by_label("短信验证码").fill(sms.code("13900001234"))
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="注册", exact=True).click()
    page.wait_for_url("**/my/cases/")
    main = page.locator("main").inner_text()
    assert "您在窗口办理的事项和证照已在本账户中" in main and case.number in main
    assert User.objects.get(phone="13900001234").pk == case.applicant_id
