"""A new citizen registers on the page at phone width in Chromium: the SMS code from the file backend, an error
named on its field, then the account; axe-core finds nothing on the form in any of its states. And a person
registered at the window registers online later and finds that case and its certificate (DESIGN §13)."""

import pytest
from playwright.sync_api import expect

from applications.models import Application, State
from certificates.models import Certificate, CertificateType
from portal.models import User
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS, log_in, off_the_loop
from tests.factories import ApplicationFactory, DepartmentFactory, UserFactory, published_item, resident_id
from tests.files import build_pdf
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


def test_a_walk_in_registers_online_and_finds_the_case_and_certificate_from_the_window(chromium, live_server, settings,
                                                                                      tmp_path):
    """A clerk registers 赵敏 at the window on the 窗口受理 page (name + ID, no account of her own), takes her
    materials and accepts; the case is issued with her certificate. Later, on her phone, she registers online
    with the same name and ID: the same person row becomes her account, and the case from the window and its
    certificate are hers to open in 我的办件 and 我的证照. axe-core finds nothing on her pages."""
    sms = sms_outbox(settings, tmp_path)
    id_number = resident_id(5, region="110101")
    department = DepartmentFactory(name="长春市市场监督管理局")
    food_type = CertificateType.objects.create(
        code="FOOD-BIZ", name="食品经营许可证", department=department, validity_years=5,
        face_fields=["经营者名称", "经营场所", "许可证编号"], face_field_types={"经营者名称": "org_name"},
        number_field="许可证编号",
    )
    item = published_item(department=department, certificate_type=food_type, audience=["1"])
    required = list(item.current_version.materials.filter(required=True).order_by("order").values_list("name", flat=True))
    UserFactory(clerk=True, username="lina", real_name="李娜")
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(build_pdf(comment="材料"))
    window_context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1200, "height": 900})
    phone_context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844},
                                         is_mobile=True)
    window, page = window_context.new_page(), phone_context.new_page()
    for opened in (window, page):
        opened.set_default_timeout(15000)
    try:
        # --- the window: registered, materials taken, accepted; then issued by the back office ----------
        log_in(window, "lina")
        window.goto(f"/window/intake/?item={item.code}")
        window.get_by_label("申请人姓名").fill("赵敏")
        window.get_by_label("证件号码").fill(id_number)
        window.get_by_label("联系电话").fill("13900001234")
        window.get_by_role("button", name="登记并核对材料").click()
        window.wait_for_url("**/window/cases/*/")
        case = Application.objects.get()
        walk_in = case.applicant
        assert (walk_in.real_name, walk_in.id_number, walk_in.has_usable_password()) == ("赵敏", id_number, False)
        for name in required:
            field = window.get_by_label(f"上传「{name}」")
            field.set_input_files(pdf)
            window.locator("form.upload").filter(has=field).get_by_role("button", name="上传", exact=True).click()
            expect(window.get_by_text(f"已上传「{name}」")).to_be_visible()
        window.get_by_role("button", name="受理", exact=True).click()
        expect(window.get_by_role("main")).to_contain_text("已受理")
        case = off_the_loop(ApplicationFactory.advance, case, to=State.ISSUED,
                            face_data={"经营者名称": "长春市朝阳区赵敏小吃店", "经营场所": "长春市朝阳区人民大街 3 号"})
        certificate = Certificate.objects.get(identifier=case.certificate_identifier)
        assert (case.channel, certificate.holder_id) == ("window", walk_in.pk)

        # --- she registers online with the same name and ID, on her phone ----------------------------
        page.goto("/accounts/register/")
        page.get_by_label("真实姓名").fill("赵敏")
        page.get_by_label("居民身份证号码").fill(id_number)
        page.get_by_label("手机号码").fill("13900001234")
        page.get_by_role("button", name="获取验证码").click()
        expect(page.get_by_role("status")).to_contain_text("验证码已发送至 13900001234")
        page.get_by_label("短信验证码").fill(sms.code("13900001234"))
        page.get_by_label("设置密码").fill(PASSWORD)
        page.get_by_label("再次输入密码").fill(PASSWORD)
        page.get_by_role("button", name="注册", exact=True).click()
        page.wait_for_url("**/my/cases/")
        expect(page.get_by_role("main")).to_contain_text("您在窗口办理的事项和证照已在本账户中")
        assert_accessible(page)
        # One person row: the walk-in's, now with her login; nothing copied.
        assert list(User.objects.filter(id_number=id_number).values_list("pk", "username", "phone")) == [
            (walk_in.pk, "13900001234", "13900001234")]
        assert User.objects.get(pk=walk_in.pk).check_password(PASSWORD)

        row = page.locator(".case-row").filter(has_text=case.number)
        expect(row).to_contain_text("已出证")
        row.get_by_role("link").first.click()
        page.wait_for_url(f"**/my/cases/{case.number}/")
        expect(page.get_by_role("heading", level=1)).to_contain_text(item.current_version.name)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert_accessible(page)

        page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的证照", exact=True).click()
        page.wait_for_url("**/my/certificates/")
        held = page.locator("li.cert-row")
        expect(held).to_have_count(1)
        expect(held).to_contain_text("食品经营许可证")
        expect(held).to_contain_text("持证主体 赵敏")
        expect(held).to_contain_text(certificate.identifier)
        assert_accessible(page)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "test_a_walk_in_registers_online.png"), full_page=True)
        window_context.close()
        phone_context.close()
