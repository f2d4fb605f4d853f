"""Statistics (DESIGN §6, §10): every figure on a small hand-built November 2026 checked against values
worked out by hand. Cases go through the API and services at the moment each step happens (time_machine),
so every timestamp and due date is the one the system itself wrote.

November 2026 has no public holiday; the 1st is a Sunday. Item I1 (department D1) promises 5 working
days, item I2 (department D2) 3. Clerks of hall H1 and H2 accept.

| case | item | channel | submitted | accepted (hall) | decided (due) | working days | issued | visits | rating |
|------|------|---------|-----------|-----------------|---------------|--------------|--------|--------|--------|
| C1 | I1 | online | 11-02 | 11-02 (H1) | 11-06 approve (11-09) on time | 4 | 11-09 | 1 pickup | 1 |
| C2 | I1 | window | 11-03 | 11-03 (H1) | 11-12 approve (11-10) late | 7 | 11-13 | 2 | 5 |
| C3 | I2 | online | 11-04 | 11-05 (H2) | 11-06 reject (11-10) on time | 1 | 11-09 | 0 | 3 |
| C4 | I2 | online | 11-20 | 11-20 (H2) | in review, due 11-25: overdue on 11-30 | | | | |
| C5 | I1 | online | 10-28 | 10-29 (H1) | 11-02 approve (11-05) on time | 2 | | | |
| C6 | I1 | online | 11-25 | 11-26 (H2) | running, due 12-03 | | | | |
| C7 | I2 | window | 12-01 | 12-01 (H1) | (outside the period) | | | | |
"""

from datetime import date

import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from applications import services, statistics
from applications.models import Application, DayStat, Rectification, StatDay, Ticket, TicketDayStat
from tests.factories import DepartmentFactory, HallFactory, UserFactory, published_item, resident_id
from tests.files import pdf_file

pytestmark = pytest.mark.django_db

NOV = {"from": "2026-11-01", "to": "2026-11-30"}
TODAY = "2026-11-30 18:00 +0800"


def at(day: str, clock: str = "10:00"):
    return time_machine.travel(f"{day} {clock} +0800", tick=False)


class World:
    """The hand-built data set; each case is made step by step at its own moment."""

    def __init__(self, login_api):
        self.api = login_api
        self.d1 = DepartmentFactory(code="D1", name="市场监管局")
        self.d2 = DepartmentFactory(code="D2", name="卫生健康委")
        self.i1 = published_item(code="I1-FOOD", department=self.d1, promised_days=5)
        self.i2 = published_item(code="I2-HEALTH", name="公共场所卫生许可", department=self.d2, promised_days=3)
        self.h1 = HallFactory(code="H1", name="市政务服务中心", windows=4)
        self.h2 = HallFactory(code="H2", name="南关区政务服务中心", windows=2)
        self.clerk1 = UserFactory(clerk=True, hall=self.h1)
        self.clerk2 = UserFactory(clerk=True, hall=self.h2)
        self.reviewers = {self.d1.pk: UserFactory(reviewer=True, department=self.d1),
                          self.d2.pk: UserFactory(reviewer=True, department=self.d2)}
        self.head1 = UserFactory(head=True, department=self.d1)
        self.head2 = UserFactory(head=True, department=self.d2)
        self.supervisor = UserFactory(supervisor=True)
        self.custodian = UserFactory(custodian=True)
        self.people = 0

    def person(self):
        self.people += 1
        # Their own district code: the factory numbers its IDs under 220102 from the same sequence.
        return UserFactory(identified=True, id_number=resident_id(500 + self.people, region="220104"))

    def _upload_all(self, client, number, item):
        for requirement in item.current_version.materials.filter(required=True, deferrable=False):
            response = client.post(f"/api/v1/applications/{number}/materials/",
                                   {"requirement": requirement.pk, "file": pdf_file()}, format="multipart")
            assert response.status_code == 201, response.content

    def case(self, item, *, online=True, submit=None, accept=None, clerk=None, decide=None, decision="approve",
             issue=None, deliver=None, rate=None):
        applicant = self.person()
        clerk = clerk or self.clerk1
        if online:
            with at(submit, "09:00"):
                client = self.api(applicant)
                number = client.post("/api/v1/applications/", {"item": item.code}, format="json").json()["number"]
                self._upload_all(client, number, item)
                assert client.post(f"/api/v1/applications/{number}/submit/").status_code == 200
        else:
            with at(accept, "09:00"):
                response = self.api(clerk).post("/api/v1/applications/", {"item": item.code, "applicant": {
                    "name": applicant.real_name, "id_type": "111", "id_number": applicant.id_number}}, format="json")
                assert response.status_code == 201, response.content
                number = response.json()["number"]
                self._upload_all(self.api(clerk), number, item)
        if accept:
            with at(accept):
                assert self.api(clerk).post(f"/api/v1/applications/{number}/accept/").status_code == 200
            reviewer = self.reviewers[item.department_id]
            with at(accept, "11:00"):
                assert self.api(reviewer).post(f"/api/v1/applications/{number}/claim/").status_code == 200
        if decide:
            data = {"opinion": "符合条件"} if decision == "approve" else {"opinion": "不符合", "legal_basis": "第十二条"}
            with at(decide, "15:00"):
                response = self.api(reviewer).post(f"/api/v1/applications/{number}/{decision}/", data, format="json")
                assert response.status_code == 200, response.content
        if issue:
            with at(issue), transaction.atomic():
                services.application_issue(actor=self.custodian, application=Application.objects.get(number=number))
        if deliver:
            day, method = deliver
            with at(day):
                data = {"method": method}
                actor = applicant if method == "download" else clerk
                if method == "pickup":
                    data["id_number"] = applicant.id_number
                assert self.api(actor).post(f"/api/v1/applications/{number}/deliver/", data, format="json").status_code == 200
        if rate:
            day, score = rate
            with at(day):
                response = self.api(applicant).post(f"/api/v1/applications/{number}/rate/",
                                                    {"score": score, "comment": "评价内容"}, format="json")
                assert response.status_code == 200, response.content
        return number

    def ticket(self, hall, taken: str, called: str | None, window=1):
        with at(*taken.split(" ")):
            assert self.api(self.clerk1).post(f"/api/v1/halls/{hall.code}/tickets/").status_code == 201
        if called:
            clerk = self.clerk1 if hall == self.h1 else self.clerk2
            with at(*called.split(" ")):
                assert self.api(clerk).post(f"/api/v1/halls/{hall.code}/call-next/", {"window": window}, format="json").status_code == 200


@pytest.fixture(params=["records", "rollup"])
def world(request, login_api):
    """Every figure test runs twice: counted from the records, and with the finished days rolled up."""
    w = World(login_api)
    w.rollup = request.param
    w.c1 = w.case(w.i1, submit="2026-11-02", accept="2026-11-02", decide="2026-11-06", issue="2026-11-09",
                  deliver=("2026-11-10", "pickup"), rate=("2026-11-10", 1))
    w.c2 = w.case(w.i1, online=False, accept="2026-11-03", decide="2026-11-12", issue="2026-11-13",
                  deliver=("2026-11-16", "pickup"), rate=("2026-11-16", 5))
    w.c3 = w.case(w.i2, submit="2026-11-04", accept="2026-11-05", clerk=w.clerk2, decide="2026-11-06",
                  decision="reject", issue="2026-11-09", rate=("2026-11-11", 3))
    w.c4 = w.case(w.i2, submit="2026-11-20", accept="2026-11-20", clerk=w.clerk2)
    w.c5 = w.case(w.i1, submit="2026-10-28", accept="2026-10-29", decide="2026-11-02")
    w.c6 = w.case(w.i1, submit="2026-11-25", accept="2026-11-26", clerk=w.clerk2)
    w.c7 = w.case(w.i2, online=False, accept="2026-12-01")
    # Queue: H1 waits 10 and 20 minutes, H2 30; October's and the never-called ticket do not count.
    w.ticket(w.h1, "2026-10-30 09:00", "2026-10-30 10:00")
    w.ticket(w.h1, "2026-11-16 09:00", "2026-11-16 09:10")
    w.ticket(w.h1, "2026-11-16 09:05", "2026-11-16 09:25")
    w.ticket(w.h2, "2026-11-16 09:00", "2026-11-16 09:30")
    w.ticket(w.h2, "2026-11-17 16:50", None)
    if request.param == "rollup":
        with time_machine.travel(TODAY, tick=False):
            assert services.statistics_rollup_sweep() == 33  # 10-28 (the first record) … 11-29; today is counted live
        assert StatDay.objects.filter(day__gte=date(2026, 11, 30)).count() == 0
    return w


def test_the_data_set_is_what_the_table_says(world):
    cases = {c.number: c for c in Application.objects.all()}
    c1, c2, c3, c4, c5, c6 = (cases[n] for n in (world.c1, world.c2, world.c3, world.c4, world.c5, world.c6))
    assert (c1.due_date, c2.due_date, c3.due_date, c4.due_date, c5.due_date, c6.due_date) == (
        date(2026, 11, 9), date(2026, 11, 10), date(2026, 11, 10), date(2026, 11, 25), date(2026, 11, 5), date(2026, 12, 3))
    assert [c.visits for c in (c1, c2, c3)] == [1, 2, 0]
    assert [c.hall.code for c in (c1, c2, c3, c4, c5, c6)] == ["H1", "H1", "H2", "H2", "H1", "H2"]
    assert c4.state == "in_review" and c6.state == "in_review"
    assert Ticket.objects.filter(called_at__isnull=False).count() == 4


def stats(client, **params):
    with time_machine.travel(TODAY, tick=False):
        response = client.get("/api/v1/stats/", {**NOV, **params})
    assert response.status_code == 200, response.content
    return response.json()


FIGURES = statistics.FIGURES


def test_every_figure_of_the_city(world, login_api):
    body = stats(login_api(world.supervisor))
    assert {k: body[k] for k in FIGURES} == {
        "received": 5,            # C1 C2 C3 C4 C6 (C5 in October, C7 in December)
        "accepted": 5,            # C1 C2 C3 C4 C6
        "decided": 4,             # C1 C2 C3 C5
        "on_time_rate": 0.75,     # C2 late
        "avg_working_days": 3.5,  # (4 + 7 + 1 + 2) / 4
        "overdue_open": 1,        # C4 due 11-25
        "satisfaction_rate": 0.6667,  # 1 and 3 of 1, 5, 3
        "one_visit_share": 0.6667,    # C1 (1) and C3 (0) of C1 C2 C3
        "zero_visit_share": 0.3333,   # C3
        "online_share": 0.8,          # C1 C3 C4 C6 of 5
        "avg_wait_minutes": 20.0,     # (10 + 20 + 30) / 3
    }
    assert (body["from"], body["to"], body["department"], body["item"], body["hall"]) == ("2026-11-01", "2026-11-30", None, None, None)
    assert (body["on_time"], body["closed"], body["online"], body["ratings"], body["tickets_called"]) == (3, 3, 4, 3, 3)


def test_one_department(world, login_api):
    body = stats(login_api(world.supervisor), department="D1")
    assert {k: body[k] for k in FIGURES} == {
        "received": 3, "accepted": 3, "decided": 3,          # C1 C2 C6 / C1 C2 C6 / C1 C2 C5
        "on_time_rate": 0.6667, "avg_working_days": 4.33,    # (4 + 7 + 2) / 3
        "overdue_open": 0, "satisfaction_rate": 0.5,         # C1 1, C2 5
        "one_visit_share": 0.5, "zero_visit_share": 0.0,     # C1 1 visit, C2 2
        "online_share": 0.6667,                              # C1 C6
        "avg_wait_minutes": 20.0,                            # the hall's queue, not the department's
    }


def test_one_item(world, login_api):
    body = stats(login_api(world.supervisor), item=world.i2.code)
    assert {k: body[k] for k in FIGURES} == {
        "received": 2, "accepted": 2, "decided": 1, "on_time_rate": 1.0, "avg_working_days": 1.0,
        "overdue_open": 1, "satisfaction_rate": 1.0, "one_visit_share": 1.0, "zero_visit_share": 1.0,
        "online_share": 1.0, "avg_wait_minutes": 20.0,
    }


def test_one_hall(world, login_api):
    body = stats(login_api(world.supervisor), hall="H1")
    assert {k: body[k] for k in FIGURES} == {
        "received": 2, "accepted": 2,                          # C1 C2
        "decided": 3, "on_time_rate": 0.6667, "avg_working_days": 4.33,  # C1 C2 C5
        "overdue_open": 0, "satisfaction_rate": 0.5, "one_visit_share": 0.5, "zero_visit_share": 0.0,
        "online_share": 0.5, "avg_wait_minutes": 15.0,
    }


def test_an_invalid_rating_leaves_the_satisfaction_rate(world, login_api):
    rectification = Rectification.objects.get(application__number=world.c2)
    response = login_api(world.supervisor).post(f"/api/v1/rectifications/{rectification.pk}/invalidate/",
                                                {"reason": "与本办件无关"}, format="json")
    assert response.status_code == 200
    assert stats(login_api(world.supervisor))["satisfaction_rate"] == 1.0


def test_an_empty_period_has_no_rates(world, login_api):
    body = stats(login_api(world.supervisor), **{"from": "2025-01-01", "to": "2025-01-31"})
    assert {k: body[k] for k in FIGURES} == {
        "received": 0, "accepted": 0, "decided": 0, "on_time_rate": None, "avg_working_days": None,
        "overdue_open": 1, "satisfaction_rate": None, "one_visit_share": None, "zero_visit_share": None,
        "online_share": None, "avg_wait_minutes": None,
    }


def test_a_head_sees_their_own_department_only(world, login_api):
    client = login_api(world.head1)
    assert stats(client)["department"] == "D1"
    assert stats(client)["received"] == 3
    assert stats(client, department="D1")["received"] == 3
    with time_machine.travel(TODAY, tick=False):
        assert client.get("/api/v1/stats/", {**NOV, "department": "D2"}).status_code == 403
        assert client.get("/api/v1/stats/", {**NOV, "item": world.i2.code}).status_code == 403


@pytest.mark.parametrize("role", ["clerk", "reviewer", "custodian", "applicant"])
def test_other_roles_are_refused(world, login_api, role):
    user = {"clerk": world.clerk1, "reviewer": world.reviewers[world.d1.pk], "custodian": world.custodian,
            "applicant": UserFactory(identified=True)}[role]
    assert login_api(user).get("/api/v1/stats/", NOV).status_code == 403


def test_anonymous_is_refused(db):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/stats/").status_code in (401, 403)


@pytest.mark.parametrize("params, field", [
    ({"from": "2026-12-01", "to": "2026-11-01"}, "from"),
    ({"from": "30.11.2026"}, "from"),
    ({"department": "NOPE"}, "department"),
    ({"hall": "NOPE"}, "hall"),
    ({"item": "NOPE"}, "item"),
])
def test_bad_queries_are_400_by_field(db, login_api, params, field):
    response = login_api(UserFactory(supervisor=True)).get("/api/v1/stats/", params)
    assert response.status_code == 400 and field in response.json()


def test_default_period_is_this_month(db, login_api):
    with time_machine.travel("2026-11-18 10:00 +0800", tick=False):
        body = login_api(UserFactory(supervisor=True)).get("/api/v1/stats/").json()
    assert (body["from"], body["to"]) == ("2026-11-01", "2026-11-18")


def test_a_handful_of_queries_whatever_the_data(world):
    scope = statistics.Scope(date(2026, 11, 1), date(2026, 11, 30))
    with CaptureQueriesContext(connection) as queries:
        statistics.compute(scope, today=date(2026, 11, 30))
    # the rolled-up days; from the records: submitted, accepted, issued, rated, decided, tickets, overdue;
    # the calendar (one statement for its two tables) where decisions are counted from the records; the
    # catalogue's one grouped read
    expected = {"records": 1 + 7 + 1 + 1, "rollup": 1 + 2 + 7 + 1}[world.rollup]
    assert len(queries) == expected, [q["sql"] for q in queries.captured_queries]


def test_a_rolled_up_period_reads_no_case_but_the_open_ones(world):
    with time_machine.travel(TODAY, tick=False):
        services.statistics_rollup_sweep()
    # From the first record (C5, 10-28) to yesterday: every day rolled up.
    scope = statistics.Scope(date(2026, 10, 28), date(2026, 11, 29))
    with CaptureQueriesContext(connection) as queries:
        figures = statistics.compute(scope, today=date(2026, 11, 30))
    case_reads = [q["sql"] for q in queries.captured_queries if '"applications_application"' in q["sql"]]
    # The day list, the two rollup sums, the snapshot of open cases past their due date, and the catalogue.
    assert len(queries) == 5 and len(case_reads) == 1 and "due_date" in case_reads[0]
    assert (figures["received"], figures["decided"], figures["tickets_called"]) == (6, 4, 4)


def test_breakdowns_by_department_and_month(world):
    scope = statistics.Scope(date(2026, 10, 1), date(2026, 11, 30))
    rows = {row["department"].code: row for row in statistics.by_department(scope)}
    assert {code: (r["received"], r["decided"], r["on_time_rate"]) for code, r in rows.items()} == {
        "D1": (4, 3, 0.6667),  # C1 C2 C5 C6 received; C1 C2 C5 decided
        "D2": (2, 1, 1.0),
    }
    assert [(m["month"], m["received"], m["decided"]) for m in statistics.by_month(scope)] == [
        (date(2026, 10, 1), 1, 0), (date(2026, 11, 1), 5, 4),
    ]


# --- the supervisor's page --------------------------------------------------------------------------------


def page(user, **params):
    client = Client()
    client.force_login(user)
    with time_machine.travel(TODAY, tick=False):
        return client.get("/supervision/stats/", {**NOV, **params})


def test_stats_page_shows_the_figures_and_charts(world):
    response = page(world.supervisor)
    assert response.status_code == 200
    body = response.content.decode()
    for text in ("统计分析", "收件量", "75.0%", "3.5", "66.7%", "80.0%", "20.0", "市场监管局", "卫生健康委", "<svg"):
        assert text in body, text


def test_stats_page_for_a_head_is_their_department(world):
    response = page(world.head2)
    body = response.content.decode()
    assert response.status_code == 200 and "卫生健康委" in body
    assert page(world.head2, department="D1").status_code == 403


def test_stats_page_is_not_for_clerks(world):
    assert page(world.clerk1).status_code == 404


def test_stats_page_queries_are_bounded(world):
    client = Client()
    client.force_login(world.supervisor)
    with time_machine.travel(TODAY, tick=False), CaptureQueriesContext(connection) as queries:
        assert client.get("/supervision/stats/", NOV).status_code == 200
    assert len(queries) <= 20, [q["sql"] for q in queries.captured_queries]


# --- the rollup (docs/decisions/030-statistics-rollup.md) ---------------------------------------------------


def _rolled_rows():
    return sorted(DayStat.objects.values_list("day", "department__code", "hall__code", *statistics.DAY_MEASURES))


def test_the_rollup_is_idempotent_and_sums_to_the_records(world):
    with time_machine.travel(TODAY, tick=False):
        services.statistics_rollup_sweep()
        before = _rolled_rows()
        assert services.statistics_rollup_sweep() == 0  # nothing left to roll up
        assert services.statistics_rollup_day(day=date(2026, 11, 16)) > 0  # rebuilding a day replaces its rows
        with pytest.raises(ValueError):
            services.statistics_rollup_day(day=date(2026, 11, 30))  # today is not finished
    assert _rolled_rows() == before
    totals = DayStat.objects.aggregate(**{m: Sum(m) for m in ("received", "accepted", "decided", "closed", "ratings")})
    # C5 C1 C2 C3 C4 C6 submitted and accepted before today; C1 C2 C3 C5 decided; C1 C2 C3 issued and rated.
    assert totals == {"received": 6, "accepted": 6, "decided": 4, "closed": 3, "ratings": 3}
    day = DayStat.objects.get(day=date(2026, 11, 12))  # C2 decided late: 7 working days after 11-03
    assert (day.decided, day.on_time, day.timed, day.working_days, day.hall.code) == (1, 0, 1, 7, "H1")


def test_a_deemed_acceptance_recounts_its_submission_day(world):
    number = world.case(world.i1, submit="2026-11-18")
    one_day = statistics.Scope(date(2026, 11, 18), date(2026, 11, 18))
    with time_machine.travel("2026-11-26 10:00 +0800", tick=False):
        services.statistics_rollup_sweep()
        assert StatDay.objects.filter(day=date(2026, 11, 18)).exists()
        assert statistics.compute(one_day)["accepted"] == 0
        # 行政许可法 第三十二条: accepted from its submission day, a day already rolled up.
        assert services.application_deem_accept_sweep() == 1
        assert not StatDay.objects.filter(day=date(2026, 11, 18)).exists()
        assert (statistics.compute(one_day)["received"], statistics.compute(one_day)["accepted"]) == (1, 1)
        assert services.statistics_rollup_sweep() == 1
        assert (statistics.compute(one_day)["received"], statistics.compute(one_day)["accepted"]) == (1, 1)
    assert Application.objects.get(number=number).deemed_accepted


def test_the_timers_roll_up_yesterday(db, login_api, capsys):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django.core.management import call_command

    mark = datetime(2026, 11, 25, 0, 50, tzinfo=ZoneInfo("Asia/Shanghai"))  # 00:59 floored to ten minutes

    world = World(login_api)
    world.case(world.i1, submit="2026-11-24", accept="2026-11-24")
    with time_machine.travel("2026-11-25 01:00 +0800", tick=False):
        call_command("run_timers")
    output = capsys.readouterr().out
    assert "statistics-rollup: 1" in output and "statistics-rollup-today: 0" in output  # nothing yet today
    assert list(StatDay.objects.values_list("day", "until")) == [(date(2026, 11, 24), None), (date(2026, 11, 25), mark)]
    assert DayStat.objects.get().received == 1


def test_today_is_rolled_up_to_the_last_settled_ten_minutes(world):
    world.ticket(world.h1, "2026-11-30 09:00", "2026-11-30 09:40")
    world.ticket(world.h1, "2026-11-30 17:58", "2026-11-30 18:02")
    today = statistics.Scope(date(2026, 11, 30), date(2026, 11, 30))
    with time_machine.travel("2026-11-30 18:05 +0800", tick=False):
        from_records = statistics.compute(today)
        assert services.statistics_rollup_today() == 1  # the H1 row of TicketDayStat
        marker = StatDay.objects.get(day=date(2026, 11, 30))
        assert timezone.localtime(marker.until).strftime("%H:%M") == "18:00"  # 18:04 floored to ten minutes
        assert services.statistics_rollup_today() == 0  # nothing settled since
        with CaptureQueriesContext(connection) as queries:
            rolled = statistics.compute(today)
    assert rolled == from_records and (rolled["tickets_called"], rolled["avg_wait_minutes"]) == (2, 22.0)
    # 09:40 came from the rollup, 18:02 (after the mark) from the records.
    assert TicketDayStat.objects.get(day=date(2026, 11, 30)).called == 1
    # Counted from the records: only from the mark on (18:00 in Beijing is 10:00 UTC).
    assert any('"applications_ticket"' in q["sql"] and "2026-11-30 10:00:00" in q["sql"] for q in queries.captured_queries)
    # The nightly rollup completes the day.
    with time_machine.travel("2026-12-01 00:20 +0800", tick=False):
        services.statistics_rollup_sweep()
    marker.refresh_from_db()
    assert marker.until is None and TicketDayStat.objects.get(day=date(2026, 11, 30)).called == 2



def test_a_pickup_recounts_the_day_the_result_was_issued(world, login_api):
    """C3 was issued on 11-09 with no visit; picked up at the window on 11-30 it is no longer zero-visit."""
    case = Application.objects.get(number=world.c3)
    with time_machine.travel("2026-11-30 11:00 +0800", tick=False):
        response = login_api(world.clerk2).post(f"/api/v1/applications/{world.c3}/deliver/",
                                                {"method": "pickup", "id_number": case.applicant_id_number}, format="json")
    assert response.status_code == 200, response.content
    body = stats(login_api(world.supervisor))
    assert (body["zero_visit_share"], body["one_visit_share"]) == (0.0, 0.6667)


def test_a_hall_given_at_acceptance_recounts_the_submission_day(world, login_api):
    """An online case is submitted (no hall yet) on 11-23, a day then rolled up; a clerk of H1 accepts it on
    11-30: H1's received count includes it."""
    world.case(world.i1, submit="2026-11-23")
    with time_machine.travel(TODAY, tick=False):
        services.statistics_rollup_day(day=date(2026, 11, 23))  # the night after the submission
    number = Application.objects.filter(state="submitted").get().number
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        assert login_api(world.clerk1).post(f"/api/v1/applications/{number}/accept/").status_code == 200
    assert stats(login_api(world.supervisor), hall="H1")["received"] == 3  # C1 C2 and this one


@pytest.mark.parametrize("rolled_up", [False, True])
def test_suspended_days_are_not_approval_time(db, login_api, rolled_up):
    """行政许可法 第四十五条: accepted 11-02, suspended 11-03 and resumed 11-05 (2 working days stopped), approved
    11-09: 5 working days elapsed, 3 of them approval time. Counted from the records and from the rollup."""
    w = World(login_api)
    number = w.case(w.i1, submit="2026-11-02", accept="2026-11-02")
    reviewer = login_api(w.reviewers[w.d1.pk])
    with at("2026-11-03"):
        response = reviewer.post(f"/api/v1/applications/{number}/suspend/",
                                 {"kind": "expert_review", "reason": "组织专家评审"}, format="json")
        assert response.status_code == 200, response.content
    with at("2026-11-05"):
        assert reviewer.post(f"/api/v1/applications/{number}/resume/").status_code == 200
    with at("2026-11-09", "15:00"):
        assert reviewer.post(f"/api/v1/applications/{number}/approve/", {"opinion": "符合条件"}, format="json").status_code == 200
    case = Application.objects.get(number=number)
    assert (case.suspended_days, case.due_date) == (2, date(2026, 11, 11))  # 11-09 + the 2 stopped days
    if rolled_up:
        with time_machine.travel(TODAY, tick=False):
            services.statistics_rollup_sweep()
        assert DayStat.objects.filter(day=date(2026, 11, 9)).aggregate(days=Sum("working_days"))["days"] == 3
    body = stats(login_api(w.supervisor))
    assert (body["decided"], body["avg_working_days"], body["on_time_rate"]) == (1, 3.0, 1.0)


def test_visits_per_case_and_the_promised_days_beside_the_approval_time(world, login_api):
    body = stats(login_api(world.supervisor))
    assert body["visits_per_case"] == 1.0      # (1 + 2 + 0) / 3 closed: C1 C2 C3
    assert body["avg_promised_days"] == 4.5    # (5 + 5 + 3 + 5) / 4 decided: C1 C2 C3 C5
    assert body["avg_working_days"] == 3.5     # beside it, as before
    d1 = stats(login_api(world.supervisor), department="D1")
    assert (d1["visits_per_case"], d1["avg_promised_days"]) == (1.5, 5.0)  # C1 C2; C1 C2 C5


def test_satisfaction_per_stage(world, login_api):
    """C1 and C4 rate the window (受理) too: C1 2 on 11-10, C4 4 on 11-23; the 出证 ratings stay 1, 5, 3."""
    for number, day, score in ((world.c1, "2026-11-10", 2), (world.c4, "2026-11-23", 4)):
        applicant = Application.objects.get(number=number).applicant
        with at(day, "16:00"):
            response = login_api(applicant).post(f"/api/v1/applications/{number}/rate/",
                                                 {"score": score, "stage": "intake", "comment": "窗口说明清楚"}, format="json")
        assert response.status_code == 200, response.content
    if world.rollup == "rollup":  # the days those ratings fell on are rolled up again, as the nightly sweep would
        StatDay.objects.all().delete()
        with time_machine.travel(TODAY, tick=False):
            services.statistics_rollup_sweep()
        assert DayStat.objects.aggregate(n=Sum("intake_ratings"), s=Sum("intake_satisfied")) == {"n": 2, "s": 1}
    body = stats(login_api(world.supervisor))
    assert (body["intake_satisfaction_rate"], body["issuance_satisfaction_rate"]) == (0.5, 0.6667)  # 2 of 2, 4 / 1 3 of 1 5 3
    assert (body["satisfaction_rate"], body["ratings"], body["intake_ratings"]) == (0.6, 5, 2)  # 1 2 3 of 1 5 3 2 4
    d2 = stats(login_api(world.supervisor), department="D2")
    assert (d2["intake_satisfaction_rate"], d2["issuance_satisfaction_rate"]) == (0.0, 1.0)  # C4's 4; C3's 3


def catalogue_world():
    """D1: 食品经营 (5/20, online, 1 visit), an instant item (0/20, online), a zero-visit offline item (4/10);
    D2: 卫生许可 (3/20, online). A draft-only item and a newer unpublished draft do not count."""
    from items.services import item_create, item_draft_from_current

    d1 = DepartmentFactory(code="D1", name="市场监管局")
    d2 = DepartmentFactory(code="D2", name="卫生健康委")
    food = published_item(code="I1-FOOD", department=d1, promised_days=5, statutory_days=20)
    published_item(code="I1-INSTANT", name="即办事项", department=d1, promised_days=0, statutory_days=20)
    published_item(code="I1-ZERO", name="零跑动事项", department=d1, promised_days=4, statutory_days=10, online=False,
                   max_visits=0)
    published_item(code="I2-HEALTH", name="公共场所卫生许可", department=d2, promised_days=3, statutory_days=20)
    admin = UserFactory(catalogue_admin=True)
    item_create(code="I1-DRAFT-ONLY", basic_code="0001170010", department=d1, actor=admin)
    draft = item_draft_from_current(item=food, actor=admin)
    draft.promised_days, draft.online = 1, False
    draft.save()
    return d1, d2


def test_the_catalogue_indicators_per_department_and_overall(db, login_api):
    d1, d2 = catalogue_world()
    supervisor = UserFactory(supervisor=True)
    body = stats(login_api(supervisor))
    assert {key: body[key] for key in statistics.CATALOGUE_FIGURES} == {
        "items": 4, "items_online": 3, "one_visit_items": 4, "zero_visit_items": 1, "instant_items": 1,
        "promised_vs_statutory": 0.8286,  # 1 − (5 + 0 + 4 + 3) / (20 + 20 + 10 + 20)
    }
    assert body["catalogue_departments"] == [
        {"department": "D1", "name": "市场监管局", "items": 3, "items_online": 2, "one_visit_items": 3,
         "zero_visit_items": 1, "instant_items": 1, "promised_vs_statutory": 0.82},  # 1 − 9 / 50
        {"department": "D2", "name": "卫生健康委", "items": 1, "items_online": 1, "one_visit_items": 1,
         "zero_visit_items": 0, "instant_items": 0, "promised_vs_statutory": 0.85},  # 1 − 3 / 20
    ]
    head = UserFactory(head=True, department=d2)
    own = stats(login_api(head))
    assert (own["items"], own["promised_vs_statutory"], len(own["catalogue_departments"])) == (1, 0.85, 1)


def test_the_page_explains_every_figure_and_exports_the_same_figures(db, login_api):
    from io import BytesIO

    from openpyxl import load_workbook

    catalogue_world()
    client = Client()
    client.force_login(UserFactory(supervisor=True))
    with time_machine.travel(TODAY, tick=False):
        html = client.get("/supervision/stats/", NOV).content.decode()
        assert "事项目录指标" in html and "承诺较法定压缩" in html and "82.0%" in html
        for note in ("扣除中止计时", "1 − 承诺办结时限之和 ÷ 法定办结时限之和"):
            assert note in html
        assert "/supervision/stats/export.xlsx?" in html
        response = client.get("/supervision/stats/export.xlsx", NOV)
        api = login_api(UserFactory(supervisor=True)).get("/api/v1/stats/export.xlsx", NOV)
    assert response.status_code == 200 and api.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(BytesIO(response.content))
    assert book.sheetnames == ["指标", "各部门办件", "各部门事项", "各月"]
    figures = {row[0]: row[1] for row in book["指标"].iter_rows(min_row=2, values_only=True)}
    assert figures["在线事项数"] == 4 and figures["承诺时限较法定时限压缩"] == 0.8286
    assert figures["统计期间"] == "2026-11-01 至 2026-11-30"
    departments = list(book["各部门事项"].iter_rows(min_row=2, values_only=True))
    assert departments[0][:3] == ("市场监管局", 3, 2)
    # the same scope rules as the page: a clerk gets nothing, a bad date is refused
    clerk = Client()
    clerk.force_login(UserFactory(clerk=True))
    assert clerk.get("/supervision/stats/export.xlsx").status_code == 404  # as the page: not theirs to see
    assert login_api(UserFactory(supervisor=True)).get("/api/v1/stats/export.xlsx", {"from": "x"}).status_code == 400
