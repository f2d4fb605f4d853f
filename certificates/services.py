"""E-certificate use cases (DESIGN §8): issue and re-issue, revoke, the expiry sweep, verify a file.

Every write of this app is here: keyword-only arguments, one transaction, the row locked, an audit event,
the holder told. Issuance is called by seals inside its own transaction (with the seal use and the case
transition), so a failure anywhere leaves nothing half-issued.
"""

import hashlib
import logging
from collections.abc import Callable
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django_fsm import ConcurrentTransition, can_proceed

from certificates.faces import display_value, format_licence_number, number_format_for, numbered_field, sequence_year
from certificates.identifiers import MAX_VERSION, certificate_identifier, random_serial
from certificates.models import Certificate, CertificateStatus, CertificateType, LicenceNumberSequence
from certificates.permissions import can_revoke, is_holder
from certificates.rendering import certificate_render_pdf
from certificates.selectors import lifecycle_items
from portal.audit import audit_record, department_chain
from portal.errors import Forbidden, InvalidTransition, Refused
from portal.identity import IdType, mask_id_number, normalize_id_number
from portal.models import Department, User
from portal.notifications import notify

logger = logging.getLogger(__name__)

# Holders are reminded this many days before the end of validity, each once (DESIGN §14: 90 and 30).
EXPIRY_REMINDER_DAYS = (90, 30)
MAX_REASON_LENGTH = 500


def _today() -> date:
    return timezone.localdate()


def valid_until_for(*, valid_from: date, years: int | None) -> date | None:
    """The last valid day: 2026-11-24 + 5 years → 2031-11-23, as licences print "至2031年11月23日"."""
    if not years:
        return None
    try:
        anniversary = valid_from.replace(year=valid_from.year + years)
    except ValueError:  # 29 February in a year that has none
        anniversary = date(valid_from.year + years, 3, 1)
    return anniversary - timedelta(days=1)


SERIAL_ATTEMPTS = 5


def _new_serial(*, certificate_type: CertificateType, issuer: Department) -> str:
    """A random serial no certificate of this type and issuer has (certificates/identifiers.py). No lock:
    two issuances drawing the same one of 10¹² at once would meet the unique constraint, not each other."""
    for _attempt in range(SERIAL_ATTEMPTS):
        serial = random_serial()
        if not Certificate.objects.filter(type=certificate_type, issuer=issuer, serial=serial).exists():
            return serial
    raise RuntimeError("no free certificate serial after several random draws")


def _holder_users(certificate: Certificate) -> list[User]:
    """Who is told: the holder's account, and any account verified with the holder's code."""
    users = {certificate.holder_id: certificate.holder} if certificate.holder_id else {}
    for user in User.objects.filter(
        id_type=certificate.holder_id_type, id_number=certificate.holder_id_number, is_active=True
    ):
        users.setdefault(user.pk, user)
    return list(users.values())


def _save_transition(certificate: Certificate, fields: list[str]) -> None:
    try:
        certificate.save(update_fields=["status", *fields])
    except ConcurrentTransition as error:
        raise Refused("该证照刚被他人处理，请刷新后重试", code="conflict") from error


def _check_issue_input(
    *, certificate_type: CertificateType, holder_name: str, holder_id_type: str, holder_id_number: str, face_data
) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    holder_name = (holder_name or "").strip()
    if not holder_name:
        errors["holder_name"] = ["请填写持证主体名称"]
    if holder_id_type not in IdType.values:
        errors["holder_id_type"] = ["持证主体代码类型应为 111（居民身份证）或 001（统一社会信用代码）"]
    else:
        try:
            holder_id_number = normalize_id_number(id_type=holder_id_type, value=holder_id_number or "")
        except ValidationError as error:
            errors["holder_id_number"] = error.messages
    if not isinstance(face_data, dict):
        errors["face_data"] = ["照面信息应为“字段名: 内容”的对象"]
    else:
        missing = [name for name in certificate_type.face_fields or [] if not str(face_data.get(name) or "").strip()]
        if missing:
            errors["face_data"] = [f"缺少照面信息：{'、'.join(missing)}"]
    if errors:
        raise ValidationError(errors)
    return holder_name, holder_id_number


@transaction.atomic
def certificate_issue(
    *,
    certificate_type: CertificateType,
    issuer: Department,
    holder: User | None,
    holder_name: str,
    holder_id_type: str,
    holder_id_number: str,
    face_data: dict,
    application_number: str,
    sign: Callable[[bytes], bytes],
    issued_on: date | None = None,
    previous: Certificate | None = None,
    keep_validity: bool = False,
    tell_holder: bool = True,
    actor: User | None = None,
) -> Certificate:
    """Issue a certificate, or re-issue `previous` (换发: same serial, version + 1, the old one superseded).

    `sign` turns the rendered PDF into the signed one (seals supplies it); the signed bytes are what is
    stored, hashed and handed to the holder. `keep_validity` (变更, 补证) keeps `previous`'s period of
    validity; otherwise (新办, 延续) it runs from the day of issue. Runs inside the caller's transaction: the caller records the
    seal use and moves the case on in the same one. Call it before anything else in that transaction
    writes the audit chain: the chain's lock would otherwise be held while the PDF is rendered and signed.
    """
    holder_name, holder_id_number = _check_issue_input(
        certificate_type=certificate_type, holder_name=holder_name, holder_id_type=holder_id_type,
        holder_id_number=holder_id_number, face_data=face_data,
    )
    issued_on = issued_on or _today()
    number_field = numbered_field(certificate_type)
    licence_number = display_value(face_data.get(number_field)) if number_field else ""

    if previous is None:
        serial, version = _new_serial(certificate_type=certificate_type, issuer=issuer), 1
    else:
        previous = Certificate.objects.select_for_update(of=("self",)).select_related("type").get(pk=previous.pk)
        _check_reissue(previous=previous, certificate_type=certificate_type, issuer=issuer,
                       holder_id_type=holder_id_type, holder_id_number=holder_id_number)
        # 延续/变更/补证 keep the licence number: every version of a certificate carries the same one.
        if previous.licence_number and licence_number and licence_number.upper() != previous.licence_number.upper():
            raise ValidationError({"face_data": [f"{number_field}：换发须沿用原证号 {previous.licence_number}"]})
        licence_number = previous.licence_number or licence_number
        serial, version = previous.serial, previous.version + 1
        from_state = previous.status
        previous.supersede()
        _save_transition(previous, [])
        audit_record(
            chain=department_chain(previous.issuer_id),
            actor=actor, action="certificate_supersede", object_type="certificate", object_id=previous.identifier,
            from_state=from_state, to_state=previous.status, payload={"application_number": application_number},
        )

    certificate = Certificate(
        identifier=certificate_identifier(
            type_code=certificate_type.code, issuer_credit_code=issuer.credit_code, serial=serial, version=version
        ),
        type=certificate_type,
        issuer=issuer,
        serial=serial,
        version=version,
        holder=holder,
        holder_name=holder_name,
        holder_id_type=holder_id_type,
        holder_id_number=holder_id_number,
        issued_on=issued_on,
        valid_from=previous.valid_from if previous is not None and keep_validity else issued_on,
        valid_until=(
            previous.valid_until if previous is not None and keep_validity
            else valid_until_for(valid_from=issued_on, years=certificate_type.validity_years)
        ),
        face_data=face_data,
        licence_number=licence_number[:60],
        application_number=application_number or "",
    )
    signed = sign(certificate_render_pdf(certificate=certificate))
    if not isinstance(signed, bytes) or not signed.startswith(b"%PDF-"):
        raise TypeError("sign() must return the signed PDF as bytes")
    certificate.sha256 = hashlib.sha256(signed).hexdigest()
    # The file is written before the row; if the caller's transaction rolls back, the file is an orphan no
    # row points at (storage never overwrites: a retry gets a fresh name).
    certificate.pdf.save(f"{certificate.identifier}.pdf", ContentFile(signed), save=False)
    certificate.save(force_insert=True)

    audit_record(
        chain=department_chain(certificate.issuer_id),
        actor=actor,
        action="certificate_issue",
        object_type="certificate",
        object_id=certificate.identifier,
        to_state=certificate.status,
        payload={
            "type": certificate_type.code,
            "issuer": issuer.code,
            "holder_name": holder_name,
            "holder_id_masked": mask_id_number(holder_id_number),
            "serial": serial,
            "version": version,
            "valid_until": certificate.valid_until,
            "application_number": certificate.application_number,
            "sha256": certificate.sha256,
            "licence_number": certificate.licence_number,
            "previous": previous.identifier if previous is not None else None,
        },
    )
    what = "已换发" if previous is not None else "已签发"
    if not tell_holder:  # the case's own notice of issuance tells its applicant: one message, not two
        return certificate
    notify(
        users=_holder_users(certificate),
        kind="certificate_issued",
        message=f"您的电子证照「{certificate_type.name}」{what}，证照标识 {certificate.identifier}，可在“我的证照”中查看和下载。",
        application=certificate.application_number,
    )
    return certificate


@transaction.atomic
def licence_number_allocate(*, certificate_type: CertificateType, on: date) -> str:
    """The next licence number of the type (DESIGN §14), from its own sequence: per year when its format
    prints the year. Runs in the caller's transaction (the approval): the sequence row stays locked until it
    commits, so two approvals never draw the same number, and a rolled-back approval gives its number back.
    """
    number_format = number_format_for(certificate_type)
    year = sequence_year(number_format, on.year)
    # Race-safe creation: INSERT … ON CONFLICT DO NOTHING, then lock whichever row is there.
    LicenceNumberSequence.objects.bulk_create(
        [LicenceNumberSequence(type=certificate_type, year=year, last=0)], ignore_conflicts=True
    )
    sequence = LicenceNumberSequence.objects.select_for_update().get(type=certificate_type, year=year)
    sequence.last += 1
    try:
        number = format_licence_number(number_format, year=on.year, seq=sequence.last)
    except ValueError as error:
        raise Refused(f"证照类型「{certificate_type.name}」的{error}，请联系事项管理员修正", code="number_format") from error
    if len(number) > Certificate._meta.get_field("licence_number").max_length:
        raise Refused(f"证照类型「{certificate_type.name}」的证号格式生成的证号过长，请联系事项管理员修正",
                      code="number_format")
    sequence.save(update_fields=["last"])
    return number


def _check_reissue(
    *, previous: Certificate, certificate_type: CertificateType, issuer: Department, holder_id_type: str, holder_id_number: str
) -> None:
    if previous.type_id != certificate_type.pk or previous.issuer_id != issuer.pk:
        raise ValidationError({"previous": ["换发的证照须与原证照为同一类型、同一发证机关"]})
    if (previous.holder_id_type, previous.holder_id_number) != (holder_id_type, holder_id_number):
        raise ValidationError({"holder_id_number": ["换发不能改变持证主体代码"]})
    if not can_proceed(previous.supersede):
        raise InvalidTransition(f"原证照当前状态为「{previous.get_status_display()}」，不能换发")
    if previous.version >= MAX_VERSION:
        raise InvalidTransition(f"证照已换发至第 {MAX_VERSION} 版，不能再换发")


@transaction.atomic
def certificate_revoke(*, actor: User, certificate: Certificate, reason: str) -> Certificate:
    """注销: only the head of the issuing department, with a reason, and only a valid certificate."""
    certificate = Certificate.objects.select_for_update(of=("self",)).select_related("type").get(pk=certificate.pk)
    if not can_revoke(user=actor, certificate=certificate):
        raise Forbidden("只有发证部门的负责人可以注销证照")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["请填写注销原因"]})
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError({"reason": [f"注销原因不能超过 {MAX_REASON_LENGTH} 字"]})
    return _revoke(certificate=certificate, actor=actor, reason=reason, payload={})


def _revoke(*, certificate: Certificate, actor: User | None, reason: str, payload: dict,
            application_number: str = "") -> Certificate:
    """The transition, audit event and notice of a revocation; the caller holds the row lock."""
    if not can_proceed(certificate.revoke):
        raise InvalidTransition(f"证照当前状态为「{certificate.get_status_display()}」，不能注销")
    from_state = certificate.status
    certificate.revoke(by=actor, reason=reason, at=timezone.now())
    _save_transition(certificate, ["revoked_by", "revoke_reason", "revoked_at"])
    audit_record(
        chain=department_chain(certificate.issuer_id),
        actor=actor, action="certificate_revoke", object_type="certificate", object_id=certificate.identifier,
        from_state=from_state, to_state=certificate.status, payload={"reason": reason, **payload},
    )
    notify(
        users=_holder_users(certificate),
        kind="certificate_revoked",
        message=f"您的电子证照「{certificate.type.name}」（证照标识 {certificate.identifier}）已被发证机关注销，原因：{reason}",
        application=application_number or certificate.application_number,
    )
    return certificate


CANCEL_REASON = "注销"


@transaction.atomic
def certificate_cancel(*, certificate: Certificate, application_number: str, actor: User | None) -> Certificate:
    """注销 on the holder's own application (DESIGN §14): the department approved the cancel case, and the
    center issues its decision; the certificate is revoked with reason 注销 in the same transaction. The
    case's decision is the authority, so no head's revoke permission is asked for here."""
    certificate = Certificate.objects.select_for_update(of=("self",)).select_related("type").get(pk=certificate.pk)
    return _revoke(certificate=certificate, actor=actor, reason=CANCEL_REASON,
                   payload={"application_number": application_number}, application_number=application_number)


@transaction.atomic
def certificate_read_record(*, actor: User, certificate: Certificate) -> None:
    """Staff opening someone's certificate (it carries the full ID number) is a permission-relevant read and
    is recorded (DESIGN §9); the holder's own downloads are not."""
    if is_holder(user=actor, certificate=certificate):
        return
    audit_record(chain=department_chain(certificate.issuer_id), actor=actor, action="certificate_read", object_type="certificate", object_id=certificate.identifier)


def certificate_expiry_sweep(*, today: date | None = None, batch: int = 500) -> dict:
    """Mark valid certificates past their end date expired; remind holders 90 and 30 days ahead, each once,
    with a link to the renew item of the type (or to contact the issuer when there is none).

    Reads only what is due (indexes on the end date), so the work grows with what changes, not with all
    certificates. Idempotent and safe to run twice at once: rows another sweep holds are skipped
    (skip_locked), and a row already handled no longer matches.
    """
    today = today or _today()
    expired = reminded = 0
    while True:
        with transaction.atomic():
            due = list(
                Certificate.objects.select_for_update(skip_locked=True, of=("self",)).select_related("type", "holder")
                .filter(status=CertificateStatus.VALID, valid_until__lt=today).order_by("valid_until", "pk")[:batch]
            )
            if not due:
                break
            for certificate in due:
                certificate.expire()
                _save_transition(certificate, [])
                audit_record(
                    chain=department_chain(certificate.issuer_id),
                    action="certificate_expire", object_type="certificate", object_id=certificate.identifier,
                    from_state=CertificateStatus.VALID, to_state=certificate.status,
                    payload={"valid_until": certificate.valid_until},
                )
                notify(
                    users=_holder_users(certificate), kind="certificate_expired",
                    message=f"您的电子证照「{certificate.type.name}」已于 {certificate.valid_until:%Y年%m月%d日} 到期，现已失效。如需继续使用，请申请延续或换发。",
                )
            expired += len(due)

    # The last reminder (30 days) first: a certificate that comes due inside 30 days gets only that one.
    last = Q(expiry_reminded_at__isnull=True, valid_until__lte=today + timedelta(days=EXPIRY_REMINDER_DAYS[-1]))
    first = Q(expiry_reminders_sent=0, valid_until__lte=today + timedelta(days=EXPIRY_REMINDER_DAYS[0]),
              valid_until__gt=today + timedelta(days=EXPIRY_REMINDER_DAYS[-1]))
    for due_now, final in ((last, True), (first, False)):
        while True:
            with transaction.atomic():
                due = list(
                    Certificate.objects.select_for_update(skip_locked=True, of=("self",)).select_related("type", "issuer", "holder")
                    .filter(due_now, status=CertificateStatus.VALID, valid_until__isnull=False, valid_until__gte=today)
                    .order_by("valid_until", "pk")[:batch]
                )
                if not due:
                    break
                sent = {"expiry_reminders_sent": len(EXPIRY_REMINDER_DAYS)} if final else {"expiry_reminders_sent": 1}
                Certificate.objects.filter(pk__in=[c.pk for c in due]).update(
                    **sent, **({"expiry_reminded_at": timezone.now()} if final else {}))
                renew_items = lifecycle_items(type_ids={c.type_id for c in due})
                for certificate in due:
                    notify(users=_holder_users(certificate), kind="certificate_expiring",
                           message=_expiry_message(certificate, today=today, items=renew_items))
                reminded += len(due)
    return {"expired": expired, "reminded": reminded}


def _expiry_message(certificate: Certificate, *, today: date, items: dict) -> str:
    days = (certificate.valid_until - today).days
    text = f"您的电子证照「{certificate.type.name}」将于 {certificate.valid_until:%Y年%m月%d日} 到期（还有 {days} 天）"
    renew = items.get(certificate.type_id, {}).get("renew")
    if renew is None:
        return f"{text}，如需继续使用，请联系发证机关{certificate.issuer.name}办理。"
    url = f"{settings.PUBLIC_BASE_URL.rstrip('/')}/apply/{renew['code']}/?certificate={certificate.identifier}"
    return f"{text}，请及时办理「{renew['name']}」：{url}"


def _signature_is_valid(data: bytes) -> bool:
    path = getattr(settings, "PDF_SIGNATURE_VALIDATOR", "")
    if not path:
        raise ImproperlyConfigured("PDF_SIGNATURE_VALIDATOR is not set (e.g. 'seals.signing.pdf_signature_is_valid')")
    validator = import_string(path)
    try:
        return bool(validator(data))
    except Exception:  # the file comes from anyone: a PDF the validator cannot read is simply not valid
        logger.info("signature validation failed on an uploaded file", exc_info=True)
        return False


def certificate_verify_file(*, data: bytes) -> dict:
    """Is this file byte for byte a certificate we issued (by its SHA-256), and is its signature valid?

    The signature is checked by the function settings.PDF_SIGNATURE_VALIDATOR names, so this app does
    not import seals (dependency rule, DESIGN §3).
    """
    digest = hashlib.sha256(data).hexdigest()
    certificate = Certificate.objects.filter(sha256=digest).only("identifier", "status", "valid_until").first()
    return {
        "genuine": certificate is not None,
        "signature_valid": _signature_is_valid(data),
        "identifier": certificate.identifier if certificate else None,
        "status": certificate.status_on(_today()) if certificate else None,
    }
