"""Issuance, driven by seals (only the center stamps): the 制证中 mark, the decision letter, issue and delivery."""

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from applications.documents import DocumentKind
from applications.models import Application, DeliveryMethod, Document, State
from applications.permissions import owns
from applications.services.case import (
    document_create,
    lock_case,
    refuse_bundle_child,
    require_role,
    state_refusal,
    tell_applicant,
    transition,
)
from applications.services.commitments import refuse_false_commitment
from applications.services.deferral import refuse_deferred
from applications.services.rollup import statistics_day_invalidate
from items.models import CertificateAction
from organisations.selectors import person_ids_acting_for
from portal.accounts import is_walk_in_identity
from portal.audit import audit_record, department_chain
from portal.errors import Forbidden, Refused
from portal.identity import IdType
from portal.models import Role, User


def application_issuing_start(*, application: Application) -> Application:
    """Mark a decided case 制证中; the caller (seals) holds the transaction and has checked the custodian."""
    case = lock_case(application)
    if case.state not in (State.APPROVED, State.REJECTED):
        raise state_refusal(case, "issue")
    if case.issuing:
        raise Refused("该办件正在制证，请勿重复签发", code="issuing")
    if case.state == State.APPROVED:
        refuse_deferred(case, "用印签发")  # 容缺 (DESIGN §14): the licence waits for every deferred material
        refuse_false_commitment(case)
    case.issuing = True
    case.save(update_fields=["issuing"])
    return case


def application_issuing_failed(*, application: Application, error: str = "") -> None:
    """Issuance gave up (seals, after its last retry): the case leaves 制证中, so the custodian can try again."""
    case = lock_case(application)
    case.issuing = False
    case.save(update_fields=["issuing"])
    audit_record(
        chain=department_chain(case.department_id),
        action="application_issuing_failed", object_type="application", object_id=case.number,
        from_state=case.state, to_state=case.state, payload={"error": error[:300]},
    )


def decision_document(*, application: Application, kind: str) -> Document:
    """The decision letter's frozen snapshot (准予/不予行政许可决定书), to be rendered and sealed."""
    case = application
    context = {
        "opinion": case.decision_opinion,
        "legal_basis": case.decision_legal_basis,
        "decided_by": case.decided_by.display_name if case.decided_by_id else "",
        "result_name": case.item_version.result_name,
    }
    held = case.held_certificate
    if held is not None and kind == DocumentKind.APPROVAL_DECISION:
        # A lifecycle case's letter names the certificate; a cancel's letter is its whole result (准予注销).
        action = case.item_version.certificate_action
        context["certificate_action"] = action
        context["held_certificate"] = {
            "type_name": held.type.name, "identifier": held.identifier, "licence_number": held.licence_number,
            "version": held.version,
        }
        if action == CertificateAction.CANCEL:
            context["document_title"] = "准予注销决定书"
    return document_create(case, kind=kind, context=context)


def application_issue(*, actor: User, application: Application, certificate_identifier: str = "",
                      document_sha256: str = "") -> Application:
    """Sealed and issued: runs inside the seals transaction that stamped the document."""
    case = lock_case(application)
    case.issuing, case.issued_at, case.certificate_identifier = False, timezone.now(), certificate_identifier
    if not case.closed_at:  # 办结: the result exists, whichever channel the case came by
        case.closed_at = case.issued_at
    transition(case, "issue", actor=actor, fields=["issuing", "issued_at", "certificate_identifier", "closed_at"], payload={
        "certificate": certificate_identifier, "document_sha256": document_sha256,
    })
    certificate_type = case.item_version.certificate_type
    # A walk-in registered at the window has no way to sign in yet: tell them where the result is for them.
    signs_in = not is_walk_in_identity(case.applicant)
    where = ("可在「我的证照」查看和下载" if signs_in
             else "可到受理窗口领取，或凭本人证件号码注册账户后在「我的证照」查看和下载")
    result = (f"电子证照「{certificate_type.name if certificate_type else case.item_version.result_name}」已签发"
              f"（证照标识 {certificate_identifier}），{where}"
              if certificate_identifier else
              ("决定书已签发，可在办件详情下载" if signs_in else "决定书已签发，可到受理窗口领取，或注册账户后在办件详情下载"))
    tell_applicant(case, "issued", f"您的办件 {case.number} 已办结出证：{result}。")
    return case


# 邮寄送达: an address a courier can find — the column's length at most, and at least this many letters or
# digits (「—」 or 「，。」 is no address; 「人民大街 1 号」 is).
MAIL_ADDRESS_MAX_LENGTH = Application._meta.get_field("contact_address").max_length
MAIL_ADDRESS_MIN_SIGNS = 5
_ADDRESS_SIGN = re.compile(r"[^\W_]")


def mail_address_refusal(address: str) -> str | None:
    """Why this is no mailing address, or None."""
    if not address:
        return "邮寄送达须填写邮寄地址"
    if len(address) > MAIL_ADDRESS_MAX_LENGTH:
        return f"邮寄地址不能超过 {MAIL_ADDRESS_MAX_LENGTH} 个字"
    if len(_ADDRESS_SIGN.findall(address)) < MAIL_ADDRESS_MIN_SIGNS:
        return "请填写完整的邮寄地址（省市区、街道和门牌号，如：长春市朝阳区人民大街 1 号）"
    return None


@transaction.atomic
def application_deliver(*, actor: User, application: Application, method: str, tracking_number: str = "",
                        id_number: str = "", address: str | None = None,
                        as_part_of: Application | None = None) -> Application:
    """送达: pickup at the window checks the holder's ID (and is a visit); mail records the tracking number
    and the address it went to (given, else the case's contact address; kept as the contact address); the
    applicant downloading the e-certificate is delivery too (zero visits)."""
    case = lock_case(application)
    refuse_bundle_child(case, as_part_of)
    address = (case.contact_address if address is None else address).strip()
    errors = {}
    if method not in DeliveryMethod.values:
        errors["method"] = [f"送达方式应为：{'、'.join(f'{v}（{label}）' for v, label in DeliveryMethod.choices)}"]
    elif method == DeliveryMethod.DOWNLOAD:
        if not owns(user=actor, application=case):
            raise Forbidden("网上下载送达只能由申请人本人完成")
    else:
        require_role(actor, Role.CLERK)
        if method == DeliveryMethod.MAIL and not (tracking_number or "").strip():
            errors["tracking_number"] = ["邮寄送达须填写快递单号"]
        if method == DeliveryMethod.MAIL and (refusal := mail_address_refusal(address)):
            errors["address"] = [refusal]
        if method == DeliveryMethod.PICKUP and (id_number or "").strip().upper() not in collector_id_numbers(case):
            errors["id_number"] = ["领取人证件号码与申请人不符（他人代领须为办件登记的代理人或单位经办人）"]
    if errors:
        raise ValidationError(errors)
    case.delivery_method, case.tracking_number, case.delivered_at = method, (tracking_number or "").strip(), timezone.now()
    fields = ["delivery_method", "tracking_number", "delivered_at"]
    # 受审分离: the address is contact data, so it is kept on the case (which reviewers never see), not in
    # the event's payload (which they do).
    address_changed = method == DeliveryMethod.MAIL and address != case.contact_address
    if address_changed:
        case.contact_address = address
        fields.append("contact_address")
    if method == DeliveryMethod.PICKUP:
        case.visits += 1
        fields.append("visits")
        if case.issued_at:  # one- and zero-visit shares count by the day of issue
            statistics_day_invalidate(day=timezone.localdate(case.issued_at))
    payload = {"method": method, "tracking_number": case.tracking_number}
    if address_changed:
        payload["address_changed"] = True
    if method == DeliveryMethod.PICKUP:
        payload["collected_by"] = "agent" if collected_by_agent(case, id_number) else "applicant"  # 代领
    case = transition(case, "deliver", actor=actor, fields=fields, payload=payload)
    if as_part_of is None:  # a bundle tells once, for all its results (bundle_deliver)
        tell_delivered(case, method=method, id_number=id_number, tracking_number=case.tracking_number, when=case.delivered_at)
    return case


def tell_delivered(case: Application, *, method: str, id_number: str, tracking_number: str, when,
                   what: str = "") -> None:
    """领取/邮寄 told to the applicant and the contact phone (DESIGN §13): a result collected by someone else
    (代领: `id_number` is not the applicant's) is news the applicant should hear at once. Downloading it online
    is the applicant's own act: no message."""
    what = what or f"您的办件 {case.number} 的办理结果"
    when = timezone.localtime(when)
    if method == DeliveryMethod.PICKUP:
        who = "由代领人凭证件" if collected_by_agent(case, id_number) else "由申请人本人凭证件"
        tell_applicant(case, "delivered", f"{what}已于 {when:%Y年%m月%d日 %H:%M} 在窗口{who}领取。"
                                          "如非您本人或您委托的人领取，请立即联系办理窗口。")
    elif method == DeliveryMethod.MAIL:
        tell_applicant(case, "delivered", f"{what}已于 {when:%Y年%m月%d日} 寄出，快递单号 {tracking_number.strip()}，"
                                          f"寄往 {case.contact_address}。")


def collected_by_agent(case: Application, id_number: str) -> bool:
    """代领: the ID shown at pickup is not the applicant's own (it is an agent's, checked against
    collector_id_numbers)."""
    return (id_number or "").strip().upper() != case.applicant_id_number


def collector_id_numbers(case: Application) -> set[str]:
    """Who may collect the result at the window (代领 included): the applicant in person; the account that
    filed a 代办 case; for an organisation, its legal representative and current agents."""
    numbers = {case.applicant_id_number} if case.applicant_id_type == IdType.RESIDENT_ID else set()
    if case.principal_id and case.applicant.id_number:
        numbers.add(case.applicant.id_number)
    if case.organisation_id:
        numbers |= person_ids_acting_for(case.organisation)
    return numbers
