"""The applicant's case page in Chromium at phone and desk width (DESIGN §14): the progress bar shows the
current step and the working days left; a rejected case shows its reason and legal basis; axe finds nothing."""

import pytest
import time_machine
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS, log_in
from tests.factories import REJECTION_LEGAL_BASIS, ApplicationFactory, UserFactory, published_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1200, "height": 900}}


@pytest.mark.parametrize("width", WIDTHS)
def test_the_applicant_sees_where_the_case_is(chromium, live_server, width):
    applicant = UserFactory(identified=True, real_name="张伟")
    item = published_item()
    with time_machine.travel("2026-11-23 09:30 +0800"):
        running = ApplicationFactory(item=item, applicant=applicant, submitted=True)
        rejected = ApplicationFactory(item=item, applicant=applicant, submitted=True)
    with time_machine.travel("2026-11-24 10:00 +0800"):
        running = ApplicationFactory.advance(running, to="accepted")
        ApplicationFactory.advance(rejected, to="rejected")

    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=WIDTHS[width])
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        log_in(page, applicant.username)
        page.goto(f"/my/cases/{running.number}/")
        progress = page.get_by_role("region", name="办理进度")
        current = progress.locator("[aria-current=step]")
        expect(current).to_have_count(1)
        expect(current).to_contain_text("部门审查")
        expect(progress).to_contain_text("承诺办结日期")
        expect(progress).to_contain_text("个工作日")
        box = progress.bounding_box()
        assert box["width"] <= WIDTHS[width]["width"]  # nothing pushed off a phone's screen
        assert_accessible(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"case-progress-{width}.png"), full_page=True)

        page.goto(f"/my/cases/{rejected.number}/")
        refusal = page.get_by_role("region", name="不予许可")
        expect(refusal).to_contain_text(REJECTION_LEGAL_BASIS)
        expect(refusal).to_contain_text("行政复议")
        assert_accessible(page)
    finally:
        context.close()
