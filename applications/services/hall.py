"""The hall: queue tickets (排队叫号), appointments (预约) and their slots (DESIGN §6)."""

from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from applications.models import Appointment, AppointmentSlot, AppointmentStatus, NumberSequence, Ticket
from applications.permissions import is_hall_clerk
from applications.services.case import local_today, require_role
from items.models import Item
from portal.audit import audit_record
from portal.errors import Forbidden, InvalidTransition, Refused
from portal.models import Hall, Role, User

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
