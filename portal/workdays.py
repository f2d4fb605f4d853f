"""Chinese working days (DESIGN §5): chinese-calendar, overridden by the admins' CalendarDay table.

A working day is a day that is not a weekend or public holiday, or is a 调休 make-up workday. A year the
library does not know (its data ends with 2026) falls back to weekends plus the admins' overrides, and any
answer that depended on such a day is flagged provisional, unless the admins confirmed that year.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache

import chinese_calendar
from django.db import connection

from portal.models import CalendarDay, CalendarYear

# Far enough for any statutory limit; a larger request is a mistake, not a deadline.
MAX_WORKING_DAYS = 3650


@cache
def library_knows_year(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=8192)
def national_is_workday(day: date) -> bool:
    """chinese-calendar's answer, cached: its data never changes within a process, and each call scans
    its whole holiday table (several ms per page of due dates otherwise)."""
    return chinese_calendar.is_workday(day)


@dataclass(frozen=True)
class WorkdayResult:
    date: date
    provisional: bool


class WorkCalendar:
    """The calendar as of one moment: national data + overrides, loaded once, then pure arithmetic."""

    def __init__(self, *, overrides: dict[date, bool] | None = None, confirmed_years: set[int] | None = None):
        self.overrides = overrides or {}
        self.confirmed_years = confirmed_years or set()

    @classmethod
    def load(cls) -> "WorkCalendar":
        """The admins' overrides and confirmed years, in one statement of plain SQL: every acceptance loads
        the calendar, and two ORM queries cost it more than their rows (DESIGN §12). Not kept between calls:
        a change commits or rolls back with its transaction, and the next load sees exactly that."""
        overrides, confirmed_years = {}, set()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT date, is_workday, NULL FROM {CalendarDay._meta.db_table}"
                f" UNION ALL SELECT NULL, NULL, year FROM {CalendarYear._meta.db_table}"
            )
            for day, is_workday, year in cursor.fetchall():
                if year is not None:
                    confirmed_years.add(int(year))
                else:  # SQLite answers plain SQL with text and integers
                    overrides[day if isinstance(day, date) else date.fromisoformat(day)] = bool(is_workday)
        return cls(overrides=overrides, confirmed_years=confirmed_years)

    def is_known(self, day: date) -> bool:
        return day.year in self.confirmed_years or library_knows_year(day.year)

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if library_knows_year(day.year):
            return national_is_workday(day)
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> WorkdayResult:
        """The `days`-th working day after `start`; the start day itself is not counted; 0 ⇒ `start`."""
        if days < 0:
            raise ValueError("days must be ≥ 0")
        day, counted, provisional = start, 0, False
        while counted < days:
            day += timedelta(days=1)
            provisional = provisional or not self.is_known(day)
            if self.is_working_day(day):
                counted += 1
        return WorkdayResult(date=day, provisional=provisional)

    def subtract_working_days(self, end: date, days: int) -> date:
        """The `days`-th working day before `end` (`end` itself not counted); 0 ⇒ `end`."""
        day, counted = end, 0
        while counted < days:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in [start, end): what a suspension from `start` to `end` takes off the clock."""
        return sum(1 for offset in range((end - start).days) if self.is_working_day(start + timedelta(days=offset)))

    def remaining_working_days(self, today: date, due: date) -> int:
        """Working days after `today` up to and including `due` (0 on the due date, negative when overdue)."""
        if due >= today:
            return self.working_days_between(today + timedelta(days=1), due + timedelta(days=1))
        return -self.working_days_between(due + timedelta(days=1), today + timedelta(days=1))


def add_working_days(start: date, days: int) -> WorkdayResult:
    return WorkCalendar.load().add_working_days(start, days)
