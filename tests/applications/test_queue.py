"""The hall queue (DESIGN §6): tickets A001 … per hall and day, a clerk's window calls the next one, the
wait is recorded; two windows calling at once never get the same ticket (PostgreSQL, threads)."""


import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from applications.models import Ticket
from tests.assertions import unchanged
from tests.concurrency import client_for, race
from tests.factories import HallFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    # The kiosk throttle counts per address in the cache; each test starts with a clean count.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def hall(db):
    return HallFactory(code="CC-CITY", name="长春市政务服务中心", windows=3)


@pytest.fixture
def clerk(hall):
    return UserFactory(clerk=True, hall=hall, real_name="李娜")


def take(hall_code, client=None, **data):
    return (client or APIClient()).post(f"/api/v1/halls/{hall_code}/tickets/", data, format="json")


def call_next(client, hall_code, window):
    return client.post(f"/api/v1/halls/{hall_code}/call-next/", {"window": window}, format="json")


# --- taking a number ------------------------------------------------------------------------------------


def test_tickets_are_numbered_per_hall_and_day(hall):
    other = HallFactory(code="CC-NANGUAN")
    with time_machine.travel("2026-11-24 08:31 +0800"):
        first = take(hall.code)
        assert first.status_code == 201, first.content
        assert first.json()["ticket"] == "A001" and first.json()["hall"] == "CC-CITY"
        assert first.json()["called_at"] is None and first.json()["window"] is None
        assert first.json()["issued_at"].startswith("2026-11-24T08:31")
        assert take(hall.code).json()["ticket"] == "A002"
        # Another hall has its own numbers.
        assert take(other.code).json()["ticket"] == "A001"
        assert take(hall.code).json()["ticket"] == "A003"
    with time_machine.travel("2026-11-25 08:30 +0800"):
        # A new day starts at A001 again.
        assert take(hall.code).json()["ticket"] == "A001"
    assert list(Ticket.objects.filter(hall=hall).order_by("day", "sequence").values_list("number", flat=True)) == [
        "A001", "A002", "A003", "A001",
    ]


def test_anonymous_kiosk_and_a_signed_in_citizen_both_take_numbers(hall, as_user, citizen, item):
    assert take(hall.code).status_code == 201
    response = take(hall.code, as_user(citizen), item=item.code)
    assert response.status_code == 201 and response.json()["item"] == item.code
    assert Ticket.objects.get(number="A002").taken_by == citizen


def test_unknown_hall_and_unknown_item(hall):
    with unchanged(hall):
        assert take("NOPE").status_code == 404
        response = take(hall.code, item="NO-SUCH-ITEM")
    assert response.status_code == 400 and "item" in response.json()
    assert not Ticket.objects.exists()


def test_anonymous_kiosk_is_rate_limited(hall):
    client = APIClient()
    statuses = [take(hall.code, client).status_code for _ in range(61)]
    assert statuses[:60] == [201] * 60 and statuses[60] == 429
    assert Ticket.objects.filter(hall=hall).count() == 60


# --- calling ----------------------------------------------------------------------------------------------


def test_clerk_calls_the_oldest_waiting_ticket_and_the_wait_is_recorded(hall, clerk, as_user):
    with time_machine.travel("2026-11-24 09:00 +0800", tick=False):
        take(hall.code)
    with time_machine.travel("2026-11-24 09:05 +0800", tick=False):
        take(hall.code)
    with time_machine.travel("2026-11-24 09:12 +0800", tick=False):
        response = call_next(as_user(clerk), hall.code, 2)
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["ticket"], body["window"], body["wait_seconds"]) == ("A001", 2, 12 * 60)
        assert body["called_at"].startswith("2026-11-24T09:12")
        assert call_next(as_user(clerk), hall.code, 3).json()["ticket"] == "A002"
        with unchanged(hall, *Ticket.objects.all()):
            empty = call_next(as_user(clerk), hall.code, 2)
    assert empty.status_code == 409 and empty.json()["code"] == "queue_empty"
    ticket = Ticket.objects.get(hall=hall, number="A001")
    assert ticket.called_by == clerk and ticket.wait_seconds == 720


def test_yesterdays_waiting_tickets_are_not_called_today(hall, clerk, as_user):
    with time_machine.travel("2026-11-23 16:55 +0800"):
        take(hall.code)
    with time_machine.travel("2026-11-24 09:00 +0800"), unchanged(hall, Ticket.objects.get()):
        response = call_next(as_user(clerk), hall.code, 1)
    assert response.status_code == 409 and response.json()["code"] == "queue_empty"


@pytest.mark.parametrize("window", [0, 4, -1])
def test_window_must_be_one_of_the_halls(hall, clerk, as_user, window):
    take(hall.code)
    with unchanged(hall, Ticket.objects.get()):
        response = call_next(as_user(clerk), hall.code, window)
    assert response.status_code == 400 and "window" in response.json()
    assert Ticket.objects.get().called_at is None


def test_only_a_clerk_of_this_hall_calls(hall, as_user, citizen):
    take(hall.code)
    other_hall_clerk = UserFactory(clerk=True, hall=HallFactory(code="CC-NANGUAN"))
    with unchanged(hall, Ticket.objects.get()):
        assert call_next(as_user(other_hall_clerk), hall.code, 1).status_code == 403
        assert call_next(as_user(citizen), hall.code, 1).status_code == 403
        assert call_next(APIClient(), hall.code, 1).status_code in (401, 403)
        assert call_next(as_user(other_hall_clerk), "NOPE", 1).status_code == 404
    assert Ticket.objects.get().called_at is None


# --- two windows at once (real transactions on PostgreSQL) ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_windows_calling_at_once_never_get_the_same_ticket():
    hall = HallFactory(code="RACE", windows=6)
    clerks = [client_for(UserFactory(clerk=True, hall=hall)) for _ in range(6)]
    for _ in range(5):
        assert take(hall.code).status_code == 201
    responses = race([lambda c=c, w=w: call_next(c, hall.code, w) for w, c in enumerate(clerks, start=1)])
    assert sorted(r.status_code for r in responses) == [200] * 5 + [409]
    called = [r.json()["ticket"] for r in responses if r.status_code == 200]
    assert sorted(called) == ["A001", "A002", "A003", "A004", "A005"]
    assert Ticket.objects.filter(called_at__isnull=False).count() == 5
    assert len(set(Ticket.objects.values_list("window", flat=True))) == 5


@pytest.mark.django_db(transaction=True)
def test_kiosks_taking_numbers_at_once_get_distinct_numbers():
    hall = HallFactory(code="RACE2")
    responses = race([lambda: take(hall.code) for _ in range(8)])
    assert [r.status_code for r in responses] == [201] * 8
    assert sorted(r.json()["ticket"] for r in responses) == [f"A{n:03d}" for n in range(1, 9)]


# --- pages: the hall screen and the window's queue page ------------------------------------------------------


def page_client(user=None):
    from django.test import Client

    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_hall_screen_is_public_and_shows_the_latest_calls(hall, clerk, as_user):
    with time_machine.travel("2026-11-24 09:00 +0800"):
        for _ in range(3):
            take(hall.code)
        call_next(as_user(clerk), hall.code, 1)
        call_next(as_user(clerk), hall.code, 3)
        response = page_client().get(f"/halls/{hall.code}/screen/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'http-equiv="refresh"' not in body  # it redraws itself from screen/data/ (issue 18)
    assert 'data-screen="number">A002<' in body and 'data-screen="window">3<' in body
    assert "A001" in body and 'data-screen="waiting">1<' in body
    assert page_client().get("/halls/NOPE/screen/").status_code == 404


def test_queue_page_calls_the_next_ticket(hall, clerk):
    client = page_client(clerk)
    with time_machine.travel("2026-11-24 09:00 +0800"):
        take(hall.code)
        body = client.get("/window/queue/").content.decode()
        assert "当前等候 <b>1</b> 人" in body and "A001" in body
        response = client.post("/window/queue/", {"window": "2"}, follow=True)
        assert "请 A001 号到 2 号窗口办理" in response.content.decode()
        # The window is remembered for the session.
        assert '<option value="2" selected>' in client.get("/window/queue/").content.decode()
        empty = client.post("/window/queue/", {"window": "2"}, follow=True)
        assert "当前没有等候的号码" in empty.content.decode()
    assert Ticket.objects.get().window == 2


def test_queue_page_is_for_clerks_only(hall, citizen):
    assert page_client(citizen).get("/window/queue/").status_code == 404
    assert page_client().get("/window/queue/").status_code == 302
