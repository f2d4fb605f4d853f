"""Seal custody and issuance — the closed loop of 一章审批 (DESIGN §7).

The center holds every department's approval seal. It stamps only what the department decided (a case
approved or rejected by that department), only by a custodian's hand, and the department cannot issue
without the center. Every stamp writes a SealUse row and an audit event in the same transaction.
"""

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from applications import services as application_services
from applications.documents import CENTER_SEALED_KINDS, DOCUMENT_SEAL_WAKE, DocumentKind, render_document
from applications.models import Application, Document, State
from applications.permissions import actor_refusal, check_actor
from items.models import CertificateAction
from portal.audit import CENTER_CHAIN, SYSTEM_CHAIN, audit_record, department_chain
from portal.broker import WAKE_SECONDS, publish, wake, woken
from portal.errors import Refused
from portal.models import Department, User
from seals import keys
from seals.image import seal_png
from seals.models import Issuance, IssuanceStatus, Seal, SealAuthority, SealStatus, SealType, SealUse
from seals.signing import SealSigner
from seals.tasks import document_seal_drain_task, seal_issue_task

logger = logging.getLogger(__name__)

CA_NAME = "长春市政务服务中心电子印章CA"
SEAL_VALIDITY_YEARS = 5


@transaction.atomic
def seal_ca_init(*, name: str = CA_NAME) -> tuple[SealAuthority, bool]:
    """Create the center's CA once; later calls return the existing one (idempotent)."""
    existing = SealAuthority.objects.select_for_update().first()
    if existing is not None:
        return existing, False
    key = keys.new_private_key()
    certificate = keys.ca_certificate(key=key, name=name, now=timezone.now())
    authority = SealAuthority.objects.create(
        name=name, certificate_pem=keys.certificate_pem(certificate), encrypted_key=keys.encrypt_key(key)
    )
    audit_record(chain=SYSTEM_CHAIN, action="seal_ca_init", object_type="seal_authority", object_id=authority.pk, payload={"name": name})
    return authority, True


@transaction.atomic
def seal_create(*, department_code: str, actor: User | None = None) -> Seal:
    """A department's 行政审批专用章: image from its name, a key certified by the center CA."""
    department = Department.objects.filter(code=department_code).first()
    if department is None:
        raise ValidationError({"department": [f"部门 {department_code} 不存在"]})
    authority = _authority()
    if Seal.objects.filter(department=department, status=SealStatus.ACTIVE).exists():
        raise Refused(f"{department.name}已有启用中的行政审批专用章", code="seal_exists")
    code = f"{department.code}-SP-{Seal.objects.filter(department=department).count() + 1:02d}"
    seal = _seal_make(authority=authority, code=code, seal_type=SealType.APPROVAL, department=department,
                      organ_name=department.name, credit_code=department.credit_code)
    audit_record(chain=department_chain(department.pk), actor=actor, action="seal_create", object_type="seal", object_id=seal.code, payload={"department": department.code})
    return seal


@transaction.atomic
def seal_create_center(*, actor: User | None = None) -> Seal:
    """The service center's 政务服务专用章 (DESIGN §14): no department; it seals the intake documents the
    center hands out. One active at a time (constraint one_active_center_seal)."""
    # Locked: two operators making it at once queue here, and the second is told it exists.
    authority = _authority(lock=True)
    if _active_center_seal() is not None:
        raise Refused(f"{settings.SERVICE_CENTER_NAME}已有启用中的政务服务专用章", code="seal_exists")
    code = f"CENTER-ZW-{Seal.objects.filter(seal_type=SealType.CENTER).count() + 1:02d}"
    seal = _seal_make(authority=authority, code=code, seal_type=SealType.CENTER, department=None,
                      organ_name=settings.SERVICE_CENTER_NAME, credit_code=settings.SERVICE_CENTER_CREDIT_CODE)
    audit_record(chain=CENTER_CHAIN, actor=actor, action="seal_create", object_type="seal", object_id=seal.code, payload={"center": seal.name})
    return seal


def _authority(*, lock: bool = False) -> SealAuthority:
    authorities = SealAuthority.objects.select_for_update() if lock else SealAuthority.objects
    authority = authorities.first()
    if authority is None:
        raise Refused("尚未初始化电子印章 CA，请先运行 init_seal_ca", code="no_ca")
    return authority


def _seal_make(*, authority: SealAuthority, code: str, seal_type: str, department: Department | None, organ_name: str,
               credit_code: str) -> Seal:
    """The impression drawn from the organ's name, a new key, and its certificate from the center CA."""
    now = timezone.now()
    until = now + timedelta(days=365 * SEAL_VALIDITY_YEARS)
    label = SealType(seal_type).label
    name = f"{organ_name}{label}"
    key = keys.new_private_key()
    certificate = keys.seal_certificate(
        key=key, seal_name=name, seal_code=code, department_name=organ_name, credit_code=credit_code,
        ca_cert=keys.load_certificate(authority.certificate_pem), ca_key=keys.decrypt_key(authority.encrypted_key),
        now=now, until=until,
    )
    return Seal.objects.create(
        code=code, name=name, seal_type=seal_type, department=department,
        image=seal_png(department_name=organ_name, seal_label=label), certificate_pem=keys.certificate_pem(certificate),
        encrypted_key=keys.encrypt_key(key), valid_from=now, valid_until=until,
    )


@transaction.atomic
def seal_revoke(*, seal: Seal, reason: str, actor: User | None = None) -> Seal:
    if not (reason or "").strip():
        raise ValidationError({"reason": ["请写明注销原因"]})
    seal = Seal.objects.select_for_update().get(pk=seal.pk)
    if seal.status != SealStatus.ACTIVE:
        raise Refused("该印章已注销", code="invalid_transition")
    seal.status, seal.revoked_at, seal.revoke_reason = SealStatus.REVOKED, timezone.now(), reason.strip()
    seal.save(update_fields=["status", "revoked_at", "revoke_reason"])
    audit_record(chain=department_chain(seal.department_id) if seal.department_id else CENTER_CHAIN, actor=actor, action="seal_revoke", object_type="seal", object_id=seal.code, payload={"reason": seal.revoke_reason})
    return seal


def _active_seal(department_id: int) -> Seal | None:
    """The department's approval seal in force (never the center's, which has no department)."""
    now = timezone.now()
    return (
        Seal.objects.select_related("department")
        .filter(department_id=department_id, seal_type=SealType.APPROVAL, status=SealStatus.ACTIVE,
                valid_from__lte=now, valid_until__gt=now)
        .first()
    )


def _active_center_seal(*, lock: bool = False) -> Seal | None:
    """The center's 政务服务专用章 in force, or None (a fresh database before `create_seal --center`)."""
    now = timezone.now()
    seals = Seal.objects.select_for_update(no_key=True) if lock else Seal.objects
    return seals.filter(seal_type=SealType.CENTER, status=SealStatus.ACTIVE, valid_from__lte=now, valid_until__gt=now).first()


def custodian_conflict(*, actor: User, application: Application) -> str:
    """审批与用印分离 by person, not only by role: whoever claimed or decided the case may not stamp it, even
    after becoming a custodian (issue 14: a reviewer moved to the center stamped their own approval).
    The reason to refuse, or "" if there is none."""
    refusal = actor_refusal(actor, application, "issue")
    return refusal.detail if refusal else ""


@transaction.atomic
def seal_issue(*, actor: User, application: Application) -> Issuance:
    """The custodian orders the stamp; the case shows 制证中 and a task renders, signs and issues."""
    check_actor(actor, application, "issue")
    seal = _active_seal(application.department_id)
    if seal is None:
        raise Refused(f"{application.department.name}没有可用的行政审批专用章", code="no_seal")
    case = application_services.application_issuing_start(application=application)
    issuance = Issuance.objects.create(application=case, seal=seal, custodian=actor)
    audit_record(chain=department_chain(case.department_id), actor=actor, action="seal_issue_request", object_type="application", object_id=case.number,
                 from_state=case.state, to_state=case.state, payload={"seal": seal.code, "issuance": issuance.pk})
    transaction.on_commit(lambda: _enqueue(issuance.pk))
    return issuance


def _enqueue(issuance_id: int) -> None:
    # Broker down: the pending issuance is picked up by the retry sweep.
    publish(seal_issue_task, args=[issuance_id], what=f"签发任务 {issuance_id}")


def seal_issue_complete(*, issuance_id: int) -> bool:
    """Render, sign and issue in ONE transaction: the certificate or letter, the SealUse row, its audit
    event and the case's transition commit together or not at all (never half-issued)."""
    with transaction.atomic():
        issuance = (
            Issuance.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("seal__department", "custodian").filter(pk=issuance_id, status=IssuanceStatus.PENDING).first()
        )
        if issuance is None:
            return False
        # Lock order (issue 14: the web's COMMIT checked the issuance→seal key while this held the seal FOR
        # UPDATE through rendering, then waited for the audit head the web held): issuance, seal, case, and
        # the audit head last, after rendering and signing. The seal and case are locked FOR NO KEY UPDATE:
        # a revocation (FOR UPDATE) waits for the stamp, but a foreign-key check (KEY SHARE) never does.
        seal = Seal.objects.select_for_update(of=("self",), no_key=True).select_related("department").get(pk=issuance.seal_id)
        case = Application.objects.select_for_update(of=("self",), no_key=True).select_related(
            "item_version__certificate_type", "item_version__item", "department", "applicant", "principal", "decided_by", "hall",
            "held_certificate",
        ).get(pk=issuance.application_id)
        # The closed loop, checked again at the moment of stamping.
        if seal.status != SealStatus.ACTIVE:
            raise Refused("印章已注销，不能用印", code="seal_revoked")
        if seal.department_id != case.department_id or case.state not in (State.APPROVED, State.REJECTED):
            raise Refused("只能用本部门印章签发本部门已作出决定的办件", code="seal_mismatch")
        from certificates.rendering import SEAL_BOX
        from certificates.services import certificate_cancel, certificate_issue

        signer = SealSigner(seal=seal, authority=SealAuthority.objects.get())
        certificate_type = case.item_version.certificate_type
        action = case.item_version.certificate_action
        identifier = ""
        if case.state == State.APPROVED and certificate_type is not None and action != CertificateAction.CANCEL:
            # 延续/变更/补证 (DESIGN §14): the next version of the held certificate, same serial and licence
            # number, the old one superseded; 变更 and 补证 keep its period of validity, 延续 starts a new one
            # on the day of issue (docs/decisions/052).
            certificate = certificate_issue(
                certificate_type=certificate_type, issuer=case.department, holder=_holder_account(case),
                holder_name=case.applicant_name, holder_id_type=case.applicant_id_type,
                holder_id_number=case.applicant_id_number, face_data=_face_data(case),
                application_number=case.number, sign=lambda pdf: signer.sign(pdf, box=SEAL_BOX), actor=issuance.custodian,
                previous=case.held_certificate if action != CertificateAction.ISSUE else None,
                keep_validity=action in (CertificateAction.CHANGE, CertificateAction.REPLACE),
                tell_holder=False,  # application_issue below tells the applicant, naming the certificate
            )
            identifier, digest, kind = certificate.identifier, certificate.sha256, "certificate"
        else:
            kind = DocumentKind.APPROVAL_DECISION if case.state == State.APPROVED else DocumentKind.REJECTION_DECISION
            document = application_services.decision_document(application=case, kind=kind)
            rendered = render_document(kind=document.kind, context=document.context)
            signed = signer.sign(rendered.pdf, box=rendered.seal_box, page=rendered.seal_page)
            document.pdf.save(f"{document.serial}.pdf", ContentFile(signed))
            digest = hashlib.sha256(signed).hexdigest()
            if case.state == State.APPROVED and action == CertificateAction.CANCEL and case.held_certificate_id:
                # 注销: the approval letter (准予注销) is the result; the certificate is revoked with it, after
                # the letter is signed (nothing writes the audit chain while rendering), in this transaction.
                certificate_cancel(certificate=case.held_certificate, application_number=case.number,
                                   actor=issuance.custodian)
        event = audit_record(
            chain=department_chain(case.department_id),
            actor=issuance.custodian, action="seal_use", object_type="application", object_id=case.number,
            from_state=case.state, to_state=State.ISSUED,
            payload={"seal": seal.code, "document_sha256": digest, "document_kind": str(kind), "decision": case.outcome},
        )
        SealUse.objects.create(
            seal=seal, application=case, document_sha256=digest, document_kind=str(kind), decision=case.outcome,
            custodian=issuance.custodian, audit_chain=event.chain, audit_seq=event.seq,
        )
        application_services.application_issue(
            actor=issuance.custodian, application=case, certificate_identifier=identifier, document_sha256=digest
        )
        issuance.status, issuance.finished_at = IssuanceStatus.DONE, timezone.now()
        issuance.attempts += 1
        issuance.save(update_fields=["status", "finished_at", "attempts"])
        return True


def seal_issue_failed(*, issuance_id: int, error: str) -> None:
    """After the last retry: the case leaves 制证中 and the custodian can try again."""
    with transaction.atomic():
        issuance = Issuance.objects.select_for_update().filter(pk=issuance_id, status=IssuanceStatus.PENDING).first()
        if issuance is None:
            return
        issuance.status, issuance.last_error, issuance.finished_at = IssuanceStatus.FAILED, error[:300], timezone.now()
        issuance.save(update_fields=["status", "last_error", "finished_at"])
        application_services.application_issuing_failed(application=issuance.application, error=issuance.last_error)


def seal_issue_retry_sweep(*, older_than_minutes: int = 5) -> int:
    """Pending issuances a lost broker never delivered."""
    horizon = timezone.now() - timedelta(minutes=older_than_minutes)
    pending = Issuance.objects.filter(status=IssuanceStatus.PENDING, requested_at__lt=horizon).values_list("pk", flat=True)
    done = 0
    for pk in list(pending[:200]):
        try:
            done += seal_issue_complete(issuance_id=pk)
        except Exception as error:
            logger.warning("签发任务 %s 失败：%s", pk, error)
    return done


def _holder_account(case: Application):
    """The account the certificate is issued to: the person, the principal of a 代办 (not the agent), and none
    for an organisation (its agents hold it through its credit code, certificates.selectors.held_by)."""
    if case.organisation_id:
        return None
    return case.principal or case.applicant


def _face_data(case: Application) -> dict:
    """What the reviewer confirmed at approval (照面信息); recomputed only for cases decided before that."""
    return case.face_data or application_services.certificate_face_data(case)[0]


# --- the center's seal on intake documents (DESIGN §14) ------------------------------------------------


def document_seal(*, document_id: int, wait: bool = True) -> bool:
    """Seal one intake document (受理通知书, 不予受理通知书, 补正材料通知书, 材料接收凭证) with the center's
    政务服务专用章: render its frozen snapshot, sign it (PAdES, the impression over the organ and date), store
    the PDF and its hash, and record the SealUse and its audit event — together or not at all.

    True when the document is sealed (now or before); False when there is no center seal in force yet (the
    sweep seals it once there is) or, with `wait=False`, when someone else is sealing it right now. Runs
    after the intake transaction committed (a task on commit, or the first reader): intake never waits for
    rendering and signing (DESIGN §12)."""
    with transaction.atomic():
        # Lock order (as seal_issue_complete, issue 14): the document, then the seal FOR NO KEY UPDATE (a
        # revocation waits for the stamp; the SealUse row's foreign-key check does not), and the audit head
        # last, after rendering and signing. The case row is not locked: the document is a frozen snapshot.
        documents = Document.objects.select_for_update(of=("self",), skip_locked=not wait)
        document = documents.select_related("application").filter(pk=document_id).first()
        if document is None:
            return False
        if document.sha256:
            return True
        if document.kind not in CENTER_SEALED_KINDS:
            raise ValueError(f"{document.kind} is not an intake document: the department's seal stamps it at issuance")
        seal = _active_center_seal(lock=True)
        if seal is None:
            return False
        rendered = render_document(kind=document.kind, context=document.context)
        signed = SealSigner(seal=seal, authority=SealAuthority.objects.get()).sign(
            rendered.pdf, box=rendered.seal_box, page=rendered.seal_page,
        )
        digest = hashlib.sha256(signed).hexdigest()
        document.pdf.save(f"{document.serial}.pdf", ContentFile(signed), save=False)
        document.sha256 = digest
        document.save(update_fields=["pdf", "sha256"])
        case = document.application
        event = audit_record(
            chain=department_chain(case.department_id),
            action="seal_use", object_type="application", object_id=case.number,
            payload={"seal": seal.code, "document_sha256": digest, "document_kind": document.kind,
                     "document": document.serial},
        )
        SealUse.objects.create(
            seal=seal, application=case, document_sha256=digest, document_kind=document.kind, decision="",
            custodian=None, audit_chain=event.chain, audit_seq=event.seq,
        )
        return True


# How far back (in documents, newest first) the sweep looks: it reads that range of the primary key, not the
# whole table, so a round costs the same with millions of documents. Anything older that is still unsealed
# is sealed by its first reader (document_pdf_ensure) — it is never served unsealed either way.
SWEEP_WINDOW = 50_000


DRAIN_BATCH = 50


def document_seal_drain(*, batch: int = DRAIN_BATCH) -> int:
    """What an intake commit woke: clear the mark (a commit from now on wakes the next drain), then seal the
    intake documents waiting, oldest first, whatever their time stamp says (it is the web host's clock, not
    this one's). A full batch looked at, with some of it sealed here, wakes the next drain for the rest: a
    drain running beside this one may have sealed the others. A batch with nothing sealed (no center seal in
    force, or every document failing) wakes nothing: the sweep comes back to them. When the mark could not
    be cleared, commits until it lapses queued nothing: a drain after it lapses looks again."""
    if not woken(DOCUMENT_SEAL_WAKE):
        publish(document_seal_drain_task, args=[], what="文书用印（标记未能清除）", countdown=WAKE_SECONDS + 1)
    examined, sealed = _seal_waiting(created_before=None, batch=batch)
    if examined == batch and sealed:
        wake(document_seal_drain_task, name=DOCUMENT_SEAL_WAKE, what="文书用印（续）")
    return sealed


def document_seal_sweep(*, older_than_minutes: int = 2, batch: int = 200) -> int:
    """Intake documents left unsealed: a broker message lost, a drain that stopped, or no center seal when
    they were made. Two sweeps (or a sweep and a drain) skip each other's rows."""
    return _seal_waiting(created_before=timezone.now() - timedelta(minutes=older_than_minutes), batch=batch)[1]


def _seal_waiting(*, created_before, batch: int) -> tuple[int, int]:
    """(documents looked at, documents sealed) of the oldest `batch` waiting in the sweep's window."""
    if _active_center_seal() is None:
        return 0, 0
    floor = next(iter(Document.objects.order_by("-pk").values_list("pk", flat=True)[SWEEP_WINDOW:SWEEP_WINDOW + 1]), 0)
    waiting = Document.objects.filter(pk__gt=floor, sha256="", kind__in=CENTER_SEALED_KINDS)
    if created_before is not None:
        waiting = waiting.filter(created_at__lt=created_before)
    examined = list(waiting.order_by("pk").values_list("pk", flat=True)[:batch])
    sealed = 0
    for pk in examined:
        try:
            sealed += document_seal(document_id=pk, wait=False)
        except Exception as error:
            logger.warning("文书 %s 加盖印章失败：%s", pk, error)
    return len(examined), sealed
