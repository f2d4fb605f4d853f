"""The keyboard alone (GB/T 37668, WCAG 2.1.1 and 2.4.7): a person who cannot use a mouse skips to the content,
signs in, switches to 大字版 and books an appointment, pressing only Tab, arrow keys, Space and Enter; the element
in focus is always marked by a visible ring."""

from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from applications.models import Appointment
from portal.models import Hall
from tests.browser.accessibility import assert_accessible
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED = "document.activeElement"


def focused(page, expression: str):
    return page.evaluate(f"(() => {{ const e = {FOCUSED}; return {expression}; }})()")


def assert_focus_ring(page):
    """The focused element draws the site's ring: a 3 px outline (and its halo), never the thin default."""
    style = focused(page, "{outline: getComputedStyle(e).outlineStyle, width: getComputedStyle(e).outlineWidth,"
                          " shadow: getComputedStyle(e).boxShadow}")
    assert style["outline"] == "solid" and style["width"] == "3px" and style["shadow"] != "none", style


def tab_to(page, test: str, *, limit: int = 60) -> None:
    """Press Tab until the focused element passes `test` (a JavaScript expression over `e`), as a person would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page, test):
            assert_focus_ring(page)
            return
    raise AssertionError(f"Tab never reached an element where {test}")


@pytest.fixture
def hall(db):
    call_command("loaddemo", verbosity=0)  # slots ahead from the opening hours, as `make run` has them
    return Hall.objects.order_by("code").first()


def test_sign_in_switch_text_size_and_book_with_the_keyboard_alone(chromium, live_server, hall):
    citizen = UserFactory(identified=True, real_name="孙丽", username="sunli")
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto("/accounts/login/")
        page.keyboard.press("Tab")  # the first stop is the skip link, shown when focused
        assert focused(page, "e.textContent.trim()") == "跳到主要内容"
        assert focused(page, "e.getBoundingClientRect().top >= 0")
        assert_focus_ring(page)
        page.keyboard.press("Enter")
        assert focused(page, "e.id") == "main"

        tab_to(page, "e.id === 'id_username'")
        page.keyboard.type("sunli")
        page.keyboard.press("Tab")
        assert focused(page, "e.id") == "id_password"
        page.keyboard.type(TEST_PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: urlsplit(url).path == "/")  # the skip link's #main rides along
        expect(page.get_by_role("banner")).to_contain_text("孙丽")

        page.goto("/")
        tab_to(page, "e.textContent.trim() === '大字版'")  # in the header, after the skip link and the brand
        page.keyboard.press("Enter")
        page.wait_for_load_state()
        expect(page.get_by_role("button", name="大字版")).to_have_attribute("aria-pressed", "true")

        page.goto("/appointments/")
        tab_to(page, "e.type === 'radio' && e.name === 'slot' && !e.disabled")
        page.keyboard.press("Space")
        chosen = focused(page, "e.value")
        assert focused(page, "e.checked")
        tab_to(page, "e.tagName === 'BUTTON' && e.textContent.trim() === '预约'")
        assert_accessible(page)
        page.keyboard.press("Enter")
        expect(page.get_by_text("预约成功")).to_be_visible()
    finally:
        context.close()
    booking = Appointment.objects.get(user=citizen)
    assert str(booking.slot_id) == chosen and booking.slot.hall == hall
