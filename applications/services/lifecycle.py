"""Licence lifecycle by application (DESIGN §14): a renew (延续), change (变更), replace (补证) or cancel (注销)
case names the certificate it is about. `held_certificate_check` is what application_create asks: the
applicant (or the organisation filing) holds it, it is of the item's type and issuer, and it may still be
acted on; and no other open case is about it. Issuance (seals.services.seal_issue_complete) then makes the
next version of it, or revokes it for a cancel.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError

from applications.models import Application, State
from certificates.models import Certificate, CertificateStatus
from items.models import CertificateAction, ItemVersion
from portal.errors import Refused

# A case in one of these states is finished with its certificate; any other is still about it.
CLOSED_STATES = (State.NOT_ACCEPTED, State.REJECTED, State.ISSUED, State.DELIVERED, State.WITHDRAWN)


def _error(message: str) -> ValidationError:
    return ValidationError({"certificate": [message]})


def held_certificate_check(*, version: ItemVersion, certificate: str, holder_id_type: str, holder_id_number: str,
                           today) -> Certificate | None:
    """The certificate a lifecycle case names, locked for the rest of the transaction, or None for an issue
    item. Bad input is a ValidationError on `certificate`; a second open case on it is Refused (409)."""
    identifier = (certificate or "").strip()
    action = version.certificate_action
    if action == CertificateAction.ISSUE or version.certificate_type_id is None:
        if identifier:
            raise _error(f"「{version.name}」是新办事项，不能指定所持证照；延续、变更、补证、注销请选择相应事项")
        return None
    label = CertificateAction(action).label
    type_name = version.certificate_type.name
    if not identifier:
        raise _error(f"办理{label}须选择所持有的「{type_name}」")
    # The row lock serialises two applications naming the same certificate: the second sees the first.
    held = (
        Certificate.objects.select_for_update(of=("self",)).select_related("type", "issuer")
        .filter(identifier__iexact=identifier, holder_id_type=holder_id_type, holder_id_number=holder_id_number)
        .first()
    )
    if held is None:
        # Whether someone else holds it is nobody's business: one answer for "no such" and "not yours".
        raise _error(f"申请人未持有证照 {identifier}")
    if held.type_id != version.certificate_type_id:
        raise _error(f"所选证照为「{held.type.name}」，本事项办理的是「{type_name}」")
    if held.issuer_id != version.department_id:
        raise _error(f"该证照由{held.issuer.name}核发，{label}须向原发证机关申请")
    status = held.status_on(today)
    if status == CertificateStatus.REVOKED:
        raise _error(f"该证照已于 {held.revoked_at:%Y年%m月%d日} 注销，不能办理{label}")
    if status == CertificateStatus.SUPERSEDED:
        raise _error(f"该证照（第 {held.version} 版）已换发新版本，请选择现行有效的版本")
    if status == CertificateStatus.EXPIRED:
        grace = held.type.renewal_grace_days if action == CertificateAction.RENEW else 0
        if today - held.valid_until > timedelta(days=grace):
            if action == CertificateAction.RENEW:
                raise _error(f"该证照已于 {held.valid_until:%Y年%m月%d日} 到期，超过到期后 {grace} 天的延续申请期限，请申请新办")
            raise _error(f"该证照已于 {held.valid_until:%Y年%m月%d日} 到期失效，不能办理{label}")
    open_case = (
        Application.objects.filter(held_certificate=held).exclude(state__in=CLOSED_STATES)
        .only("number").order_by("pk").first()
    )
    if open_case is not None:
        raise Refused(f"该证照已有正在办理的办件 {open_case.number}，办结或撤回后才能再次申请", code="certificate_case_open")
    return held
