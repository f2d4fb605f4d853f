"""Statistics (DESIGN §6, §10, §12): the figures a city reports publicly, computed from the records only.

Every figure is an aggregate over one timestamp range of the records, so the work is a handful of
queries whatever the number of cases (no per-row Python):

1. cases: received / online (submitted_at), accepted (accepted_at), closed / one-visit / zero-visit
   (issued_at) — one pass with filtered COUNTs over the OR of three indexed ranges;
2. decided cases grouped by (acceptance day, decision day): decided, on time, and the working days
   between them, computed once per distinct pair of days with the working-day calendar;
3. running cases past their due date (a snapshot of today, not of the period);
4. 好差评 in the period (ratings a supervisor judged invalid do not count);
5. queue tickets called in the period.

Definitions (what each figure means, for the people who publish them):
- received: cases submitted in the period (a walk-in accepted at once counts as submitted then);
- on_time_rate: decided in the period on or before the due date ÷ decided in the period;
- avg_working_days: working days from acceptance to decision (the acceptance day not counted, as for
  due dates), less the working days the clock stood suspended (行政许可法 第四十五条: 中止 for supplements,
  hearings, expert review… is not approval time), averaged over the cases decided in the period;
- closed (办结): cases whose result was issued in the period; one_visit_share / zero_visit_share are the
  shares of those with at most one / no visit to a hall;
- satisfaction_rate: ratings 1–3 (非常满意/满意/基本满意) ÷ all valid ratings given in the period;
  intake_satisfaction_rate and issuance_satisfaction_rate: the same over the ratings of that stage only;
- online_share: received online ÷ received;
- avg_wait_minutes: called_at − issued_at of the tickets called in the period. The queue belongs to the
  hall: `hall` narrows it, `department` and `item` do not.
Rates are fractions in [0, 1]; a figure with nothing to divide by is None.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import Count, F, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from applications.models import (
    RUNNING,
    Application,
    Channel,
    DayStat,
    MonthStat,
    Rating,
    RatingStage,
    StatDay,
    Ticket,
    TicketDayStat,
)
from items.models import Handling, Item, ItemVersion
from portal.db import read_database
from portal.errors import Forbidden
from portal.models import Department, Hall, Role, User
from portal.workdays import WorkCalendar

FIGURES = [
    "received", "accepted", "decided", "on_time_rate", "avg_working_days", "overdue_open", "satisfaction_rate",
    "one_visit_share", "zero_visit_share", "online_share", "avg_wait_minutes",
]


@dataclass(frozen=True)
class Scope:
    """The period (both days included) and the optional department, item and hall."""

    date_from: date
    date_to: date
    department: Department | None = None
    item: Item | None = None
    hall: Hall | None = None

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.date_from, time.min))

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return timezone.make_aware(datetime.combine(self.date_to + timedelta(days=1), time.min))


def scope_for(*, user: User, date_from: date, date_to: date, department: Department | None = None,
              item: Item | None = None, hall: Hall | None = None) -> Scope:
    """Supervisors see any department; a head sees their own only: asking for another is refused (403)
    rather than quietly answered with their own figures; asking for none means their own."""
    if user.role == Role.SUPERVISOR:
        return Scope(date_from, date_to, department, item, hall)
    if user.role == Role.HEAD:
        if department is not None and department.pk != user.department_id:
            raise Forbidden("部门负责人只能查看本部门的统计")
        if item is not None and item.department_id != user.department_id:
            raise Forbidden("部门负责人只能查看本部门事项的统计")
        return Scope(date_from, date_to, user.department, item, hall)
    raise Forbidden("只有监察人员和部门负责人可以查看统计")


# --- which days come from the rollup, which from the records -------------------------------------------------

Span = tuple[date, date]  # both days included
Moments = tuple[datetime, datetime]  # [start, end)


def _spans(days: Iterable[date]) -> list[Span]:
    """Sorted days as runs of consecutive days."""
    spans: list[list[date]] = []
    for day in sorted(days):
        if spans and day == spans[-1][1] + timedelta(days=1):
            spans[-1][1] = day
        else:
            spans.append([day, day])
    return [(first, last) for first, last in spans]


def _moment(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def day_moments(day: date, *, until: datetime | None = None) -> Moments:
    """The day from midnight to the next midnight, or to `until`."""
    return _moment(day), until or _moment(day + timedelta(days=1))


def _split(scope: Scope, *, today: date) -> tuple[list[Span], list[Moments], set[date]]:
    """(rolled-up days, time ranges to count from the records, the days rolled up whole) covering the
    scope's period.

    A day is rolled up whole, or (today, or a day the nightly rollup has not completed yet) up to its
    `until`: the rest of that day is counted from the records. An item scope always counts from the
    records (the rollup has no item dimension, and one item's cases are few)."""
    period = [scope.date_from + timedelta(days=n) for n in range((scope.date_to - scope.date_from).days + 1)]
    rolled: dict[date, datetime | None] = {}
    if scope.item is None:
        rolled = dict(StatDay.objects.using(read_database()).filter(day__gte=scope.date_from, day__lte=min(scope.date_to, today))
                      .values_list("day", "until"))
    live: list[Moments] = []
    for first, last in _spans(day for day in period if day not in rolled):
        live.append((_moment(first), _moment(last + timedelta(days=1))))
    live.extend((until, _moment(day + timedelta(days=1))) for day, until in sorted(rolled.items()) if until is not None)
    # Nothing has happened after now: a range into the future ends here (so an index range ends here too).
    horizon = timezone.now() + timedelta(seconds=1)
    live = [(start, min(end, horizon)) for start, end in live if start < horizon]
    return _spans(rolled), live, {day for day, until in rolled.items() if until is None}


def _whole_months(scope: Scope, whole_days: set[date]) -> list[date]:
    """The months read from MonthStat (docs/decisions/064-statistics-month-rollup.md): inside the period, every
    day rolled up whole, and no hall chosen (the month rows sum all halls). The days of the other months —
    at the period's edges, the month of today, a month with a day a later change invalidated — are read
    from DayStat and the records as before."""
    if scope.hall is not None or scope.item is not None:
        return []
    months = []
    for month in months_between(scope.date_from, scope.date_to):
        following = (month + timedelta(days=32)).replace(day=1)
        days = [month + timedelta(days=n) for n in range((following - month).days)]
        if month >= scope.date_from and days[-1] <= scope.date_to and whole_days.issuperset(days):
            months.append(month)
    return months


def _without_months(spans: list[Span], months: list[date]) -> list[Span]:
    read = set(months)
    return _spans(day for first, last in spans for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
                  if day.replace(day=1) not in read)


def _in(field: str, moments: list[Moments]) -> Q:
    condition = Q()
    for start, end in moments:
        condition |= Q(**{f"{field}__gte": start, f"{field}__lt": end})
    return condition


def _days_in(spans: list[Span]) -> Q:
    condition = Q()
    for first, last in spans:
        condition |= Q(day__gte=first, day__lte=last)
    return condition


# --- counting from the records: the rollup's rows, for any spans ---------------------------------------------


def _cases(scope: Scope) -> QuerySet[Application]:
    cases = Application.objects.using(read_database())
    if scope.department is not None:
        cases = cases.filter(department_id=scope.department.pk)
    if scope.item is not None:
        # The case pins a version; the item's versions are a handful of rows (a semi-join, no join fan-out).
        cases = cases.filter(item_version_id__in=Subquery(ItemVersion.objects.filter(item_id=scope.item.pk).values("pk")))
    if scope.hall is not None:
        cases = cases.filter(hall_id=scope.hall.pk)
    return cases


def _ratings(scope: Scope) -> QuerySet[Rating]:
    ratings = Rating.objects.using(read_database()).filter(invalid=False)
    if scope.department is not None:
        ratings = ratings.filter(department_id=scope.department.pk)
    if scope.hall is not None:
        ratings = ratings.filter(hall_id=scope.hall.pk)
    if scope.item is not None:
        ratings = ratings.filter(application__item_version__item_id=scope.item.pk)
    return ratings


def _tickets(scope: Scope) -> QuerySet[Ticket]:
    tickets = Ticket.objects.using(read_database())
    if scope.hall is not None:
        tickets = tickets.filter(hall_id=scope.hall.pk)
    return tickets


def _cumulative_working_days(calendar: WorkCalendar, first: date, last: date) -> dict[date, int]:
    """Working days in (first, day] for each day of the span: one walk, then any pair is a subtraction."""
    counted, running, day = {}, 0, first
    while day <= last:
        counted[day] = running
        day += timedelta(days=1)
        running += calendar.is_working_day(day)
    return counted


def _by_day(queryset: QuerySet, timestamp: str, spans: list[Moments], *keys: str, **measures) -> list[dict]:
    return list(queryset.filter(_in(timestamp, spans)).values(*keys, on_day=TruncDate(timestamp)).annotate(**measures).order_by())


def day_rows(scope: Scope, spans: list[Moments], *, calendar: WorkCalendar | None = None) -> dict[tuple, dict]:
    """The scope's case and rating counts per (day, department, hall) over the time ranges, from the records:
    what DayStat holds for a rolled-up day. One grouped query per timestamp."""
    rows: dict[tuple, dict] = {}

    def add(found: list[dict], **rename):
        for row in found:
            key = (row["on_day"], row["department_id"], row["hall_id"])
            target = rows.setdefault(key, dict.fromkeys(DAY_MEASURES, 0))
            for measure in rename:
                target[measure] += row[measure]

    if not spans:
        return rows
    cases, keys = _cases(scope), ("department_id", "hall_id")
    add(_by_day(cases, "submitted_at", spans, *keys, received=Count("pk"),
                online=Count("pk", filter=Q(channel=Channel.ONLINE))), received=1, online=1)
    add(_by_day(cases, "accepted_at", spans, *keys, accepted=Count("pk")), accepted=1)
    add(_by_day(cases, "issued_at", spans, *keys, closed=Count("pk"), one_visit=Count("pk", filter=Q(visits__lte=1)),
                zero_visit=Count("pk", filter=Q(visits=0)), visits=Sum("visits")), closed=1, one_visit=1, zero_visit=1, visits=1)
    intake = Q(stage=RatingStage.INTAKE)
    add(_by_day(_ratings(scope), "rated_at", spans, *keys, ratings=Count("pk"),
                satisfied=Count("pk", filter=Q(score__lte=3)), intake_ratings=Count("pk", filter=intake),
                intake_satisfied=Count("pk", filter=intake & Q(score__lte=3))),
        ratings=1, satisfied=1, intake_ratings=1, intake_satisfied=1)
    decided = _by_day(cases, "decided_at", spans, *keys, accepted_day=TruncDate("accepted_at"), decided=Count("pk"),
                      on_time=Count("pk", filter=Q(decided_at__date__lte=F("due_date"))),
                      suspended=Sum("suspended_days"), promised=Sum("item_version__promised_days"))
    timed = [row for row in decided if row["accepted_day"] is not None]
    cumulative = {}
    if timed:
        calendar = calendar or WorkCalendar.load()
        cumulative = _cumulative_working_days(calendar, min(row["accepted_day"] for row in timed),
                                              max(row["on_day"] for row in timed))
    for row in decided:
        row["timed"] = row["decided"] if row["accepted_day"] is not None else 0
        elapsed = (cumulative[row["on_day"]] - cumulative[row["accepted_day"]]) * row["decided"] if row["timed"] else 0
        row["working_days"] = max(elapsed - (row["suspended"] or 0), 0) if row["timed"] else 0
        row["promised_days"] = (row["promised"] or 0) if row["timed"] else 0
    add(decided, decided=1, on_time=1, timed=1, working_days=1, promised_days=1)
    return rows


def ticket_rows(scope: Scope, spans: list[Moments]) -> dict[tuple, dict]:
    """Called tickets and their summed wait per (day, hall) over the time ranges, from the records."""
    if not spans:
        return {}
    found = _by_day(_tickets(scope), "called_at", spans, "hall_id", called=Count("pk"), wait_seconds=Sum("wait_seconds"))
    return {(row["on_day"], row["hall_id"]): {"called": row["called"], "wait_seconds": row["wait_seconds"] or 0} for row in found}


# --- the figures: rolled-up days summed in SQL, the other days counted from the records ---------------------

DAY_MEASURES = ["received", "online", "accepted", "decided", "on_time", "timed", "working_days", "closed",
                "one_visit", "zero_visit", "ratings", "satisfied", "visits", "promised_days", "intake_ratings",
                "intake_satisfied"]


def _rolled(scope: Scope, spans: list[Span]) -> QuerySet[DayStat]:
    rolled = DayStat.objects.using(read_database())
    rolled = rolled.filter(_days_in(spans)) if spans else rolled.none()
    if scope.department is not None:
        rolled = rolled.filter(department_id=scope.department.pk)
    if scope.hall is not None:
        rolled = rolled.filter(hall_id=scope.hall.pk)
    return rolled


def _sum(rows: Iterable[dict], measures: list[str]) -> dict[str, int]:
    total = dict.fromkeys(measures, 0)
    for row in rows:
        for measure in measures:
            total[measure] += row[measure] or 0
    return total


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Parts:
    """A scope's period split once: the rolled-up spans, and the other days' rows counted from the records."""

    today: date
    rolled_spans: list[Span]
    live_spans: list[Moments]
    live_rows: dict[tuple, dict]
    # MonthStat rows of the whole months, and DayStat summed per (department, month) over the other rolled-up
    # days: every figure and chart derives from them
    rolled_rows: list[dict]
    months: list[date]  # the whole months read from MonthStat


def parts_for(scope: Scope, *, today: date | None = None, calendar: WorkCalendar | None = None) -> Parts:
    today = today or timezone.localdate()
    rolled_spans, live_spans, whole_days = _split(scope, today=today)
    months = _whole_months(scope, whole_days)
    rolled_rows = []
    if months:
        # One row per department and month, whatever the number of halls and days.
        month_rows = MonthStat.objects.using(read_database()).filter(month__in=months)
        if scope.department is not None:
            month_rows = month_rows.filter(department_id=scope.department.pk)
        rolled_rows = list(month_rows.values("department_id", "month", *DAY_MEASURES).order_by())
    day_spans = _without_months(rolled_spans, months)
    if day_spans:
        # One pass over the other rolled-up days for the figures, the department chart and the month chart.
        summed_days = list(
            _rolled(scope, day_spans).values("department_id", month=TruncMonth("day"))
            .annotate(**{measure: Sum(measure) for measure in DAY_MEASURES}).order_by()
        )
        for row in summed_days:
            row["month"] = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
        rolled_rows += summed_days
    return Parts(today, rolled_spans, live_spans, day_rows(scope, live_spans, calendar=calendar), rolled_rows, months)


def compute(scope: Scope, *, today: date | None = None, calendar: WorkCalendar | None = None,
            parts: Parts | None = None, catalogue: dict | None = None) -> dict:
    """The eleven figures of DESIGN §10 for the scope, plus the counts behind each rate."""
    parts = parts or parts_for(scope, today=today, calendar=calendar)
    today, rolled_spans, live_spans = parts.today, parts.rolled_spans, parts.live_spans
    totals = _sum([*parts.rolled_rows, *parts.live_rows.values()], DAY_MEASURES)
    rolled_tickets = [{"called": 0, "wait_seconds": 0}]
    if rolled_spans:
        tickets = TicketDayStat.objects.using(read_database()).filter(_days_in(rolled_spans))
        if scope.hall is not None:
            tickets = tickets.filter(hall_id=scope.hall.pk)
        rolled_tickets = [tickets.aggregate(called=Sum("called"), wait_seconds=Sum("wait_seconds"))]
    tickets = _sum([*rolled_tickets, *ticket_rows(scope, live_spans).values()], ["called", "wait_seconds"])
    overdue_open = _cases(scope).filter(state__in=RUNNING, due_date__lt=today).count()
    return {
        "received": totals["received"],
        "accepted": totals["accepted"],
        "decided": totals["decided"],
        "on_time_rate": _ratio(totals["on_time"], totals["decided"]),
        "avg_working_days": round(totals["working_days"] / totals["timed"], 2) if totals["timed"] else None,
        "overdue_open": overdue_open,
        "satisfaction_rate": _ratio(totals["satisfied"], totals["ratings"]),
        # per stage (DESIGN §15): 受理 rates the window, 出证 the result; the two make up satisfaction_rate
        "intake_satisfaction_rate": _ratio(totals["intake_satisfied"], totals["intake_ratings"]),
        "issuance_satisfaction_rate": _ratio(totals["satisfied"] - totals["intake_satisfied"],
                                             totals["ratings"] - totals["intake_ratings"]),
        "one_visit_share": _ratio(totals["one_visit"], totals["closed"]),
        "zero_visit_share": _ratio(totals["zero_visit"], totals["closed"]),
        "online_share": _ratio(totals["online"], totals["received"]),
        "avg_wait_minutes": round(tickets["wait_seconds"] / tickets["called"] / 60, 2) if tickets["called"] else None,
        # DESIGN §15
        "visits_per_case": round(totals["visits"] / totals["closed"], 2) if totals["closed"] else None,
        "avg_promised_days": round(totals["promised_days"] / totals["timed"], 2) if totals["timed"] else None,
        **(catalogue or catalogue_figures(scope))["overall"],
        # the counts behind the rates
        "on_time": totals["on_time"],
        "closed": totals["closed"],
        "online": totals["online"],
        "ratings": totals["ratings"],
        "satisfied_ratings": totals["satisfied"],
        "intake_ratings": totals["intake_ratings"],
        "tickets_called": tickets["called"],
    }


# --- the catalogue's indicators (DESIGN §15): over the current version of each published item ----------------

CATALOGUE_FIGURES = ["items", "items_online", "one_visit_items", "zero_visit_items", "instant_items",
                     "promised_vs_statutory"]


def _catalogue_row(row: dict) -> dict:
    return {
        "items": row["items"],
        "items_online": row["items_online"],
        "one_visit_items": row["one_visit_items"],
        "zero_visit_items": row["zero_visit_items"],
        "instant_items": row["instant_items"],
        # how far the promised limits are below the statutory ones (压缩比例), over items that have a statutory limit
        "promised_vs_statutory": round(1 - row["promised"] / row["statutory"], 4) if row["statutory"] else None,
    }


def catalogue_figures(scope: Scope) -> dict:
    """Items published now (their current versions) per department and overall, in one grouped query: how
    many, how many online, at most one visit, no visit, instant, and the compression of promised vs statutory
    working days. The catalogue is a snapshot of today whatever the period; `department` and `item` narrow it."""
    versions = ItemVersion.objects.using(read_database()).filter(item__current_version=F("pk"))
    if scope.department is not None:
        versions = versions.filter(department_id=scope.department.pk)
    if scope.item is not None:
        versions = versions.filter(item_id=scope.item.pk)
    timed = Q(statutory_days__gt=0)
    rows = list(versions.values("department_id", "department__code", "department__name").annotate(
        items=Count("pk"), items_online=Count("pk", filter=Q(online=True)),
        one_visit_items=Count("pk", filter=Q(max_visits__lte=1)), zero_visit_items=Count("pk", filter=Q(max_visits=0)),
        instant_items=Count("pk", filter=Q(handling=Handling.INSTANT)),
        promised=Sum("promised_days", filter=timed, default=0), statutory=Sum("statutory_days", filter=timed, default=0),
    ).order_by())
    overall = _sum(rows, ["items", "items_online", "one_visit_items", "zero_visit_items", "instant_items", "promised",
                          "statutory"])
    departments = sorted(
        ({"code": row["department__code"], "name": row["department__name"], **_catalogue_row(row)} for row in rows),
        key=lambda row: (-row["items"], row["code"]),
    )
    return {"overall": _catalogue_row(overall), "departments": departments}


# --- breakdowns for the page's charts ----------------------------------------------------------------------

BREAKDOWN = ["received", "decided", "on_time"]


def _breakdown(parts: Parts, rolled_key, live_key) -> dict:
    grouped: dict = {}
    rows = [(rolled_key(row), row) for row in parts.rolled_rows]
    rows += [(live_key(day, department_id), row) for (day, department_id, _hall), row in parts.live_rows.items()]
    for group, row in rows:
        grouped[group] = _sum([grouped.get(group, dict.fromkeys(BREAKDOWN, 0)), row], BREAKDOWN)
    return grouped


def by_department(scope: Scope, *, today: date | None = None, parts: Parts | None = None) -> list[dict]:
    """Received, decided and on time per department over the period, with the names."""
    parts = parts or parts_for(scope, today=today)
    grouped = _breakdown(parts, lambda row: row["department_id"], lambda day, department_id: department_id)
    names = Department.objects.using(read_database()).in_bulk(list(grouped))
    result = [
        {"department_id": pk, **row, "department": names[pk], "on_time_rate": _ratio(row["on_time"], row["decided"])}
        for pk, row in grouped.items() if row["received"] or row["decided"]
    ]
    return sorted(result, key=lambda row: (-row["received"], row["department"].code))


def months_between(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def by_month(scope: Scope, *, today: date | None = None, parts: Parts | None = None) -> list[dict]:
    """Received (by submission month) and decided (by decision month), every month of the period shown."""
    parts = parts or parts_for(scope, today=today)
    grouped = _breakdown(parts, lambda row: row["month"], lambda day, department_id: day.replace(day=1))
    empty = dict.fromkeys(BREAKDOWN, 0)
    return [
        {"month": month, "received": grouped.get(month, empty)["received"], "decided": grouped.get(month, empty)["decided"]}
        for month in months_between(scope.date_from, scope.date_to)
    ]


# --- the query both the API and the page take ---------------------------------------------------------------

MAX_PERIOD_DAYS = 3 * 366


class ScopeForm(forms.Form):
    """?from=&to=&department=&item=&hall= — dates as YYYY-MM-DD, the rest as codes. Defaults: this month."""

    to = forms.DateField(label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    department = forms.CharField(label="部门", required=False)
    item = forms.CharField(label="事项实施编码", required=False)
    hall = forms.CharField(label="大厅", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # `from` is a Python keyword: the field is added by name.
        self.fields = {"from": forms.DateField(label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"})),
                       **self.fields}

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        data["date_to"] = data.get("to") or today
        data["date_from"] = data.get("from") or data["date_to"].replace(day=1)
        if "from" in self.errors or "to" in self.errors:
            return data
        if data["date_from"] > data["date_to"]:
            self.add_error("from", "起始日期不能晚于截止日期")
        elif (data["date_to"] - data["date_from"]).days > MAX_PERIOD_DAYS:
            self.add_error("from", "统计期间最长三年")
        for field, model, label in (("department", Department, "部门"), ("item", Item, "事项"), ("hall", Hall, "大厅")):
            code = (data.get(field) or "").strip()
            data[field] = None
            if code:
                data[field] = model.objects.filter(code=code).first()
                if data[field] is None:
                    self.add_error(field, f"{label} {code} 不存在")
        return data

    def scope(self, *, user: User) -> Scope:
        data = self.cleaned_data
        return scope_for(user=user, date_from=data["date_from"], date_to=data["date_to"],
                         department=data["department"], item=data["item"], hall=data["hall"])
