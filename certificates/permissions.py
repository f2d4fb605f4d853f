"""The only way to fetch a certificate a user may see. Anything else is a 404, never a 403 (DESIGN §10)."""

from django.db.models import Q, QuerySet
from django.http import Http404

from certificates.models import Certificate
from certificates.selectors import held_by
from organisations.selectors import acting_organisations
from portal.identity import IdType
from portal.models import Role, User

DEPARTMENT_STAFF = (Role.REVIEWER, Role.HEAD)


def visible_certificates(*, user: User) -> QuerySet[Certificate]:
    """Everyone: what they hold. Reviewers and heads: also what their department issued. Supervisors: all."""
    certificates = Certificate.objects.all()
    if not user.is_authenticated:
        return certificates.none()
    if user.role == Role.SUPERVISOR:
        return certificates
    condition = held_by(user=user)
    if user.role in DEPARTMENT_STAFF and user.department_id:
        condition |= Q(issuer_id=user.department_id)
    return certificates.filter(condition)


def access_certificate(*, user: User, identifier: str) -> Certificate:
    certificate = (
        visible_certificates(user=user).select_related("type", "issuer", "holder", "revoked_by")
        .filter(identifier=identifier).first()
    )
    if certificate is None:
        raise Http404("证照不存在")
    return certificate


def is_holder(*, user: User, certificate: Certificate) -> bool:
    """The holder's account, their verified ID, or an agent of the holding organisation (`held_by` per row)."""
    if not user.is_authenticated:
        return False
    if certificate.holder_id == user.pk:
        return True
    if user.id_number and (user.id_type, user.id_number) == (certificate.holder_id_type, certificate.holder_id_number):
        return True
    return certificate.holder_id_type == IdType.CREDIT_CODE and acting_organisations(user=user).filter(
        credit_code=certificate.holder_id_number).exists()


def can_revoke(*, user: User, certificate: Certificate) -> bool:
    """Only the head of the department that issued it (DESIGN §8)."""
    return (
        user.is_authenticated and user.role == Role.HEAD and user.department_id is not None
        and user.department_id == certificate.issuer_id
    )
