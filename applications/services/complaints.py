"""投诉 (DESIGN §15, decision 059): filed from a case's page by its party, or by anyone with a phone proven by
an SMS code; routed to a department, which calls the complainant back (回访) and answers within working days;
the complainant rates the answer, and a 不满意 goes once to a supervisor's 复核. The due date, the audited
steps and the overdue timer are the rectification's (services.follow_up)."""

import logging
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from applications.complaint_links import complaint_link_url
from applications.models import AWAITING_DEPARTMENT, Application, Complaint, ComplaintCategory, ComplaintState, ComplaintVerdict
from applications.models.complaints import CONTENT_MAX_LENGTH, NOTE_MAX_LENGTH
from applications.permissions import answers_complaint, complains_as_account, is_supervisor, owns
from applications.services.case import local_today, next_number
from applications.services.follow_up import (
    department_heads,
    department_staff,
    due_in_working_days,
    fsm_step,
    overdue_sweep,
    required_note,
    supervisors,
)
from items.models import Item
from portal.accounts import normalize_mobile, sms_code_verify
from portal.audit import audit_record, department_chain
from portal.errors import Forbidden
from portal.models import Department, SmsPurpose, User
from portal.notifications import Message, notify, notify_many
from portal.sms import get_sms_backend

logger = logging.getLogger(__name__)

NUMBER_PREFIX = "TS"
NAME_MAX_LENGTH = Complaint._meta.get_field("name").max_length
COMPLAINT_LABELS = {
    "start": "记录回访",
    "respond": "答复",
    "accept_answer": "评价",
    "escalate": "评价",
    "confirm": "复核通过",
    "send_back": "复核退回",
}


def _choice(value, choices, field: str, what: str, errors: dict) -> str:
    if value not in choices.values:
        errors[field] = [f"请选择{what}：{'、'.join(choices.labels)}"]
    return value


def _content(value: str, errors: dict) -> str:
    value = (value or "").strip()
    if not value:
        errors["content"] = ["请填写投诉内容"]
    elif len(value) > CONTENT_MAX_LENGTH:
        errors["content"] = [f"投诉内容不能超过 {CONTENT_MAX_LENGTH} 个字"]
    return value


def _routed_to(*, department_code: str, item_code: str, errors: dict) -> tuple[Department | None, Item | None]:
    """The department named, or the department of the published item named (the item wins when both are)."""
    if item_code:
        item = Item.objects.select_related("department").filter(code=item_code, current_version__isnull=False).first()
        if item is None:
            errors["item"] = ["未找到该事项，请从办事指南中选择或改选部门"]
            return None, None
        return item.department, item
    department = Department.objects.filter(code=department_code).first() if department_code else None
    if department is None:
        errors["department"] = ["请选择投诉的部门（或选择相关事项）"]
    return department, None


def complaint_file(*, actor: User | None, category: str, content: str, application: Application | None = None,
                   department_code: str = "", item_code: str = "", name: str = "", phone: str = "",
                   code: str = "") -> Complaint:
    """A new complaint, due in COMPLAINT_DUE_WORKING_DAYS working days.

    About a case: by a party to it (`owns`), routed to the case's department and linked to the case. Otherwise
    routed to the department named or the department of the item named; a signed-in applicant is known, anyone
    else gives a mobile number proven by a `complaint` SMS code (checked last, after every field's shape, so a
    typo does not cost a try) and may give a name."""
    known = actor is not None and actor.is_authenticated
    if known and not complains_as_account(user=actor):
        raise Forbidden("投诉由办事群众提出；工作人员请通过内部渠道反映")
    errors: dict[str, list[str]] = {}
    category = _choice(category, ComplaintCategory, "category", "投诉类别", errors)
    content = _content(content, errors)
    item = None
    if application is not None:
        if not known or not owns(user=actor, application=application):
            raise Forbidden("只有办件的申请人（或其代办人）可以就该办件投诉")
        department_id, item = application.department_id, application.item_version.item
        phone = application.contact_phone or actor.phone
    else:
        department, item = _routed_to(department_code=department_code, item_code=item_code, errors=errors)
        department_id = department.pk if department else None
    name = (name or "").strip()
    if len(name) > NAME_MAX_LENGTH:
        errors["name"] = [f"姓名不能超过 {NAME_MAX_LENGTH} 个字"]
    if known:
        name, phone = name or actor.display_name, phone or actor.phone
    else:
        try:
            phone = normalize_mobile(phone)
        except ValidationError as error:
            errors["phone"] = error.messages
        if not (code or "").isdigit() or len(code) != 6:
            errors["code"] = ["请填写 6 位数字验证码"]
    if errors:
        raise ValidationError(errors)
    if not known:
        sms_code_verify(phone=phone, purpose=SmsPurpose.COMPLAINT, code=code)  # its own transaction: a wrong try counts
    return _complaint_create(actor=actor if known else None, department_id=department_id, application=application,
                             item=item, name=name, phone=phone, category=category, content=content)


@transaction.atomic
def _complaint_create(*, actor, department_id, application, item, name, phone, category, content) -> Complaint:
    received_at = timezone.now()
    due = due_in_working_days(received_at, settings.COMPLAINT_DUE_WORKING_DAYS)
    complaint = Complaint.objects.create(
        number=next_number(prefix=NUMBER_PREFIX, day=timezone.localdate(received_at)), department_id=department_id,
        application=application, item=item, complainant=actor, name=name, phone=phone, category=category,
        content=content, received_at=received_at, due_date=due.date, due_date_provisional=due.provisional,
    )
    audit_record(chain=department_chain(department_id), actor=actor, action="complaint_file", object_type="complaint", object_id=complaint.number,
                 to_state=complaint.state, payload={
                     "department": department_id, "application": application.number if application else "",
                     "category": category, "due_date": due.date.isoformat(), "anonymous": actor is None})
    about = f"（办件 {application.number}）" if application else ""
    notify(users=department_staff(department_id), kind="complaint_received",
           application=application.number if application else "",
           message=f"收到投诉 {complaint.number}{about}：{complaint.get_category_display()}。"
                   f"请先回访投诉人，于 {due.date:%Y年%m月%d日} 前答复。")
    if actor is None:
        _text(phone, f"您的投诉已受理，编号 {complaint.number}，部门将于 {due.date:%Y年%m月%d日} 前答复。"
                     f"查看进度和评价答复：{complaint_link_url(complaint)}")
    return complaint


def _text(phone: str, message: str) -> None:
    """An SMS to a phone with no account behind it, sent once the change commits. Not through the notification
    outbox (its rows belong to an account); a failed send is logged — the complaint's page shows the same."""

    def send() -> None:
        try:
            get_sms_backend().send(phone=phone, message=f"【一网通办】{message}")
        except Exception:  # noqa: BLE001 — the gateway is the outside world; the complaint stands
            logger.warning("投诉短信未能发送至 %s", phone[:3] + "****" + phone[-4:], exc_info=True)

    transaction.on_commit(send)


def _tell_complainant(complaint: Complaint, kind: str, message: str) -> None:
    """The account's inbox (and SMS to the complaint's phone), or, anonymous, an SMS with the complaint's link."""
    if complaint.complainant_id:
        notify_many(messages=[Message([complaint.complainant_id], kind, message,
                                      complaint.application.number if complaint.application_id else "",
                                      contact_phone=complaint.phone)])
    elif complaint.phone:
        _text(complaint.phone, f"{message}查看和评价：{complaint_link_url(complaint)}")


def _lock(complaint: Complaint) -> Complaint:
    return (Complaint.objects.select_for_update(of=("self",)).select_related("application", "department")
            .get(pk=complaint.pk))


def _step(complaint: Complaint, method: str, *, actor: User | None, fields=(), payload=None) -> Complaint:
    return fsm_step(complaint, method, actor=actor, noun="投诉", label=COMPLAINT_LABELS[method],
                    object_type="complaint", object_id=complaint.number, fields=fields, payload=payload)


def _require_department(actor: User, complaint: Complaint) -> None:
    if not answers_complaint(user=actor, complaint=complaint):
        raise Forbidden("只有承办部门的工作人员可以办理投诉")


@transaction.atomic
def complaint_start(*, actor: User, complaint: Complaint, note: str) -> Complaint:
    """待处理 → 处理中: the department called the complainant back (回访); `note` is what they said."""
    complaint = _lock(complaint)
    _require_department(actor, complaint)
    note = required_note(note, message="请先回访投诉人，并写明回访情况", max_length=NOTE_MAX_LENGTH)
    complaint.callback_note, complaint.callback_at, complaint.callback_by = note, timezone.now(), actor
    return _step(complaint, "start", actor=actor, fields=["callback_note", "callback_at", "callback_by"],
                 payload={"callback": note})


@transaction.atomic
def complaint_answer(*, actor: User, complaint: Complaint, answer: str) -> Complaint:
    """处理中 → 已答复, with the answer; the complainant is told, with where to rate it."""
    complaint = _lock(complaint)
    _require_department(actor, complaint)
    answer = required_note(answer, field="answer", message="请填写答复内容", max_length=CONTENT_MAX_LENGTH)
    now = timezone.now()
    complaint.answer, complaint.answered_at, complaint.answered_by = answer, now, actor
    complaint.first_answered_at = complaint.first_answered_at or now
    _step(complaint, "respond", actor=actor,
          fields=["answer", "answered_at", "answered_by", "first_answered_at"], payload={"answer": answer})
    _tell_complainant(complaint, "complaint_answered",
                      f"您的投诉 {complaint.number} 已答复：{answer}。请对答复作出评价（满意/基本满意/不满意）。")
    return complaint


@transaction.atomic
def complaint_rate(*, actor: User | None, complaint: Complaint, verdict: str, comment: str = "") -> Complaint:
    """The complainant rates the answer: 满意 or 基本满意 closes it; 不满意 (with why) sends it to a supervisor's
    复核 the first time, and closes it after a 复核 already took place. `actor` None: by the signed link."""
    complaint = _lock(complaint)
    if actor is not None and actor.pk != complaint.complainant_id:
        raise Forbidden("只有投诉人可以评价答复")
    errors: dict[str, list[str]] = {}
    verdict = _choice(verdict, ComplaintVerdict, "verdict", "对答复的评价", errors)
    comment = (comment or "").strip()
    if verdict == ComplaintVerdict.DISSATISFIED and not comment:
        errors["comment"] = ["选择「不满意」时请写明原因，监察人员将据此复核"]
    elif len(comment) > NOTE_MAX_LENGTH:
        errors["comment"] = [f"评价意见不能超过 {NOTE_MAX_LENGTH} 个字"]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    complaint.verdict, complaint.verdict_comment, complaint.rated_at = verdict, comment, now
    escalate = verdict == ComplaintVerdict.DISSATISFIED and complaint.reviewed_at is None
    if not escalate:
        complaint.closed_at = now
    _step(complaint, "escalate" if escalate else "accept_answer", actor=actor,
          fields=["verdict", "verdict_comment", "rated_at", "closed_at"],
          payload={"verdict": verdict, "comment": comment, "by": "account" if actor else "link"})
    if escalate:
        notify(users=supervisors(), kind="complaint_review",
               message=f"投诉 {complaint.number}（{complaint.department.name}）的投诉人对答复不满意：{comment}。请复核。")
    return complaint


def _require_supervisor(actor: User) -> None:
    if not is_supervisor(user=actor):
        raise Forbidden("只有监察人员可以复核投诉")


@transaction.atomic
def complaint_confirm(*, actor: User, complaint: Complaint, note: str = "") -> Complaint:
    """复核 upholds the answer: closed, and the complainant told why."""
    _require_supervisor(actor)
    complaint = _lock(complaint)
    now = timezone.now()
    complaint.reviewed_by, complaint.reviewed_at, complaint.closed_at = actor, now, now
    complaint.review_note = (note or "").strip()[:NOTE_MAX_LENGTH]
    _step(complaint, "confirm", actor=actor, fields=["reviewed_by", "reviewed_at", "review_note", "closed_at"],
          payload={"note": complaint.review_note})
    _tell_complainant(complaint, "complaint_closed", f"您的投诉 {complaint.number} 经监察复核，维持部门答复"
                      + (f"：{complaint.review_note}。" if complaint.review_note else "。"))
    return complaint


@transaction.atomic
def complaint_send_back(*, actor: User, complaint: Complaint, note: str) -> Complaint:
    """复核 finds the answer wanting: back to the department (处理中) with why; its due date stands."""
    _require_supervisor(actor)
    complaint = _lock(complaint)
    note = required_note(note, message="请写明退回的理由", max_length=NOTE_MAX_LENGTH)
    complaint.reviewed_by, complaint.reviewed_at, complaint.review_note = actor, timezone.now(), note
    _step(complaint, "send_back", actor=actor, fields=["reviewed_by", "reviewed_at", "review_note"],
          payload={"note": note})
    notify(users=department_staff(complaint.department_id), kind="complaint_sent_back",
           message=f"投诉 {complaint.number} 的答复经监察复核退回，请重新答复：{note}")
    return complaint


def complaint_overdue_sweep(*, today: date | None = None, batch: int = 500) -> int:
    """Flag complaints the department has not answered by their due date, once, and tell the department's
    head and the supervisors (the rectification timer's pattern: services.follow_up.overdue_sweep)."""
    told = supervisors()

    def announce(row: Complaint) -> None:
        audit_record(chain=department_chain(row.department_id), action="complaint_overdue", object_type="complaint", object_id=row.number,
                     from_state=row.state, to_state=row.state, payload={"due_date": row.due_date.isoformat()})
        notify(users=department_heads(row.department_id) + told, kind="complaint_overdue",
               message=f"投诉 {row.number}（{row.department.name}）已超期未答复（应于 {row.due_date:%Y年%m月%d日} 前答复），"
                       f"当前状态：{row.get_state_display()}。")

    open_rows = Complaint.objects.select_related("department").filter(state__in=AWAITING_DEPARTMENT)
    return overdue_sweep(open_rows, today=today or local_today(), batch=batch, announce=announce)


def complaint_steps(*, user: User, complaint: Complaint) -> list[str]:
    """What this user may do to the complaint now (the buttons a page shows; the services decide again)."""
    if not user.is_authenticated:
        return []
    state = complaint.state
    if answers_complaint(user=user, complaint=complaint):
        return {ComplaintState.OPEN: ["start"], ComplaintState.IN_PROGRESS: ["answer"]}.get(state, [])
    if is_supervisor(user=user) and state == ComplaintState.REVIEW:
        return ["confirm", "send-back"]
    if user.pk == complaint.complainant_id and state == ComplaintState.ANSWERED:
        return ["rate"]
    return []
