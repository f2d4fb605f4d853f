"""办件查询 in Chromium at phone and desktop width: the QR link opens the form with the number filled in, the
applicant's name finds the case, the milestones show; axe-core finds nothing on the form or the answer."""

import pytest
import time_machine

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS
from tests.factories import ApplicationFactory, UserFactory, published_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1200, "height": 900}}


@pytest.mark.parametrize("width", WIDTHS)
def test_anyone_follows_a_case_by_number_and_name(chromium, live_server, width):
    applicant = UserFactory(identified=True, real_name="张伟", phone="13812345678")
    with time_machine.travel("2026-11-23 09:30 +0800"):
        case = ApplicationFactory(item=published_item(), applicant=applicant, submitted=True)
    with time_machine.travel("2026-11-24 10:00 +0800"):
        case = ApplicationFactory.advance(case, to="accepted")

    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=WIDTHS[width])
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"/query/?number={case.number}")  # what the QR code on the 受理通知书 opens
        assert page.get_by_label("办件编号").input_value() == case.number
        assert page.get_by_role("navigation", name="主导航").get_by_role("link", name="办件查询").is_visible()
        assert_accessible(page)

        page.get_by_label("申请人姓名").fill("李四")
        page.get_by_role("button", name="查询").click()
        page.wait_for_load_state()
        assert page.get_by_role("alert").inner_text() == "未找到该办件，请核对办件编号和申请人姓名"
        assert_accessible(page)

        page.get_by_label("申请人姓名").fill("张伟")
        page.get_by_role("button", name="查询").click()
        page.wait_for_load_state()
        result = page.get_by_role("region", name="查询结果")
        assert "已受理" in result.inner_text() and "食品经营许可（新办）" in result.inner_text()
        steps = result.get_by_role("listitem").all_inner_texts()
        assert [" ".join(step.split()) for step in steps] == ["2026-11-23 09:30 提交申请", "2026-11-24 10:00 受理"]
        assert "13812345678" not in page.content() and applicant.id_number not in page.content()
        assert_accessible(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"public-query-{width}.png"), full_page=True)
    finally:
        context.close()
