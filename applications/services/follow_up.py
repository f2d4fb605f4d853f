"""What a 差评's rectification and a 投诉 share (DESIGN §15): who is told, the notes a step requires, the
due date in working days, one audited FSM step, and the timer that flags what is overdue once."""

from collections.abc import Callable
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed

from portal.audit import audit_record, department_chain
from portal.errors import InvalidTransition, Refused
from portal.models import Role, User
from portal.workdays import WorkCalendar, WorkdayResult


def supervisors() -> list[User]:
    return list(User.objects.filter(role=Role.SUPERVISOR, is_active=True))


def department_heads(department_id: int) -> list[User]:
    return list(User.objects.filter(department_id=department_id, role=Role.HEAD, is_active=True))


def department_staff(department_id: int) -> list[User]:
    """The department's reviewers and head: who answers a complaint."""
    return list(User.objects.filter(department_id=department_id, role__in=[Role.REVIEWER, Role.HEAD], is_active=True))


def required_note(note: str, field: str = "note", message: str = "请填写说明", max_length: int | None = None) -> str:
    """The note stripped, or a ValidationError on `field`: empty, or longer than `max_length`."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({field: [message]})
    if max_length is not None and len(note) > max_length:
        raise ValidationError({field: [f"不能超过 {max_length} 个字符"]})
    return note


def due_in_working_days(at: datetime, days: int, *, calendar: WorkCalendar | None = None) -> WorkdayResult:
    """The due date `days` working days after the local day of `at` (that day not counted)."""
    return (calendar or WorkCalendar.load()).add_working_days(timezone.localdate(at), days)


def fsm_step(row: models.Model, method: str, *, actor: User | None, noun: str, label: str, object_type: str,
             object_id, fields=(), payload: dict | None = None) -> models.Model:
    """One transition of a locked row: refused (409, nothing changed) when its state does not allow it or another
    request changed it first; saved with `fields` and audited as `<object_type>_<method>`."""
    transition = getattr(row, method)
    if not can_proceed(transition):
        raise InvalidTransition(f"{noun}当前状态为「{row.get_state_display()}」，不能{label}")
    from_state = row.state
    transition()
    try:
        row.save(update_fields=["state", *fields])
    except ConcurrentTransition as error:
        raise Refused(f"该{noun}刚被他人处理，请刷新后重试", code="conflict") from error
    audit_record(chain=department_chain(row.department_id), actor=actor, action=f"{object_type}_{method}", object_type=object_type, object_id=object_id,
                 from_state=from_state, to_state=row.state, payload=payload or {})
    return row


def overdue_sweep(open_rows: models.QuerySet, *, today: date, batch: int, announce: Callable[[models.Model], None]) -> int:
    """Flag the rows of `open_rows` (those still awaiting action) past their due date, once each, calling
    `announce(row)` for each inside the transaction that flags it; returns how many were flagged.

    Its work grows with the open, unflagged rows only (each model has a partial index on exactly those).
    Idempotent and safe when two run at once: a flagged row no longer matches, a locked one is skipped."""
    flagged = 0
    while True:
        with transaction.atomic():
            rows = list(
                open_rows.select_for_update(skip_locked=True, of=("self",))
                .filter(overdue=False, due_date__lt=today).order_by("due_date", "pk")[:batch]
            )
            if not rows:
                return flagged
            now = timezone.now()
            for row in rows:
                row.overdue, row.flagged_at = True, now
                row.save(update_fields=["overdue", "flagged_at"])
                announce(row)
                flagged += 1
