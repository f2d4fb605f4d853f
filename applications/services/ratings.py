"""好差评 and rectification (DESIGN §6, 国办发〔2019〕51号): rating a finished case, the 差评's rectification
and its overdue sweep."""

from datetime import date

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from applications.models import (
    POOR_SCORES,
    RATED,
    Application,
    Rating,
    RatingChannel,
    RatingStage,
    Rectification,
    RectificationState,
    Score,
    rating_stage_open,
)
from applications.permissions import check_actor, heads_department, is_supervisor
from applications.rating_links import rating_link_token
from applications.services.case import local_today, lock_case, require_role, tell_applicant
from applications.services.follow_up import (
    department_heads,
    due_in_working_days,
    fsm_step,
    overdue_sweep,
    required_note,
    supervisors,
)
from applications.services.rollup import statistics_day_invalidate
from portal.audit import audit_record, department_chain
from portal.errors import Forbidden, InvalidTransition, Refused
from portal.models import AuditEvent, Role, User
from portal.notifications import notify

# 好差评 rules: a 差评 is answered (整改) within 10 working days (国办发〔2019〕51号: 整改反馈).
RECTIFICATION_WORKING_DAYS = 10
RECTIFICATION_LABELS = {
    "start": "开始整改",
    "complete": "整改完成",
    "declare_impossible": "无法整改",
    "invalidate": "判定无效评价",
    "confirm": "复核通过",
    "send_back": "复核退回",
    "appeal": "申诉",
}
NOTE_MAX_LENGTH = 500


def rating_stages_open(case: Application) -> list[str]:
    """The stages of the case that may still be rated, issuance first (the one people come back for)."""
    rated = set(Rating.objects.filter(application=case).values_list("stage", flat=True))
    return [stage for stage in (RatingStage.ISSUANCE, RatingStage.INTAKE)
            if stage not in rated and rating_stage_open(case, stage)]


def stage_staff(case: Application, stage: str) -> User | None:
    """Who handled the stage: the clerk who accepted the case (or referred the one not accepted); the custodian
    whose stamp issued it (the actor of its issue transition in the audit chain)."""
    if stage == RatingStage.INTAKE:
        if case.accepted_by_id:
            return case.accepted_by
        referral = case.referrals.order_by("-referred_at").first()
        return referral.referred_by if referral else None
    event = (AuditEvent.objects.filter(object_type="application", object_id=case.number, action="application_issue")
             .select_related("actor").order_by("-id").first())
    return event.actor if event else None


@transaction.atomic
def application_rate(*, actor: User, application: Application, score, comment: str = "",
                     channel: str = RatingChannel.PC, stage: str = "") -> Rating:
    """好差评, 一次一评 (DESIGN §15): the applicant rates one stage of their case once — intake once the window
    answered, issuance once the result is out — naming the staff member of that stage. No stage given: the
    first one still open. A 4 or 5 (差评) needs a comment and opens a rectification, due in 10 working days."""
    case = lock_case(application)
    check_actor(actor, case, "rate")
    errors = {}
    if stage and stage not in RatingStage.values:
        raise ValidationError({"stage": [f"评价环节应为：{'、'.join(f'{v}（{label}）' for v, label in RatingStage.choices)}"]})
    open_stages = rating_stages_open(case)
    stage = stage or (open_stages[0] if open_stages else RatingStage.ISSUANCE)
    if not rating_stage_open(case, stage):
        raise InvalidTransition(f"办件当前状态为「{case.get_state_display()}」，{RatingStage(stage).label}尚不能评价")
    if stage not in open_stages:
        raise Refused(f"{RatingStage(stage).label}已评价，每个环节只能评价一次", code="already_rated")
    comment = (comment or "").strip()
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = None
    if score not in Score.values:
        errors["score"] = ["评价等级应为 1（非常满意）至 5（非常不满意）"]
    elif score in POOR_SCORES and not comment:
        errors["comment"] = ["给出「不满意」或「非常不满意」评价时，请写明不满意的原因，便于部门整改"]
    if channel not in RatingChannel.values:
        errors["channel"] = [f"评价渠道应为：{'、'.join(f'{v}（{label}）' for v, label in RatingChannel.choices)}"]
    if len(comment) > 1000:
        errors["comment"] = ["评价内容不超过 1000 字"]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    staff = stage_staff(case, stage)
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                application=case, stage=stage, staff=staff, department_id=case.department_id, hall_id=case.hall_id,
                score=score, comment=comment, channel=channel, rated_by=actor, rated_at=now,
            )
    except IntegrityError as error:  # the case lock makes this unreachable; the constraint is the backstop
        raise Refused(f"{RatingStage(stage).label}已评价，每个环节只能评价一次", code="already_rated") from error
    audit_record(
        chain=department_chain(case.department_id),
        actor=actor, action="application_rate", object_type="application", object_id=case.number,
        from_state=case.state, to_state=case.state,
        payload={"score": score, "channel": channel, "comment": comment, "stage": stage,
                 "staff": staff.pk if staff else None},
    )
    if score in POOR_SCORES:
        _rectification_open(case=case, rating=rating, actor=actor)
    return rating


def _rectification_open(*, case: Application, rating: Rating, actor: User) -> Rectification:
    opened_at = rating.rated_at
    due = due_in_working_days(opened_at, RECTIFICATION_WORKING_DAYS)
    rectification = Rectification.objects.create(
        rating=rating, application=case, department_id=case.department_id, opened_at=opened_at,
        due_date=due.date, due_date_provisional=due.provisional,
    )
    audit_record(
        chain=department_chain(case.department_id),
        actor=actor, action="rectification_open", object_type="rectification", object_id=rectification.pk,
        to_state=rectification.state,
        payload={"application": case.number, "score": rating.score, "due_date": due.date.isoformat()},
    )
    notify(
        users=department_heads(case.department_id), kind="rectification_opened", application=case.number,
        message=f"办件 {case.number}（{case.item_version.name}）收到「{rating.get_score_display()}」评价：{rating.comment}。"
                f"请于 {due.date:%Y年%m月%d日} 前完成整改并反馈。",
    )
    return rectification


def _rectification_transition(rectification: Rectification, method: str, *, actor: User, fields=(), payload=None):
    return fsm_step(rectification, method, actor=actor, noun="整改", label=RECTIFICATION_LABELS[method],
                    object_type="rectification", object_id=rectification.pk, fields=fields,
                    payload={"application": rectification.application.number, **(payload or {})})


def _lock_rectification(rectification: Rectification) -> Rectification:
    return (
        Rectification.objects.select_for_update(of=("self",)).select_related("application", "rating")
        .get(pk=rectification.pk)
    )


def _require_head_of(actor: User, rectification: Rectification) -> None:
    if not heads_department(user=actor, department_id=rectification.department_id):
        raise Forbidden("只有被评价部门的负责人可以办理整改")


@transaction.atomic
def rectification_start(*, actor: User, rectification: Rectification, note: str = "") -> Rectification:
    """待整改 → 整改中, by the head of the rated department, after contacting the rater (回访, DESIGN §15):
    `note` is what the rater said when called back."""
    rectification = _lock_rectification(rectification)
    _require_head_of(actor, rectification)
    note = required_note(note, message="请先回访评价人，并写明回访情况", max_length=NOTE_MAX_LENGTH)
    now = timezone.now()
    rectification.started_at, rectification.handled_by = now, actor
    rectification.callback_note, rectification.callback_at = note, now
    return _rectification_transition(rectification, "start", actor=actor,
                                     fields=["started_at", "handled_by", "callback_note", "callback_at"],
                                     payload={"callback": note})


def _rectification_close(actor: User, rectification: Rectification, method: str, note: str, told: str) -> Rectification:
    rectification = _lock_rectification(rectification)
    _require_head_of(actor, rectification)
    note = required_note(note, message="请写明整改措施或无法整改的原因")
    rectification.note, rectification.closed_at, rectification.handled_by = note, timezone.now(), actor
    _rectification_transition(rectification, method, actor=actor, fields=["note", "closed_at", "handled_by"],
                              payload={"note": note})
    case = rectification.application
    tell_applicant(case, "rectification_closed", f"您对办件 {case.number} 的评价已处理（{told}）：{note}")
    return rectification


@transaction.atomic
def rectification_complete(*, actor: User, rectification: Rectification, note: str) -> Rectification:
    """整改中 → 已整改待复核, with what was done; the rater is told (整改反馈) and the supervisors asked to confirm."""
    rectification = _rectification_close(actor, rectification, "complete", note, "已整改，待监察复核")
    case = rectification.application
    notify(users=supervisors(), kind="rectification_review", application=case.number,
           message=f"办件 {case.number} 的差评整改已完成，请复核：{rectification.note}")
    return rectification


def _require_supervisor(actor: User, what: str) -> None:
    if not is_supervisor(user=actor):
        raise Forbidden(f"只有监察人员可以{what}")


@transaction.atomic
def rectification_confirm(*, actor: User, rectification: Rectification, note: str = "") -> Rectification:
    """复核通过: the supervisor confirms the department's rectification; only now does it count as closed."""
    _require_supervisor(actor, "复核整改")
    rectification = _lock_rectification(rectification)
    rectification.reviewed_by, rectification.reviewed_at = actor, timezone.now()
    rectification.review_note = (note or "").strip()[:NOTE_MAX_LENGTH]
    return _rectification_transition(rectification, "confirm", actor=actor,
                                     fields=["reviewed_by", "reviewed_at", "review_note"],
                                     payload={"note": rectification.review_note})


@transaction.atomic
def rectification_send_back(*, actor: User, rectification: Rectification, note: str) -> Rectification:
    """复核退回: not put right yet; back to the department with why (its due date stands)."""
    _require_supervisor(actor, "复核整改")
    rectification = _lock_rectification(rectification)
    note = required_note(note, message="请写明退回的理由", max_length=NOTE_MAX_LENGTH)
    rectification.reviewed_by, rectification.reviewed_at, rectification.review_note = actor, timezone.now(), note
    rectification.closed_at = None
    _rectification_transition(rectification, "send_back", actor=actor,
                              fields=["reviewed_by", "reviewed_at", "review_note", "closed_at"], payload={"note": note})
    case = rectification.application
    notify(users=department_heads(rectification.department_id), kind="rectification_sent_back", application=case.number,
           message=f"办件 {case.number} 的差评整改复核未通过，请继续整改：{note}")
    return rectification


@transaction.atomic
def rectification_appeal(*, actor: User, rectification: Rectification, reason: str) -> Rectification:
    """申诉: the rater does not accept the outcome (once): the rectification opens again with a new due date,
    and the head and the supervisors are told."""
    rectification = _lock_rectification(rectification)
    if actor.pk != rectification.rating.rated_by_id:
        raise Forbidden("只有评价人可以申诉")
    if rectification.appealed_at is not None:
        raise Refused("每条差评只能申诉一次", code="already_appealed")
    reason = required_note(reason, field="reason", message="请写明申诉理由", max_length=NOTE_MAX_LENGTH)
    now = timezone.now()
    due = due_in_working_days(now, RECTIFICATION_WORKING_DAYS)
    rectification.appeal_reason, rectification.appealed_at = reason, now
    rectification.due_date, rectification.due_date_provisional = due.date, due.provisional
    rectification.overdue, rectification.flagged_at, rectification.closed_at = False, None, None
    _rectification_transition(rectification, "appeal", actor=actor, fields=[
        "appeal_reason", "appealed_at", "due_date", "due_date_provisional", "overdue", "flagged_at", "closed_at",
    ], payload={"reason": reason, "due_date": due.date.isoformat()})
    case = rectification.application
    notify(users=department_heads(rectification.department_id) + supervisors(), kind="rectification_appealed",
           application=case.number,
           message=f"办件 {case.number} 的评价人对整改结果提出申诉：{reason}。请于 {due.date:%Y年%m月%d日} 前重新整改。")
    return rectification


@transaction.atomic
def rectification_declare_impossible(*, actor: User, rectification: Rectification, note: str) -> Rectification:
    """整改中 → 无法整改, with why (e.g. the law does not allow what was asked)."""
    return _rectification_close(actor, rectification, "declare_impossible", note, "无法整改")


@transaction.atomic
def rectification_invalidate(*, actor: User, rectification: Rectification, reason: str) -> Rectification:
    """A supervisor judges an open 差评 invalid (恶意差评, or not about this service): closed, and the rating
    leaves the satisfaction rate."""
    if not is_supervisor(user=actor):
        raise Forbidden("只有监察人员可以判定无效评价")
    rectification = _lock_rectification(rectification)
    reason = required_note(reason, field="reason", message="请写明判定无效评价的理由",
                            max_length=Rectification._meta.get_field("invalid_reason").max_length)
    rectification.invalid_reason, rectification.judged_by, rectification.closed_at = reason, actor, timezone.now()
    _rectification_transition(rectification, "invalidate", actor=actor,
                              fields=["invalid_reason", "judged_by", "closed_at"], payload={"reason": reason})
    Rating.objects.filter(pk=rectification.rating_id).update(invalid=True)
    statistics_day_invalidate(day=timezone.localdate(rectification.rating.rated_at))
    case = rectification.application
    tell_applicant(case, "rectification_closed", f"您对办件 {case.number} 的评价经核实判定为无效评价：{reason}")
    return rectification


def rectification_overdue_sweep(*, today: date | None = None, batch: int = 500) -> int:
    """Flag open rectifications past their due date, once, and tell the head and the supervisors."""
    told = supervisors()

    def announce(row: Rectification) -> None:
        audit_record(
            chain=department_chain(row.department_id),
            action="rectification_overdue", object_type="rectification", object_id=row.pk,
            from_state=row.state, to_state=row.state,
            payload={"application": row.application.number, "due_date": row.due_date.isoformat()},
        )
        notify(
            users=department_heads(row.department_id) + told, kind="rectification_overdue",
            application=row.application.number,
            message=f"办件 {row.application.number}（{row.application.item_version.name}）的差评整改已超期"
                    f"（应于 {row.due_date:%Y年%m月%d日} 前完成），当前状态：{row.get_state_display()}。",
        )

    open_rows = (Rectification.objects.select_related("application", "application__item_version")
                 .filter(state__in=[RectificationState.PENDING, RectificationState.IN_PROGRESS]))
    return overdue_sweep(open_rows, today=today or local_today(), batch=batch, announce=announce)


# --- rating without signing in: the SMS link and the window's pad (DESIGN §15) ------------------------------

PAD_SECONDS = 10 * 60  # a rating request waits on the window's pad this long


def _pad_key(hall_id: int, window: int) -> str:
    return f"rating-pad:{hall_id}:{window}"


@transaction.atomic
def rating_pad_request(*, actor: User, application: Application, window) -> str:
    """一次一评 at the counter: the clerk puts the case on their window's pad; the person in front of them rates
    the stage just done (受理, or 出证 at pickup) without signing in. Returns the stage asked for."""
    require_role(actor, Role.CLERK)
    case = lock_case(application)
    try:
        window = int(window)
    except (TypeError, ValueError):
        window = 0
    if not actor.hall_id or not 1 <= window <= actor.hall.windows:
        raise ValidationError({"window": [f"窗口号应为 1 至 {actor.hall.windows if actor.hall_id else 1}"]})
    open_stages = rating_stages_open(case)
    if not open_stages:
        raise Refused("该办件暂无可评价的环节（已评价，或尚未受理）", code="nothing_to_rate")
    # At a pickup the result is what the person came for: ask about issuance then; otherwise about intake.
    stage = open_stages[0] if case.state in RATED else RatingStage.INTAKE
    token = rating_link_token(case=case, stage=stage, channel=RatingChannel.WINDOW)
    try:
        cache.set(_pad_key(actor.hall_id, window), token, PAD_SECONDS)
    except Exception as error:  # no cache, no pad: the clerk is told, nothing half-done
        raise Refused("评价器暂不可用，请稍后再试或请申请人扫码评价", code="pad_unavailable") from error
    audit_record(chain=department_chain(case.department_id), actor=actor, action="rating_pad_request", object_type="application", object_id=case.number,
                 payload={"window": window, "stage": stage})
    return stage


def rating_pad_pending(*, hall_id: int, window: int) -> str:
    """The token waiting on a window's pad, or ""."""
    try:
        return cache.get(_pad_key(hall_id, window)) or ""
    except Exception:
        return ""


def rating_pad_clear(*, hall_id: int, window: int, token: str) -> None:
    try:
        if cache.get(_pad_key(hall_id, window)) == token:
            cache.delete(_pad_key(hall_id, window))
    except Exception:
        pass
