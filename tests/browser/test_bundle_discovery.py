"""A citizen finds a 一件事 from the home page (issue 18): through the home page's 一件事一次办 link, and by
searching 「餐饮」 in the 办事指南, where the bundle is listed above the items; each way opens the bundle's
page, and a member item's guide page leads back to it. axe-core finds nothing on any page, at phone and
desk width."""

import pytest

from items.models import Bundle, BundleMember
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS, log_in
from tests.factories import DepartmentFactory, UserFactory, published_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
BUNDLE = "开办餐饮店"


@pytest.fixture
def bundle():
    food = published_item(code="11220100MB0000001Y0100040400001", name="食品经营许可（新办）",
                          department=DepartmentFactory(code="CCSJ", name="长春市市场监督管理局"), audience=["2"])
    tax = published_item(code="11220100MB0000010W2000571700001", name="新办纳税人涉税事项套餐",
                         department=DepartmentFactory(code="CCSW", name="国家税务总局长春市税务局"), audience=["2"])
    published_item(name="住房公积金提取（租赁住房）", audience=["1"])
    bundle = Bundle.objects.create(code="YJS-KBCYD", name=BUNDLE, theme="business_startup", status="published",
                                   description="开办一家餐饮店需要办理的食品经营许可和新办纳税人涉税事项，一次办成。")
    BundleMember.objects.create(bundle=bundle, item=food, order=1)
    BundleMember.objects.create(bundle=bundle, item=tax, order=2)
    return bundle


def shot(page, width, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"bundle-discovery-{width}-{name}.png"), full_page=True)


def on_the_bundle_page(page, width, name):
    page.wait_for_url("**/guide/bundles/YJS-KBCYD/")
    assert page.get_by_role("heading", name=BUNDLE, level=1).is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    assert_accessible(page)
    shot(page, width, name)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_citizen_finds_a_bundle_from_the_home_page(chromium, live_server, bundle, width):
    UserFactory(identified=True, username="zhangwei", real_name="张伟")
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=WIDTHS[width],
                                   is_mobile=width == "phone")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        log_in(page, "zhangwei")  # lands on the home page
        assert_accessible(page)

        # 1. The home page's 一件事一次办 section links the bundle.
        page.get_by_role("region", name="一件事一次办").get_by_role("link", name=BUNDLE).click()
        on_the_bundle_page(page, width, "1-from-home")

        # 2. The guide's search: 「餐饮」 lists the bundle above the items.
        page.goto("/")
        search = page.get_by_role("search").first
        search.get_by_role("searchbox").fill("餐饮")
        search.get_by_role("button", name="搜索").click()
        page.wait_for_url("**/guide/?q=*")
        results = page.get_by_role("region", name="相关“一件事”（1 件）")
        assert results.is_visible()
        assert_accessible(page)
        shot(page, width, "2-search")
        results.get_by_role("link", name=BUNDLE).click()
        on_the_bundle_page(page, width, "3-from-search")

        # 3. A member item's guide page names its bundle.
        page.get_by_role("link", name="新办纳税人涉税事项套餐").click()
        page.wait_for_url("**/guide/11220100MB0000010W2000571700001/")
        assert "本事项可在一件事“开办餐饮店”中一次办理" in page.get_by_role("main").inner_text()
        assert_accessible(page)
        page.get_by_role("main").get_by_role("link", name=BUNDLE).click()
        on_the_bundle_page(page, width, "4-from-item")

        # 4. The guide itself links every bundle.
        page.goto("/guide/")
        page.get_by_role("main").get_by_role("link", name="一件事一次办", exact=True).click()
        page.wait_for_url("**/guide/bundles/")
        assert_accessible(page)
        page.get_by_role("link", name=BUNDLE).click()
        on_the_bundle_page(page, width, "5-from-list")
    finally:
        context.close()
