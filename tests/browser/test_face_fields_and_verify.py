"""The approve form's typed face fields and public verification by licence number, in Chromium at phone and
desktop width (DESIGN §14): a wrong credit code is shown next to its field, the licence number is drawn at
approval and never typed; verification finds the licence by its number in lower case and shows only the
public face fields. axe-core finds nothing on any page visited."""

import pytest
from playwright.sync_api import expect

from applications.models import Application, State
from certificates.models import CertificateType
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS, log_in
from tests.certificates.factories import issue_certificate
from tests.factories import ApplicationFactory, DepartmentFactory, UserFactory, credit_code, published_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1200, "height": 900}}
FIELDS = ["经营者名称", "统一社会信用代码", "法定代表人（负责人）", "经营场所", "成立日期", "注册资本（万元）", "许可证编号"]


def food_type():
    return CertificateType.objects.create(
        code="FOOD-BIZ", name="食品经营许可证", department=DepartmentFactory(name="长春市市场监督管理局"),
        validity_years=5, face_fields=FIELDS,
        face_field_types={"经营者名称": "org_name", "统一社会信用代码": "uscc", "法定代表人（负责人）": "person_name",
                          "成立日期": "date", "注册资本（万元）": "number"},
        public_fields=["经营者名称", "许可证编号"], number_field="许可证编号", number_format="JY1{year}{seq:08}",
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_reviewer_confirms_typed_face_fields(chromium, live_server, width):
    certificate_type = food_type()
    item = published_item(department=certificate_type.department, certificate_type=certificate_type)
    reviewer = UserFactory(reviewer=True, department=certificate_type.department, username="wangfang", real_name="王芳")
    case = ApplicationFactory(item=item, applicant=UserFactory(identified=True, real_name="张伟"), reviewer=reviewer,
                              in_review=True)

    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=WIDTHS[width])
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        log_in(page, "wangfang")
        page.goto(f"/review/cases/{case.number}/")
        # The side column links to the decision forms, which have the main column's width (issue 18).
        page.locator(".review-side").get_by_role("link", name="准予许可").click()
        approve = page.locator("details#approve")
        expect(approve).to_have_attribute("open", "")
        faces = approve.locator("fieldset.face-data")
        if width == "desktop":  # two 照面信息 fields to a row, not one squeezed column
            name, credit = (faces.get_by_label(label).bounding_box() for label in ("经营者名称", "统一社会信用代码"))
            assert name["y"] == credit["y"] and credit["x"] > name["x"] + name["width"]
        assert faces.get_by_label("法定代表人（负责人）").input_value() == "张伟"
        assert faces.get_by_label("统一社会信用代码").input_value() == ""  # never the person's ID number
        assert faces.get_by_label("成立日期").get_attribute("type") == "date"
        assert "批准时自动编号" in faces.inner_text()
        assert faces.get_by_label("许可证编号").count() == 0
        approve.get_by_label("审查意见").fill("材料齐全，符合法定条件，准予许可")
        faces.get_by_label("经营者名称").fill("长春市南关区张伟餐馆")
        wrong = credit_code(7)[:-1] + ("0" if credit_code(7)[-1] != "0" else "1")
        faces.get_by_label("统一社会信用代码").fill(wrong)
        faces.get_by_label("成立日期").fill("2026-01-02")
        faces.get_by_label("注册资本（万元）").fill("50")
        assert_accessible(page)
        page.screenshot(path=str(ARTIFACTS / f"approve-face-fields-{width}.png"), full_page=True)
        approve.get_by_role("button", name="准予许可").click()
        page.wait_for_load_state()
        faces = page.locator("details#approve fieldset.face-data")
        credit = faces.locator(".field").filter(has=page.get_by_label("统一社会信用代码"))
        assert "校验码不正确" in credit.inner_text()
        assert Application.objects.get(pk=case.pk).state == State.IN_REVIEW
        assert_accessible(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"approve-face-error-{width}.png"), full_page=True)
        faces.get_by_label("统一社会信用代码").fill(credit_code(7))
        page.locator("details#approve").get_by_role("button", name="准予许可").click()
        page.wait_for_load_state()
        stored = Application.objects.get(pk=case.pk)
        assert stored.state == State.APPROVED
        assert stored.face_data["许可证编号"].startswith("JY1") and stored.face_data["成立日期"] == "2026-01-02"
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_anyone_verifies_a_licence_by_its_number(chromium, live_server, width):
    certificate_type = food_type()
    face = {"经营者名称": "长春市南关区张伟餐馆", "统一社会信用代码": credit_code(7), "法定代表人（负责人）": "张伟",
            "经营场所": "吉林省长春市南关区人民大街1号", "成立日期": "2026-01-02", "注册资本（万元）": "50",
            "许可证编号": "JY1202600000001"}
    old = issue_certificate(certificate_type=certificate_type, face_data=face, holder_id_type="001",
                            holder_id_number=credit_code(7), holder_name="长春市南关区张伟餐馆")
    new = issue_certificate(certificate_type=certificate_type, face_data=face, holder_id_type="001",
                            holder_id_number=credit_code(7), holder_name="长春市南关区张伟餐馆", previous=old)

    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=WIDTHS[width])
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto("/verify/")
        assert_accessible(page)
        page.screenshot(path=str(ARTIFACTS / f"verify-form-{width}.png"), full_page=True)
        page.get_by_label("证照标识或许可证编号").fill("jy1202600000001")
        page.get_by_role("button", name="查询").click()
        page.wait_for_load_state()
        assert page.locator("#status-title").inner_text() == "有效"
        body = page.locator("main").inner_text()
        assert "长春市南关区张伟餐馆" in body and "JY1202600000001" in body and new.identifier in body
        assert "人民大街1号" not in body
        assert "已换发" in page.locator(".cert-versions").inner_text() and old.identifier in body
        assert_accessible(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"verify-licence-number-{width}.png"), full_page=True)
    finally:
        context.close()
