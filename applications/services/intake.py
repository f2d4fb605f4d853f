"""Intake (DESIGN §5): the draft and its materials, submission, the one-time notice, acceptance by any window,
referral to the department (the window has no veto), withdrawal."""


from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from applications.documents import DocumentKind
from applications.models import Application, Channel, Deficiency, Material, Notice, Referral, ReferralOutcome, State
from applications.permissions import check_actor
from applications.selectors import MaterialStatus, case_requirements, material_status, noticed_requirement_ids
from applications.services.case import (
    CLOCK_FIELDS,
    document_create,
    local_today,
    lock_case,
    materials_snapshot,
    next_number,
    receipt_create,
    refuse_bundle_child,
    refuse_incomplete,
    require_role,
    start_clock,
    state_refusal,
    tell_applicant,
    transition,
)
from applications.services.deferral import deferral_close_if_complete, deferral_open
from applications.services.lifecycle import held_certificate_check
from applications.services.rollup import statistics_day_invalidate
from applications.uploads import inspect_upload, stored_upload
from items.models import Audience, Item, MaterialRequirement
from organisations.models import Organisation, OrganisationKind
from organisations.selectors import may_act_for
from portal.audit import audit_record, department_chain
from portal.errors import InvalidTransition, Refused
from portal.identity import IdType
from portal.models import Role, User
from portal.services import user_for_identity
from portal.workdays import WorkCalendar


@transaction.atomic
def application_create(*, actor: User, item_code: str, form_data: dict | None = None, applicant: dict | None = None,
                       contact_phone: str = "", contact_address: str = "", organisation: str = "",
                       principal: dict | None = None, certificate: str = "") -> Application:
    """A citizen's online draft, or a clerk's registration of a walk-in (real name + validated ID).

    DESIGN §13: `organisation` (a credit code) files it as that organisation, by its legal representative or
    an agent; `principal` (name, id_type, id_number) files it for another natural person (代办), adding the
    授权委托书 to the materials. The item's audience must include whoever the applicant then is.

    DESIGN §14: a renew/change/replace/cancel item names the held `certificate` (its identifier), checked by
    services.lifecycle.held_certificate_check; an issue item takes none."""
    require_role(actor, Role.APPLICANT, Role.CLERK)
    item = Item.objects.select_related("current_version", "current_version__department").filter(code=item_code).first()
    if item is None or item.current_version is None:
        raise ValidationError({"item": [f"事项 {item_code} 不存在或尚未发布"]})
    version = item.current_version
    if organisation and principal:
        raise ValidationError({"principal": ["以单位身份申请时不能同时填写委托人"]})
    if actor.role == Role.APPLICANT:
        if not version.online:
            raise ValidationError({"item": ["该事项暂不支持网上办理，请到窗口申请"]})
        if not actor.id_number:
            raise ValidationError({"applicant": ["请先完成实名认证（姓名与证件号码）后再申请"]})
        person, channel, hall, prefix = actor, Channel.ONLINE, None, "NET"
    else:
        if not applicant:
            raise ValidationError({"applicant": ["窗口登记须填写申请人姓名、证件类型和证件号码"]})
        person = _identity(applicant, field="applicant", label="申请人")
        if person.pk == actor.pk:
            # A clerk never registers a case of their own: another window takes it (separation of duties).
            raise ValidationError({"applicant": ["证件号码：不能以窗口人员本人的证件号码登记办件，请由其他窗口人员受理"]})
        channel, hall, prefix = Channel.WINDOW, actor.hall, actor.hall.code
    party = _organisation_party(organisation, person=person) if organisation else None
    represented = _principal(principal, agent=person) if principal else None
    _refuse_audience(version, organisation=party)
    if party is not None:
        name, id_type, id_number = party.name, IdType.CREDIT_CODE, party.credit_code
    else:
        holder = represented or person
        name, id_type, id_number = holder.real_name or holder.username, holder.id_type, holder.id_number
    held = held_certificate_check(version=version, certificate=certificate, holder_id_type=id_type,
                                  holder_id_number=id_number, today=local_today())
    case = Application.objects.create(
        number=next_number(prefix=prefix, day=local_today()),
        item_version=version,
        department=version.department,
        hall=hall,
        channel=channel,
        applicant=person,
        organisation=party,
        principal=represented,
        applicant_name=name,
        applicant_id_type=id_type,
        applicant_id_number=id_number,
        contact_phone=contact_phone or person.phone,
        contact_address=contact_address or person.address,
        form_data=form_data or {},
        created_by=actor,
        held_certificate=held,
    )
    audit_record(
        chain=department_chain(case.department_id),
        actor=actor, action="application_create", object_type="application", object_id=case.number,
        to_state=case.state, payload={
            "item": item.code, "version": version.number, "channel": channel,
            **({"organisation": party.credit_code, "agent": person.pk} if party else {}),
            **({"principal": represented.pk, "agent": person.pk} if represented else {}),
            **({"held_certificate": held.identifier} if held else {}),
        },
    )
    return case


def _identity(data: dict, *, field: str, label: str) -> User:
    """The person row of a name and ID (created for someone not yet known), errors on `field`."""
    try:
        return user_for_identity(
            name=str(data.get("name", "")), id_type=str(data.get("id_type", IdType.RESIDENT_ID)),
            id_number=str(data.get("id_number", "")),
        )
    except ValidationError as error:
        labels = {"name": f"{label}姓名", "id_number": "证件号码", "id_type": "证件类型"}
        raise ValidationError({field: [
            f"{labels.get(key, key)}：{message}" for key, messages in error.message_dict.items() for message in messages
        ]}) from error


def _organisation_party(credit_code: str, *, person: User) -> Organisation:
    """The organisation the person files for: they must be its legal representative or a current agent."""
    organisation = Organisation.objects.filter(credit_code=str(credit_code).strip().upper()).first()
    if organisation is None:
        raise ValidationError({"organisation": ["该统一社会信用代码的单位尚未登记：网上由法定代表人登记，或到窗口登记"]})
    if not may_act_for(user=person, organisation=organisation):
        raise ValidationError({"organisation": [
            f"{person.display_name}不是「{organisation.name}」的法定代表人或经办人，不能以该单位名义申请"
        ]})
    return organisation


def _principal(data, *, agent: User) -> User:
    """代办: the natural person the case is filed for, validated like any applicant; never the agent."""
    if not isinstance(data, dict):
        raise ValidationError({"principal": ["委托人应包括姓名、证件类型和证件号码"]})
    if str(data.get("id_type", IdType.RESIDENT_ID)) != IdType.RESIDENT_ID:
        raise ValidationError({"principal": ["证件类型：委托人须为持居民身份证的自然人"]})
    represented = _identity(data, field="principal", label="委托人")
    if represented.pk == agent.pk:
        raise ValidationError({"principal": ["委托人不能是申请人本人；本人办理无需填写委托人"]})
    if represented.role != Role.APPLICANT:
        raise ValidationError({"principal": ["证件号码：该证件号码属于工作人员账户，不能作为委托人"]})
    return represented


def _refuse_audience(version, *, organisation: Organisation | None) -> None:
    """事项的服务对象 decides who may apply: a natural person, or organisations of the listed kinds."""
    if not version.audience:
        return
    kind = organisation.kind if organisation else Audience.NATURAL_PERSON
    if kind in version.audience:
        return
    allowed = "、".join(version.audience_labels)
    who = OrganisationKind(kind).label if organisation else "自然人（个人）"
    if organisation is None:
        raise ValidationError({"item": [f"「{version.name}」的服务对象为{allowed}，{who}不能申请；请以单位身份申请"]})
    raise ValidationError({"organisation": [f"「{version.name}」的服务对象为{allowed}，{who}「{organisation.name}」不能申请"]})


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
    require_role(actor, Role.APPLICANT, Role.CLERK)
    case = lock_case(application)
    try:
        requirement = next(r for r in case_requirements(case) if r.pk == int(requirement_id))
    except (StopIteration, TypeError, ValueError) as error:
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
            chain=department_chain(case.department_id),
            actor=actor, action="material_upload", object_type="application", object_id=case.number,
            payload={"requirement": requirement.pk, "version": version, "sha256": inspected.sha256, "size": inspected.size},
        )
        deferral_close_if_complete(case, actor=actor)
    return material


def material_read_record(*, actor: User, application: Application, material: Material) -> None:
    """全程留痕: who opened which applicant file, and when."""
    with transaction.atomic():
        audit_record(
            chain=department_chain(application.department_id),
            actor=actor, action="material_read", object_type="application", object_id=application.number,
            payload={"material": material.pk, "requirement": material.requirement_id, "version": material.version},
        )


@transaction.atomic
def application_submit(*, actor: User, application: Application, as_part_of: Application | None = None) -> Application:
    case = lock_case(application)
    check_actor(actor, case, "submit")
    refuse_bundle_child(case, as_part_of)
    if case.state == State.DRAFT:
        refuse_incomplete(case, "提交")
    case.submitted_at = timezone.now()
    transition(case, "submit", actor=actor, fields=["submitted_at"])
    receipt_create(case, clerk=None)  # 材料接收凭证: what was handed in online, and when
    return case


def validated_deficiencies(case: Application, deficiencies: list[dict]) -> list[tuple[MaterialRequirement, str]]:
    """Each deficiency tied to a requirement of the pinned version, with a reason; and the one-time rule:
    once a first notice exists, a later one may name only what the first named."""
    requirements = {requirement.pk: requirement for requirement in case_requirements(case)}
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


def _walk_in_registered(case: Application) -> bool:
    """The window's first intake action on a walk-in's draft (accept, one-time notice or referral, whichever
    comes first) registers what the applicant handed in (DESIGN §14): the case counts as submitted from now,
    and the caller gives a 材料接收凭证 after the transition. False for a case already submitted. (A citizen's
    online draft never gets here: the transitions refuse it, models.case.handed_in.)"""
    if case.state != State.DRAFT:
        return False
    case.submitted_at = timezone.now()
    return True


@transaction.atomic
def application_request_materials(*, actor: User, application: Application, deficiencies: list[dict],
                                  as_part_of: Application | None = None) -> Notice:
    """一次性告知: every deficiency at once, each tied to a requirement with a reason. A later notice may
    name only requirements the first one named — the "second surprise" is what the rule forbids."""
    case = lock_case(application)
    check_actor(actor, case, "request_materials")
    refuse_bundle_child(case, as_part_of)
    if not can_proceed(case.request_materials):
        raise state_refusal(case, "request_materials")
    rows = validated_deficiencies(case, deficiencies)
    notice = Notice.objects.create(application=case, sequence=case.notices.count() + 1, issued_by=actor)
    Deficiency.objects.bulk_create(Deficiency(notice=notice, requirement=r, reason=reason) for r, reason in rows)
    payload = {"notice": notice.sequence, **({"parent": as_part_of.number} if as_part_of else {})}
    walk_in = _walk_in_registered(case)
    fields = ["submitted_at", "visits"] if walk_in else []
    if walk_in:
        case.visits += 1  # the applicant stood at the window and goes home with the notice: one visit
    transition(case, "request_materials", actor=actor, fields=fields, payload={
        **payload, "deficiencies": [{"requirement": r.pk, "name": r.name, "reason": reason} for r, reason in rows],
    })
    if walk_in:
        receipt_create(case, clerk=actor)
    if as_part_of is not None:
        return notice  # the bundle writes one combined notice and tells the applicant once
    document_create(case, kind=DocumentKind.MATERIALS_NOTICE, context={
        "notice_sequence": notice.sequence,
        "clerk_name": actor.display_name,
        "deficiencies": [{"requirement": r.name, "reason": reason} for r, reason in rows],
        "deadline_note": "请按本通知一次性补齐上述材料后重新提交；补正期间不计入办理时限。",
    })
    tell_applicant(case, "materials_notice", f"您的申请 {case.number} 需补正材料：" + "；".join(f"{r.name}（{reason}）" for r, reason in rows))
    return notice


@transaction.atomic
def application_resubmit(*, actor: User, application: Application, as_part_of: Application | None = None) -> Application:
    case = lock_case(application)
    check_actor(actor, case, "resubmit")
    refuse_bundle_child(case, as_part_of)
    notice = case.notices.order_by("-sequence").first()
    if case.state == State.PENDING_MATERIALS and notice is not None:
        named = list(notice.deficiencies.select_related("requirement"))
        supplied = set(case.materials.filter(uploaded_at__gte=notice.issued_at).values_list("requirement_id", flat=True))
        unsupplied = [d.requirement.name for d in named if d.requirement_id not in supplied]
        if unsupplied:
            raise Refused("尚未补正：" + "、".join(unsupplied), code="materials_incomplete")
        notice.resolved_at = timezone.now()
        notice.save(update_fields=["resolved_at"])
    transition(case, "resubmit", actor=actor)
    receipt_create(case, clerk=actor if actor.role == Role.CLERK else None)  # what the correction handed in
    return case


@transaction.atomic
def application_accept(*, actor: User, application: Application, as_part_of: Application | None = None) -> Application:
    """受理: materials complete; the clock starts the day after; a 受理通知书 with the due date."""
    case = lock_case(application)
    check_actor(actor, case, "accept")
    refuse_bundle_child(case, as_part_of)
    if not can_proceed(case.accept):
        raise state_refusal(case, "accept")
    materials = material_status(case)  # read once: for the check and for the notice's material list
    refuse_incomplete(case, "受理", status=materials)
    walk_in = case.state == State.DRAFT  # accepted straight from a walk-in's draft: handed in now
    calendar = WorkCalendar.load()
    start_clock(case, accepted_at=timezone.now(), calendar=calendar)
    case.accepted_by = actor
    fields = ["accepted_at", "accepted_by", *CLOCK_FIELDS]
    # 容缺受理: what is deferred is due deferral_days working days from today (DESIGN §14).
    fields += deferral_open(case, start=timezone.localdate(case.accepted_at), calendar=calendar, status=materials)
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
    transition(case, "accept", actor=actor, fields=fields, payload={
        "due_date": case.due_date.isoformat(), "provisional": case.due_date_provisional,
        **({"deferral_due": case.deferral_due.isoformat()} if case.deferral_due else {}),
    })
    if walk_in:
        receipt_create(case, clerk=actor)
    document_create(case, kind=DocumentKind.ACCEPTANCE_NOTICE, context=acceptance_context(case, clerk=actor, status=materials))
    tell_applicant(case, "accepted", f"您的申请「{case.item_version.name}」已受理（办件编号 {case.number}），承诺办结日期 {case.due_date:%Y年%m月%d日}。")
    return case


def acceptance_context(case: Application, *, clerk: User | None, status: MaterialStatus | None = None) -> dict:
    return {
        "clerk_name": clerk.display_name if clerk else "",
        "submitted_on": timezone.localdate(case.submitted_at).isoformat(),
        "accepted_on": timezone.localdate(case.accepted_at).isoformat(),
        "promised_days": case.item_version.promised_days,
        "due_date": case.due_date.isoformat(),
        "due_date_provisional": case.due_date_provisional,
        "materials": materials_snapshot(case, status=status),
        # 容缺: the day the materials marked 容缺后补 are due (absent from notices made before DESIGN §14).
        "deferral_due": case.deferral_due.isoformat() if case.deferral_due else "",
        "visits_note": "本事项承诺最多跑动 {} 次；办理结果可选择邮寄送达或网上下载电子证照。".format(case.item_version.max_visits),
    }


@transaction.atomic
def application_refer(*, actor: User, application: Application, reason: str) -> Referral:
    """The window has no veto (窗口无否决权): a doubt goes to the department, never a refusal."""
    check_actor(actor, application, "refer")
    if not (reason or "").strip():
        raise ValidationError({"reason": ["请写明转部门研判的原因"]})
    case = lock_case(application)
    refuse_bundle_child(case, None)  # the window takes a bundle as one case: no child is referred alone
    if not can_proceed(case.refer):
        raise state_refusal(case, "refer")
    walk_in = _walk_in_registered(case)
    transition(case, "refer", actor=actor, fields=["submitted_at"] if walk_in else [], payload={"reason": reason.strip()})
    if walk_in:
        receipt_create(case, clerk=actor)
    return Referral.objects.create(application=case, reason=reason.strip(), referred_by=actor)


def _open_referral(case: Application) -> Referral:
    return case.referrals.filter(answered_at__isnull=True).order_by("-referred_at").first()


@transaction.atomic
def application_return(*, actor: User, application: Application, reason: str = "") -> Application:
    case = lock_case(application)
    check_actor(actor, case, "return_to_window")
    transition(case, "return_to_window", actor=actor, payload={"reason": reason})
    referral = _open_referral(case)
    if referral is not None:
        referral.outcome, referral.answer, referral.answered_by, referral.answered_at = ReferralOutcome.RETURNED, reason, actor, timezone.now()
        referral.save(update_fields=["outcome", "answer", "answered_by", "answered_at"])
    return case


@transaction.atomic
def application_decline(*, actor: User, application: Application, reason: str, legal_basis: str) -> Application:
    """不予受理 is the department's decision, with reason and legal basis, and a 不予受理通知书."""
    case = lock_case(application)
    check_actor(actor, case, "decline")
    errors = {}
    if not (reason or "").strip():
        errors["reason"] = ["请写明不予受理的理由"]
    if not (legal_basis or "").strip():
        errors["legal_basis"] = ["请写明法律依据"]
    if errors:
        raise ValidationError(errors)
    case.closed_at = timezone.now()
    transition(case, "decline", actor=actor, fields=["closed_at"], payload={"reason": reason, "legal_basis": legal_basis})
    referral = _open_referral(case)
    if referral is not None:
        referral.outcome, referral.answer, referral.legal_basis = ReferralOutcome.DECLINED, reason, legal_basis
        referral.answered_by, referral.answered_at = actor, case.closed_at
        referral.save(update_fields=["outcome", "answer", "legal_basis", "answered_by", "answered_at"])
    document_create(case, kind=DocumentKind.REFUSAL_NOTICE, context={
        "reason": reason, "legal_basis": legal_basis, "decided_by": actor.display_name,
    })
    tell_applicant(case, "not_accepted", f"您的申请 {case.number} 不予受理：{reason}。您可依法申请行政复议或提起行政诉讼。")
    return case


@transaction.atomic
def application_withdraw(*, actor: User, application: Application, as_part_of: Application | None = None) -> Application:
    case = lock_case(application)
    check_actor(actor, case, "withdraw")
    refuse_bundle_child(case, as_part_of)
    case.closed_at = timezone.now()
    return transition(case, "withdraw", actor=actor, fields=["closed_at"])


# 帮办 is recorded while intake is still open: afterwards nobody at the window is helping with it any more.
ASSISTABLE = {State.DRAFT, State.SUBMITTED, State.PENDING_MATERIALS}


@transaction.atomic
def application_assist(*, actor: User, application: Application) -> Application:
    """帮办: the hall staff member who helped the applicant fill in and submit (at a self-service terminal or
    the help desk) is recorded on the case, once; it changes no state and gives no right to accept it."""
    require_role(actor, Role.CLERK)
    case = lock_case(application)
    if case.assisted_by_id:
        raise Refused(f"该办件已登记帮办人员：{case.assisted_by.display_name}", code="already_assisted")
    if case.state not in ASSISTABLE:
        raise InvalidTransition("办件已受理或已办结，不能再登记帮办")
    case.assisted_by = actor
    case.save(update_fields=["assisted_by"])
    audit_record(chain=department_chain(case.department_id), actor=actor, action="application_assist", object_type="application", object_id=case.number,
                 payload={"hall": actor.hall.code if actor.hall_id else ""})
    return case
