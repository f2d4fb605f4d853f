"""The home page in Chromium at phone and desktop width: axe-core finds nothing, nothing is wider than the
screen, and typing in the search box lands on the guide's results (decision 047)."""

import pytest

from items.models import Bundle, BundleMember
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS
from tests.factories import published_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


@pytest.mark.parametrize("width", WIDTHS)
def test_home_page_is_accessible_and_its_search_finds_items(chromium, live_server, width):
    fund = published_item(code="11220100MB1234567K2000200001000", name="住房公积金提取（租赁住房）",
                          audience=["1"], themes=["housing_fund"])
    food = published_item(code="11220100MB1234567K4000117001000", name="食品经营许可（新办）",
                          audience=["2"], themes=["food_safety", "market_access"])
    bundle = Bundle.objects.create(code="YJS-OPEN", name="开办餐馆一件事", description="营业执照和食品经营许可一次办",
                                   status="published")
    BundleMember.objects.create(bundle=bundle, item=food, order=0)
    BundleMember.objects.create(bundle=bundle, item=fund, order=1)

    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=WIDTHS[width],
                                   is_mobile=width == "phone")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto("/")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
        personal = page.get_by_role("region", name="个人办事")
        assert "住房公积金提取（租赁住房）" in personal.get_by_role("region", name="公积金").inner_text()
        legal = page.get_by_role("region", name="法人办事")
        assert "食品经营许可（新办）" in legal.get_by_role("region", name="食品安全").inner_text()
        assert page.get_by_role("region", name="一件事一次办").get_by_role("link", name="开办餐馆一件事").is_visible()
        assert page.get_by_role("navigation", name="便民服务").get_by_role("link", name="办件查询").is_visible()
        assert_accessible(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"home-{width}.png"), full_page=True)

        page.get_by_role("searchbox", name="搜索办事指南").fill("公积金")
        page.get_by_role("search").get_by_role("button", name="搜索").click()
        page.wait_for_url("**/guide/?q=*")
        assert "住房公积金提取（租赁住房）" in page.locator(".item-list").inner_text()
        assert "食品经营许可（新办）" not in page.locator(".item-list").inner_text()
        assert_accessible(page)
    finally:
        context.close()
