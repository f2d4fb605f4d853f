"""Reads of e-certificates: what a user holds, and the lists the pages and the API show."""

from datetime import date

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.module_loading import import_string

from certificates.identifiers import PREFIX, identifier_parts
from certificates.models import Certificate, CertificateStatus, CertificateType
from organisations.selectors import acting_credit_codes
from portal.identity import IdType
from portal.models import Role, User


def held_by(*, user: User) -> Q:
    """A user holds a certificate issued to their account, or to their verified ID number (a walk-in
    applicant's certificate reaches their wallet once they sign up with the same number), and the
    certificates of every organisation they act for (DESIGN §13: each agent's wallet shows them)."""
    condition = Q(holder_id=user.pk)
    if user.id_number and user.id_type:
        condition |= Q(holder_id_type=user.id_type, holder_id_number=user.id_number)
    if user.role == Role.APPLICANT:
        condition |= Q(holder_id_type=IdType.CREDIT_CODE, holder_id_number__in=acting_credit_codes(user=user))
    return condition


def with_status(certificates: QuerySet[Certificate], *, status: str | None, today: date) -> QuerySet[Certificate]:
    """Filter by the status as of today: a valid certificate past its end date counts as expired even
    before the expiry sweep has written it down."""
    if not status:
        return certificates
    if status == CertificateStatus.VALID:
        return certificates.valid_on(today)
    if status == CertificateStatus.EXPIRED:
        return certificates.filter(
            Q(status=CertificateStatus.EXPIRED) | Q(status=CertificateStatus.VALID, valid_until__lt=today)
        )
    return certificates.filter(status=status)


def certificate_wallet(*, user: User, status: str | None = None) -> QuerySet[Certificate]:
    """The holder's own certificates, every version, newest first."""
    if not user.is_authenticated:
        return Certificate.objects.none()
    certificates = Certificate.objects.filter(held_by(user=user)).select_related("type", "issuer")
    return with_status(certificates, status=status, today=timezone.localdate())


def valid_certificate_types_of(*, id_type: str, id_number: str) -> set[str]:
    """Codes of the certificate types the subject with this code (a person's ID, an organisation's credit
    code) holds a valid certificate of today: 免交 for a case stands on its applicant, whoever filed it."""
    if not id_number:
        return set()
    certificates = Certificate.objects.filter(holder_id_type=id_type, holder_id_number=id_number)
    return set(certificates.valid_on(timezone.localdate()).values_list("type__code", flat=True).distinct())


def held_valid_certificate_types(*, user: User) -> set[str]:
    """Codes of the certificate types the user holds a valid certificate of today: a material requirement
    whose `satisfied_by` is one of them needs no upload (免交, DESIGN §8)."""
    if not user.is_authenticated:
        return set()
    certificates = Certificate.objects.filter(held_by(user=user)).valid_on(timezone.localdate())
    return set(certificates.values_list("type__code", flat=True).distinct())


def certificate_for_verification(*, identifier: str) -> Certificate | None:
    """By identifier, typed in any letter case; None when it is not a well-formed identifier (no query).

    Identifiers are stored as issued: the type code as the catalogue spells it, the rest upper-case. So the
    candidates are rebuilt from the parts and looked up by equality, which the unique index answers (an
    UPPER(identifier) lookup would read the whole table)."""
    parts = identifier_parts(identifier)
    if parts is None:
        return None
    typed = identifier.strip()
    rest = typed.upper()[len(PREFIX) + 1 + len(parts["type"]):]
    codes = {parts["type"], *CertificateType.objects.filter(code__iexact=parts["type"]).values_list("code", flat=True)}
    candidates = {typed, *(f"{PREFIX}.{code}{rest}" for code in codes)}
    return Certificate.objects.select_related("type", "issuer").filter(identifier__in=candidates).first()


MAX_LICENCE_NUMBER_MATCHES = 20


def certificates_by_licence_number(*, number: str) -> list[Certificate]:
    """Every version carrying this licence number (DESIGN §14), in any letter case: the one in force first,
    then the newest. Renewals and changes keep the number, so one number names several versions.

    `UPPER(licence_number) = …` with `licence_number <> ''` is exactly certificate_licence_number_idx
    (a partial expression index): the planner uses it only when the query repeats its condition."""
    number = (number or "").strip()
    # Anything typed reaches here: a control character (NUL) is no licence number and PostgreSQL refuses it.
    if not number or len(number) > Certificate._meta.get_field("licence_number").max_length or not number.isprintable():
        return []
    rows = list(
        Certificate.objects.select_related("type", "issuer").exclude(licence_number="")
        .alias(licence_number_upper=Upper("licence_number")).filter(licence_number_upper=number.upper())
        .order_by("-issued_on", "-version", "-id")[:MAX_LICENCE_NUMBER_MATCHES]
    )
    today = timezone.localdate()
    rows.sort(key=lambda certificate: certificate.status_on(today) != CertificateStatus.VALID)  # stable
    return rows


def latest_version(*, certificate: Certificate) -> Certificate:
    """The newest version of the same serial (itself when it has not been re-issued)."""
    return (
        Certificate.objects.filter(type_id=certificate.type_id, issuer_id=certificate.issuer_id, serial=certificate.serial)
        .order_by("-version").first()
    ) or certificate


# --- licence lifecycle (DESIGN §14) --------------------------------------------------------------------


def lifecycle_items(*, type_ids) -> dict[int, dict[str, dict]]:
    """{type id: {action: {"code", "name"}}} of the current published items that renew, change, replace or
    cancel a certificate of each type. Through the setting CERTIFICATE_LIFECYCLE_ITEMS: certificates may not
    import items."""
    type_ids = set(type_ids)
    if not type_ids:
        return {}
    return import_string(settings.CERTIFICATE_LIFECYCLE_ITEMS)(type_ids=type_ids)


def _newer_version(field: str = "version") -> Exists:
    return Exists(Certificate.objects.filter(
        type_id=OuterRef("type_id"), issuer_id=OuterRef("issuer_id"), serial=OuterRef("serial"), version__gt=OuterRef(field)))


def certificate_wallet_chains(*, user: User) -> QuerySet[Certificate]:
    """The wallet by licence: the newest version of each serial the user holds, newest issue first; the
    earlier versions come from `earlier_versions`."""
    if not user.is_authenticated:
        return Certificate.objects.none()
    return (
        Certificate.objects.filter(held_by(user=user)).exclude(_newer_version())
        .select_related("type", "issuer").order_by("-issued_on", "-id")
    )


def earlier_versions(certificates) -> dict[int, list[Certificate]]:
    """{certificate id: its earlier versions, newest first} for a page of the wallet, in one query."""
    certificates = list(certificates)
    if not certificates:
        return {}
    chains = Q()
    for certificate in certificates:
        chains |= Q(type_id=certificate.type_id, issuer_id=certificate.issuer_id, serial=certificate.serial,
                    version__lt=certificate.version)
    by_serial: dict[tuple, list[Certificate]] = {}
    for earlier in Certificate.objects.filter(chains).order_by("-version"):
        by_serial.setdefault((earlier.type_id, earlier.issuer_id, earlier.serial), []).append(earlier)
    return {c.pk: by_serial.get((c.type_id, c.issuer_id, c.serial), []) for c in certificates}


def lifecycle_candidates(*, user: User, certificate_type_id: int) -> QuerySet[Certificate]:
    """What the apply page offers a renew/change/replace/cancel case: the current versions of the type the user
    (or an organisation they act for) holds, valid or expired; the service decides which one may be used."""
    if not user.is_authenticated:
        return Certificate.objects.none()
    return (
        Certificate.objects.filter(held_by(user=user), type_id=certificate_type_id,
                                   status__in=[CertificateStatus.VALID, CertificateStatus.EXPIRED])
        .exclude(_newer_version()).order_by("-issued_on", "-id")
    )
