"""A person logs in through the real page in Chromium and sees who they are."""

import pytest

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clerk_logs_in_and_sees_their_hall(page):
    clerk = UserFactory(clerk=True, username="lina", real_name="李娜")
    page.goto("/")
    page.get_by_role("banner").get_by_role("link", name="登录").click()
    page.get_by_label("用户名").fill("lina")
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")
    header = page.locator(".site-header").inner_text()
    assert "李娜" in header and "综合窗口人员" in header
    assert clerk.hall.name in page.locator("main").inner_text()


def test_wrong_password_is_explained(page):
    UserFactory(username="lina")
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill("lina")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    assert "请输入一个正确的" in page.get_by_role("alert").inner_text()


def test_home_page_fits_a_phone(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto("/")
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
