"""The top menu at phone width (390 px) in Chromium, for the public and for every role (DESIGN §13: usable at
phone width, no hidden entries): each entry of 主导航 the role is given is on the page, shown, wholly inside
the screen and the topmost thing under its own centre (nothing covers it, nothing scrolls it out of sight);
the account row's controls too; and tapping an entry opens its page. Again with 大字版 for the citizen, who
has the most entries."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from portal.context_processors import PUBLIC_LINKS, ROLE_LINKS
from portal.models import Role
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS, log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TRAITS = {Role.APPLICANT: "identified", Role.CLERK: "clerk", Role.REVIEWER: "reviewer", Role.HEAD: "head",
          Role.CUSTODIAN: "custodian", Role.CATALOGUE_ADMIN: "catalogue_admin", Role.SUPERVISOR: "supervisor"}

# Is the element shown, wholly within the screen's width, and what a finger on its centre would touch?
ON_SCREEN = """element => {
  const box = element.getBoundingClientRect();
  const style = getComputedStyle(element);
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const hit = document.elementFromPoint(x, y);
  return {
    shown: box.width > 0 && box.height > 0 && style.visibility !== "hidden" && style.display !== "none",
    inside: box.left >= 0 && box.right <= window.innerWidth && box.top >= 0,
    topmost: hit !== null && (hit === element || element.contains(hit)),
  };
}"""


def expected_entries(role: str | None) -> list[tuple[str, str]]:
    links = [*PUBLIC_LINKS, *(ROLE_LINKS[role] if role else [])]
    return [("首页", "/"), *((label, reverse(name)) for label, name in links)]


def assert_on_screen(locator, what: str) -> None:
    expect(locator).to_be_visible()
    state = locator.evaluate(ON_SCREEN)
    assert state == {"shown": True, "inside": True, "topmost": True}, (what, state)


def assert_menu_usable(page, role: str | None) -> list[tuple[str, str]]:
    page.goto("/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    menu = page.get_by_role("navigation", name="主导航")
    # Nothing scrolled out of sight inside the menu itself (an overflow-x strip would hide entries).
    assert menu.evaluate("nav => nav.scrollWidth <= nav.clientWidth"), role
    entries = expected_entries(role)
    assert menu.get_by_role("link").all_inner_texts() == [label for label, _ in entries], role
    for label, url in entries:
        link = menu.get_by_role("link", name=label, exact=True)
        assert link.get_attribute("href") == url
        assert_on_screen(link, f"{role}: {label}")
    account = page.get_by_role("banner")
    controls = [account.get_by_role("button", name="大字版")]
    if role:
        controls += [account.get_by_role("link", name="消息"), account.get_by_role("button", name="退出")]
    else:
        controls += [account.get_by_role("link", name="登录"), account.get_by_role("link", name="注册")]
    for control in controls:
        assert_on_screen(control, f"{role}: account row")
    return entries


def open_every_entry(page, entries) -> None:
    """Tapping each entry opens its page (its own menu entry then marked as the current page)."""
    for label, url in entries:
        page.goto("/")
        page.get_by_role("navigation", name="主导航").get_by_role("link", name=label, exact=True).tap()
        page.wait_for_url(f"**{url}")
        current = page.get_by_role("navigation", name="主导航").get_by_role("link", name=label, exact=True)
        expect(current).to_have_attribute("aria-current", "page")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], url


def phone_page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=PHONE, is_mobile=True,
                                   has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def test_every_entry_is_on_screen_for_the_public_and_opens_its_page(chromium, live_server):
    context, page = phone_page(chromium, live_server)
    try:
        entries = assert_menu_usable(page, None)
        assert_accessible(page)
        open_every_entry(page, entries)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-menu-public.png"))
        context.close()


def test_every_entry_of_the_citizen_is_on_screen_opens_its_page_and_stays_so_in_large_text(chromium, live_server):
    citizen = UserFactory(identified=True, real_name="欧阳明月")
    context, page = phone_page(chromium, live_server)
    try:
        log_in(page, citizen.username)
        entries = assert_menu_usable(page, Role.APPLICANT)
        assert len(entries) == 9  # 首页, three public entries, five of the citizen's own
        assert_accessible(page)
        open_every_entry(page, entries)

        page.goto("/")
        page.get_by_role("banner").get_by_role("button", name="大字版").tap()
        expect(page.get_by_role("banner").get_by_role("button", name="大字版")).to_have_attribute("aria-pressed", "true")
        assert_menu_usable(page, Role.APPLICANT)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-menu-citizen-large-text.png"))
    finally:
        context.close()


@pytest.mark.parametrize("role", [role for role in Role.values if role != Role.APPLICANT])
def test_every_entry_of_the_staff_role_is_on_screen(chromium, live_server, role):
    person = UserFactory(**{TRAITS[role]: True}, real_name="司马相如")
    context, page = phone_page(chromium, live_server)
    try:
        log_in(page, person.username)
        assert_menu_usable(page, role)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"phone-menu-{role}.png"))
        context.close()
