"""The clock's timers: deemed acceptance of unanswered online submissions, the alert sweep (DESIGN §5) and the
容缺 deadline's reminder and lapse (DESIGN §14)."""

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from applications.clock import DEEMED_ACCEPTANCE_WORKING_DAYS, alert_state
from applications.documents import DocumentKind
from applications.models import Application, Channel, State
from applications.selectors import deferred_outstanding, material_status
from applications.services.case import CLOCK_FIELDS, document_create, local_today, start_clock, tell_applicant, transition
from applications.services.deferral import deferral_open
from applications.services.intake import acceptance_context
from applications.services.rollup import statistics_day_invalidate
from items.models import ItemVersion
from portal.audit import audit_record, department_chain
from portal.models import Role, User
from portal.notifications import notify_many
from portal.workdays import WorkCalendar


def deemed_acceptance_due(*, submitted_on: date, calendar: WorkCalendar) -> date:
    """The last day the window may still accept or notice; the day after, the law accepts for it."""
    return calendar.add_working_days(submitted_on, DEEMED_ACCEPTANCE_WORKING_DAYS).date


def application_deem_accept_sweep(*, today: date | None = None, batch: int = 500) -> int:
    """行政许可法 第三十二条: online submissions left unanswered for five working days count as accepted
    from their submission day. Idempotent; two sweeps at once skip each other's locked rows."""
    today = today or local_today()
    calendar = WorkCalendar.load()
    # Five working days are at least five calendar days: a cheap bound before the exact check.
    horizon = timezone.make_aware(timezone.datetime.combine(today - timedelta(days=5), timezone.datetime.min.time()))
    deemed = 0
    candidates = Application.objects.filter(state=State.SUBMITTED, channel=Channel.ONLINE, submitted_at__lt=horizon)
    for pk in candidates.order_by("submitted_at").values_list("pk", flat=True)[:batch]:
        with transaction.atomic():
            case = (
                Application.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
                .select_related("item_version", "department").filter(pk=pk, state=State.SUBMITTED).first()
            )
            if case is None:
                continue
            submitted_on = timezone.localdate(case.submitted_at)
            if today <= deemed_acceptance_due(submitted_on=submitted_on, calendar=calendar):
                continue
            # Accepted "from its submission day": the clock runs from there, not from today.
            start_clock(case, accepted_at=case.submitted_at, calendar=calendar)
            case.deemed_accepted = True
            # 容缺: the applicant learns of the acceptance only now, so what is deferred is due from today.
            deferred = deferral_open(case, start=today, calendar=calendar, status=material_status(case))
            transition(case, "deem_accept", actor=None, fields=[
                "accepted_at", "deemed_accepted", *CLOCK_FIELDS, *deferred,
            ], payload={"submitted_on": submitted_on.isoformat(), "due_date": case.due_date.isoformat(),
                        **({"deferral_due": case.deferral_due.isoformat()} if deferred else {})})
            document_create(case, kind=DocumentKind.ACCEPTANCE_NOTICE, context=acceptance_context(case, clerk=None))
            statistics_day_invalidate(day=submitted_on)  # accepted on a day already past: count it again
            deemed += 1
    return deemed


ALERT_MESSAGES = {
    "yellow": "办件 {number}（{item}）将于 {due:%Y年%m月%d日} 到期，请抓紧办理。",
    "red": "办件 {number}（{item}）今日到期，请当日办结。",
    "overdue": "办件 {number}（{item}）已超期（应于 {due:%Y年%m月%d日} 办结）。",
}


def _alert_recipients(*, level: str, reviewer_id: int | None, heads: list[int], supervisors: list[int]) -> list[int]:
    """yellow → the reviewer (the heads while nobody has claimed it); red → reviewer + head; overdue → head +
    supervisor (DESIGN §5)."""
    reviewer = [reviewer_id] if reviewer_id else []
    if level == "yellow":
        return reviewer or heads
    if level == "red":
        return reviewer + heads
    if level == "overdue":
        return heads + supervisors
    return []


def application_alert_sweep(*, today: date | None = None, batch: int = 2000) -> int:
    """Recompute alert levels of running cases whose change day has come, and notify once per change.

    The work grows with the cases whose level changes: `next_alert_on` (indexed, running cases only)
    says which those are; cases whose day has not come are never read. Per batch the cost is a fixed
    number of statements (one locked read, one UPDATE per (level, next day), one INSERT of every
    notification, one read of the departments' heads) and one broker message per 200 notifications.
    Safe to run twice at once: rows another sweep holds are skipped, and a case already moved on no
    longer matches.
    """
    today = today or local_today()
    calendar = WorkCalendar.load()
    supervisors = list(User.objects.filter(role=Role.SUPERVISOR, is_active=True).values_list("pk", flat=True))
    heads: dict[int, list[int]] = {}
    states: dict[tuple[date, int], tuple[str, date | None]] = {}  # many cases share a due date
    changed = 0
    while True:
        with transaction.atomic():
            cases = list(
                Application.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
                .filter(state__in=[State.ACCEPTED, State.IN_REVIEW], next_alert_on__lte=today)
                .order_by("next_alert_on")
                .values_list("pk", "number", "due_date", "alert_level", "reviewer_id", "department_id",
                             "item_version__name", "item_version__warning_days", "item_version__promised_days")[:batch]
            )
            if not cases:
                return changed
            new_departments = {case[5] for case in cases} - heads.keys()
            for department_id in new_departments:
                heads[department_id] = []
            for pk, department_id in User.objects.filter(
                department_id__in=new_departments, role=Role.HEAD, is_active=True
            ).values_list("pk", "department_id"):
                heads[department_id].append(pk)
            groups: dict[tuple, list[int]] = {}
            messages = []
            for pk, number, due_date, old_level, reviewer_id, department_id, item_name, warning_days, promised_days in cases:
                warning_days = ItemVersion.warning_days_for(warning_days=warning_days, promised_days=promised_days)
                key = (due_date, warning_days)
                if key not in states:
                    states[key] = alert_state(calendar=calendar, today=today, due_date=due_date, warning_days=warning_days)
                level, next_on = states[key]
                groups.setdefault((level, next_on), []).append(pk)
                if old_level != level:
                    recipients = _alert_recipients(level=level, reviewer_id=reviewer_id, heads=heads[department_id],
                                                   supervisors=supervisors)
                    message = ALERT_MESSAGES[level].format(number=number, item=item_name, due=due_date)
                    messages.append((recipients, f"alert_{level}", message, number))
            for (level, next_on), pks in groups.items():
                Application.objects.filter(pk__in=pks).update(alert_level=level, next_alert_on=next_on)
            notify_many(messages=messages)
            changed += len(messages)


# --- 容缺: remind once a working day before the deadline; flag the case once it has passed -----------------

DEFERRAL_STATES = [State.ACCEPTED, State.IN_REVIEW, State.SUSPENDED]


def application_deferral_sweep(*, today: date | None = None, batch: int = 500) -> dict:
    """Cases whose 容缺 deadline is within one working day are reminded once (`deferral_reminded_at`); those
    whose deadline has passed with a deferred material still missing are flagged once (`deferral_lapsed`),
    the applicant told and the department (the reviewer, else its heads) notified.

    The work grows with what is due: `app_deferral_due_idx` holds only cases with a deadline still open
    (an upload of the last deferred material clears it), and the sweep reads the range up to the next
    working day. Each case is locked (others' locked rows skipped) and leaves the candidates once handled,
    so a second sweep at once, or the next one, finds nothing to repeat."""
    today = today or local_today()
    calendar = WorkCalendar.load()
    horizon = calendar.add_working_days(today, 1).date
    done = {"reminded": 0, "lapsed": 0}
    due_now = (Q(deferral_due__gte=today, deferral_reminded_at__isnull=True)
               | Q(deferral_due__lt=today, deferral_lapsed=False))
    while True:
        pks = list(Application.objects.filter(due_now, deferral_due__lte=horizon, state__in=DEFERRAL_STATES)
                   .order_by("deferral_due", "pk").values_list("pk", flat=True)[:batch])
        if not pks:
            return done
        handled = 0
        for pk in pks:
            with transaction.atomic():
                case = (
                    Application.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
                    .select_related("item_version", "department").filter(pk=pk, state__in=DEFERRAL_STATES)
                    .filter(due_now, deferral_due__lte=horizon).first()
                )
                if case is None:
                    continue
                handled += 1
                outstanding = "、".join(requirement.name for requirement in deferred_outstanding(case))
                if case.deferral_due < today:
                    _deferral_lapse(case, outstanding=outstanding)
                    done["lapsed"] += 1
                else:
                    case.deferral_reminded_at = timezone.now()
                    case.save(update_fields=["deferral_reminded_at"])
                    tell_applicant(case, "deferral_reminder",
                                   f"您的办件 {case.number} 容缺受理的材料（{outstanding}）请于 {case.deferral_due:%Y年%m月%d日} 前补齐，"
                                   "逾期未补齐的，部门将不能作出准予许可决定。")
                    done["reminded"] += 1
        if len(pks) < batch or not handled:  # the rest is held by a sweep running at the same time
            return done


def _deferral_lapse(case: Application, *, outstanding: str) -> None:
    case.deferral_lapsed = True
    case.save(update_fields=["deferral_lapsed"])
    audit_record(
        chain=department_chain(case.department_id),
        actor=None, action="application_deferral_lapse", object_type="application", object_id=case.number,
        from_state=case.state, to_state=case.state,
        payload={"deferral_due": case.deferral_due.isoformat(), "outstanding": outstanding},
    )
    tell_applicant(case, "deferral_lapsed",
                   f"您的办件 {case.number} 容缺受理的材料（{outstanding}）已超过补齐期限 {case.deferral_due:%Y年%m月%d日}，"
                   "请尽快补交；补齐前部门不能作出准予许可决定。")
    staff = [case.reviewer_id] if case.reviewer_id else list(
        User.objects.filter(department_id=case.department_id, role=Role.HEAD, is_active=True).values_list("pk", flat=True))
    notify_many(messages=[(staff, "deferral_lapsed",
                           f"办件 {case.number}（{case.item_version.name}）容缺材料逾期未补：{outstanding}"
                           f"（期限 {case.deferral_due:%Y年%m月%d日}）。", case.number)])
