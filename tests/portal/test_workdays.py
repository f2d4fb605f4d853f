"""Working-day arithmetic (DESIGN §5) across the 2026 holidays, make-up days, overrides and unknown years."""

from datetime import date

import pytest

from portal.models import CalendarDay, CalendarYear
from portal.workdays import WorkCalendar

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # DESIGN's own example: the National Day holiday does not count; Saturday 10-10 is a make-up workday.
        (date(2026, 9, 30), 3, date(2026, 10, 10)),
        # Accepted Friday before the Spring Festival: Sat 02-14 is a make-up workday, 02-15…02-23 are off.
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
        (date(2026, 2, 13), 2, date(2026, 2, 24)),
        # Sat 02-28 is the second make-up workday of the Spring Festival.
        (date(2026, 2, 26), 2, date(2026, 2, 28)),
        # Sun 09-20 is a make-up workday (for National Day).
        (date(2026, 9, 18), 1, date(2026, 9, 20)),
        # Labour Day: 05-01…05-05 off, Sat 05-09 worked.
        (date(2026, 4, 30), 1, date(2026, 5, 6)),
        (date(2026, 5, 8), 1, date(2026, 5, 9)),
        # A plain week: Friday + 1 = Monday.
        (date(2026, 11, 20), 1, date(2026, 11, 23)),
        # days = 0: due the day of acceptance, even on a holiday.
        (date(2026, 10, 1), 0, date(2026, 10, 1)),
        (date(2026, 11, 24), 0, date(2026, 11, 24)),
    ],
)
def test_add_working_days_known_year(start, days, due):
    result = WorkCalendar.load().add_working_days(start, days)
    assert result.date == due
    assert result.provisional is False


def test_unknown_year_falls_back_to_weekends_and_is_provisional():
    # chinese-calendar's data ends with 2026; 2027-01-01 is a Friday.
    result = WorkCalendar.load().add_working_days(date(2026, 12, 30), 3)
    assert result.date == date(2027, 1, 4)  # Thu 31, Fri 1 (weekday fallback), Mon 4
    assert result.provisional is True


def test_override_table_wins_over_the_library_and_fallback():
    CalendarDay.objects.create(date=date(2027, 1, 1), is_workday=False, note="元旦")
    CalendarDay.objects.create(date=date(2026, 11, 23), is_workday=False, note="临时停办")
    calendar = WorkCalendar.load()
    assert calendar.add_working_days(date(2026, 12, 30), 3).date == date(2027, 1, 5)
    assert calendar.add_working_days(date(2026, 11, 20), 1).date == date(2026, 11, 24)
    CalendarDay.objects.create(date=date(2026, 11, 21), is_workday=True, note="调休上班")
    assert WorkCalendar.load().add_working_days(date(2026, 11, 20), 1).date == date(2026, 11, 21)


def test_confirmed_year_is_no_longer_provisional():
    CalendarYear.objects.create(year=2027, note="国务院办公厅通知")
    result = WorkCalendar.load().add_working_days(date(2026, 12, 30), 3)
    assert result.provisional is False


def test_working_days_between_counts_start_and_excludes_end():
    calendar = WorkCalendar.load()
    # Suspended Wed 09-30, resumed Mon 10-12: 09-30, 10-08, 10-09 and Sat 10-10 count; the holiday does not.
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    assert calendar.working_days_between(date(2026, 11, 24), date(2026, 11, 24)) == 0


def test_remaining_working_days():
    calendar = WorkCalendar.load()
    assert calendar.remaining_working_days(date(2026, 9, 30), date(2026, 10, 10)) == 3  # 10-08, 10-09, 10-10
    assert calendar.remaining_working_days(date(2026, 10, 10), date(2026, 10, 10)) == 0
    assert calendar.remaining_working_days(date(2026, 10, 13), date(2026, 10, 10)) == -2  # 10-12, 10-13


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        WorkCalendar.load().add_working_days(date(2026, 1, 5), -1)


class TestWorkdaysApi:
    def test_design_example(self, api):
        response = api.get("/api/v1/workdays/", {"start": "2026-09-30", "days": 3})
        assert response.status_code == 200
        assert response.json() == {"start": "2026-09-30", "days": 3, "date": "2026-10-10", "provisional": False}

    def test_zero_days(self, api):
        response = api.get("/api/v1/workdays/", {"start": "2026-10-01", "days": 0})
        assert response.json()["date"] == "2026-10-01"

    def test_2027_is_provisional_not_a_crash(self, api):
        response = api.get("/api/v1/workdays/", {"start": "2027-03-01", "days": 10})
        assert response.status_code == 200
        assert response.json() == {"start": "2027-03-01", "days": 10, "date": "2027-03-15", "provisional": True}

    def test_admin_override_is_used(self, api):
        CalendarDay.objects.create(date=date(2026, 11, 25), is_workday=False)
        response = api.get("/api/v1/workdays/", {"start": "2026-11-24", "days": 1})
        assert response.json()["date"] == "2026-11-26"

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"days": 3}, "start"),
            ({"start": "2026-02-30", "days": 3}, "start"),
            ({"start": "2026-09-30"}, "days"),
            ({"start": "2026-09-30", "days": -1}, "days"),
            ({"start": "2026-09-30", "days": "abc"}, "days"),
            ({"start": "2026-09-30", "days": 100000}, "days"),
        ],
    )
    def test_bad_input_names_the_field(self, api, query, field):
        response = api.get("/api/v1/workdays/", query)
        assert response.status_code == 400
        assert field in response.json()
