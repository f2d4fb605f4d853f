"""Appointments (DESIGN §6): slots per hall and day with a capacity, no overbooking even when two people
book the last place at once, cancellation frees the place, arrival at the hall gives a ticket."""

from datetime import date, time

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from applications.models import Appointment, AppointmentSlot, Ticket
from applications.services import appointment_slots_create
from portal.models import AuditEvent
from tests.assertions import unchanged
from tests.concurrency import client_for, race
from tests.factories import HallFactory, UserFactory, published_item

pytestmark = pytest.mark.django_db

BEFORE = "2026-11-23 10:00 +0800"  # the day before the slots
DAY = date(2026, 11, 24)


@pytest.fixture
def hall(db):
    return HallFactory(code="CC-CITY", name="长春市政务服务中心", windows=2)


@pytest.fixture
def slot(hall):
    return AppointmentSlot.objects.create(hall=hall, date=DAY, start=time(9, 0), end=time(9, 30), capacity=2)


def book(client, hall, slot, item):
    return client.post("/api/v1/appointments/", {"hall": hall.code, "slot": slot.pk, "item": item.code}, format="json")


# --- slots --------------------------------------------------------------------------------------------


def test_slots_of_a_day_with_remaining_places_are_public(hall, slot):
    AppointmentSlot.objects.create(hall=hall, date=DAY, start=time(9, 30), end=time(10, 0), capacity=2, booked=2)
    AppointmentSlot.objects.create(hall=hall, date=date(2026, 11, 25), start=time(9, 0), end=time(9, 30), capacity=2)
    response = APIClient().get(f"/api/v1/halls/{hall.code}/slots/?date=2026-11-24")
    assert response.status_code == 200
    # RFC 3339 date-times in the hall's time zone, as the schema says (issue 14).
    assert [(s["start"], s["end"], s["capacity"], s["remaining"]) for s in response.json()] == [
        ("2026-11-24T09:00:00+08:00", "2026-11-24T09:30:00+08:00", 2, 2),
        ("2026-11-24T09:30:00+08:00", "2026-11-24T10:00:00+08:00", 2, 0),
    ]
    assert APIClient().get(f"/api/v1/halls/{hall.code}/slots/?date=24.11.2026").status_code == 400
    assert APIClient().get("/api/v1/halls/NOPE/slots/?date=2026-11-24").status_code == 404


def test_create_slots_command_makes_a_working_day_every_30_minutes(hall, capsys):
    call_command("create_slots", "--hall", hall.code, "--date", "2026-11-24")
    slots = AppointmentSlot.objects.filter(hall=hall, date=DAY).order_by("start")
    assert slots.count() == 16  # 09:00–17:00
    assert (slots.first().start, slots.first().end, slots.last().start, slots.last().end) == (time(9), time(9, 30), time(16, 30), time(17))
    assert {s.capacity for s in slots} == {hall.windows}
    # Idempotent, and a holiday gets no slots (2026-10-01 National Day; 10-10 is a make-up Saturday).
    call_command("create_slots", "--hall", hall.code, "--date", "2026-11-24")
    assert AppointmentSlot.objects.filter(hall=hall, date=DAY).count() == 16
    call_command("create_slots", "--hall", hall.code, "--date", "2026-10-01", "--days", "10", "--capacity", "3")
    made = set(AppointmentSlot.objects.filter(hall=hall, date__lt=DAY).values_list("date", flat=True))
    assert made == {date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10)}
    with pytest.raises(CommandError, match="大厅 NOPE 不存在"):
        call_command("create_slots", "--hall", "NOPE")


def test_slot_creation_keeps_existing_bookings(hall, slot):
    slot.booked = 1
    slot.save()
    created = appointment_slots_create(hall=hall, day=DAY, start=time(9), end=time(10), minutes=30, capacity=5)
    assert [s.start for s in created] == [time(9, 30)]
    slot.refresh_from_db()
    assert (slot.capacity, slot.booked) == (2, 1)


def test_the_database_refuses_overbooking(slot):
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentSlot.objects.filter(pk=slot.pk).update(booked=3)


# --- booking and cancelling ---------------------------------------------------------------------------------


def test_citizen_books_lists_and_cancels(as_user, citizen, hall, slot, item):
    client = as_user(citizen)
    with time_machine.travel(BEFORE):
        response = book(client, hall, slot, item)
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["hall"], body["date"], body["start"], body["end"], body["item"], body["status"], body["ticket"]) == (
            hall.code, "2026-11-24", "2026-11-24T09:00:00+08:00", "2026-11-24T09:30:00+08:00", item.code, "booked", None)
        slot.refresh_from_db()
        assert slot.booked == 1
        assert [a["id"] for a in client.get("/api/v1/appointments/").json()["results"]] == [body["id"]]
        # The same slot twice is refused.
        with unchanged(slot, Appointment.objects.get(pk=body["id"])):
            again = book(client, hall, slot, item)
        assert again.status_code == 409 and again.json()["code"] == "already_booked"
        cancelled = client.post(f"/api/v1/appointments/{body['id']}/cancel/")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        with unchanged(slot, Appointment.objects.get(pk=body["id"])):
            assert client.post(f"/api/v1/appointments/{body['id']}/cancel/").status_code == 409
    slot.refresh_from_db()
    assert slot.booked == 0
    assert list(AuditEvent.objects.filter(object_type="appointment").values_list("action", flat=True)) == [
        "appointment_book", "appointment_cancel",
    ]


def test_a_full_slot_is_409_and_cancellation_frees_the_place(as_user, hall, slot, item):
    people = [UserFactory(identified=True) for _ in range(3)]
    with time_machine.travel(BEFORE):
        first, second = (book(as_user(p), hall, slot, item) for p in people[:2])
        with unchanged(slot):
            third = book(as_user(people[2]), hall, slot, item)
        assert (first.status_code, second.status_code, third.status_code) == (201, 201, 409)
        assert third.json()["code"] == "slot_full"
        assert as_user(people[0]).post(f"/api/v1/appointments/{first.json()['id']}/cancel/").status_code == 200
        assert book(as_user(people[2]), hall, slot, item).status_code == 201
    slot.refresh_from_db()
    assert (slot.booked, slot.capacity) == (2, 2)


def test_booking_input_errors(as_user, citizen, hall, slot, item):
    client = as_user(citizen)
    with time_machine.travel(BEFORE):
        other_hall_slot = AppointmentSlot.objects.create(hall=HallFactory(), date=DAY, start=time(9), end=time(9, 30), capacity=1)
        with unchanged(slot, other_hall_slot):
            response = book(client, hall, other_hall_slot, item)
            assert response.status_code == 400 and "slot" in response.json()
            response = client.post("/api/v1/appointments/", {"hall": hall.code, "slot": slot.pk, "item": "NOPE"}, format="json")
            assert response.status_code == 400 and "item" in response.json()
            assert client.post("/api/v1/appointments/", {"hall": "NOPE", "slot": slot.pk, "item": item.code}, format="json").status_code == 404
    with time_machine.travel("2026-11-24 09:10 +0800"), unchanged(slot):
        late = book(client, hall, slot, item)
        assert late.status_code == 409 and late.json()["code"] == "slot_closed"
    assert not Appointment.objects.exists()


def test_only_applicants_book_and_only_their_own_bookings(as_user, citizen, clerk, hall, slot, item):
    with time_machine.travel(BEFORE):
        with unchanged(slot):
            assert book(as_user(clerk), hall, slot, item).status_code == 403
            assert book(APIClient(), hall, slot, item).status_code in (401, 403)
        mine = book(as_user(citizen), hall, slot, item).json()["id"]
        stranger = UserFactory(identified=True)
        with unchanged(slot, Appointment.objects.get(pk=mine)):
            assert as_user(stranger).post(f"/api/v1/appointments/{mine}/cancel/").status_code == 404
        assert as_user(stranger).get("/api/v1/appointments/").json()["count"] == 0
    assert Appointment.objects.get(pk=mine).status == "booked"


# --- arrival -------------------------------------------------------------------------------------------------


def test_clerk_of_the_hall_checks_the_booking_in_and_it_gets_a_ticket(as_user, citizen, hall, slot, item):
    clerk = UserFactory(clerk=True, hall=hall)
    with time_machine.travel(BEFORE):
        appointment = book(as_user(citizen), hall, slot, item).json()["id"]
        # Not on another day.
        with unchanged(hall, slot, Appointment.objects.get(pk=appointment)):
            early = as_user(clerk).post(f"/api/v1/appointments/{appointment}/arrive/")
        assert early.status_code == 409 and early.json()["code"] == "not_today"
    with time_machine.travel("2026-11-24 08:50 +0800"):
        assert APIClient().post(f"/api/v1/halls/{hall.code}/tickets/").json()["ticket"] == "A001"
        other_clerk = UserFactory(clerk=True, hall=HallFactory(code="CC-NANGUAN"))
        with unchanged(hall, slot, Appointment.objects.get(pk=appointment)):
            assert as_user(other_clerk).post(f"/api/v1/appointments/{appointment}/arrive/").status_code == 404
            # The citizen cannot check themselves in.
            assert as_user(citizen).post(f"/api/v1/appointments/{appointment}/arrive/").status_code == 403
        response = as_user(clerk).post(f"/api/v1/appointments/{appointment}/arrive/")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "arrived" and response.json()["ticket"] == "A002"
        with unchanged(hall, slot, Appointment.objects.get(pk=appointment)):
            assert as_user(clerk).post(f"/api/v1/appointments/{appointment}/arrive/").status_code == 409
            # An arrived booking can no longer be cancelled.
            assert as_user(citizen).post(f"/api/v1/appointments/{appointment}/cancel/").status_code == 409
    ticket = Ticket.objects.get(hall=hall, number="A002")
    assert ticket.appointment.pk == appointment and ticket.item == item and ticket.taken_by == citizen


# --- two citizens, one last place (real transactions on PostgreSQL) ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_citizens_booking_the_last_place_at_once_exactly_one_wins():
    item = published_item()
    hall = HallFactory(code="RACE", windows=1)
    slot = AppointmentSlot.objects.create(hall=hall, date=DAY, start=time(10), end=time(10, 30), capacity=3, booked=2)
    clients = [client_for(UserFactory(identified=True)) for _ in range(2)]
    with time_machine.travel(BEFORE):
        responses = race([lambda c=c: book(c, hall, slot, item) for c in clients])
    assert sorted(r.status_code for r in responses) == [201, 409]
    assert [r.json()["code"] for r in responses if r.status_code == 409] == ["slot_full"]
    slot.refresh_from_db()
    assert slot.booked == 3
    assert Appointment.objects.filter(slot=slot, status="booked").count() == 1


# --- the citizen's page and the window's check-in ---------------------------------------------------------------


def page_client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_citizen_books_and_cancels_on_the_page(citizen, hall, slot, item):
    client = page_client(citizen)
    with time_machine.travel(BEFORE):
        body = client.get(f"/appointments/?hall={hall.code}&date=2026-11-24").content.decode()
        assert "09:00–09:30" in body and "余 2" in body and item.current_version.name in body
        response = client.post("/appointments/", {"hall": hall.code, "date": "2026-11-24", "slot": slot.pk, "item": item.code}, follow=True)
        body = response.content.decode()
        assert "预约成功" in body and "余 1" in body and "取消预约" in body
        appointment = Appointment.objects.get(user=citizen)
        response = client.post(f"/appointments/{appointment.pk}/cancel/", follow=True)
        assert "预约已取消" in response.content.decode()
    slot.refresh_from_db()
    assert slot.booked == 0


def test_a_full_slot_cannot_be_picked_on_the_page(citizen, hall, slot, item):
    slot.booked = 2
    slot.save()
    with time_machine.travel(BEFORE):
        body = page_client(citizen).get(f"/appointments/?hall={hall.code}&date=2026-11-24").content.decode()
    assert "已约满" in body and f'value="{slot.pk}" disabled' in body


def test_window_checks_in_todays_booking_on_the_queue_page(as_user, citizen, hall, slot, item):
    clerk = UserFactory(clerk=True, hall=hall)
    with time_machine.travel(BEFORE):
        appointment = book(as_user(citizen), hall, slot, item).json()["id"]
    with time_machine.travel("2026-11-24 08:45 +0800"):
        client = page_client(clerk)
        assert "签到取号" in client.get("/window/queue/").content.decode()
        response = client.post(f"/window/queue/appointments/{appointment}/arrive/", follow=True)
        assert "已签到，排队号 A001" in response.content.decode()
    assert Appointment.objects.get(pk=appointment).status == "arrived"


def test_appointments_page_is_for_applicants(clerk):
    assert page_client(clerk).get("/appointments/").status_code == 404
