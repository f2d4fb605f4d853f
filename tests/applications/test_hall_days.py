"""The hall (issue 18): appointment slots made ahead from each hall's opening hours and the working-day
calendar by a timer, the hall's own page to change a slot's capacity and close a day, the self-service ticket
page, 重呼 and 过号, a called ticket linked to the case it led to, and the call screen without a reload."""

from datetime import date, time

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from applications import services
from applications.models import AppointmentSlot, AppointmentStatus, HallClosure, Ticket
from portal.models import AuditEvent, CalendarDay, Hall, Notification
from tests.factories import HallFactory, UserFactory, published_item

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 12, 7)
NOW = "2026-12-07 08:00 +0800"


def page_client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def calendar_days(db):
    """Tuesday 12-08 a holiday, Saturday 12-12 a make-up working day (调休)."""
    CalendarDay.objects.create(date=date(2026, 12, 8), is_workday=False, note="测试假日")
    CalendarDay.objects.create(date=date(2026, 12, 12), is_workday=True, note="调休上班")


@pytest.fixture
def hall(db):
    return HallFactory(code="H-SLOTS", name="南关区政务服务中心", windows=3, booking_days=4)


@pytest.fixture
def hall_clerk(hall):
    return UserFactory(clerk=True, hall=hall, real_name="李娜")


def slot_days(hall) -> dict[date, int]:
    days: dict[date, int] = {}
    for slot in AppointmentSlot.objects.filter(hall=hall):
        days[slot.date] = days.get(slot.date, 0) + 1
    return days


def test_the_timer_makes_slots_from_opening_hours_on_working_days(hall, calendar_days):
    created = services.appointment_slots_sweep(today=MONDAY)
    # today and the next 4 working days: the holiday is left out, the make-up Saturday is in
    expected = [date(2026, 12, 7), date(2026, 12, 9), date(2026, 12, 10), date(2026, 12, 11), date(2026, 12, 12)]
    assert sorted(slot_days(hall)) == expected
    # 09:00–12:00 and 13:00–17:00 every 30 minutes: 6 + 8, none over the lunch break
    assert set(slot_days(hall).values()) == {14} and created == 70
    starts = sorted(AppointmentSlot.objects.filter(hall=hall, date=MONDAY).values_list("start", flat=True))
    assert starts[5] == time(11, 30) and starts[6] == time(13, 0)
    assert set(AppointmentSlot.objects.filter(hall=hall).values_list("capacity", flat=True)) == {3}  # = windows


def test_the_timer_is_idempotent_and_keeps_the_halls_changes(hall, hall_clerk, calendar_days):
    services.appointment_slots_sweep(today=MONDAY)
    slot = AppointmentSlot.objects.get(hall=hall, date=date(2026, 12, 9), start=time(9, 0))
    with time_machine.travel(NOW, tick=False):
        services.appointment_slot_adjust(actor=hall_clerk, slot=slot, capacity=1)
    assert services.appointment_slots_sweep(today=MONDAY) == 0
    slot.refresh_from_db()
    assert slot.capacity == 1
    # the next day a new day opens at the far end
    assert services.appointment_slots_sweep(today=date(2026, 12, 9)) == 14
    assert date(2026, 12, 14) in slot_days(hall)


def test_the_hall_own_hours_and_a_bad_setting_is_skipped(hall, calendar_days):
    hall.opening_hours, hall.slot_minutes, hall.slot_capacity = [["08:30", "11:30"]], 60, 5
    hall.save()
    broken = HallFactory(code="H-BROKEN", opening_hours=[["12:00", "09:00"]])
    services.appointment_slots_sweep(today=MONDAY)
    assert list(AppointmentSlot.objects.filter(hall=hall, date=MONDAY).values_list("start", "capacity")) == [
        (time(8, 30), 5), (time(9, 30), 5), (time(10, 30), 5)]
    assert not AppointmentSlot.objects.filter(hall=broken).exists()


def test_a_fresh_install_can_book_at_once(db, login_api):
    """What `make run` does: loaddemo makes the demo halls' slots; a citizen books the first free one."""
    call_command("loaddemo", verbosity=0)
    hall = Hall.objects.order_by("code").first()
    slot = AppointmentSlot.objects.filter(hall=hall, capacity__gt=0).order_by("date", "start").last()
    assert slot is not None
    citizen = UserFactory(identified=True)
    item = published_item(code="BOOK-ITEM")
    response = login_api(citizen).post("/api/v1/appointments/", {"hall": hall.code, "slot": slot.pk, "item": item.code},
                                       format="json")
    assert response.status_code == 201, response.content
    # and the page starts on a day that has room, not on an empty one
    html = page_client(citizen).get("/appointments/").content.decode()
    assert "该日不开放预约" not in html and 'name="slot"' in html


def test_a_slot_capacity_is_never_below_its_bookings_and_only_the_halls_staff_change_it(hall, hall_clerk, calendar_days):
    services.appointment_slots_sweep(today=MONDAY)
    slot = AppointmentSlot.objects.get(hall=hall, date=date(2026, 12, 9), start=time(9, 0))
    item = published_item(code="CAP-ITEM")
    with time_machine.travel(NOW, tick=False):
        for _ in range(2):
            services.appointment_book(actor=UserFactory(identified=True), hall=hall, slot_id=slot.pk, item_code=item.code)
        client = page_client(hall_clerk)
        client.post(f"/window/hall/slots/{slot.pk}/", {"capacity": "1"})
        slot.refresh_from_db()
        assert slot.capacity == 3  # refused: 2 booked
        response = client.get(f"/window/hall/?date=2026-12-09")
        assert "已有 2 人预约" in response.content.decode()
        client.post(f"/window/hall/slots/{slot.pk}/", {"capacity": "2"})
        slot.refresh_from_db()
        assert slot.capacity == 2
        other = UserFactory(clerk=True, hall=HallFactory(code="H-OTHER"))
        assert page_client(other).post(f"/window/hall/slots/{slot.pk}/", {"capacity": "9"}).status_code == 404
    slot.refresh_from_db()
    assert slot.capacity == 2
    assert AuditEvent.objects.filter(action="appointment_slot_adjust").count() == 1


def test_closing_a_day_cancels_its_bookings_tells_the_people_and_reopening_restores_it(hall, hall_clerk, calendar_days):
    services.appointment_slots_sweep(today=MONDAY)
    day = date(2026, 12, 10)
    slot = AppointmentSlot.objects.get(hall=hall, date=day, start=time(14, 0))
    person = UserFactory(identified=True)
    item = published_item(code="CLOSE-ITEM")
    with time_machine.travel(NOW, tick=False):
        booking = services.appointment_book(actor=person, hall=hall, slot_id=slot.pk, item_code=item.code)
        client = page_client(hall_clerk)
        client.post("/window/hall/close/", {"date": "2026-12-10", "reason": ""})
        assert not HallClosure.objects.exists()  # a reason is required: nothing changed
        client.post("/window/hall/close/", {"date": "2026-12-10", "reason": "电力检修"})
        booking.refresh_from_db()
        assert booking.status == AppointmentStatus.CANCELLED
        assert Notification.objects.filter(user=person, kind="appointment_cancelled", message__contains="电力检修").count() == 1
        assert set(AppointmentSlot.objects.filter(hall=hall, date=day).values_list("capacity", flat=True)) == {0}
        # the citizen sees the day closed, and the timer does not bring it back
        html = page_client(person).get(f"/appointments/?hall={hall.code}&date=2026-12-10").content.decode()
        assert "该日闭厅：电力检修" in html
        assert services.appointment_slots_sweep(today=MONDAY) == 1 * 14  # the far end moved one working day on
        with pytest.raises(Exception) as refused:
            services.hall_day_close(actor=hall_clerk, hall=hall, day=day, reason="再次")
        assert getattr(refused.value, "code", "") == "already_closed"
        client.post("/window/hall/reopen/", {"date": "2026-12-10"})
    assert not HallClosure.objects.exists()
    assert set(AppointmentSlot.objects.filter(hall=hall, date=day).values_list("capacity", flat=True)) == {3}


def test_a_past_day_cannot_be_closed(hall, hall_clerk):
    with time_machine.travel(NOW, tick=False):
        page_client(hall_clerk).post("/window/hall/close/", {"date": "2026-12-01", "reason": "补录"})
    assert not HallClosure.objects.exists()


# --- the queue -----------------------------------------------------------------------------------------------


def take(client, hall, item="") -> str:
    response = client.post(f"/halls/{hall.code}/ticket/", {"item": item})
    assert response.status_code == 302, response.content
    return response["Location"]


def test_anyone_takes_a_ticket_on_the_self_service_page_and_sees_who_is_ahead(hall):
    kiosk = page_client()
    assert kiosk.get(f"/halls/{hall.code}/ticket/").status_code == 200
    first, second = take(kiosk, hall), take(kiosk, hall)
    html = kiosk.get(second).content.decode()
    assert "A002" in html and "前面还有 <b>1</b> 人等候" in html
    assert Ticket.objects.filter(hall=hall).count() == 2
    # the link is signed: a made-up one is not found
    assert kiosk.get(f"/halls/{hall.code}/ticket/1/").status_code == 404
    assert kiosk.get(first.replace(hall.code, "H-NONE")).status_code == 404
    bad = kiosk.post(f"/halls/{hall.code}/ticket/", {"item": "NO-SUCH-ITEM"})
    assert bad.status_code == 200 and "NO-SUCH-ITEM 不存在" in bad.content.decode()
    assert Ticket.objects.filter(hall=hall).count() == 2


def test_recall_and_skip_at_the_window_and_the_screen_follows(hall, hall_clerk):
    kiosk = page_client()
    take(kiosk, hall), take(kiosk, hall), take(kiosk, hall)
    clerk = page_client(hall_clerk)
    clerk.post("/window/queue/", {"window": "2"})
    a001 = Ticket.objects.get(hall=hall, number="A001")
    clerk.post("/window/queue/", {"window": "2"})
    a002 = Ticket.objects.get(hall=hall, number="A002")
    state = clerk.get(f"/halls/{hall.code}/screen/data/").json()
    assert (state["latest"]["number"], state["latest"]["window"], state["waiting"]) == ("A002", 2, 1)
    # 重呼 A001 puts it back on top of the screen
    clerk.post(f"/window/queue/tickets/{a001.pk}/recall/")
    state = page_client().get(f"/halls/{hall.code}/screen/data/").json()
    assert state["latest"]["number"] == "A001" and state["latest"]["recalled"] is True
    assert [t["number"] for t in state["recent"]] == ["A002"]
    # 过号 A001: off the screen, and it can no longer be recalled
    clerk.post(f"/window/queue/tickets/{a001.pk}/skip/")
    a001.refresh_from_db()
    assert a001.skipped_at is not None and a001.recalls == 1
    with pytest.raises(Exception) as refused:
        services.ticket_recall(actor=hall_clerk, ticket=a001)
    assert getattr(refused.value, "code", "") == "invalid_transition"
    state = page_client().get(f"/halls/{hall.code}/screen/data/").json()
    assert state["latest"]["number"] == "A002" and state["recent"] == []
    # a waiting ticket cannot be skipped; another hall's clerk cannot touch these
    a003 = Ticket.objects.get(hall=hall, number="A003")
    with pytest.raises(Exception):
        services.ticket_skip(actor=hall_clerk, ticket=a003)
    other = page_client(UserFactory(clerk=True, hall=HallFactory(code="H-OTHER2")))
    assert other.post(f"/window/queue/tickets/{a002.pk}/skip/").status_code == 404
    a002.refresh_from_db()
    assert a002.skipped_at is None
    # the window picked is kept for the session
    assert 'value="2" selected' in clerk.get("/window/queue/").content.decode()


def test_a_called_ticket_is_linked_to_the_case_registered_for_it(hall, hall_clerk):
    take(page_client(), hall)
    clerk = page_client(hall_clerk)
    clerk.post("/window/queue/", {"window": "1"})
    ticket = Ticket.objects.get(hall=hall, number="A001")
    queue = clerk.get("/window/queue/").content.decode()
    assert f"/window/intake/?ticket={ticket.pk}" in queue
    form = clerk.get(f"/window/intake/?ticket={ticket.pk}").content.decode()
    assert 'name="ticket"' in form and "A001" in form
    item = published_item(code="LINK-ITEM")
    response = clerk.post("/window/intake/", {
        "ticket": ticket.pk, "item": item.code, "applicant_name": "王刚", "id_type": "111",
        "id_number": "220102199003071235", "contact_phone": "13800000000", "contact_address": "人民大街 1 号",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket.refresh_from_db()
    assert ticket.application is not None and ticket.application.applicant_name == "王刚"
    assert ticket.application.number in clerk.get("/window/queue/").content.decode()
    # a ticket cannot be recalled or skipped once its case is registered
    with pytest.raises(Exception):
        services.ticket_skip(actor=hall_clerk, ticket=ticket)


def test_the_call_screen_does_not_reload_itself(hall):
    html = page_client().get(f"/halls/{hall.code}/screen/").content.decode()
    assert 'http-equiv="refresh"' not in html
    assert "hall-screen.js" in html and f"/halls/{hall.code}/screen/data/" in html
