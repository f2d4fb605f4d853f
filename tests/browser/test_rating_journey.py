"""好差评 in Chromium (issue 19): a walk-in rates the clerk on the window's pad; the 差评 goes 回访 → 整改 →
复核; the public page shows it rectified. axe-core finds nothing on any page visited."""

import pytest
from playwright.sync_api import expect

from applications import selectors, services
from applications.models import Application, Rectification
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import log_in
from tests.factories import DepartmentFactory, HallFactory, UserFactory, published_item
from tests.files import pdf_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESK = {"width": 1280, "height": 800}
PAD = {"width": 800, "height": 1280}  # a tablet on the counter


def open_page(chromium, live_server, viewport):
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def test_a_walk_in_rates_the_clerk_on_the_pad_and_the_poor_rating_is_put_right(chromium, live_server):
    hall = HallFactory(code="CC-PAD", name="长春市政务服务中心", windows=3)
    department = DepartmentFactory(name="市场监管局")
    clerk = UserFactory(clerk=True, hall=hall, real_name="李窗口")
    head = UserFactory(head=True, department=department, real_name="刘科长")
    supervisor = UserFactory(supervisor=True, real_name="赵监察")
    item = published_item(department=department)
    case = services.application_create(actor=clerk, item_code=item.code, contact_phone="13912345678", applicant={
        "name": "王小明", "id_type": "111", "id_number": "220102199003071235"})
    for requirement in selectors.missing_requirements(case):
        services.application_material_upload(actor=clerk, application=case, requirement_id=requirement.pk, upload=pdf_file())
    case = services.application_accept(actor=clerk, application=case)

    pad_context, pad = open_page(chromium, live_server, PAD)
    window_context, window = open_page(chromium, live_server, DESK)
    head_context, head_page = open_page(chromium, live_server, DESK)
    try:
        pad.goto(f"/halls/{hall.code}/rate/?window=2")
        expect(pad.get_by_text("请在工作人员办理完成后")).to_be_visible()
        assert_accessible(pad)

        log_in(window, clerk.username)
        window.goto(f"/window/cases/{case.number}/")
        window.get_by_label("评价器窗口号").fill("2")
        window.get_by_role("button", name="请申请人在窗口评价器评价").click()
        expect(window.get_by_text("已推送到 2 号窗口评价器")).to_be_visible()

        # the pad notices by itself and shows the form, naming the clerk
        expect(pad.get_by_text("经办人员：李窗口")).to_be_visible(timeout=10000)
        assert_accessible(pad)
        pad.get_by_role("radio", name="不满意", exact=True).check()
        pad.get_by_label("评价内容").fill("窗口让我来回跑了两趟")
        pad.get_by_role("button", name="提交评价").click()
        expect(pad.get_by_text("感谢您的评价")).to_be_visible()
        assert_accessible(pad)

        rectification = Rectification.objects.get(application=case)
        log_in(head_page, head.username)
        head_page.goto("/supervision/rectifications/")
        assert_accessible(head_page)
        head_page.get_by_label("回访情况").fill("已电话回访，申请人反映材料清单不清楚")
        head_page.get_by_role("button", name="记录回访并开始整改").click()
        expect(head_page.get_by_text("回访：已电话回访")).to_be_visible()
        head_page.get_by_label("整改措施").fill("窗口材料清单重新印制并上墙")
        head_page.get_by_role("button", name="整改完成").click()
        expect(head_page.get_by_text("已整改待复核").first).to_be_visible()

        head_page.get_by_role("banner").get_by_role("button", name="退出").click()
        log_in(head_page, supervisor.username)
        head_page.goto("/supervision/rectifications/")
        head_page.get_by_role("button", name="复核通过").click()
        expect(head_page.get_by_text("已更新整改状态")).to_be_visible()
        assert_accessible(head_page)

        head_page.goto("/ratings/")
        table = head_page.get_by_role("table")
        expect(table).to_contain_text("市场监管局")
        expect(table).to_contain_text("100%")  # the one 差评, rectified and confirmed
        assert_accessible(head_page)
    finally:
        for context in (pad_context, window_context, head_context):
            context.close()
    rectification.refresh_from_db()
    assert rectification.state == "done" and rectification.reviewed_by == supervisor
    assert services.rating_stages_open(Application.objects.get(pk=case.pk)) == []
