"""The month rollup (docs/decisions/064-statistics-month-rollup.md): a period's whole months are read from
MonthStat (department × month), the other days from DayStat (department × hall × day) and the records — and
every figure and chart is the same as counted from the records alone.

Today is Thursday 2026-12-10, 18:05; the history is rolled up (09-28, the first record, … 12-09) and today
up to 18:00. Departments D1 (I1, 5 working days) and D2 (I2, 3); halls H1 and H2.

| case | item | channel | submitted | accepted (hall) | decided | issued | rating |
|------|------|---------|-----------|-----------------|---------|--------|--------|
| A | I1 | online | 09-28 | 09-29 (H1) | 10-13 approve | 10-14, picked up 10-15 | 10-15: 2 |
| B | I2 | window | 10-20 | 10-20 (H2) | 10-22 reject | 10-23 | 10-26: 4 |
| C | I1 | online | 10-30 | 11-02 (H1) | 11-05 approve | 11-06 | 11-09: 1 |
| D | I2 | online | 11-10 | 11-11 (H1) | 11-16 approve | 11-17 | 11-18: 5 |
| G | I1 | online | 11-20 | (not accepted: no hall) | | | |
| E | I1 | online | 11-30 | 12-01 (H2) | 12-03 approve | | |
| F | I2 | window | 12-10 09:00 | 12-10 (H1), before today's mark | | | |
| H | I1 | window | 12-10 18:02 | 12-10 18:03 (H2), after today's mark: counted from the records | | | |
"""

import importlib
import threading
import time
from datetime import date

import pytest
import time_machine
from django.apps import apps
from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.test.utils import CaptureQueriesContext

from applications import services, statistics
from applications.models import Application, DayStat, MonthStat, StatDay, StatMonth
from tests.applications.test_statistics import World, at

pytestmark = pytest.mark.django_db

NOW = "2026-12-10 18:05 +0800"
TODAY = date(2026, 12, 10)


def _walk_in(world, item, clerk, day, created, accepted):
    applicant = world.person()
    with at(day, created):
        response = world.api(clerk).post("/api/v1/applications/", {"item": item.code, "applicant": {
            "name": applicant.real_name, "id_type": "111", "id_number": applicant.id_number}}, format="json")
        assert response.status_code == 201, response.content
        number = response.json()["number"]
        world._upload_all(world.api(clerk), number, item)
    with at(day, accepted):
        assert world.api(clerk).post(f"/api/v1/applications/{number}/accept/").status_code == 200
    return number


@pytest.fixture
def world(login_api):
    w = World(login_api)
    w.a = w.case(w.i1, submit="2026-09-28", accept="2026-09-29", decide="2026-10-13", issue="2026-10-14",
                 deliver=("2026-10-15", "pickup"), rate=("2026-10-15", 2))
    w.b = w.case(w.i2, online=False, accept="2026-10-20", clerk=w.clerk2, decide="2026-10-22", decision="reject",
                 issue="2026-10-23", rate=("2026-10-26", 4))
    w.c = w.case(w.i1, submit="2026-10-30", accept="2026-11-02", decide="2026-11-05", issue="2026-11-06",
                 rate=("2026-11-09", 1))
    w.d = w.case(w.i2, submit="2026-11-10", accept="2026-11-11", decide="2026-11-16", issue="2026-11-17",
                 rate=("2026-11-18", 5))
    w.g = w.case(w.i1, submit="2026-11-20")
    w.e = w.case(w.i1, submit="2026-11-30", accept="2026-12-01", clerk=w.clerk2, decide="2026-12-03")
    w.f = w.case(w.i2, online=False, accept="2026-12-10")
    w.ticket(w.h1, "2026-10-15 09:00", "2026-10-15 09:20")
    w.ticket(w.h2, "2026-11-16 09:00", "2026-11-16 09:30")
    w.ticket(w.h1, "2026-12-10 09:00", "2026-12-10 09:10")
    w.h = _walk_in(w, w.i1, w.clerk2, "2026-12-10", "18:02", "18:03")
    with time_machine.travel(NOW, tick=False):
        assert services.statistics_rollup_sweep() == 73  # 09-28 … 12-09
        services.statistics_rollup_today()
    return w


def _figures(scope):
    """Everything the page shows for the scope, and the whole months it read from MonthStat."""
    with time_machine.travel(NOW, tick=False):
        parts = statistics.parts_for(scope)
        figures = statistics.compute(scope, parts=parts)
        departments = [(row["department"].code, row["received"], row["decided"], row["on_time"])
                       for row in statistics.by_department(scope, parts=parts)]
        months = statistics.by_month(scope, parts=parts)
    return {"figures": figures, "departments": departments, "months": months}, parts.months


def _from_records(scope):
    """The same scope counted from the records alone: no day rolled up."""
    with transaction.atomic():
        StatDay.objects.all().delete()
        counted, months = _figures(scope)
        transaction.set_rollback(True)
    assert months == []
    return counted


def _month_rows():
    return sorted(MonthStat.objects.values_list("month", "department__code", *statistics.DAY_MEASURES))


def _summed_day_rows():
    """DayStat (department × hall × day) summed per month and department: what MonthStat must hold."""
    rows = DayStat.objects.values("department__code", month=TruncMonth("day")).annotate(
        **{measure: Sum(measure) for measure in statistics.DAY_MEASURES}).order_by()
    return sorted((row["month"], row["department__code"], *(row[m] for m in statistics.DAY_MEASURES)) for row in rows)


OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
EVERYTHING = statistics.Scope(date(2026, 9, 1), TODAY)


def test_the_month_rows_are_the_sums_of_the_day_rows(world):
    assert _month_rows() == _summed_day_rows()
    assert sorted(MonthStat.objects.values_list("month", flat=True).distinct()) == [
        date(2026, 9, 1), OCT, NOV, date(2026, 12, 1)]
    assert list(StatMonth.objects.values_list("month", flat=True)) == [date(2026, 9, 1), OCT, NOV, date(2026, 12, 1)]
    november = {row[1]: row for row in _month_rows() if row[0] == NOV}
    # D1: C decided and issued, G received (no hall), E received; D2: D received … rated.
    assert november["D1"][2:7] == (2, 2, 1, 1, 1)  # received (G E), online, accepted (C), decided, on time
    assert november["D2"][2:7] == (1, 1, 1, 1, 1)


def test_whole_months_with_partial_edges_and_today(world):
    """09-01 … today: September is partial (nothing rolled up before 09-28), October and November are read from
    MonthStat, December from DayStat (12-01 … 12-09, and today to 18:00) and the records (today since 18:00)."""
    counted, months = _figures(EVERYTHING)
    assert months == [OCT, NOV]
    assert counted == _from_records(EVERYTHING)
    figures = counted["figures"]
    assert (figures["received"], figures["accepted"], figures["decided"], figures["closed"]) == (8, 7, 5, 4)  # A … H
    assert (figures["ratings"], figures["satisfied_ratings"], figures["tickets_called"]) == (4, 2, 3)
    assert [(m["month"].month, m["received"], m["decided"]) for m in counted["months"]] == [
        (9, 1, 0), (10, 2, 2), (11, 3, 2), (12, 2, 1)]


def test_a_period_starting_and_ending_inside_months(world):
    """10-15 … 11-30: October from DayStat (10-15 … 10-31 only), November from MonthStat."""
    scope = statistics.Scope(date(2026, 10, 15), date(2026, 11, 30))
    with CaptureQueriesContext(connection) as queries:
        counted, months = _figures(scope)
    assert months == [NOV]
    day_reads = [q["sql"] for q in queries.captured_queries if 'FROM "applications_daystat"' in q["sql"]]
    assert len(day_reads) == 1 and "2026-10-15" in day_reads[0] and "2026-10-31" in day_reads[0]
    assert "2026-11-" not in day_reads[0]
    assert counted == _from_records(scope)
    # B C D G E received, B C D issued; A's issue on 10-14 is outside.
    assert (counted["figures"]["received"], counted["figures"]["closed"]) == (5, 3)


def test_one_whole_month_reads_no_day_row_and_no_case_but_the_open_ones(world):
    scope = statistics.Scope(OCT, date(2026, 10, 31))
    with CaptureQueriesContext(connection) as queries:
        counted, months = _figures(scope)
    sql = [q["sql"] for q in queries.captured_queries]
    assert months == [OCT]
    assert not any('FROM "applications_daystat"' in q for q in sql)
    assert [q for q in sql if 'FROM "applications_application"' in q and "due_date" not in q] == []
    assert counted == _from_records(scope)
    assert [(code, received, decided) for code, received, decided, _ in counted["departments"]] == [("D1", 1, 1), ("D2", 1, 1)]


def test_a_department(world):
    scope = statistics.Scope(EVERYTHING.date_from, TODAY, department=world.d2)
    counted, months = _figures(scope)
    assert months == [OCT, NOV]
    assert counted == _from_records(scope)
    assert (counted["figures"]["received"], counted["figures"]["decided"]) == (3, 2)  # B D F; B D


def test_a_hall_reads_the_hall_rows(world):
    scope = statistics.Scope(EVERYTHING.date_from, TODAY, hall=world.h1)
    with CaptureQueriesContext(connection) as queries:
        counted, months = _figures(scope)
    assert months == []
    assert not any('"applications_monthstat"' in q["sql"] for q in queries.captured_queries)
    assert counted == _from_records(scope)
    # A C D F at H1 (C and A submitted online, counted under the hall that accepted them)
    assert (counted["figures"]["received"], counted["figures"]["tickets_called"]) == (4, 2)


def test_an_invalidated_day_leaves_its_month_to_the_day_rows_until_rolled_up_again(world, login_api):
    """D (issued 11-17, no visit) is picked up today: 11-17 is counted from the records again, so November is
    read from its other days' rows; the night rolls 11-17 up again and November's rows with it."""
    case = Application.objects.get(number=world.d)
    with time_machine.travel("2026-12-10 18:04 +0800", tick=False):
        response = login_api(world.clerk1).post(f"/api/v1/applications/{world.d}/deliver/",
                                                {"method": "pickup", "id_number": case.applicant_id_number}, format="json")
    assert response.status_code == 200, response.content
    assert not StatDay.objects.filter(day=date(2026, 11, 17)).exists()
    counted, months = _figures(EVERYTHING)
    assert months == [OCT]
    assert counted == _from_records(EVERYTHING)
    assert counted["figures"]["zero_visit_share"] == 0.25  # C of A B C D (D now picked up)
    with time_machine.travel("2026-12-11 00:20 +0800", tick=False):
        assert services.statistics_rollup_sweep() == 2  # 11-17 and today
    assert _month_rows() == _summed_day_rows()
    counted_again, months = _figures(EVERYTHING)
    assert months == [OCT, NOV] and counted_again == counted


def test_the_migration_sums_the_existing_day_rows(world):
    before = _month_rows()
    MonthStat.objects.all().delete()
    StatMonth.objects.all().delete()
    importlib.import_module("applications.migrations.0019_month_rollup").fill_month_rows(apps, None)
    assert _month_rows() == before
    assert StatMonth.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_two_days_of_one_month_rolled_up_at_once_take_turns(login_api):
    """The nightly rollup of 11-05 is still open when another rollup of 11-06 reaches November's rows: it waits
    on the month's lock, then sums with 11-05's rows committed."""
    w = World(login_api)
    w.case(w.i1, submit="2026-11-05", accept="2026-11-05")
    w.case(w.i1, submit="2026-11-06", accept="2026-11-06", clerk=w.clerk2)  # the same department's row
    done = threading.Event()

    def other_day():
        try:
            services.statistics_rollup_day(day=date(2026, 11, 6))
        finally:
            connection.close()
            done.set()

    with time_machine.travel(NOW, tick=False):
        with transaction.atomic():
            services.statistics_rollup_day(day=date(2026, 11, 5))
            thread = threading.Thread(target=other_day)
            thread.start()
            time.sleep(1)
            assert not done.is_set()  # waiting on November's StatMonth row
        thread.join(10)
    assert done.is_set()
    assert _month_rows() == _summed_day_rows()
    assert MonthStat.objects.aggregate(received=Sum("received"))["received"] == 2
