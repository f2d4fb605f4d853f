"""The hall: queue tickets (排队叫号), appointments (预约) and their slots (DESIGN §6)."""

import logging
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from applications.models import Appointment, AppointmentSlot, AppointmentStatus, HallClosure, NumberSequence, Ticket
from applications.permissions import is_hall_clerk
from applications.services.case import local_today, require_role
from items.models import Item
from portal.audit import CENTER_CHAIN, audit_record
from portal.errors import Forbidden, InvalidTransition, Refused
from portal.models import Hall, Role, User
from portal.notifications import Message, notify_many

logger = logging.getLogger(__name__)

TICKET_PREFIX = "A"


def _ticket_allocate(*, hall: Hall, day: date, item=None, taken_by: User | None = None) -> Ticket:
    """The next number of the hall today, handed out once under the sequence row's lock (like case numbers)."""
    sequence, _ = NumberSequence.objects.select_for_update().get_or_create(prefix=f"queue:{hall.pk}", day=day)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return Ticket.objects.create(
        hall=hall, day=day, sequence=sequence.last, number=f"{TICKET_PREFIX}{sequence.last:03d}", item=item,
        taken_by=taken_by if taken_by is not None and taken_by.is_authenticated else None, issued_at=timezone.now(),
    )


@transaction.atomic
def ticket_issue(*, hall: Hall, actor: User | None = None, item_code: str = "") -> Ticket:
    """取号 at the hall's kiosk (or on the phone): A001, A002 … per hall per day."""
    item = None
    if item_code:
        item = Item.objects.filter(code=item_code).first()
        if item is None:
            raise ValidationError({"item": [f"事项 {item_code} 不存在"]})
    return _ticket_allocate(hall=hall, day=local_today(), item=item, taken_by=actor)


def _require_hall_clerk(actor: User, hall: Hall) -> None:
    if not is_hall_clerk(user=actor, hall_id=hall.pk):
        raise Forbidden("只有本大厅的窗口人员可以叫号")


def _validated_window(hall: Hall, window) -> int:
    try:
        window = int(window)
    except (TypeError, ValueError):
        window = 0
    if not 1 <= window <= hall.windows:
        raise ValidationError({"window": [f"窗口号应为 1 至 {hall.windows}"]})
    return window


@transaction.atomic
def ticket_call_next(*, actor: User, hall: Hall, window) -> Ticket:
    """叫号: the oldest waiting ticket of today. Two windows calling at once never get the same ticket:
    each locks the row it takes and skips rows another window holds."""
    _require_hall_clerk(actor, hall)
    window = _validated_window(hall, window)
    ticket = (
        Ticket.objects.select_for_update(skip_locked=True)
        .filter(hall=hall, day=local_today(), called_at__isnull=True)
        .order_by("sequence").first()
    )
    if ticket is None:
        raise Refused("当前没有等候的号码", code="queue_empty")
    ticket.called_at, ticket.window, ticket.called_by = timezone.now(), window, actor
    ticket.wait_seconds = max(int((ticket.called_at - ticket.issued_at).total_seconds()), 0)
    ticket.save(update_fields=["called_at", "window", "called_by", "wait_seconds"])
    return ticket


@transaction.atomic
def appointment_book(*, actor: User, hall: Hall, slot_id, item_code: str) -> Appointment:
    """Book one place. Two people taking the last place at once: the slot row lock orders them, the
    second sees `booked == capacity` and gets 409 slot_full (the check constraint backs this up)."""
    require_role(actor, Role.APPLICANT)
    errors = {}
    item = Item.objects.filter(code=item_code or "").select_related("current_version").first()
    if item is None or item.current_version is None:
        errors["item"] = [f"事项 {item_code} 不存在或尚未发布"]
    try:
        slot_pk = int(slot_id)
    except (TypeError, ValueError):
        slot_pk = None
    slot = AppointmentSlot.objects.select_for_update().filter(pk=slot_pk, hall=hall).first() if slot_pk else None
    if slot is None:
        errors["slot"] = ["该大厅没有这个预约时段"]
    if errors:
        raise ValidationError(errors)
    if slot.starts_at <= timezone.now():
        raise Refused("该时段已开始或已过去，不能预约", code="slot_closed")
    if slot.appointments.filter(user=actor, status=AppointmentStatus.BOOKED).exists():
        raise Refused("您已预约该时段", code="already_booked")
    if slot.booked >= slot.capacity:
        raise Refused("该时段已约满，请选择其他时段", code="slot_full")
    AppointmentSlot.objects.filter(pk=slot.pk).update(booked=F("booked") + 1)
    appointment = Appointment.objects.create(slot=slot, user=actor, item=item, booked_at=timezone.now())
    audit_record(
        chain=CENTER_CHAIN,
        actor=actor, action="appointment_book", object_type="appointment", object_id=appointment.pk,
        to_state=appointment.status,
        payload={"hall": hall.code, "date": slot.date.isoformat(), "start": slot.start.strftime("%H:%M"), "item": item.code},
    )
    return appointment


def _lock_appointment(appointment: Appointment) -> tuple[Appointment, AppointmentSlot]:
    # The slot first, then the booking: the same order as booking, so the two never deadlock.
    slot = AppointmentSlot.objects.select_for_update().get(pk=appointment.slot_id)
    appointment = Appointment.objects.select_for_update(of=("self",)).select_related("item").get(pk=appointment.pk)
    return appointment, slot


@transaction.atomic
def appointment_cancel(*, actor: User, appointment: Appointment) -> Appointment:
    """The applicant cancels before the slot starts; the place is free again."""
    appointment, slot = _lock_appointment(appointment)
    if not (actor.role == Role.APPLICANT and appointment.user_id == actor.pk):  # their own booking
        raise Forbidden("只能取消本人的预约")
    if appointment.status != AppointmentStatus.BOOKED:
        raise InvalidTransition(f"预约当前状态为「{appointment.get_status_display()}」，不能取消")
    if slot.starts_at <= timezone.now():
        raise Refused("预约时段已开始，不能取消", code="slot_closed")
    appointment.status, appointment.cancelled_at = AppointmentStatus.CANCELLED, timezone.now()
    appointment.save(update_fields=["status", "cancelled_at"])
    AppointmentSlot.objects.filter(pk=slot.pk).update(booked=F("booked") - 1)
    audit_record(
        chain=CENTER_CHAIN,
        actor=actor, action="appointment_cancel", object_type="appointment", object_id=appointment.pk,
        from_state=AppointmentStatus.BOOKED, to_state=appointment.status,
    )
    return appointment


@transaction.atomic
def appointment_arrive(*, actor: User, appointment: Appointment) -> Appointment:
    """到厅签到: a clerk of the slot's hall checks the booking in on its day; the citizen gets a ticket."""
    appointment, slot = _lock_appointment(appointment)
    if not is_hall_clerk(user=actor, hall_id=slot.hall_id):
        raise Forbidden("只有预约大厅的窗口人员可以办理签到")
    if appointment.status != AppointmentStatus.BOOKED:
        raise InvalidTransition(f"预约当前状态为「{appointment.get_status_display()}」，不能签到取号")
    today = local_today()
    if slot.date != today:
        raise Refused(f"预约日期为 {slot.date:%Y-%m-%d}，只能在当日签到", code="not_today")
    ticket = _ticket_allocate(hall=slot.hall, day=today, item=appointment.item, taken_by=appointment.user)
    appointment.status, appointment.arrived_at, appointment.ticket = AppointmentStatus.ARRIVED, timezone.now(), ticket
    appointment.save(update_fields=["status", "arrived_at", "ticket"])
    audit_record(
        chain=CENTER_CHAIN,
        actor=actor, action="appointment_arrive", object_type="appointment", object_id=appointment.pk,
        from_state=AppointmentStatus.BOOKED, to_state=appointment.status, payload={"ticket": ticket.number},
    )
    return appointment


DEFAULT_SLOT_START, DEFAULT_SLOT_END, DEFAULT_SLOT_MINUTES = time(9, 0), time(17, 0), 30


@transaction.atomic
def appointment_slots_create(*, hall: Hall, day: date, start: time = DEFAULT_SLOT_START, end: time = DEFAULT_SLOT_END,
                             minutes: int = DEFAULT_SLOT_MINUTES, capacity: int | None = None) -> list[AppointmentSlot]:
    """A day's slots for a hall (09:00–17:00 every 30 minutes, one place per window by default).
    Idempotent: an existing slot keeps its capacity and bookings. Returns the slots created."""
    if minutes < 5:
        raise ValidationError({"minutes": ["时段长度至少 5 分钟"]})
    if start >= end:
        raise ValidationError({"end": ["结束时间应晚于开始时间"]})
    capacity = hall.windows if capacity is None else capacity
    if capacity < 1:
        raise ValidationError({"capacity": ["可预约人数至少为 1"]})
    created, moment, last = [], datetime.combine(day, start), datetime.combine(day, end)
    while moment + timedelta(minutes=minutes) <= last:
        slot_end = moment + timedelta(minutes=minutes)
        slot, made = AppointmentSlot.objects.get_or_create(
            hall=hall, date=day, start=moment.time(), defaults={"end": slot_end.time(), "capacity": capacity},
        )
        if made:
            created.append(slot)
        moment = slot_end
    return created


# --- slots made ahead from each hall's opening hours (DESIGN §6; issue 18) ------------------------------------


def hall_periods(hall: Hall) -> list[tuple[time, time]]:
    """The hall's opening periods as times, in order; ValidationError on `opening_hours` when malformed."""
    periods, message = [], '开放时间应为若干 ["HH:MM", "HH:MM"] 时间段，依次排列且不重叠'
    if not isinstance(hall.opening_hours, list) or not hall.opening_hours:
        raise ValidationError({"opening_hours": [message]})
    for entry in hall.opening_hours:
        try:
            start, end = (datetime.strptime(str(value), "%H:%M").time() for value in entry)
        except (TypeError, ValueError) as error:
            raise ValidationError({"opening_hours": [message]}) from error
        if start >= end or (periods and start < periods[-1][1]):
            raise ValidationError({"opening_hours": [message]})
        periods.append((start, end))
    return periods


def booking_days(hall: Hall, *, today: date, calendar) -> list[date]:
    """The days one may book at the hall: today and its next `booking_days` working days, open ones only."""
    days, day = [], today
    closed = set(HallClosure.objects.filter(hall=hall, date__gte=today).values_list("date", flat=True))
    while len(days) < hall.booking_days + 1 and (day - today).days <= 3 * (hall.booking_days + 7):
        if calendar.is_working_day(day) and day not in closed:
            days.append(day)
        day += timedelta(days=1)
    return days


def appointment_slots_sweep(*, today: date | None = None) -> int:
    """Make every hall's slots for the days one may book, from its opening hours and the working-day
    calendar (make-up Saturdays included, holidays and closed days left out). Idempotent: an existing slot
    keeps its capacity and bookings, so a hall's adjustments stand. The work grows with halls × days."""
    from portal.workdays import WorkCalendar

    today, calendar, created = today or local_today(), WorkCalendar.load(), 0
    for hall in Hall.objects.order_by("code"):
        try:
            periods = hall_periods(hall)
        except ValidationError:
            logger.warning("大厅 %s 的开放时间无效，未生成预约时段", hall.code)
            continue
        capacity = hall.slot_capacity or hall.windows
        rows = []
        for day in booking_days(hall, today=today, calendar=calendar):
            for start, end in periods:
                moment, last = datetime.combine(day, start), datetime.combine(day, end)
                while moment + timedelta(minutes=hall.slot_minutes) <= last:
                    following = moment + timedelta(minutes=hall.slot_minutes)
                    rows.append(AppointmentSlot(hall=hall, date=day, start=moment.time(), end=following.time(),
                                                capacity=capacity))
                    moment = following
        if rows:
            existing = set(AppointmentSlot.objects.filter(hall=hall, date__in={row.date for row in rows})
                           .values_list("date", "start"))
            fresh = [row for row in rows if (row.date, row.start) not in existing]
            created += len(AppointmentSlot.objects.bulk_create(fresh, ignore_conflicts=True))
    return created


def _require_hall_staff(actor: User, hall: Hall) -> None:
    if not is_hall_clerk(user=actor, hall_id=hall.pk):
        raise Forbidden("只有本大厅的工作人员可以调整预约")


@transaction.atomic
def appointment_slot_adjust(*, actor: User, slot: AppointmentSlot, capacity) -> AppointmentSlot:
    """The hall changes how many may book a slot; never below those already booked."""
    slot = AppointmentSlot.objects.select_for_update().select_related("hall").get(pk=slot.pk)
    _require_hall_staff(actor, slot.hall)
    try:
        capacity = int(capacity)
    except (TypeError, ValueError):
        capacity = -1
    if not 0 <= capacity <= 999:
        raise ValidationError({"capacity": ["可预约人数应为 0 至 999 的整数"]})
    if capacity < slot.booked:
        raise ValidationError({"capacity": [f"该时段已有 {slot.booked} 人预约，可预约人数不能少于 {slot.booked}"]})
    if slot.ends_at <= timezone.now():
        raise Refused("该时段已结束，不能调整", code="slot_closed")
    before, slot.capacity = slot.capacity, capacity
    slot.save(update_fields=["capacity"])
    audit_record(chain=CENTER_CHAIN, actor=actor, action="appointment_slot_adjust", object_type="appointment_slot", object_id=slot.pk,
                 payload={"hall": slot.hall.code, "date": slot.date.isoformat(), "start": slot.start.strftime("%H:%M"),
                          "from": before, "to": capacity})
    return slot


@transaction.atomic
def hall_day_close(*, actor: User, hall: Hall, day: date, reason: str) -> HallClosure:
    """闭厅: no bookings that day; those already made are cancelled and their holders told at once."""
    _require_hall_staff(actor, hall)
    errors = {}
    if not (reason or "").strip():
        errors["reason"] = ["请写明闭厅原因（将告知已预约的群众）"]
    elif len(reason.strip()) > 200:
        errors["reason"] = ["闭厅原因不超过 200 字"]
    if not isinstance(day, date):
        errors["date"] = ["请选择日期"]
    elif day < local_today():
        errors["date"] = ["不能关闭已过去的日期"]
    if errors:
        raise ValidationError(errors)
    if HallClosure.objects.filter(hall=hall, date=day).exists():
        raise Refused(f"{day:%Y-%m-%d} 已设为闭厅", code="already_closed")
    closure = HallClosure.objects.create(hall=hall, date=day, reason=reason.strip(), closed_by=actor)
    slots = list(AppointmentSlot.objects.select_for_update().filter(hall=hall, date=day))
    booked = list(Appointment.objects.select_for_update().select_related("user")
                  .filter(slot__in=slots, status=AppointmentStatus.BOOKED))
    now = timezone.now()
    Appointment.objects.filter(pk__in=[a.pk for a in booked]).update(status=AppointmentStatus.CANCELLED, cancelled_at=now)
    AppointmentSlot.objects.filter(pk__in=[s.pk for s in slots]).update(booked=0, capacity=0)
    message = f"{hall.name} {day:%Y年%m月%d日} 闭厅（{closure.reason}），您当日的预约已取消，请另选时段预约。"
    notify_many(messages=[Message([a.user_id], "appointment_cancelled", message, "") for a in booked])
    audit_record(chain=CENTER_CHAIN, actor=actor, action="hall_day_close", object_type="hall", object_id=hall.code,
                 payload={"date": day.isoformat(), "reason": closure.reason, "cancelled": len(booked)})
    return closure


@transaction.atomic
def hall_day_reopen(*, actor: User, hall: Hall, day: date) -> int:
    """Undo a closure: the day's slots open again with the hall's usual capacity. Returns the slots reopened."""
    _require_hall_staff(actor, hall)
    closure = HallClosure.objects.select_for_update().filter(hall=hall, date=day).first()
    if closure is None:
        raise Refused(f"{day:%Y-%m-%d} 未设为闭厅", code="not_closed")
    closure.delete()
    reopened = AppointmentSlot.objects.filter(hall=hall, date=day, booked=0).update(capacity=hall.slot_capacity or hall.windows)
    audit_record(chain=CENTER_CHAIN, actor=actor, action="hall_day_reopen", object_type="hall", object_id=hall.code,
                 payload={"date": day.isoformat()})
    return reopened


# --- 重呼 / 过号 / 叫号 → 受理 ------------------------------------------------------------------------------


def _lock_called_ticket(actor: User, ticket: Ticket) -> Ticket:
    ticket = Ticket.objects.select_for_update().select_related("hall").get(pk=ticket.pk)
    _require_hall_clerk(actor, ticket.hall)
    if ticket.called_at is None:
        raise InvalidTransition(f"{ticket.number} 号尚未叫号")
    if ticket.day != local_today():
        raise InvalidTransition(f"{ticket.number} 号不是今日的号码")
    if ticket.skipped_at is not None:
        raise InvalidTransition(f"{ticket.number} 号已过号")
    return ticket


@transaction.atomic
def ticket_recall(*, actor: User, ticket: Ticket) -> Ticket:
    """重呼: the screen calls the same number to the same window again."""
    ticket = _lock_called_ticket(actor, ticket)
    if ticket.application_id:
        raise InvalidTransition(f"{ticket.number} 号已在办理中，无需重呼")
    ticket.recalled_at, ticket.recalls = timezone.now(), ticket.recalls + 1
    ticket.save(update_fields=["recalled_at", "recalls"])
    return ticket


@transaction.atomic
def ticket_skip(*, actor: User, ticket: Ticket) -> Ticket:
    """过号: nobody came when called; the window calls the next one (the person takes a new number)."""
    ticket = _lock_called_ticket(actor, ticket)
    if ticket.application_id:
        raise InvalidTransition(f"{ticket.number} 号已在办理中，不能过号")
    ticket.skipped_at = timezone.now()
    ticket.save(update_fields=["skipped_at"])
    audit_record(chain=CENTER_CHAIN, actor=actor, action="ticket_skip", object_type="ticket", object_id=ticket.pk,
                 payload={"hall": ticket.hall.code, "number": ticket.number, "window": ticket.window})
    return ticket


@transaction.atomic
def ticket_link(*, actor: User, ticket: Ticket, application) -> Ticket:
    """The case the window registered for the person this ticket called (叫号 → 受理)."""
    ticket = _lock_called_ticket(actor, ticket)
    if ticket.application_id and ticket.application_id != application.pk:
        raise Refused(f"{ticket.number} 号已关联办件", code="already_linked")
    if application.hall_id != ticket.hall_id:
        raise Refused("办件与排队号不属于同一大厅", code="hall_mismatch")
    ticket.application = application
    ticket.save(update_fields=["application"])
    return ticket
