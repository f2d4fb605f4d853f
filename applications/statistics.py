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
  due dates), averaged over the cases decided in the period;
- closed (办结): cases whose result was issued in the period; one_visit_share / zero_visit_share are the
  shares of those with at most one / no visit to a hall;
- satisfaction_rate: ratings 1–3 (非常满意/满意/基本满意) ÷ all valid ratings given in the period;
- online_share: received online ÷ received;
- avg_wait_minutes: called_at − issued_at of the tickets called in the period. The queue belongs to the
  hall: `hall` narrows it, `department` and `item` do not.
Rates are fractions in [0, 1]; a figure with nothing to divide by is None.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import Avg, Count, F, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from applications.models import RUNNING, Application, Channel, Rating, Ticket
from items.models import Item, ItemVersion
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


def _in(field: str, scope: Scope) -> Q:
    return Q(**{f"{field}__gte": scope.start, f"{field}__lt": scope.end})


def _cases(scope: Scope) -> QuerySet[Application]:
    cases = Application.objects.all()
    if scope.department is not None:
        cases = cases.filter(department_id=scope.department.pk)
    if scope.item is not None:
        # The case pins a version; the item's versions are a handful of rows (a semi-join, no join fan-out).
        cases = cases.filter(item_version_id__in=Subquery(ItemVersion.objects.filter(item_id=scope.item.pk).values("pk")))
    if scope.hall is not None:
        cases = cases.filter(hall_id=scope.hall.pk)
    return cases


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _cumulative_working_days(calendar: WorkCalendar, first: date, last: date) -> dict[date, int]:
    """Working days in (first, day] for each day of the span: one walk, then any pair is a subtraction."""
    counted, running, day = {}, 0, first
    while day <= last:
        counted[day] = running
        day += timedelta(days=1)
        running += calendar.is_working_day(day)
    return counted


def _decided(scope: Scope, calendar: WorkCalendar | None) -> dict:
    rows = list(
        _cases(scope).filter(_in("decided_at", scope))
        .values(accepted_day=TruncDate("accepted_at"), decided_day=TruncDate("decided_at"))
        .annotate(cases=Count("pk"), on_time=Count("pk", filter=Q(decided_at__date__lte=F("due_date"))))
        .order_by()
    )
    decided = sum(row["cases"] for row in rows)
    on_time = sum(row["on_time"] for row in rows)
    timed = [row for row in rows if row["accepted_day"] is not None]
    avg_days = None
    if timed:
        calendar = calendar or WorkCalendar.load()
        first = min(row["accepted_day"] for row in timed)
        last = max(row["decided_day"] for row in timed)
        cumulative = _cumulative_working_days(calendar, first, last)
        total = sum((cumulative[row["decided_day"]] - cumulative[row["accepted_day"]]) * row["cases"] for row in timed)
        avg_days = round(total / sum(row["cases"] for row in timed), 2)
    return {"decided": decided, "on_time": on_time, "avg_working_days": avg_days}


def _ratings(scope: Scope) -> QuerySet[Rating]:
    ratings = Rating.objects.filter(_in("rated_at", scope), invalid=False)
    if scope.department is not None:
        ratings = ratings.filter(department_id=scope.department.pk)
    if scope.hall is not None:
        ratings = ratings.filter(hall_id=scope.hall.pk)
    if scope.item is not None:
        ratings = ratings.filter(application__item_version__item_id=scope.item.pk)
    return ratings


def _tickets(scope: Scope) -> QuerySet[Ticket]:
    tickets = Ticket.objects.filter(_in("called_at", scope))
    if scope.hall is not None:
        tickets = tickets.filter(hall_id=scope.hall.pk)
    return tickets


def compute(scope: Scope, *, today: date | None = None, calendar: WorkCalendar | None = None) -> dict:
    """The eleven figures of DESIGN §10 for the scope, plus the counts behind each rate."""
    today = today or timezone.localdate()
    cases = _cases(scope)
    counts = cases.filter(
        _in("submitted_at", scope) | _in("accepted_at", scope) | _in("issued_at", scope)
    ).aggregate(
        received=Count("pk", filter=_in("submitted_at", scope)),
        online=Count("pk", filter=_in("submitted_at", scope) & Q(channel=Channel.ONLINE)),
        accepted=Count("pk", filter=_in("accepted_at", scope)),
        closed=Count("pk", filter=_in("issued_at", scope)),
        one_visit=Count("pk", filter=_in("issued_at", scope) & Q(visits__lte=1)),
        zero_visit=Count("pk", filter=_in("issued_at", scope) & Q(visits=0)),
    )
    decided = _decided(scope, calendar)
    overdue_open = cases.filter(state__in=RUNNING, due_date__lt=today).count()
    ratings = _ratings(scope).aggregate(ratings=Count("pk"), satisfied=Count("pk", filter=Q(score__lte=3)))
    tickets = _tickets(scope).aggregate(called=Count("pk"), wait=Avg("wait_seconds"))
    return {
        "received": counts["received"],
        "accepted": counts["accepted"],
        "decided": decided["decided"],
        "on_time_rate": _ratio(decided["on_time"], decided["decided"]),
        "avg_working_days": decided["avg_working_days"],
        "overdue_open": overdue_open,
        "satisfaction_rate": _ratio(ratings["satisfied"], ratings["ratings"]),
        "one_visit_share": _ratio(counts["one_visit"], counts["closed"]),
        "zero_visit_share": _ratio(counts["zero_visit"], counts["closed"]),
        "online_share": _ratio(counts["online"], counts["received"]),
        "avg_wait_minutes": round(tickets["wait"] / 60, 2) if tickets["wait"] is not None else None,
        # the counts behind the rates
        "on_time": decided["on_time"],
        "closed": counts["closed"],
        "online": counts["online"],
        "ratings": ratings["ratings"],
        "satisfied_ratings": ratings["satisfied"],
        "tickets_called": tickets["called"],
    }


# --- breakdowns for the page's charts ----------------------------------------------------------------------


def by_department(scope: Scope) -> list[dict]:
    """Received, decided and on time per department over the period: one grouped pass, plus the names."""
    rows = list(
        _cases(scope).filter(_in("submitted_at", scope) | _in("decided_at", scope))
        .values("department_id")
        .annotate(
            received=Count("pk", filter=_in("submitted_at", scope)),
            decided=Count("pk", filter=_in("decided_at", scope)),
            on_time=Count("pk", filter=_in("decided_at", scope) & Q(decided_at__date__lte=F("due_date"))),
        )
        .order_by()
    )
    names = Department.objects.in_bulk([row["department_id"] for row in rows])
    result = [
        {**row, "department": names[row["department_id"]], "on_time_rate": _ratio(row["on_time"], row["decided"])}
        for row in rows
    ]
    return sorted(result, key=lambda row: (-row["received"], row["department"].code))


def months_between(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _per_month(rows: Iterable[dict]) -> dict[date, int]:
    counted = {}
    for row in rows:
        month = row["month"]
        month = month.date() if isinstance(month, datetime) else month
        counted[month] = row["cases"]
    return counted


def by_month(scope: Scope) -> list[dict]:
    """Received (by submission month) and decided (by decision month), every month of the period shown."""
    cases = _cases(scope)
    received = _per_month(
        cases.filter(_in("submitted_at", scope)).values(month=TruncMonth("submitted_at"))
        .annotate(cases=Count("pk")).order_by()
    )
    decided = _per_month(
        cases.filter(_in("decided_at", scope)).values(month=TruncMonth("decided_at")).annotate(cases=Count("pk")).order_by()
    )
    return [
        {"month": month, "received": received.get(month, 0), "decided": decided.get(month, 0)}
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
