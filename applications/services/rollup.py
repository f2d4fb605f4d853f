"""Statistics rolled up per day (DESIGN §6, §12; docs/decisions/030-statistics-rollup.md): a finished day's
counts are stored once, so a period's figures are a sum over days, not a scan of every case; and per
department and month (docs/decisions/064-statistics-month-rollup.md), so a long period is a sum over months."""

from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Min, Q, Sum
from django.utils import timezone

from applications import statistics
from applications.models import Application, DayStat, MonthStat, StatDay, StatMonth, Ticket, TicketDayStat
from applications.services.case import local_today
from portal.workdays import WorkCalendar


def statistics_day_invalidate(*, day: date) -> None:
    """A change that lands on a past day's figures (a deemed acceptance, a rating judged invalid, a pickup
    adding a visit to a case issued earlier, a hall given to a case submitted earlier): that day is counted
    from the records again until the next rollup rebuilds it.

    Through the day's StatDay row lock, as the rollup takes it: a rollup running now finishes first and its
    row is then deleted. A day that is not rolled up needs nothing (one indexed read, no lock: the clerks
    accepting yesterday's online cases do not queue on it)."""
    if day >= local_today():
        return  # today is counted from the records past its last mark, and rolled up again in ten minutes
    if not StatDay.objects.filter(day=day).exists():
        return
    with transaction.atomic():
        marker, _ = StatDay.objects.select_for_update().get_or_create(day=day, defaults={"built_at": timezone.now()})
        marker.delete()


def statistics_rollup_day(*, day: date, until: datetime | None = None, calendar: WorkCalendar | None = None) -> int:
    """Store one day's counts per department and hall — the whole finished day, or (today) what happened
    before `until`; returns the rows written. Rebuilding a day replaces its rows; two rollups of the same
    day take turns on its StatDay row."""
    if until is None and day >= local_today():
        raise ValueError("只能汇总已经结束的日期")
    if until is not None and (until > timezone.now() or timezone.localdate(until) != day):
        raise ValueError("当日汇总只能截至已经过去的时刻")
    everything = statistics.Scope(day, day)
    moments = [statistics.day_moments(day, until=until)]
    with transaction.atomic():
        marker, _ = StatDay.objects.select_for_update().get_or_create(day=day, defaults={"built_at": timezone.now()})
        DayStat.objects.filter(day=day).delete()
        TicketDayStat.objects.filter(day=day).delete()
        rows = statistics.day_rows(everything, moments, calendar=calendar)
        DayStat.objects.bulk_create(
            DayStat(day=row_day, department_id=department_id, hall_id=hall_id, **measures)
            for (row_day, department_id, hall_id), measures in rows.items()
        )
        tickets = statistics.ticket_rows(everything, moments)
        TicketDayStat.objects.bulk_create(
            TicketDayStat(day=row_day, hall_id=hall_id, **measures) for (row_day, hall_id), measures in tickets.items()
        )
        marker.built_at, marker.until = timezone.now(), until
        marker.save(update_fields=["built_at", "until"])
        _rebuild_month(day.replace(day=1))
    return len(rows) + len(tickets)


def _rebuild_month(month: date) -> None:
    """The month's MonthStat rows summed again from its DayStat rows, in the transaction that rewrote one of its
    days. Under the month's StatMonth row lock, taken after the day's: a rollup of another day of the month
    (the ten-minute one of today beside the nightly one of yesterday) waits, then sums with this day's rows
    committed. Summing the whole month (~department × hall × 31 rows) rather than adding the day's change
    keeps the month equal to its days whatever happened before."""
    following = (month + timedelta(days=32)).replace(day=1)
    marker, _ = StatMonth.objects.select_for_update().get_or_create(month=month, defaults={"built_at": timezone.now()})
    MonthStat.objects.filter(month=month).delete()
    sums = (DayStat.objects.filter(day__gte=month, day__lt=following).values("department_id")
            .annotate(**{measure: Sum(measure) for measure in statistics.DAY_MEASURES}).order_by("department_id"))
    MonthStat.objects.bulk_create(MonthStat(month=month, **row) for row in sums)
    marker.built_at = timezone.now()
    marker.save(update_fields=["built_at"])


# Today is rolled up to a ten-minute mark at least a minute old: a transaction that stamped a moment before
# the mark has committed by then (and the nightly rollup recounts the whole day anyway).
TODAY_STEP = timedelta(minutes=10)
TODAY_SETTLE = timedelta(minutes=1)


def statistics_rollup_today(*, now: datetime | None = None) -> int:
    """Roll up today so far (to the last settled ten-minute mark): a period ending today then counts only
    the minutes since from the records."""
    now = timezone.localtime(now or timezone.now())
    settled = now - TODAY_SETTLE
    midnight = settled.replace(hour=0, minute=0, second=0, microsecond=0)
    until = midnight + (settled - midnight) // TODAY_STEP * TODAY_STEP
    if until <= midnight:
        return 0
    if StatDay.objects.filter(Q(until__isnull=True) | Q(until__gte=until), day=until.date()).exists():
        return 0  # already rolled up this far (or the whole day, by a sweep run by hand)
    return statistics_rollup_day(day=until.date(), until=until)


def statistics_rollup_sweep(*, today: date | None = None) -> int:
    """Roll up every finished day not (completely) rolled up yet, from the first record on: at night that
    is yesterday (and any day a later change invalidated); on a new or imported database, its whole
    history once."""
    today = today or local_today()
    firsts = [
        Application.objects.aggregate(first=Min("submitted_at"))["first"],
        Ticket.objects.aggregate(first=Min("called_at"))["first"],
    ]
    firsts = [timezone.localdate(moment) for moment in firsts if moment is not None]
    if not firsts:
        return 0
    built = set(StatDay.objects.filter(day__lt=today, until__isnull=True).values_list("day", flat=True))
    calendar = WorkCalendar.load()
    day, rolled = min(firsts), 0
    while day < today:
        if day not in built:
            statistics_rollup_day(day=day, calendar=calendar)
            rolled += 1
        day += timedelta(days=1)
    return rolled
