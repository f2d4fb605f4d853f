"""The online intake journey in Chromium: a citizen applies from the guide page, uploads and submits; a clerk
pre-reviews and accepts. Screenshots of every step go to test-artifacts/."""

import pytest
from django.utils import timezone

from applications.models import Application, Material, State
from portal.workdays import WorkCalendar
from tests.browser.conftest import ARTIFACTS, log_in
from tests.factories import UserFactory, published_item
from tests.files import build_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REQUIRED = ("食品经营许可申请书", "营业执照")


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"intake-{name}.png"), full_page=True)


def log_out(page):
    page.get_by_role("banner").get_by_role("button", name="退出").click()
    page.wait_for_load_state()


@pytest.fixture
def sample_pdf(tmp_path):
    path = tmp_path / "材料.pdf"
    path.write_bytes(build_pdf(comment="材料"))
    return path


def test_citizen_applies_online_and_a_clerk_accepts(page, sample_pdf):
    item = published_item(online=True)
    UserFactory(identified=True, username="zhangwei", real_name="张伟")
    UserFactory(clerk=True, username="lina", real_name="李娜")

    # The citizen finds the item's guide and applies online.
    log_in(page, "zhangwei")
    page.goto(f"/guide/{item.code}/")
    shot(page, "01-guide")
    page.get_by_role("link", name="在线办理").first.click()
    page.wait_for_url(f"**/apply/{item.code}/")
    page.get_by_label("申请事项说明").fill("在人民大街 1 号开办餐馆，经营热食类食品")
    page.get_by_label("联系电话").fill("13800000000")
    page.get_by_label("联系地址").fill("长春市朝阳区人民大街 1 号")
    shot(page, "02-apply-form")
    page.get_by_role("button", name="创建申请").click()
    page.wait_for_url("**/my/cases/NET-*/")
    case = Application.objects.get()
    assert case.state == State.DRAFT and case.form_data["申请事项说明"].startswith("在人民大街")
    assert "申请已创建" in page.get_by_role("main").inner_text()
    shot(page, "03-case-draft")

    # One PDF for each required material.
    for name in REQUIRED:
        field = page.get_by_label(f"上传「{name}」")
        field.set_input_files(sample_pdf)
        page.locator("form.upload").filter(has=field).get_by_role("button", name="上传", exact=True).click()
        page.wait_for_load_state()
        assert f"已上传「{name}」" in page.get_by_role("main").inner_text()
    assert Material.objects.filter(application=case).count() == 2
    shot(page, "04-case-uploaded")

    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_load_state()
    assert "申请已提交" in page.get_by_role("main").inner_text()
    assert Application.objects.get().state == State.SUBMITTED
    shot(page, "05-case-submitted")

    # 我的办件 lists it with its state.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的办件").click()
    page.wait_for_url("**/my/cases/")
    row = page.locator(".case-row").filter(has_text=case.number)
    assert "已提交待受理" in row.inner_text() and "食品经营许可（新办）" in row.inner_text()
    shot(page, "06-my-cases")
    log_out(page)

    # The clerk opens the pre-review queue, then the case, and accepts it.
    log_in(page, "lina")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="预审").click()
    page.wait_for_url("**/window/prereview/")
    assert "剩 5 个工作日" in page.locator(".case-row").filter(has_text=case.number).inner_text()
    shot(page, "07-prereview")
    page.get_by_role("link", name="食品经营许可（新办）").click()
    page.wait_for_url(f"**/window/cases/{case.number}/")
    expected = WorkCalendar.load().add_working_days(timezone.localdate(), item.current_version.promised_days)
    accept_card = page.locator("section").filter(has=page.get_by_role("heading", name="受理", exact=True))
    assert expected.date.isoformat() in accept_card.inner_text()
    shot(page, "08-window-case")
    page.get_by_role("button", name="受理", exact=True).click()
    page.wait_for_load_state()

    main = page.get_by_role("main").inner_text()
    case.refresh_from_db()
    assert case.state == State.ACCEPTED and case.due_date == expected.date
    assert "已受理" in main and expected.date.isoformat() in main and "受理通知书" in main
    shot(page, "09-accepted")


def test_intake_pages_fit_a_phone(chromium, live_server, sample_pdf):
    """390 px wide: no sideways scrolling on the apply, case, list and window pages."""
    item = published_item(online=True)
    UserFactory(identified=True, username="zhangwei", real_name="张伟")
    UserFactory(clerk=True, username="lina", real_name="李娜")
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15000)

    def fits(name):
        shot(page, f"phone-{name}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, name

    log_in(page, "zhangwei")
    page.goto(f"/apply/{item.code}/")
    fits("apply")
    page.get_by_label("申请事项说明").fill("开办餐馆")
    page.get_by_label("联系电话").fill("13800000000")
    page.get_by_role("button", name="创建申请").click()
    page.wait_for_url("**/my/cases/NET-*/")
    for name in REQUIRED:
        field = page.get_by_label(f"上传「{name}」")
        field.set_input_files(sample_pdf)
        page.locator("form.upload").filter(has=field).get_by_role("button", name="上传", exact=True).click()
        page.wait_for_load_state()
    fits("case")
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_load_state()
    assert Application.objects.get().state == State.SUBMITTED
    page.goto("/my/cases/")
    fits("mine")
    log_out(page)

    log_in(page, "lina")
    number = Application.objects.get().number
    for name, url in [("prereview", "/window/prereview/"), ("intake", "/window/intake/"), ("window-case", f"/window/cases/{number}/")]:
        page.goto(url)
        fits(name)
    context.close()
