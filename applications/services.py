"""Every write to a case. One function per use case: lock the row, check who, transition, save, audit.

Permission to *see* a case is decided before these run (permissions.access_application); these decide
whether the actor's role may *act*, and whether the case's state and the rules allow it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed

from applications.clock import DEEMED_ACCEPTANCE_WORKING_DAYS, MAX_EXTENSION_WORKING_DAYS, alert_state
from applications.documents import DocumentKind
from applications.models import (
    Application,
    Channel,
    Deficiency,
    DeliveryMethod,
    Document,
    Material,
    Notice,
    NumberSequence,
    Referral,
    State,
    Suspension,
    SuspensionKind,
)
from certificates.services import held_valid_certificate_types
from items.models import Item, ItemVersion, MaterialRequirement
from portal.audit import audit_record
from portal.errors import Forbidden, InvalidTransition, Refused
from portal.identity import mask_id_number
from portal.metrics import transition_counted
from portal.models import Role, User
from portal.notifications import notify, notify_many
from portal.services import user_for_identity
from portal.workdays import WorkCalendar

from applications.uploads import inspect_upload, stored_upload

ACTION_LABELS = {
    "submit": "提交",
    "request_materials": "一次性告知补正",
    "resubmit": "补正后重新提交",
    "accept": "受理",
    "deem_accept": "视为受理",
    "refer": "转部门研判",
    "return_to_window": "退回窗口",
    "decline": "不予受理",
    "withdraw": "撤回",
    "claim": "认领审查",
    "suspend": "中止计时",
    "resume": "恢复计时",
    "extend": "延长办理期限",
    "approve": "作出准予决定",
    "reject": "作出不予许可决定",
    "issue": "签发",
    "deliver": "送达",
}


# --- helpers -----------------------------------------------------------------------------------


def _local_today() -> date:
    return timezone.localdate()


def _require_role(actor: User, *roles: str) -> None:
    if actor.role not in roles:
        raise Forbidden()


# The item version's long texts (guide, search index) that no transition reads: not fetched with the case.
LOCK_DEFERRED = [f"item_version__{name}" for name in (
    "search_text", "conditions", "procedure", "special_procedures", "legal_basis", "fee_standard", "fee_basis",
    "location", "faq",
)]


def _lock(application: Application) -> Application:
    """Re-read the case under a row lock: two clerks on one case queue here, and the second sees the
    first one's result. Only the case's own row is locked (`of`): the joined item version and department
    are shared by thousands of cases, and locking them would queue every transition of a department.
    FOR NO KEY UPDATE (what an UPDATE of non-key columns takes anyway) still excludes every other
    transition, but not the KEY SHARE lock a foreign-key check takes at COMMIT: a transaction inserting a
    row that points at the case (a document, a rating) never waits on it while holding the audit head."""
    return (Application.objects.select_for_update(of=("self",), no_key=True).select_related("item_version__item", "department")
            .defer(*LOCK_DEFERRED).get(pk=application.pk))


def _state_refusal(case: Application, method: str) -> InvalidTransition:
    """The refusal of a transition the case's state does not allow, counted in the metrics by its action."""
    transition_counted(action=f"application_{method}", outcome="refused")
    return InvalidTransition(f"办件当前状态为「{case.get_state_display()}」，不能{ACTION_LABELS[method]}")


def _transition(case: Application, method: str, *, actor, fields: Iterable[str] = (), payload=None) -> Application:
    transition = getattr(case, method)
    if not can_proceed(transition):
        raise _state_refusal(case, method)
    from_state = case.state
    transition()
    try:
        case.save(update_fields=["state", *fields])
    except ConcurrentTransition as error:
        transition_counted(action=f"application_{method}", outcome="conflict")
        raise Refused("该办件刚被他人处理，请刷新后重试", code="conflict") from error
    audit_record(
        actor=actor,
        action=f"application_{method}",
        object_type="application",
        object_id=case.number,
        from_state=from_state,
        to_state=case.state,
        payload=payload or {},
    )
    return case


def _next_number(*, prefix: str, day: date) -> str:
    sequence, _ = NumberSequence.objects.select_for_update().get_or_create(prefix=prefix, day=day)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{prefix}-{day:%Y%m%d}-{sequence.last:06d}"


def current_materials(case: Application) -> dict[int, Material]:
    """The latest version of each requirement's upload."""
    latest: dict[int, Material] = {}
    for material in case.materials.order_by("requirement_id", "-version"):
        latest.setdefault(material.requirement_id, material)
    return latest


def satisfied_by_certificates(case: Application, *, requirements: list[MaterialRequirement] | None = None) -> dict[int, str]:
    """免交: requirements met by a valid e-certificate the applicant holds → that certificate type's code."""
    if requirements is None:
        requirements = list(case.item_version.materials.select_related("satisfied_by"))
    if not any(requirement.satisfied_by_id for requirement in requirements):
        return {}  # nothing on this item can be stood in for: no need to read the applicant's wallet
    held = held_valid_certificate_types(user=case.applicant)
    if not held:
        return {}
    return {
        requirement.pk: requirement.satisfied_by.code
        for requirement in requirements
        if requirement.satisfied_by_id and requirement.satisfied_by.code in held
    }


@dataclass(frozen=True)
class MaterialStatus:
    """The case's requirements with what stands for each: read once per service call (three queries at most)."""

    requirements: list[MaterialRequirement]
    present: dict[int, Material]  # the latest upload per requirement
    satisfied: dict[int, str]  # 免交: requirement → the held certificate type's code


REQUIREMENT_FIELDS = ["version_id", "order", "name", "form", "copies_original", "copies_copy", "required", "deferrable",
                      "satisfied_by__code"]


def material_status(case: Application) -> MaterialStatus:
    requirements = list(case.item_version.materials.select_related("satisfied_by").only(*REQUIREMENT_FIELDS))
    return MaterialStatus(requirements, current_materials(case), satisfied_by_certificates(case, requirements=requirements))


def missing_requirements(case: Application, *, include_deferrable: bool = False,
                         status: MaterialStatus | None = None) -> list[MaterialRequirement]:
    """Required materials with nothing uploaded and no held e-certificate standing in for them;
    容缺 (deferrable) ones may follow after acceptance."""
    status = status or material_status(case)
    present = set(status.present) | set(status.satisfied)
    missing = []
    for requirement in status.requirements:
        if not requirement.required or requirement.pk in present:
            continue
        if requirement.deferrable and not include_deferrable:
            continue
        missing.append(requirement)
    return missing


def _refuse_incomplete(case: Application, action: str, *, status: MaterialStatus | None = None) -> None:
    missing = missing_requirements(case, status=status)
    if missing:
        names = "、".join(requirement.name for requirement in missing)
        raise Refused(f"材料不齐全，不能{action}：缺少{names}", code="materials_incomplete")


def _document(case: Application, *, kind: str, context: dict) -> Document:
    serial = f"{case.number}-{kind}-{case.documents.filter(kind=kind).count() + 1}"
    base = {
        "number": case.number,
        "document_number": serial,
        "issued_on": _local_today().isoformat(),
        "hall_name": case.hall.name if case.hall_id else "",
        "department_name": case.department.name,
        "item_name": case.item_version.name,
        "item_code": case.item_version.item.code,
        "applicant_name": case.applicant_name,
        "applicant_id_masked": mask_id_number(case.applicant_id_number),
        "clerk_name": "",
        "hotline": case.item_version.hotline,
        "supervision_phone": case.item_version.supervision_phone,
        "submitted_on": timezone.localdate(case.submitted_at).isoformat() if case.submitted_at else "",
    }
    document = Document.objects.create(application=case, kind=kind, serial=serial, context={**base, **context})
    return document


def _tell_applicant(case: Application, kind: str, message: str) -> None:
    notify_many(messages=[([case.applicant_id], kind, message, case.number)])


def _department_staff(case: Application, *roles: str) -> list[User]:
    return list(User.objects.filter(department_id=case.department_id, role__in=roles, is_active=True))


def _materials_snapshot(case: Application, *, status: MaterialStatus | None = None) -> list[dict]:
    status = status or material_status(case)
    present, satisfied = status.present, status.satisfied
    rows = []
    for requirement in status.requirements:
        if requirement.pk in present:
            status = "已提交"
        elif requirement.pk in satisfied:
            status = "免交（已有电子证照）"
        elif requirement.required and requirement.deferrable:
            status = "容缺后补"
        elif requirement.required:
            status = "未提交"
        else:
            continue
        copies = requirement.copies_original or requirement.copies_copy or 1
        rows.append({"name": requirement.name, "form_label": requirement.get_form_display(), "copies": copies, "status": status})
    return rows


# --- create and materials ----------------------------------------------------------------------


@transaction.atomic
def application_create(*, actor: User, item_code: str, form_data: dict | None = None, applicant: dict | None = None,
                       contact_phone: str = "", contact_address: str = "") -> Application:
    """A citizen's online draft, or a clerk's registration of a walk-in (real name + validated ID)."""
    _require_role(actor, Role.APPLICANT, Role.CLERK)
    item = Item.objects.select_related("current_version", "current_version__department").filter(code=item_code).first()
    if item is None or item.current_version is None:
        raise ValidationError({"item": [f"事项 {item_code} 不存在或尚未发布"]})
    version = item.current_version
    if actor.role == Role.APPLICANT:
        if not version.online:
            raise ValidationError({"item": ["该事项暂不支持网上办理，请到窗口申请"]})
        if not actor.id_number:
            raise ValidationError({"applicant": ["请先完成实名认证（姓名与证件号码）后再申请"]})
        person, channel, hall, prefix = actor, Channel.ONLINE, None, "NET"
    else:
        if not applicant:
            raise ValidationError({"applicant": ["窗口登记须填写申请人姓名、证件类型和证件号码"]})
        try:
            person = user_for_identity(
                name=applicant.get("name", ""),
                id_type=applicant.get("id_type", "111"),
                id_number=applicant.get("id_number", ""),
            )
        except ValidationError as error:
            labels = {"name": "申请人姓名", "id_number": "证件号码", "id_type": "证件类型"}
            raise ValidationError({"applicant": [
                f"{labels.get(field, field)}：{message}" for field, messages in error.message_dict.items() for message in messages
            ]}) from error
        if person.pk == actor.pk:
            # A clerk never registers a case of their own: another window takes it (separation of duties).
            raise ValidationError({"applicant": ["证件号码：不能以窗口人员本人的证件号码登记办件，请由其他窗口人员受理"]})
        channel, hall, prefix = Channel.WINDOW, actor.hall, actor.hall.code
    case = Application.objects.create(
        number=_next_number(prefix=prefix, day=_local_today()),
        item_version=version,
        department=version.department,
        hall=hall,
        channel=channel,
        applicant=person,
        applicant_name=person.real_name or person.username,
        applicant_id_type=person.id_type,
        applicant_id_number=person.id_number,
        contact_phone=contact_phone or person.phone,
        contact_address=contact_address or person.address,
        form_data=form_data or {},
        created_by=actor,
    )
    audit_record(
        actor=actor, action="application_create", object_type="application", object_id=case.number,
        to_state=case.state, payload={"item": item.code, "version": version.number, "channel": channel},
    )
    return case


def noticed_requirement_ids(case: Application) -> set[int]:
    """What the open (unresolved) notice named: only those materials may change now."""
    return set(
        Deficiency.objects.filter(notice__application=case, notice__resolved_at__isnull=True)
        .values_list("requirement_id", flat=True)
    )


def upload_refusal(case: Application, requirement: MaterialRequirement, *, noticed: set[int]) -> Refused | None:
    """Why this requirement may not take a file in the case's state, or None. Pages ask this too, so they
    offer an upload only where the service will take it."""
    if case.state == State.DRAFT:
        return None
    if case.state in (State.PENDING_MATERIALS, State.SUSPENDED):
        # Only what the open one-time notice named may change (a supplement request in review is one too).
        if requirement.pk in noticed:
            return None
        return Refused(f"「{requirement.name}」不在补正告知范围内，不能更改", code="not_noticed")
    if case.state in (State.ACCEPTED, State.IN_REVIEW) and requirement.deferrable:
        # 容缺: a deferrable material may follow after acceptance, once.
        if any(material.requirement_id == requirement.pk for material in case.materials.all()):
            return Refused(f"容缺材料「{requirement.name}」已补交", code="already_supplied")
        return None
    return InvalidTransition(f"办件当前状态为「{case.get_state_display()}」，不能上传材料")


@transaction.atomic
def application_material_upload(*, actor: User, application: Application, requirement_id, upload) -> Material:
    """Add a file for one requirement; a replacement becomes a new version, the earlier ones stay."""
    _require_role(actor, Role.APPLICANT, Role.CLERK)
    case = _lock(application)
    try:
        requirement = case.item_version.materials.get(pk=int(requirement_id))
    except (MaterialRequirement.DoesNotExist, TypeError, ValueError) as error:
        raise ValidationError({"requirement": ["该材料不属于本办件所办理的事项"]}) from error
    refusal = upload_refusal(case, requirement, noticed=noticed_requirement_ids(case))
    if refusal is not None:
        raise refusal
    inspected = inspect_upload(upload)
    version = (case.materials.filter(requirement=requirement).order_by("-version").values_list("version", flat=True).first() or 0) + 1
    material = Material(
        application=case, requirement=requirement, version=version, original_name=(upload.name or "")[:200],
        content_type=inspected.content_type, size=inspected.size, sha256=inspected.sha256, uploaded_by=actor,
    )
    with stored_upload(material.file, upload):
        material.save()
        audit_record(
            actor=actor, action="material_upload", object_type="application", object_id=case.number,
            payload={"requirement": requirement.pk, "version": version, "sha256": inspected.sha256, "size": inspected.size},
        )
    return material


def material_read_record(*, actor: User, application: Application, material: Material) -> None:
    """全程留痕: who opened which applicant file, and when."""
    with transaction.atomic():
        audit_record(
            actor=actor, action="material_read", object_type="application", object_id=application.number,
            payload={"material": material.pk, "requirement": material.requirement_id, "version": material.version},
        )


# --- intake transitions ------------------------------------------------------------------------


@transaction.atomic
def application_submit(*, actor: User, application: Application) -> Application:
    case = _lock(application)
    if not (actor.role == Role.APPLICANT and case.applicant_id == actor.pk):
        raise Forbidden("只有申请人本人可以提交申请")
    if case.state == State.DRAFT:
        _refuse_incomplete(case, "提交")
    case.submitted_at = timezone.now()
    return _transition(case, "submit", actor=actor, fields=["submitted_at"])


def _validated_deficiencies(case: Application, deficiencies: list[dict]) -> list[tuple[MaterialRequirement, str]]:
    """Each deficiency tied to a requirement of the pinned version, with a reason; and the one-time rule:
    once a first notice exists, a later one may name only what the first named."""
    requirements = {requirement.pk: requirement for requirement in case.item_version.materials.all()}
    errors, rows, seen = [], [], set()
    if not deficiencies:
        errors.append("请至少列出一项需要补正的材料")
    for index, entry in enumerate(deficiencies or [], start=1):
        try:
            requirement = requirements[int(entry.get("requirement"))]
        except (KeyError, TypeError, ValueError):
            errors.append(f"第 {index} 项：材料不属于本事项")
            continue
        reason = (entry.get("reason") or "").strip()
        if not reason:
            errors.append(f"第 {index} 项（{requirement.name}）：请写明补正原因")
        if requirement.pk in seen:
            errors.append(f"第 {index} 项（{requirement.name}）：重复列出")
        seen.add(requirement.pk)
        rows.append((requirement, reason))
    first = case.notices.order_by("sequence").first()
    if first is not None and not errors:
        allowed = set(first.deficiencies.values_list("requirement_id", flat=True))
        surprises = [requirement.name for requirement, _ in rows if requirement.pk not in allowed]
        if surprises:
            errors.append(
                "一次性告知：首次告知未列出「" + "、".join(surprises) + "」，不得再次告知新的补正内容"
            )
    if errors:
        raise ValidationError({"deficiencies": errors})
    return rows


@transaction.atomic
def application_request_materials(*, actor: User, application: Application, deficiencies: list[dict]) -> Notice:
    """一次性告知: every deficiency at once, each tied to a requirement with a reason. A later notice may
    name only requirements the first one named — the "second surprise" is what the rule forbids."""
    _require_role(actor, Role.CLERK)
    case = _lock(application)
    if not can_proceed(case.request_materials):
        raise _state_refusal(case, "request_materials")
    rows = _validated_deficiencies(case, deficiencies)
    notice = Notice.objects.create(application=case, sequence=case.notices.count() + 1, issued_by=actor)
    Deficiency.objects.bulk_create(Deficiency(notice=notice, requirement=r, reason=reason) for r, reason in rows)
    _transition(case, "request_materials", actor=actor, payload={
        "notice": notice.sequence,
        "deficiencies": [{"requirement": r.pk, "name": r.name, "reason": reason} for r, reason in rows],
    })
    _document(case, kind=DocumentKind.MATERIALS_NOTICE, context={
        "notice_sequence": notice.sequence,
        "clerk_name": actor.display_name,
        "deficiencies": [{"requirement": r.name, "reason": reason} for r, reason in rows],
        "deadline_note": "请按本通知一次性补齐上述材料后重新提交；补正期间不计入办理时限。",
    })
    _tell_applicant(case, "materials_notice", f"您的申请 {case.number} 需补正材料：" + "；".join(f"{r.name}（{reason}）" for r, reason in rows))
    return notice


@transaction.atomic
def application_resubmit(*, actor: User, application: Application) -> Application:
    case = _lock(application)
    if not (case.applicant_id == actor.pk or actor.role == Role.CLERK):
        raise Forbidden("只有申请人或窗口人员可以提交补正材料")
    notice = case.notices.order_by("-sequence").first()
    if case.state == State.PENDING_MATERIALS and notice is not None:
        named = list(notice.deficiencies.select_related("requirement"))
        supplied = set(case.materials.filter(uploaded_at__gte=notice.issued_at).values_list("requirement_id", flat=True))
        unsupplied = [d.requirement.name for d in named if d.requirement_id not in supplied]
        if unsupplied:
            raise Refused("尚未补正：" + "、".join(unsupplied), code="materials_incomplete")
        notice.resolved_at = timezone.now()
        notice.save(update_fields=["resolved_at"])
    return _transition(case, "resubmit", actor=actor)


CLOCK_FIELDS = ["due_date", "due_date_provisional", "alert_level", "next_alert_on"]


def _set_due_date(case: Application, *, due_date: date, provisional: bool, calendar: WorkCalendar) -> None:
    case.due_date, case.due_date_provisional = due_date, provisional
    case.alert_level, case.next_alert_on = alert_state(
        calendar=calendar, today=_local_today(), due_date=due_date, warning_days=case.item_version.effective_warning_days
    )


def _start_clock(case: Application, *, accepted_at, calendar: WorkCalendar) -> None:
    accepted_day = timezone.localdate(accepted_at)
    due = calendar.add_working_days(accepted_day, case.item_version.promised_days)
    case.accepted_at = accepted_at
    _set_due_date(case, due_date=due.date, provisional=due.provisional, calendar=calendar)


@transaction.atomic
def application_accept(*, actor: User, application: Application) -> Application:
    """受理: materials complete; the clock starts the day after; a 受理通知书 with the due date."""
    _require_role(actor, Role.CLERK)
    case = _lock(application)
    if not can_proceed(case.accept):
        raise _state_refusal(case, "accept")
    materials = material_status(case)  # read once: for the check and for the notice's material list
    _refuse_incomplete(case, "受理", status=materials)
    _start_clock(case, accepted_at=timezone.now(), calendar=WorkCalendar.load())
    case.accepted_by = actor
    fields = ["accepted_at", "accepted_by", *CLOCK_FIELDS]
    if case.hall_id is None:
        case.hall = actor.hall
        fields.append("hall")
        if case.submitted_at:  # its submission is counted under this hall now, on the day it was made
            statistics_day_invalidate(day=timezone.localdate(case.submitted_at))
    if case.channel == Channel.WINDOW:
        # The applicant stood at the window: that is one visit (一次跑动).
        case.visits += 1
        fields.append("visits")
    if case.submitted_at is None:
        case.submitted_at = case.accepted_at
        fields.append("submitted_at")
    _transition(case, "accept", actor=actor, fields=fields, payload={
        "due_date": case.due_date.isoformat(), "provisional": case.due_date_provisional,
    })
    _document(case, kind=DocumentKind.ACCEPTANCE_NOTICE, context=_acceptance_context(case, clerk=actor, status=materials))
    _tell_applicant(case, "accepted", f"您的申请「{case.item_version.name}」已受理（办件编号 {case.number}），承诺办结日期 {case.due_date:%Y年%m月%d日}。")
    return case


def _acceptance_context(case: Application, *, clerk: User | None, status: MaterialStatus | None = None) -> dict:
    return {
        "clerk_name": clerk.display_name if clerk else "",
        "submitted_on": timezone.localdate(case.submitted_at).isoformat(),
        "accepted_on": timezone.localdate(case.accepted_at).isoformat(),
        "promised_days": case.item_version.promised_days,
        "due_date": case.due_date.isoformat(),
        "due_date_provisional": case.due_date_provisional,
        "materials": _materials_snapshot(case, status=status),
        "visits_note": "本事项承诺最多跑动 {} 次；办理结果可选择邮寄送达或网上下载电子证照。".format(case.item_version.max_visits),
    }


@transaction.atomic
def application_refer(*, actor: User, application: Application, reason: str) -> Referral:
    """The window has no veto (窗口无否决权): a doubt goes to the department, never a refusal."""
    _require_role(actor, Role.CLERK)
    if not (reason or "").strip():
        raise ValidationError({"reason": ["请写明转部门研判的原因"]})
    case = _lock(application)
    _transition(case, "refer", actor=actor, payload={"reason": reason.strip()})
    return Referral.objects.create(application=case, reason=reason.strip(), referred_by=actor)


def _open_referral(case: Application) -> Referral:
    return case.referrals.filter(answered_at__isnull=True).order_by("-referred_at").first()


@transaction.atomic
def application_return(*, actor: User, application: Application, reason: str = "") -> Application:
    case = _lock(application)
    if not (actor.role == Role.HEAD and actor.department_id == case.department_id):
        raise Forbidden("只有本部门负责人可以研判转办件")
    _transition(case, "return_to_window", actor=actor, payload={"reason": reason})
    referral = _open_referral(case)
    if referral is not None:
        referral.outcome, referral.answer, referral.answered_by, referral.answered_at = "returned", reason, actor, timezone.now()
        referral.save(update_fields=["outcome", "answer", "answered_by", "answered_at"])
    return case


@transaction.atomic
def application_decline(*, actor: User, application: Application, reason: str, legal_basis: str) -> Application:
    """不予受理 is the department's decision, with reason and legal basis, and a 不予受理通知书."""
    case = _lock(application)
    if not (actor.role == Role.HEAD and actor.department_id == case.department_id):
        raise Forbidden("只有本部门负责人可以作出不予受理决定")
    errors = {}
    if not (reason or "").strip():
        errors["reason"] = ["请写明不予受理的理由"]
    if not (legal_basis or "").strip():
        errors["legal_basis"] = ["请写明法律依据"]
    if errors:
        raise ValidationError(errors)
    case.closed_at = timezone.now()
    _transition(case, "decline", actor=actor, fields=["closed_at"], payload={"reason": reason, "legal_basis": legal_basis})
    referral = _open_referral(case)
    if referral is not None:
        referral.outcome, referral.answer, referral.legal_basis = "declined", reason, legal_basis
        referral.answered_by, referral.answered_at = actor, case.closed_at
        referral.save(update_fields=["outcome", "answer", "legal_basis", "answered_by", "answered_at"])
    _document(case, kind=DocumentKind.REFUSAL_NOTICE, context={
        "reason": reason, "legal_basis": legal_basis, "decided_by": actor.display_name,
    })
    _tell_applicant(case, "not_accepted", f"您的申请 {case.number} 不予受理：{reason}。您可依法申请行政复议或提起行政诉讼。")
    return case


@transaction.atomic
def application_withdraw(*, actor: User, application: Application) -> Application:
    case = _lock(application)
    if not (actor.role == Role.APPLICANT and case.applicant_id == actor.pk):
        raise Forbidden("只有申请人本人可以撤回申请")
    case.closed_at = timezone.now()
    return _transition(case, "withdraw", actor=actor, fields=["closed_at"])


# --- timers ------------------------------------------------------------------------------------


def deemed_acceptance_due(*, submitted_on: date, calendar: WorkCalendar) -> date:
    """The last day the window may still accept or notice; the day after, the law accepts for it."""
    return calendar.add_working_days(submitted_on, DEEMED_ACCEPTANCE_WORKING_DAYS).date


def application_deem_accept_sweep(*, today: date | None = None, batch: int = 500) -> int:
    """行政许可法 第三十二条: online submissions left unanswered for five working days count as accepted
    from their submission day. Idempotent; two sweeps at once skip each other's locked rows."""
    today = today or _local_today()
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
            _start_clock(case, accepted_at=case.submitted_at, calendar=calendar)
            case.deemed_accepted = True
            _transition(case, "deem_accept", actor=None, fields=[
                "accepted_at", "deemed_accepted", *CLOCK_FIELDS,
            ], payload={"submitted_on": submitted_on.isoformat(), "due_date": case.due_date.isoformat()})
            _document(case, kind=DocumentKind.ACCEPTANCE_NOTICE, context=_acceptance_context(case, clerk=None))
            statistics_day_invalidate(day=submitted_on)  # accepted on a day already past: count it again
            deemed += 1
    return deemed




# --- review (受审分离: the department decides, never meeting the applicant) ----------------------


def _require_department(actor: User, case: Application, *roles: str) -> None:
    if actor.role not in roles or actor.department_id != case.department_id:
        raise Forbidden("只有本部门审查人员可以办理")


def _require_case_reviewer(actor: User, case: Application) -> None:
    """The reviewer who claimed the case, or the department head."""
    _require_department(actor, case, Role.REVIEWER, Role.HEAD)
    if actor.role == Role.REVIEWER and case.reviewer_id not in (None, actor.pk):
        raise Forbidden("该办件已由其他审查人员认领")


@transaction.atomic
def application_claim(*, actor: User, application: Application) -> Application:
    case = _lock(application)
    _require_department(actor, case, Role.REVIEWER, Role.HEAD)
    case.reviewer = actor
    return _transition(case, "claim", actor=actor, fields=["reviewer"])


@transaction.atomic
def application_suspend(*, actor: User, application: Application, kind: str, reason: str,
                        deficiencies: list[dict] | None = None) -> Suspension:
    """Stop the clock (行政许可法 第四十五条). A supplement request is a one-time notice like intake's."""
    case = _lock(application)
    _require_case_reviewer(actor, case)
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
        raise _state_refusal(case, "suspend")
    rows = _validated_deficiencies(case, deficiencies or []) if kind == SuspensionKind.SUPPLEMENT else []
    suspension = Suspension.objects.create(
        application=case, kind=kind, reason=reason.strip(), started_on=_local_today(), started_by=actor
    )
    if rows:
        notice = Notice.objects.create(application=case, sequence=case.notices.count() + 1, issued_by=actor)
        Deficiency.objects.bulk_create(Deficiency(notice=notice, requirement=r, reason=why) for r, why in rows)
    # The level is frozen while suspended: the sweep does not look at suspended cases.
    case.next_alert_on = None
    _transition(case, "suspend", actor=actor, fields=["next_alert_on"], payload={
        "kind": kind, "reason": reason.strip(),
        "deficiencies": [{"requirement": r.pk, "name": r.name, "reason": why} for r, why in rows],
    })
    _tell_applicant(case, "suspended", f"您的办件 {case.number} 因{SuspensionKind(kind).label}中止计时：{reason.strip()}")
    return suspension


@transaction.atomic
def application_resume(*, actor: User, application: Application) -> Application:
    """Restart the clock: the due date moves by the working days in [suspend day, resume day)."""
    case = _lock(application)
    _require_case_reviewer(actor, case)
    if not can_proceed(case.resume):
        raise _state_refusal(case, "resume")
    suspension = case.suspensions.filter(ended_on__isnull=True).order_by("-started_on").first()
    calendar = WorkCalendar.load()
    today = _local_today()
    stopped = calendar.working_days_between(suspension.started_on, today) if suspension else 0
    if suspension is not None:
        suspension.ended_on, suspension.ended_by, suspension.working_days = today, actor, stopped
        suspension.save(update_fields=["ended_on", "ended_by", "working_days"])
    case.notices.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
    due = calendar.add_working_days(case.due_date, stopped)
    _set_due_date(case, due_date=due.date, provisional=case.due_date_provisional or due.provisional, calendar=calendar)
    return _transition(case, "resume", actor=actor, fields=CLOCK_FIELDS, payload={
        "suspended_working_days": stopped, "due_date": case.due_date.isoformat(),
    })


@transaction.atomic
def application_extend(*, actor: User, application: Application, days: int, reason: str) -> Application:
    """Once, by the department head, within the statutory extension (行政许可法 第四十二条)."""
    case = _lock(application)
    if not (actor.role == Role.HEAD and actor.department_id == case.department_id):
        raise Forbidden("只有本部门负责人可以批准延长办理期限")
    if case.state not in (State.ACCEPTED, State.IN_REVIEW):
        raise _state_refusal(case, "extend")
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
    _set_due_date(case, due_date=due.date, provisional=case.due_date_provisional or due.provisional, calendar=calendar)
    case.extended_days, case.extension_reason = days, reason.strip()
    audit_record(
        actor=actor, action="application_extend", object_type="application", object_id=case.number,
        from_state=case.state, to_state=case.state,
        payload={"days": days, "reason": case.extension_reason, "due_date": case.due_date.isoformat()},
    )
    case.save(update_fields=["extended_days", "extension_reason", *CLOCK_FIELDS])
    _tell_applicant(case, "extended", f"您的办件 {case.number} 办理期限延长 {days} 个工作日，新的办结日期 {case.due_date:%Y年%m月%d日}：{case.extension_reason}")
    return case


# 照面信息 the case itself can fill: who holds it, their code, and the licence number this case gives.
HOLDER_NAME_FIELDS = {
    "名称", "经营者名称", "生产者名称", "使用单位", "业户名称", "权利人", "权利人（申请人）", "用地单位", "持证人",
    "姓名", "机构名称", "单位名称", "户主姓名",
}
HOLDER_CODE_FIELDS = {"统一社会信用代码", "公民身份号码", "身份证件号", "身份证号"}
NUMBER_FIELD_SUFFIXES = ("许可证编号", "证件编号", "登记证编号", "许可证号", "结婚证字号", "离婚证字号", "证书编码", "登记号")


def certificate_face_data(case: Application, supplied: dict | None = None) -> tuple[dict, list[str]]:
    """The face fields of the item's certificate type: what the reviewer supplied, else what the
    applicant declared, else what the case knows. Returns (values, names still missing)."""
    certificate_type = case.item_version.certificate_type
    if certificate_type is None:
        return {}, []
    supplied = {key: str(value).strip() for key, value in (supplied or {}).items() if str(value).strip()}
    values, missing = {}, []
    for field in certificate_type.face_fields or []:
        value = supplied.get(field) or case.face_data.get(field) or case.form_data.get(field)
        if not value and field in HOLDER_NAME_FIELDS:
            value = case.applicant_name
        elif not value and field in HOLDER_CODE_FIELDS:
            value = case.applicant_id_number
        elif not value and field.endswith(NUMBER_FIELD_SUFFIXES):
            value = f"{certificate_type.code}-{case.number}"
        values[field] = str(value or "").strip()
        if not values[field]:
            missing.append(field)
    return values, missing


@transaction.atomic
def application_approve(*, actor: User, application: Application, opinion: str, face_data: dict | None = None) -> Application:
    """准予: opinion required; for an item that yields an e-certificate, every face field must be known
    (the reviewer confirms 照面信息 here, so the center stamps exactly what the department decided)."""
    case = _lock(application)
    _require_case_reviewer(actor, case)
    errors = {}
    if not (opinion or "").strip():
        errors["opinion"] = ["请填写审查意见"]
    values, missing = certificate_face_data(case, face_data)
    if missing:
        errors["face_data"] = [f"请填写照面信息：{'、'.join(missing)}"]
    if errors:
        raise ValidationError(errors)
    case.decision_opinion, case.decided_by, case.decided_at = opinion.strip(), actor, timezone.now()
    case.next_alert_on, case.outcome, case.face_data = None, "approved", values
    _transition(case, "approve", actor=actor,
                fields=["decision_opinion", "decided_by", "decided_at", "next_alert_on", "outcome", "face_data"],
                payload={"opinion": case.decision_opinion, "face_data": values})
    _tell_applicant(case, "decided", f"您的办件 {case.number} 已审查通过，正在制证。")
    return case


RECONSIDERATION_RIGHTS = "如不服本决定，可自收到决定之日起六十日内向本级人民政府申请行政复议，或六个月内向人民法院提起行政诉讼。"


@transaction.atomic
def application_reject(*, actor: User, application: Application, opinion: str, legal_basis: str) -> Application:
    """不予许可: opinion and legal basis required; the applicant is told their right to reconsideration."""
    case = _lock(application)
    _require_case_reviewer(actor, case)
    errors = {}
    if not (opinion or "").strip():
        errors["opinion"] = ["请填写审查意见"]
    if not (legal_basis or "").strip():
        errors["legal_basis"] = ["不予许可须写明法律依据"]
    if errors:
        raise ValidationError(errors)
    case.decision_opinion, case.decision_legal_basis = opinion.strip(), legal_basis.strip()
    case.decided_by, case.decided_at, case.next_alert_on, case.outcome = actor, timezone.now(), None, "rejected"
    _transition(case, "reject", actor=actor,
                fields=["decision_opinion", "decision_legal_basis", "decided_by", "decided_at", "next_alert_on", "outcome"],
                payload={"opinion": case.decision_opinion, "legal_basis": case.decision_legal_basis})
    _tell_applicant(case, "decided", f"您的办件 {case.number} 不予许可：{case.decision_opinion}（依据：{case.decision_legal_basis}）。{RECONSIDERATION_RIGHTS}")
    return case


# --- the deadline sweep -------------------------------------------------------------------------

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
    today = today or _local_today()
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


# --- issuance (driven by seals: only the center stamps) and delivery --------------------------------


def application_issuing_start(*, application: Application) -> Application:
    """Mark a decided case 制证中; the caller (seals) holds the transaction and has checked the custodian."""
    case = _lock(application)
    if case.state not in (State.APPROVED, State.REJECTED):
        raise _state_refusal(case, "issue")
    if case.issuing:
        raise Refused("该办件正在制证，请勿重复签发", code="issuing")
    case.issuing = True
    case.save(update_fields=["issuing"])
    return case


def application_issuing_failed(*, application: Application) -> None:
    Application.objects.filter(pk=application.pk).update(issuing=False)


def decision_document(*, application: Application, kind: str) -> Document:
    """The decision letter's frozen snapshot (准予/不予行政许可决定书), to be rendered and sealed."""
    case = application
    return _document(case, kind=kind, context={
        "opinion": case.decision_opinion,
        "legal_basis": case.decision_legal_basis,
        "decided_by": case.decided_by.display_name if case.decided_by_id else "",
        "result_name": case.item_version.result_name,
    })


def application_issue(*, actor: User, application: Application, certificate_identifier: str = "",
                      document_sha256: str = "") -> Application:
    """Sealed and issued: runs inside the seals transaction that stamped the document."""
    case = _lock(application)
    case.issuing, case.issued_at, case.certificate_identifier = False, timezone.now(), certificate_identifier
    if not case.closed_at:  # 办结: the result exists, whichever channel the case came by
        case.closed_at = case.issued_at
    _transition(case, "issue", actor=actor, fields=["issuing", "issued_at", "certificate_identifier", "closed_at"], payload={
        "certificate": certificate_identifier, "document_sha256": document_sha256,
    })
    result = "电子证照已生成，可在「我的证照」下载" if certificate_identifier else "决定书已签发，可在办件详情下载"
    _tell_applicant(case, "issued", f"您的办件 {case.number} 已办结出证：{result}。")
    return case


@transaction.atomic
def application_deliver(*, actor: User, application: Application, method: str, tracking_number: str = "",
                        id_number: str = "") -> Application:
    """送达: pickup at the window checks the holder's ID (and is a visit); mail records the tracking number;
    the applicant downloading the e-certificate is delivery too (zero visits)."""
    case = _lock(application)
    errors = {}
    if method not in DeliveryMethod.values:
        errors["method"] = [f"送达方式应为：{'、'.join(f'{v}（{label}）' for v, label in DeliveryMethod.choices)}"]
    elif method == DeliveryMethod.DOWNLOAD:
        if not (actor.role == Role.APPLICANT and case.applicant_id == actor.pk):
            raise Forbidden("网上下载送达只能由申请人本人完成")
    else:
        _require_role(actor, Role.CLERK)
        if method == DeliveryMethod.MAIL and not (tracking_number or "").strip():
            errors["tracking_number"] = ["邮寄送达须填写快递单号"]
        if method == DeliveryMethod.PICKUP and (id_number or "").strip().upper() != case.applicant_id_number:
            errors["id_number"] = ["领取人证件号码与申请人不符"]
    if errors:
        raise ValidationError(errors)
    case.delivery_method, case.tracking_number, case.delivered_at = method, (tracking_number or "").strip(), timezone.now()
    fields = ["delivery_method", "tracking_number", "delivered_at"]
    if method == DeliveryMethod.PICKUP:
        case.visits += 1
        fields.append("visits")
        if case.issued_at:  # one- and zero-visit shares count by the day of issue
            statistics_day_invalidate(day=timezone.localdate(case.issued_at))
    return _transition(case, "deliver", actor=actor, fields=fields, payload={"method": method, "tracking_number": case.tracking_number})


# =====================================================================================================
# Service quality and the hall (DESIGN §6): 好差评 and rectification, the queue, appointments.
# One appended section; its imports are here so the section reads (and moves) as one piece.
# =====================================================================================================

from datetime import datetime, time

from django.db import IntegrityError
from django.db.models import F
from django.http import Http404

from applications.models import (
    POOR_SCORES,
    Appointment,
    AppointmentSlot,
    AppointmentStatus,
    Rating,
    RatingChannel,
    Rectification,
    RectificationState,
    Score,
    Ticket,
)
from portal.models import Hall

ACTION_LABELS["rate"] = "好差评"

# 好差评 rules: a 差评 is answered (整改) within 10 working days (国办发〔2019〕51号: 整改反馈).
RECTIFICATION_WORKING_DAYS = 10
RATED_STATES = (State.ISSUED, State.DELIVERED)
RECTIFICATION_LABELS = {
    "start": "开始整改",
    "complete": "整改完成",
    "declare_impossible": "无法整改",
    "invalidate": "判定无效评价",
}


def _supervisors() -> list[User]:
    return list(User.objects.filter(role=Role.SUPERVISOR, is_active=True))


def _heads(department_id: int) -> list[User]:
    return list(User.objects.filter(department_id=department_id, role=Role.HEAD, is_active=True))


@transaction.atomic
def application_rate(*, actor: User, application: Application, score, comment: str = "",
                     channel: str = RatingChannel.PC) -> Rating:
    """好差评: the applicant rates their own case once, after the result was issued. A 4 or 5 (差评)
    needs a comment and opens a rectification for the department, due in 10 working days."""
    case = _lock(application)
    if not (actor.role == Role.APPLICANT and case.applicant_id == actor.pk):
        raise Forbidden("只有申请人本人可以评价")
    if case.state not in RATED_STATES:
        raise InvalidTransition(f"办件当前状态为「{case.get_state_display()}」，办结出证后才能评价")
    if Rating.objects.filter(application=case).exists():
        raise Refused("该办件已评价，每件只能评价一次", code="already_rated")
    comment = (comment or "").strip()
    errors = {}
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
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                application=case, department_id=case.department_id, hall_id=case.hall_id, score=score,
                comment=comment, channel=channel, rated_by=actor, rated_at=now,
            )
    except IntegrityError as error:  # the case lock makes this unreachable; the constraint is the backstop
        raise Refused("该办件已评价，每件只能评价一次", code="already_rated") from error
    audit_record(
        actor=actor, action="application_rate", object_type="application", object_id=case.number,
        from_state=case.state, to_state=case.state,
        payload={"score": score, "channel": channel, "comment": comment},
    )
    if score in POOR_SCORES:
        _rectification_open(case=case, rating=rating, actor=actor)
    return rating


def _rectification_open(*, case: Application, rating: Rating, actor: User) -> Rectification:
    calendar = WorkCalendar.load()
    opened_at = rating.rated_at
    due = calendar.add_working_days(timezone.localdate(opened_at), RECTIFICATION_WORKING_DAYS)
    rectification = Rectification.objects.create(
        rating=rating, application=case, department_id=case.department_id, opened_at=opened_at,
        due_date=due.date, due_date_provisional=due.provisional,
    )
    audit_record(
        actor=actor, action="rectification_open", object_type="rectification", object_id=rectification.pk,
        to_state=rectification.state,
        payload={"application": case.number, "score": rating.score, "due_date": due.date.isoformat()},
    )
    notify(
        users=_heads(case.department_id), kind="rectification_opened", application=case.number,
        message=f"办件 {case.number}（{case.item_version.name}）收到「{rating.get_score_display()}」评价：{rating.comment}。"
                f"请于 {due.date:%Y年%m月%d日} 前完成整改并反馈。",
    )
    return rectification


def visible_rectifications(*, user: User):
    """Heads see their department's rectifications, supervisors all; nobody else any."""
    rows = Rectification.objects.select_related("rating", "application", "department")
    if not user.is_authenticated:
        return rows.none()
    if user.role == Role.SUPERVISOR:
        return rows
    if user.role == Role.HEAD:
        return rows.filter(department_id=user.department_id)
    return rows.none()


def access_rectification(*, user: User, pk) -> Rectification:
    """Like permissions.access_application: what the user may not see is a 404."""
    try:
        return visible_rectifications(user=user).get(pk=int(pk))
    except (Rectification.DoesNotExist, TypeError, ValueError) as error:
        raise Http404("整改记录不存在") from error


def _rectification_transition(rectification: Rectification, method: str, *, actor: User, fields=(), payload=None):
    transition = getattr(rectification, method)
    if not can_proceed(transition):
        raise InvalidTransition(
            f"整改当前状态为「{rectification.get_state_display()}」，不能{RECTIFICATION_LABELS[method]}"
        )
    from_state = rectification.state
    transition()
    try:
        rectification.save(update_fields=["state", *fields])
    except ConcurrentTransition as error:
        raise Refused("该整改刚被他人处理，请刷新后重试", code="conflict") from error
    audit_record(
        actor=actor, action=f"rectification_{method}", object_type="rectification", object_id=rectification.pk,
        from_state=from_state, to_state=rectification.state,
        payload={"application": rectification.application.number, **(payload or {})},
    )
    return rectification


def _lock_rectification(rectification: Rectification) -> Rectification:
    return (
        Rectification.objects.select_for_update(of=("self",)).select_related("application", "rating")
        .get(pk=rectification.pk)
    )


def _require_head_of(actor: User, rectification: Rectification) -> None:
    if not (actor.role == Role.HEAD and actor.department_id == rectification.department_id):
        raise Forbidden("只有被评价部门的负责人可以办理整改")


def _required_note(note: str, field: str = "note", message: str = "请填写整改说明", max_length: int | None = None) -> str:
    note = (note or "").strip()
    if not note:
        raise ValidationError({field: [message]})
    if max_length is not None and len(note) > max_length:
        raise ValidationError({field: [f"不能超过 {max_length} 个字符"]})
    return note


@transaction.atomic
def rectification_start(*, actor: User, rectification: Rectification, note: str = "") -> Rectification:
    """待整改 → 整改中, by the head of the rated department."""
    rectification = _lock_rectification(rectification)
    _require_head_of(actor, rectification)
    rectification.started_at, rectification.handled_by = timezone.now(), actor
    rectification.note = (note or "").strip()
    return _rectification_transition(rectification, "start", actor=actor, fields=["started_at", "handled_by", "note"],
                                     payload={"note": rectification.note})


def _rectification_close(actor: User, rectification: Rectification, method: str, note: str, told: str) -> Rectification:
    rectification = _lock_rectification(rectification)
    _require_head_of(actor, rectification)
    note = _required_note(note, message="请写明整改措施或无法整改的原因")
    rectification.note, rectification.closed_at, rectification.handled_by = note, timezone.now(), actor
    _rectification_transition(rectification, method, actor=actor, fields=["note", "closed_at", "handled_by"],
                              payload={"note": note})
    case = rectification.application
    _tell_applicant(case, "rectification_closed", f"您对办件 {case.number} 的评价已处理（{told}）：{note}")
    return rectification


@transaction.atomic
def rectification_complete(*, actor: User, rectification: Rectification, note: str) -> Rectification:
    """整改中 → 已整改, with what was done; the rater is told (整改反馈)."""
    return _rectification_close(actor, rectification, "complete", note, "已整改")


@transaction.atomic
def rectification_declare_impossible(*, actor: User, rectification: Rectification, note: str) -> Rectification:
    """整改中 → 无法整改, with why (e.g. the law does not allow what was asked)."""
    return _rectification_close(actor, rectification, "declare_impossible", note, "无法整改")


@transaction.atomic
def rectification_invalidate(*, actor: User, rectification: Rectification, reason: str) -> Rectification:
    """A supervisor judges an open 差评 invalid (恶意差评, or not about this service): closed, and the rating
    leaves the satisfaction rate."""
    if actor.role != Role.SUPERVISOR:
        raise Forbidden("只有监察人员可以判定无效评价")
    rectification = _lock_rectification(rectification)
    reason = _required_note(reason, field="reason", message="请写明判定无效评价的理由",
                            max_length=Rectification._meta.get_field("invalid_reason").max_length)
    rectification.invalid_reason, rectification.judged_by, rectification.closed_at = reason, actor, timezone.now()
    _rectification_transition(rectification, "invalidate", actor=actor,
                              fields=["invalid_reason", "judged_by", "closed_at"], payload={"reason": reason})
    Rating.objects.filter(pk=rectification.rating_id).update(invalid=True)
    statistics_day_invalidate(day=timezone.localdate(rectification.rating.rated_at))
    case = rectification.application
    _tell_applicant(case, "rectification_closed", f"您对办件 {case.number} 的评价经核实判定为无效评价：{reason}")
    return rectification


def rectification_overdue_sweep(*, today: date | None = None, batch: int = 500) -> int:
    """Flag open rectifications past their due date, once, and tell the head and the supervisors.

    Idempotent and safe when two run at once: a flagged row no longer matches, a locked one is skipped.
    """
    today = today or _local_today()
    flagged = 0
    supervisors = _supervisors()
    while True:
        with transaction.atomic():
            rows = list(
                Rectification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("application", "application__item_version")
                .filter(state__in=[RectificationState.PENDING, RectificationState.IN_PROGRESS], overdue=False,
                        due_date__lt=today)
                .order_by("due_date", "pk")[:batch]
            )
            if not rows:
                return flagged
            now = timezone.now()
            for row in rows:
                row.overdue, row.flagged_at = True, now
                row.save(update_fields=["overdue", "flagged_at"])
                audit_record(
                    action="rectification_overdue", object_type="rectification", object_id=row.pk,
                    from_state=row.state, to_state=row.state,
                    payload={"application": row.application.number, "due_date": row.due_date.isoformat()},
                )
                notify(
                    users=_heads(row.department_id) + supervisors, kind="rectification_overdue",
                    application=row.application.number,
                    message=f"办件 {row.application.number}（{row.application.item_version.name}）的差评整改已超期"
                            f"（应于 {row.due_date:%Y年%m月%d日} 前完成），当前状态：{row.get_state_display()}。",
                )
                flagged += 1


# --- the hall queue (排队叫号) ----------------------------------------------------------------------

TICKET_PREFIX = "A"


def hall_get(*, code: str) -> Hall:
    hall = Hall.objects.filter(code=code).first()
    if hall is None:
        raise Http404("大厅不存在")
    return hall


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
    return _ticket_allocate(hall=hall, day=_local_today(), item=item, taken_by=actor)


def _require_hall_clerk(actor: User, hall: Hall) -> None:
    if not (actor.role == Role.CLERK and actor.hall_id == hall.pk):
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
        .filter(hall=hall, day=_local_today(), called_at__isnull=True)
        .order_by("sequence").first()
    )
    if ticket is None:
        raise Refused("当前没有等候的号码", code="queue_empty")
    ticket.called_at, ticket.window, ticket.called_by = timezone.now(), window, actor
    ticket.wait_seconds = max(int((ticket.called_at - ticket.issued_at).total_seconds()), 0)
    ticket.save(update_fields=["called_at", "window", "called_by", "wait_seconds"])
    return ticket


# --- appointments (预约) ---------------------------------------------------------------------------


@transaction.atomic
def appointment_book(*, actor: User, hall: Hall, slot_id, item_code: str) -> Appointment:
    """Book one place. Two people taking the last place at once: the slot row lock orders them, the
    second sees `booked == capacity` and gets 409 slot_full (the check constraint backs this up)."""
    _require_role(actor, Role.APPLICANT)
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


def access_appointment(*, user: User, pk) -> Appointment:
    """The applicant's own bookings, and a clerk's hall's; anything else is a 404."""
    rows = Appointment.objects.select_related("slot", "slot__hall", "item", "ticket")
    if user.is_authenticated and user.role == Role.APPLICANT:
        rows = rows.filter(user=user)
    elif user.is_authenticated and user.role == Role.CLERK:
        rows = rows.filter(slot__hall_id=user.hall_id)
    else:
        rows = rows.none()
    try:
        return rows.get(pk=int(pk))
    except (Appointment.DoesNotExist, TypeError, ValueError) as error:
        raise Http404("预约不存在") from error


def _lock_appointment(appointment: Appointment) -> tuple[Appointment, AppointmentSlot]:
    # The slot first, then the booking: the same order as booking, so the two never deadlock.
    slot = AppointmentSlot.objects.select_for_update().get(pk=appointment.slot_id)
    appointment = Appointment.objects.select_for_update(of=("self",)).select_related("item").get(pk=appointment.pk)
    return appointment, slot


@transaction.atomic
def appointment_cancel(*, actor: User, appointment: Appointment) -> Appointment:
    """The applicant cancels before the slot starts; the place is free again."""
    appointment, slot = _lock_appointment(appointment)
    if not (actor.role == Role.APPLICANT and appointment.user_id == actor.pk):
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
    if not (actor.role == Role.CLERK and actor.hall_id == slot.hall_id):
        raise Forbidden("只有预约大厅的窗口人员可以办理签到")
    if appointment.status != AppointmentStatus.BOOKED:
        raise InvalidTransition(f"预约当前状态为「{appointment.get_status_display()}」，不能签到取号")
    today = _local_today()
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


# =====================================================================================================
# Statistics rolled up per day (DESIGN §6, §12; docs/decisions/030-statistics-rollup.md): a finished day's
# counts are stored once, so a period's figures are a sum over days, not a scan of every case.
# =====================================================================================================

from django.db.models import Min, Q

from applications import statistics
from applications.models import DayStat, StatDay, TicketDayStat


def statistics_day_invalidate(*, day: date) -> None:
    """A change that lands on a past day's figures (a deemed acceptance, a rating judged invalid, a pickup
    adding a visit to a case issued earlier, a hall given to a case submitted earlier): that day is counted
    from the records again until the next rollup rebuilds it.

    Through the day's StatDay row lock, as the rollup takes it: a rollup running now finishes first and its
    row is then deleted. A day that is not rolled up needs nothing (one indexed read, no lock: the clerks
    accepting yesterday's online cases do not queue on it)."""
    if day >= _local_today():
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
    if until is None and day >= _local_today():
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
    return len(rows) + len(tickets)


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
    today = today or _local_today()
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
