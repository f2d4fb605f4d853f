"""The hall in Chromium (issue 18): a citizen books on a fresh install (loaddemo, as `make run` does), a person
takes a ticket on the self-service page with a phone, the window calls it, and the call screen shows it
without reloading; the hall's staff change a slot. axe-core finds nothing on any of these pages."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from applications.models import Appointment, AppointmentSlot, Ticket
from portal.models import Hall
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS, log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}


@pytest.fixture
def demo(db):
    call_command("loaddemo", verbosity=0)
    return Hall.objects.order_by("code").first()


def open_page(chromium, live_server, viewport):
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def test_booking_on_a_fresh_install(chromium, live_server, demo):
    citizen = UserFactory(identified=True, real_name="赵敏")
    context, page = open_page(chromium, live_server, PHONE)
    try:
        log_in(page, citizen.username)
        page.goto("/appointments/")
        expect(page.get_by_role("navigation", name="可预约日期").get_by_role("link").first).to_be_visible()
        assert_accessible(page)
        page.locator("label.slot:not(.slot-closed)").first.click()
        page.get_by_role("button", name="预约", exact=True).click()
        expect(page.get_by_text("预约成功")).to_be_visible()
        assert_accessible(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "appointments-phone.png"), full_page=True)
    finally:
        context.close()
    booking = Appointment.objects.get(user=citizen)
    assert booking.slot.hall == demo and AppointmentSlot.objects.get(pk=booking.slot_id).booked == 1


def test_a_ticket_taken_on_a_phone_is_called_on_the_screen_without_a_reload(chromium, live_server, demo):
    clerk = UserFactory(clerk=True, hall=demo, real_name="李窗口")
    screen_context, screen = open_page(chromium, live_server, DESK)
    phone_context, phone = open_page(chromium, live_server, PHONE)
    clerk_context, window = open_page(chromium, live_server, DESK)
    try:
        screen.goto(f"/halls/{demo.code}/screen/")
        expect(screen.get_by_text("今日尚未开始叫号")).to_be_visible()
        screen.evaluate("window.stillTheSamePage = true")
        assert_accessible(screen)

        phone.goto(f"/halls/{demo.code}/ticket/")
        assert_accessible(phone)
        phone.get_by_role("button", name="取号").click()
        expect(phone.locator(".ticket-number")).to_have_text("A001")
        expect(phone.get_by_text("前面还有 0 人等候")).to_be_visible()
        assert_accessible(phone)

        log_in(window, clerk.username)
        window.goto("/window/queue/")
        window.get_by_label("我的窗口").select_option("2")
        window.get_by_role("button", name="叫号", exact=True).click()
        expect(window.get_by_text("请 A001 号到 2 号窗口办理")).to_be_visible()
        assert_accessible(window)

        # the screen redraws itself within a few seconds, still the same page
        expect(screen.locator('[data-screen="number"]')).to_have_text("A001", timeout=10000)
        expect(screen.locator('[data-screen="window"]')).to_have_text("2")
        assert screen.evaluate("window.stillTheSamePage") is True
        ARTIFACTS.mkdir(exist_ok=True)
        screen.screenshot(path=str(ARTIFACTS / "hall-screen.png"))

        # the phone's page says where to go
        phone.reload()
        expect(phone.get_by_text("请到 2 号窗口办理")).to_be_visible()

        # 重呼, then the window registers the case for this ticket
        window.get_by_role("button", name="重呼").click()
        expect(window.get_by_text("已重呼 A001 号到 2 号窗口")).to_be_visible()
        window.get_by_role("link", name="为 A001 号登记办件").click()
        expect(window.get_by_text("为排队号 A001")).to_be_visible()
        assert_accessible(window)
    finally:
        for context in (screen_context, phone_context, clerk_context):
            context.close()
    assert Ticket.objects.get(hall=demo, number="A001").recalls == 1


def test_the_hall_staff_change_a_slot(chromium, live_server, demo):
    clerk = UserFactory(clerk=True, hall=demo)
    slot = AppointmentSlot.objects.filter(hall=demo, capacity__gt=0).order_by("date", "start").last()
    context, page = open_page(chromium, live_server, DESK)
    try:
        log_in(page, clerk.username)
        page.goto(f"/window/hall/?date={slot.date:%Y-%m-%d}")
        assert_accessible(page)
        field = page.get_by_label(f"{slot.start:%H:%M} 时段可预约人数")
        field.fill("7")
        field.locator("xpath=..").get_by_role("button", name="保存").click()
        expect(page.get_by_text("可预约人数已改为 7")).to_be_visible()
        assert_accessible(page)
    finally:
        context.close()
    slot.refresh_from_db()
    assert slot.capacity == 7
