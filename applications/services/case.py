"""What every case write shares: the row lock, the audited transition, numbering, the frozen documents and
telling the applicant. Each use case lives in its capability's module and calls these."""

from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_fsm import ConcurrentTransition, can_proceed

from applications.clock import alert_state
from applications.documents import CENTER_SEALED_KINDS, DOCUMENT_SEAL_WAKE, DocumentKind, render_document_pdf, size_label
from applications.models import Application, Document, MaterialState, NumberSequence
from applications.rating_links import rating_invitation
from applications.selectors import MaterialStatus, case_requirements, material_status, missing_requirements, requirement_state
from portal.audit import audit_record, department_chain
from portal.broker import wake
from portal.celery import app as celery_app
from portal.errors import Forbidden, InvalidTransition, Refused
from portal.identity import mask_id_number
from portal.metrics import transition_counted
from portal.models import User
from portal.notifications import Message, notify_many
from portal.prepared import PreparedGet
from portal.workdays import WorkCalendar

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
    "rate": "好差评",
    "commit": "签署告知承诺书",
    "verify_commitment": "核查告知承诺",
}


def local_today() -> date:
    return timezone.localdate()


def require_role(actor: User, *roles: str) -> None:
    if actor.role not in roles:
        raise Forbidden()


# The item version's long texts (guide, search index) that no transition reads: not fetched with the case.
LOCK_DEFERRED = [f"item_version__{name}" for name in (
    "search_text", "conditions", "procedure", "special_procedures", "legal_basis", "fee_standard", "fee_basis",
    "location", "faq",
)]


def lock_case(application: Application) -> Application:
    """Re-read the case under a row lock: two clerks on one case queue here, and the second sees the
    first one's result. Only the case's own row is locked (`of`): the joined item version and department
    are shared by thousands of cases, and locking them would queue every transition of a department.
    FOR NO KEY UPDATE (what an UPDATE of non-key columns takes anyway) still excludes every other
    transition, but not the KEY SHARE lock a foreign-key check takes at COMMIT: a transaction inserting a
    row that points at the case (a document, a rating) never waits on it while holding the audit head."""
    return _LOCKED_CASE.get(application.pk)


# Compiled once per connection (portal/prepared.py): every transition begins here.
_LOCKED_CASE = PreparedGet(lambda pk: Application.objects.select_for_update(of=("self",), no_key=True)
                           .select_related("item_version__item", "department").defer(*LOCK_DEFERRED).filter(pk=pk))


def state_refusal(case: Application, method: str) -> InvalidTransition:
    """The refusal of a transition the case's state does not allow, counted in the metrics by its action."""
    transition_counted(action=f"application_{method}", outcome="refused")
    return InvalidTransition(f"办件当前状态为「{case.get_state_display()}」，不能{ACTION_LABELS[method]}")


def transition(case: Application, method: str, *, actor, fields: Iterable[str] = (), payload=None) -> Application:
    transition = getattr(case, method)
    if not can_proceed(transition):
        raise state_refusal(case, method)
    from_state = case.state
    transition()
    try:
        _save_transition(case, from_state=from_state, fields=fields)
    except ConcurrentTransition as error:
        transition_counted(action=f"application_{method}", outcome="conflict")
        raise Refused("该办件刚被他人处理，请刷新后重试", code="conflict") from error
    audit_record(
        chain=department_chain(case.department_id),
        actor=actor,
        action=f"application_{method}",
        object_type="application",
        object_id=case.number,
        from_state=from_state,
        to_state=case.state,
        payload=payload or {},
    )
    return case


def _save_transition(case: Application, *, from_state: str, fields: Iterable[str]) -> None:
    """The UPDATE ConcurrentTransitionMixin.save writes (the changed fields, only where the state is still the
    one read), in plain SQL: every transition runs it, and Django compiling it cost more than running it
    (DESIGN §12)."""
    database = connections[case._state.db or DEFAULT_DB_ALIAS]
    quote = database.ops.quote_name
    meta = case._meta
    changed = [meta.get_field(name) for name in dict.fromkeys(["state", *fields])]
    with database.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(field.column)} = %s' for field in changed)}"
            f" WHERE {quote(meta.pk.column)} = %s AND {quote(meta.get_field('state').column)} = %s",
            [*(field.get_db_prep_save(field.pre_save(case, False), database) for field in changed), case.pk, from_state],
        )
        updated = cursor.rowcount
    if updated != 1:
        raise ConcurrentTransition("该办件的状态在读取后已被改变")
    case._update_initial_state()  # a later save() of this object filters on the state it has now


def refuse_bundle_child(case: Application, as_part_of: Application | None) -> None:
    """Intake and delivery of a bundle's child happen for the whole bundle, on its parent (DESIGN §4): the
    bundle's services pass the parent as `as_part_of`; anyone else is sent to it."""
    if case.parent_id and (as_part_of is None or as_part_of.pk != case.parent_id):
        parent_number = Application.objects.filter(pk=case.parent_id).values_list("number", flat=True).first()
        raise Refused(f"该办件属于一件事，请对一件事主办件 {parent_number} 操作", code="bundle_child")


def next_number(*, prefix: str, day: date) -> str:
    sequence, _ = NumberSequence.objects.select_for_update().get_or_create(prefix=prefix, day=day)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{prefix}-{day:%Y%m%d}-{sequence.last:06d}"


def refuse_incomplete(case: Application, action: str, *, status: MaterialStatus | None = None) -> None:
    missing = missing_requirements(case, status=status)
    if missing:
        names = "、".join(requirement.name for requirement in missing)
        raise Refused(f"材料不齐全，不能{action}：缺少{names}", code="materials_incomplete")


# Made by a transition that happens once in a case's life (受理, 不予受理): always the case's first of its kind,
# so its serial needs no count of the ones before it (one statement less on every acceptance, DESIGN §12).
ONCE_PER_CASE_KINDS = frozenset({DocumentKind.ACCEPTANCE_NOTICE, DocumentKind.REFUSAL_NOTICE})


def document_create(case: Application, *, kind: str, context: dict) -> Document:
    number = 1 if kind in ONCE_PER_CASE_KINDS else case.documents.filter(kind=kind).count() + 1
    serial = f"{case.number}-{kind}-{number}"
    base = {
        "number": case.number,
        "document_number": serial,
        "issued_on": local_today().isoformat(),
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
    if kind in CENTER_SEALED_KINDS:
        base["organ_name"] = settings.SERVICE_CENTER_NAME  # signs it, under the center's seal
    document = Document.objects.create(application=case, kind=kind, serial=serial, context={**base, **context})
    if kind in CENTER_SEALED_KINDS:
        # Sealed after commit by a worker (rendering and signing take a tenth of a second and more: never
        # inside the intake transaction, DESIGN §12): the commit wakes the sealing drain, which seals every
        # document waiting (one queued drain for a burst of acceptances); a lost message is the sweep's, and a
        # reader seals it first if it comes before either.
        transaction.on_commit(lambda: wake(celery_app.signature(settings.DOCUMENT_SEAL_DRAIN_TASK),
                                           name=DOCUMENT_SEAL_WAKE, what=f"文书用印 {serial}"))
    return document


# What the applicant must hear about wherever they are (DESIGN §13): these go by SMS to the phone written on
# the application as well, when it is not the account's own (a walk-in's account often has none).
CONTACT_SMS_KINDS = {"materials_notice", "accepted", "not_accepted", "suspended", "extended", "decided", "issued",
                     "delivered", "deferral_reminder", "deferral_lapsed", "commitment_false"}


def document_pdf_ensure(*, document: Document) -> Document:
    """The document's PDF. An intake document is served only sealed: if the worker has not sealed it yet, the
    first reader does (the row lock lets one of two readers seal it); with no center seal in force it is
    refused for now (「文书正在加盖印章」), never handed out unsealed. Any other document is rendered from its
    frozen snapshot the first time someone asks and kept afterwards."""
    if document.kind in CENTER_SEALED_KINDS:
        if not document.sha256:
            if not import_string(settings.DOCUMENT_SEALER)(document_id=document.pk):
                raise Refused("文书正在加盖印章，请稍后再试", code="document_sealing")
            document.refresh_from_db(fields=["pdf", "sha256"])
        return document
    if document.pdf:
        return document
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document.pk)
        if not document.pdf:
            pdf = render_document_pdf(kind=document.kind, context=document.context)
            document.pdf.save(f"{document.serial}.pdf", ContentFile(pdf))
    return document


def tell_applicant(case: Application, kind: str, message: str) -> None:
    """The account that filed the case, and the principal it was filed for (代办); the SMS to the case's
    contact phone goes once."""
    phone = case.contact_phone if kind in CONTACT_SMS_KINDS else ""
    invitation = rating_invitation(case, kind)  # a walk-in's link to rate the stage just done (好差评)
    message = f"{message}{invitation}" if invitation else message
    messages = [Message([case.applicant_id], kind, message, case.number, contact_phone=phone)]
    if case.principal_id:
        messages.append(Message([case.principal_id], kind, message, case.number))
    notify_many(messages=messages)


def materials_snapshot(case: Application, *, status: MaterialStatus | None = None) -> list[dict]:
    """The material list an intake document freezes: every requirement but the optional ones not handed in."""
    status = status or material_status(case)
    rows = []
    for requirement in status.requirements:
        state = requirement_state(requirement, present=status.present, satisfied=status.satisfied,
                                  committed=status.committed)
        if state == MaterialState.OPTIONAL:
            continue
        copies = requirement.copies_original or requirement.copies_copy or 1
        rows.append({"name": requirement.name, "form_label": requirement.get_form_display(), "copies": copies,
                     "status": state.document_wording})
    return rows


def receipt_create(case: Application, *, clerk: User | None) -> Document:
    """材料接收凭证 (DESIGN §14): the materials handed in — at online submission, resubmission, or the window's
    first intake action on a walk-in's draft — each file's current version as received, with its size."""
    latest = {}
    for material in case.materials.order_by("requirement_id", "version"):
        latest[material.requirement_id] = material
    order = {requirement.pk: index for index, requirement in enumerate(case_requirements(case))}
    rows = [
        {"name": material.requirement.name, "version": material.version, "file_name": material.original_name,
         "size": material.size, "size_label": size_label(material.size), "received_at": material.uploaded_at.isoformat()}
        for material in sorted(latest.values(), key=lambda m: (order.get(m.requirement_id, len(order)), m.requirement_id))
    ]
    return document_create(case, kind=DocumentKind.RECEIPT, context={
        "clerk_name": clerk.display_name if clerk else "", "materials": rows, "received_at": timezone.now().isoformat(),
    })


CLOCK_FIELDS = ["due_date", "due_date_provisional", "alert_level", "next_alert_on"]


def set_due_date(case: Application, *, due_date: date, provisional: bool, calendar: WorkCalendar) -> None:
    case.due_date, case.due_date_provisional = due_date, provisional
    case.alert_level, case.next_alert_on = alert_state(
        calendar=calendar, today=local_today(), due_date=due_date, warning_days=case.item_version.effective_warning_days
    )


def start_clock(case: Application, *, accepted_at, calendar: WorkCalendar) -> None:
    accepted_day = timezone.localdate(accepted_at)
    due = calendar.add_working_days(accepted_day, case.item_version.promised_days)
    case.accepted_at = accepted_at
    set_due_date(case, due_date=due.date, provisional=due.provisional, calendar=calendar)
