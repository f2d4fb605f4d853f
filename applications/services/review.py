"""Review (受审分离): the department claims, suspends and resumes the clock, extends once, and decides."""


from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from applications.clock import MAX_EXTENSION_WORKING_DAYS
from applications.models import Application, Deficiency, Notice, Outcome, State, Suspension, SuspensionKind
from applications.permissions import check_actor
from applications.services.case import (
    CLOCK_FIELDS,
    local_today,
    lock_case,
    set_due_date,
    state_refusal,
    tell_applicant,
    transition,
)
from applications.services.commitments import commitment_verification_open
from applications.services.deferral import refuse_deferred
from applications.services.faces import face_data_checked, face_data_number
from applications.services.intake import validated_deficiencies
from portal.audit import audit_record, department_chain
from portal.errors import Refused
from portal.models import User
from portal.workdays import WorkCalendar


@transaction.atomic
def application_claim(*, actor: User, application: Application) -> Application:
    case = lock_case(application)
    check_actor(actor, case, "claim")
    case.reviewer = actor
    return transition(case, "claim", actor=actor, fields=["reviewer"])


@transaction.atomic
def application_suspend(*, actor: User, application: Application, kind: str, reason: str,
                        deficiencies: list[dict] | None = None) -> Suspension:
    """Stop the clock (行政许可法 第四十五条). A supplement request is a one-time notice like intake's."""
    case = lock_case(application)
    check_actor(actor, case, "suspend")
    errors = {}
    if kind not in SuspensionKind.values:
        errors["kind"] = [f"中止类型应为：{'、'.join(f'{v}（{label}）' for v, label in SuspensionKind.choices)}"]
    if not (reason or "").strip():
        errors["reason"] = ["请写明中止理由"]
    if kind == SuspensionKind.SUPPLEMENT and not deficiencies:
        errors["deficiencies"] = ["补正材料须列出全部需要补正的材料"]
    if errors:
        raise ValidationError(errors)
    if not can_proceed(case.suspend):
        raise state_refusal(case, "suspend")
    rows = validated_deficiencies(case, deficiencies or []) if kind == SuspensionKind.SUPPLEMENT else []
    suspension = Suspension.objects.create(
        application=case, kind=kind, reason=reason.strip(), started_on=local_today(), started_by=actor
    )
    if rows:
        notice = Notice.objects.create(application=case, sequence=case.notices.count() + 1, issued_by=actor)
        Deficiency.objects.bulk_create(Deficiency(notice=notice, requirement=r, reason=why) for r, why in rows)
    # The level is frozen while suspended: the sweep does not look at suspended cases.
    case.next_alert_on = None
    transition(case, "suspend", actor=actor, fields=["next_alert_on"], payload={
        "kind": kind, "reason": reason.strip(),
        "deficiencies": [{"requirement": r.pk, "name": r.name, "reason": why} for r, why in rows],
    })
    tell_applicant(case, "suspended", f"您的办件 {case.number} 因{SuspensionKind(kind).label}中止计时：{reason.strip()}")
    return suspension


@transaction.atomic
def application_resume(*, actor: User, application: Application) -> Application:
    """Restart the clock: the due date moves by the working days in [suspend day, resume day)."""
    case = lock_case(application)
    check_actor(actor, case, "resume")
    if not can_proceed(case.resume):
        raise state_refusal(case, "resume")
    suspension = case.suspensions.filter(ended_on__isnull=True).order_by("-started_on").first()
    calendar = WorkCalendar.load()
    today = local_today()
    stopped = calendar.working_days_between(suspension.started_on, today) if suspension else 0
    if suspension is not None:
        suspension.ended_on, suspension.ended_by, suspension.working_days = today, actor, stopped
        suspension.save(update_fields=["ended_on", "ended_by", "working_days"])
    case.notices.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
    due = calendar.add_working_days(case.due_date, stopped)
    set_due_date(case, due_date=due.date, provisional=case.due_date_provisional or due.provisional, calendar=calendar)
    # Approval time leaves out the days the clock stood still (statistics' avg_working_days).
    case.suspended_days = min(case.suspended_days + stopped, 32767)
    return transition(case, "resume", actor=actor, fields=[*CLOCK_FIELDS, "suspended_days"], payload={
        "suspended_working_days": stopped, "due_date": case.due_date.isoformat(),
    })


@transaction.atomic
def application_extend(*, actor: User, application: Application, days: int, reason: str) -> Application:
    """Once, by the department head, within the statutory extension (行政许可法 第四十二条)."""
    case = lock_case(application)
    check_actor(actor, case, "extend")
    if case.state not in (State.ACCEPTED, State.IN_REVIEW):
        raise state_refusal(case, "extend")
    if case.extended_days:
        raise Refused("办理期限只能延长一次", code="already_extended")
    errors = {}
    if not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_WORKING_DAYS:
        errors["days"] = [f"延长期限应为 1 至 {MAX_EXTENSION_WORKING_DAYS} 个工作日"]
    if not (reason or "").strip():
        errors["reason"] = ["请写明延长理由"]
    if errors:
        raise ValidationError(errors)
    calendar = WorkCalendar.load()
    due = calendar.add_working_days(case.due_date, days)
    set_due_date(case, due_date=due.date, provisional=case.due_date_provisional or due.provisional, calendar=calendar)
    case.extended_days, case.extension_reason = days, reason.strip()
    audit_record(
        chain=department_chain(case.department_id),
        actor=actor, action="application_extend", object_type="application", object_id=case.number,
        from_state=case.state, to_state=case.state,
        payload={"days": days, "reason": case.extension_reason, "due_date": case.due_date.isoformat()},
    )
    case.save(update_fields=["extended_days", "extension_reason", *CLOCK_FIELDS])
    tell_applicant(case, "extended", f"您的办件 {case.number} 办理期限延长 {days} 个工作日，新的办结日期 {case.due_date:%Y年%m月%d日}：{case.extension_reason}")
    return case


@transaction.atomic
def application_approve(*, actor: User, application: Application, opinion: str, face_data: dict | None = None) -> Application:
    """准予: opinion required; for an item that yields an e-certificate, every face field must be known
    (the reviewer confirms 照面信息 here, so the center stamps exactly what the department decided)."""
    case = lock_case(application)
    check_actor(actor, case, "approve")
    refuse_deferred(case, "作出准予许可决定")  # 容缺: not before every deferred material is in (DESIGN §14)
    errors = {}
    if not (opinion or "").strip():
        errors["opinion"] = ["请填写审查意见"]
    values, face_errors = face_data_checked(case, face_data)
    if face_errors:
        errors["face_data"] = face_errors
    if errors:
        raise ValidationError(errors)
    values = face_data_number(case, values)  # the licence number, drawn only once everything else passed
    case.decision_opinion, case.decided_by, case.decided_at = opinion.strip(), actor, timezone.now()
    case.next_alert_on, case.outcome, case.face_data = None, Outcome.APPROVED, values
    transition(case, "approve", actor=actor,
                fields=["decision_opinion", "decided_by", "decided_at", "next_alert_on", "outcome", "face_data"],
                payload={"opinion": case.decision_opinion, "face_data": values,
                         **commitment_verification_open(case, decided_on=timezone.localdate(case.decided_at))})
    tell_applicant(case, "decided", f"您的办件 {case.number} 已审查通过，正在制证。")
    return case


RECONSIDERATION_RIGHTS = "如不服本决定，可自收到决定之日起六十日内向本级人民政府申请行政复议，或六个月内向人民法院提起行政诉讼。"


@transaction.atomic
def application_reject(*, actor: User, application: Application, opinion: str, legal_basis: str) -> Application:
    """不予许可: opinion and legal basis required; the applicant is told their right to reconsideration."""
    case = lock_case(application)
    check_actor(actor, case, "reject")
    errors = {}
    if not (opinion or "").strip():
        errors["opinion"] = ["请填写审查意见"]
    if not (legal_basis or "").strip():
        errors["legal_basis"] = ["不予许可须写明法律依据"]
    if errors:
        raise ValidationError(errors)
    case.decision_opinion, case.decision_legal_basis = opinion.strip(), legal_basis.strip()
    case.decided_by, case.decided_at, case.next_alert_on, case.outcome = actor, timezone.now(), None, Outcome.REJECTED
    transition(case, "reject", actor=actor,
                fields=["decision_opinion", "decision_legal_basis", "decided_by", "decided_at", "next_alert_on", "outcome"],
                payload={"opinion": case.decision_opinion, "legal_basis": case.decision_legal_basis})
    tell_applicant(case, "decided", f"您的办件 {case.number} 不予许可：{case.decision_opinion}（依据：{case.decision_legal_basis}）。{RECONSIDERATION_RIGHTS}")
    return case
