"""一件事一次办 (DESIGN §4 "Bundles"; docs/decisions/020-bundles.md): one parent case per bundle
application and one child case per member item, each pinned to its item's current version and routed to
its own department.

The parent never moves through the review graph: it stays `draft` as a container (so no timer, queue, work
list or statistic ever counts it) until every child is withdrawn, and what it *shows* is computed from the
children (`combined_state`, the latest `due_date`: reads, kept in selectors, which the public query shares).
Every bundle action runs the existing single-case services on each child inside one transaction, under the
parent's row lock: all children or none.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from applications.documents import DocumentKind
from applications.models import FINISHED, WITHDRAWABLE, Application, Deficiency, DeliveryMethod, Material, Notice, State
from applications.permissions import check_actor
from applications.selectors import CombinedState, combined_state, noticed_requirement_ids, parent_bundle_name
from applications.services.case import document_create, require_role, tell_applicant
from applications.services.intake import (
    application_accept,
    application_create,
    application_request_materials,
    application_resubmit,
    application_submit,
    application_withdraw,
    upload_refusal,
    validated_deficiencies,
)
from applications.services.issuance import application_deliver, mail_address_refusal, tell_delivered
from applications.uploads import inspect_upload, stored_upload
from items.models import Bundle, BundleMaterial
from items.selectors import bundle_get_published
from portal.audit import audit_record, department_chain
from portal.errors import InvalidTransition, Refused
from portal.models import Role, User


def _form_for(bundle: Bundle, item_code: str, form_data: dict) -> dict:
    return {
        field.label: form_data.get(field.name, "")
        for field in bundle.fields.all()
        if not field.items or item_code in field.items
    }


@transaction.atomic
def bundle_application_create(*, actor: User, bundle_code: str, form_data: dict | None = None,
                              applicant: dict | None = None, contact_phone: str = "",
                              contact_address: str = "", organisation: str = "") -> Application:
    """One parent and one child per member item: one form, routed to every member's department. The
    contact (empty: the applicant's profile) is the same on the parent and every child, and so is the
    applicant: a person, or the organisation (`organisation`, a credit code) an agent files for."""
    try:
        bundle = bundle_get_published(code=bundle_code)
    except Http404 as error:
        raise ValidationError({"bundle": [f"一件事 {bundle_code} 不存在或尚未发布"]}) from error
    form_data = {key: (str(value).strip() if value is not None else "") for key, value in (form_data or {}).items()}
    missing = [field.label for field in bundle.fields.all() if field.required and not form_data.get(field.name)]
    if missing:
        raise ValidationError({"form_data": [f"请填写：{'、'.join(missing)}"]})
    members = [member.item for member in bundle.members.all()]
    # The parent pins the lead (first) item's version: a case row needs one; nothing is reviewed on it.
    parent = application_create(actor=actor, item_code=members[0].code, form_data=form_data, applicant=applicant,
                                contact_phone=contact_phone, contact_address=contact_address, organisation=organisation)
    Application.objects.filter(pk=parent.pk).update(bundle_code=bundle.code)
    for item in members:
        child = application_create(
            actor=actor, item_code=item.code, form_data=_form_for(bundle, item.code, form_data), applicant=applicant,
            contact_phone=parent.contact_phone, contact_address=parent.contact_address, organisation=organisation,
        )
        Application.objects.filter(pk=child.pk).update(parent=parent, bundle_code=bundle.code)
    parent.refresh_from_db()
    audit_record(chain=department_chain(parent.department_id), actor=actor, action="bundle_create", object_type="application", object_id=parent.number,
                 payload={"bundle": bundle.code, "children": list(parent.children.values_list("number", flat=True))})
    return parent


def _lock_bundle(parent: Application) -> tuple[Application, list[Application]]:
    """The parent's row lock serialises every bundle action; the children are locked in a fixed order."""
    parent = Application.objects.select_for_update().get(pk=parent.pk)
    if not parent.is_bundle_parent:
        raise Refused("该办件不是一件事主办件", code="not_bundle")
    children = list(Application.objects.select_for_update().filter(parent=parent).order_by("pk"))
    return parent, children


def _for_child(child: Application, error: Exception) -> Exception:
    """A child's refusal, named by its item so the applicant or clerk knows which one."""
    name = child.item_version.name
    if isinstance(error, ValidationError):
        messages = error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
        return ValidationError({key: [f"{name}：{m}" for m in values] for key, values in messages.items()})
    if isinstance(error, Refused):
        return type(error)(f"{name}：{error.detail}", code=error.code)
    return error


@transaction.atomic
def bundle_material_upload(*, actor: User, application: Application, material_id, upload) -> list[Material]:
    """One upload of a shared material becomes a Material on every child whose requirement it maps to:
    one stored file, one row per child, so each child's checklist counts it as present."""
    require_role(actor, Role.APPLICANT, Role.CLERK)
    parent, children = _lock_bundle(application)
    material = BundleMaterial.objects.filter(pk=material_id, bundle__code=parent.bundle_code).first() if str(material_id).isdigit() else None
    if material is None:
        raise ValidationError({"material": ["该材料不是本一件事的共享材料"]})
    targets = []
    for child in children:
        if child.state == State.WITHDRAWN:
            continue
        name = material.maps.get(child.item_version.item.code)
        requirement = child.item_version.materials.filter(name=name).first() if name else None
        if requirement is None:
            continue
        refusal = upload_refusal(child, requirement, noticed=noticed_requirement_ids(child))
        if refusal is not None:
            # Only the children that may take it now: a decided child keeps what it had.
            continue
        targets.append((child, requirement))
    if not targets:
        raise InvalidTransition(f"当前没有需要「{material.name}」的子办件可以上传材料")
    inspected = inspect_upload(upload)
    created = []
    for child, requirement in targets:
        version = (child.materials.filter(requirement=requirement).order_by("-version").values_list("version", flat=True).first() or 0) + 1
        created.append(Material(
            application=child, requirement=requirement, version=version, original_name=(upload.name or "")[:200],
            content_type=inspected.content_type, size=inspected.size, sha256=inspected.sha256, uploaded_by=actor,
        ))
    with stored_upload(created[0].file, upload) as stored:
        for row in created:
            row.file.name = stored  # one stored file for every child: files are never deleted, so sharing is safe
            row.save()
            audit_record(
                chain=department_chain(row.application.department_id),
                actor=actor, action="material_upload", object_type="application", object_id=row.application.number,
                payload={"requirement": row.requirement.pk, "version": row.version, "sha256": inspected.sha256,
                         "size": inspected.size, "bundle_material": material.name, "parent": parent.number},
            )
    return created


def _each(children, call) -> None:
    for child in children:
        try:
            call(child)
        except (ValidationError, Refused) as error:
            raise _for_child(child, error) from error


def _bundle_event(parent: Application, actor: User, action: str, payload: dict | None = None) -> None:
    audit_record(chain=department_chain(parent.department_id), actor=actor, action=f"bundle_{action}", object_type="application", object_id=parent.number,
                 from_state=parent.state, to_state=parent.state, payload=payload or {})


@transaction.atomic
def bundle_submit(*, actor: User, application: Application) -> Application:
    """Submit every child at once; if one lacks a material, none is submitted."""
    parent, children = _lock_bundle(application)
    check_actor(actor, parent, "submit")
    drafts = [child for child in children if child.state == State.DRAFT]
    if not drafts:
        raise InvalidTransition(f"一件事当前状态为「{CombinedState.LABELS[combined_state(children)]}」，不能提交")
    _each(drafts, lambda child: application_submit(actor=actor, application=child, as_part_of=parent))
    _bundle_event(parent, actor, "submit", {"children": [child.number for child in drafts]})
    return parent


@transaction.atomic
def bundle_accept(*, actor: User, application: Application) -> Application:
    """The window accepts every child together (all or none): each gets its own due date and 受理通知书."""
    parent, children = _lock_bundle(application)
    check_actor(actor, parent, "accept")
    live = [child for child in children if child.state != State.WITHDRAWN]
    waiting = [child for child in live if child.state not in (State.DRAFT, State.SUBMITTED)]
    if not live or waiting:
        detail = "、".join(f"{c.item_version.name}（{c.get_state_display()}）" for c in waiting) or "没有可受理的子办件"
        raise InvalidTransition(f"一件事须全部子办件一并受理，当前不能受理：{detail}")
    _each(live, lambda child: application_accept(actor=actor, application=child, as_part_of=parent))
    _bundle_event(parent, actor, "accept", {"children": [child.number for child in live]})
    return parent


@transaction.atomic
def bundle_request_materials(*, actor: User, application: Application, deficiencies: list[dict]) -> Notice:
    """一次性告知 across the bundle: every child's deficiencies in one go. Each named child gets its own
    notice (the one-time rule applies per child, as for any case); the applicant gets ONE combined
    补正材料通知书 on the parent, and one message."""
    parent, children = _lock_bundle(application)
    check_actor(actor, parent, "request_materials")
    by_number = {child.number: child for child in children}
    grouped: dict[str, list[dict]] = {}
    errors = []
    if not deficiencies:
        errors.append("请至少列出一项需要补正的材料")
    for index, entry in enumerate(deficiencies or [], start=1):
        child = by_number.get(str(entry.get("child", "")).strip())
        if child is None:
            errors.append(f"第 {index} 项：{entry.get('child') or '（空）'} 不是本一件事的子办件")
            continue
        grouped.setdefault(child.number, []).append({"requirement": entry.get("requirement"), "reason": entry.get("reason")})
    checked: list[tuple[Application, list]] = []
    for number, entries in grouped.items():
        child = by_number[number]
        if child.state != State.SUBMITTED:
            errors.append(f"{child.item_version.name}：办件当前状态为「{child.get_state_display()}」，不能一次性告知补正")
            continue
        try:
            checked.append((child, validated_deficiencies(child, entries)))
        except ValidationError as error:
            errors.extend(f"{child.item_version.name}：{message}" for message in error.message_dict["deficiencies"])
    # The one-time rule holds for the bundle as for one case: a child the first notice left alone is no
    # later surprise either (each child's own first notice only guards that child).
    first = parent.notices.order_by("sequence").first()
    if first is not None and not errors:
        allowed = set(first.deficiencies.values_list("requirement_id", flat=True))
        surprises = [f"{child.item_version.name}：{r.name}" for child, rows in checked for r, _ in rows if r.pk not in allowed]
        if surprises:
            errors.append("一次性告知：首次告知未列出「" + "、".join(surprises) + "」，不得再次告知新的补正内容")
    if errors:
        raise ValidationError({"deficiencies": errors})
    combined = Notice.objects.create(application=parent, sequence=parent.notices.count() + 1, issued_by=actor)
    lines = []
    for child, rows in checked:
        application_request_materials(actor=actor, application=child, deficiencies=grouped[child.number],
                                                as_part_of=parent)
        Deficiency.objects.bulk_create(Deficiency(notice=combined, requirement=r, reason=reason) for r, reason in rows)
        lines.extend({"requirement": f"{child.item_version.name}：{r.name}", "reason": reason} for r, reason in rows)
    document_create(parent, kind=DocumentKind.MATERIALS_NOTICE, context={
        "item_name": parent_bundle_name(parent),
        "notice_sequence": combined.sequence,
        "clerk_name": actor.display_name,
        "deficiencies": lines,
        "deadline_note": "请按本通知一次性补齐上述材料后重新提交；补正期间不计入办理时限。",
    })
    _bundle_event(parent, actor, "request_materials", {"notice": combined.sequence, "children": list(grouped)})
    tell_applicant(parent, "materials_notice",
                             f"您的一件事申请 {parent.number} 需补正材料：" + "；".join(f"{l['requirement']}（{l['reason']}）" for l in lines))
    return combined


@transaction.atomic
def bundle_resubmit(*, actor: User, application: Application) -> Application:
    """After a bundle notice: every child waiting for materials is resubmitted (each checks its own list)."""
    parent, children = _lock_bundle(application)
    pending = [child for child in children if child.state == State.PENDING_MATERIALS]
    if not pending:
        raise InvalidTransition("没有待补正的子办件")
    _each(pending, lambda child: application_resubmit(actor=actor, application=child, as_part_of=parent))
    parent.notices.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
    _bundle_event(parent, actor, "resubmit", {"children": [child.number for child in pending]})
    return parent


@transaction.atomic
def bundle_withdraw(*, actor: User, application: Application) -> Application:
    """Withdraw every child not yet decided; decided ones go on. When no child is left, the parent too."""
    parent, children = _lock_bundle(application)
    check_actor(actor, parent, "withdraw")
    open_children = [child for child in children if child.state in WITHDRAWABLE]
    if not open_children:
        raise InvalidTransition("所有子办件均已作出决定或已撤回，不能撤回")
    _each(open_children, lambda child: application_withdraw(actor=actor, application=child, as_part_of=parent))
    if not parent.children.exclude(state=State.WITHDRAWN).exists():
        application_withdraw(actor=actor, application=parent)
    _bundle_event(parent, actor, "withdraw", {"children": [child.number for child in open_children]})
    return parent


@transaction.atomic
def bundle_deliver(*, actor: User, application: Application, method: str, tracking_number: str = "",
                   id_number: str = "", address: str | None = None) -> Application:
    """证照一并送达: every issued child at once, once no child is still being decided; by mail, all to one
    address (given, else the bundle's contact address), kept as the contact address of the parent and
    every child."""
    parent, children = _lock_bundle(application)
    address = (parent.contact_address if address is None else address).strip()
    if method == DeliveryMethod.MAIL and (refusal := mail_address_refusal(address)):
        raise ValidationError({"address": [refusal]})
    running = [child for child in children if child.state not in FINISHED | {State.ISSUED}]
    if running:
        raise InvalidTransition("一件事的结果一并送达，尚未办结：" + "、".join(
            f"{c.item_version.name}（{c.get_state_display()}）" for c in running))
    issued = [child for child in children if child.state == State.ISSUED]
    if not issued:
        raise InvalidTransition("没有待送达的办理结果")
    _each(issued, lambda child: application_deliver(
        actor=actor, application=child, method=method, tracking_number=tracking_number, id_number=id_number,
        address=address, as_part_of=parent))
    if method == DeliveryMethod.MAIL and address != parent.contact_address:
        parent.contact_address = address
        parent.save(update_fields=["contact_address"])
    _bundle_event(parent, actor, "deliver", {"children": [child.number for child in issued], "method": method})
    tell_delivered(parent, method=method, id_number=id_number, tracking_number=tracking_number or "", when=timezone.now(),
                   what=f"您的一件事 {parent.number}（{len(issued)} 项办理结果）")
    return parent
