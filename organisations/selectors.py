"""Reads of organisations: which ones a person may act for, and the only way to fetch one (anything else is a
404, never a 403, DESIGN §10)."""

from django.db.models import Q, QuerySet
from django.http import Http404

from organisations.models import Organisation, OrganisationAgent
from portal.models import Role, User


def acting_organisations(*, user: User) -> QuerySet[Organisation]:
    """The organisations this person may apply for: as legal representative, or as a current agent."""
    if not user.is_authenticated or user.role != Role.APPLICANT:
        return Organisation.objects.none()
    agencies = OrganisationAgent.objects.filter(user=user, removed_at__isnull=True).values("organisation_id")
    return Organisation.objects.filter(Q(legal_rep=user) | Q(pk__in=agencies))


def acting_organisation_ids(user: User) -> frozenset[int]:
    """The same as ids, read once per user object (a request's user): permission checks ask it repeatedly."""
    cached = getattr(user, "_acting_organisation_ids", None)
    if cached is None:
        cached = frozenset(acting_organisations(user=user).values_list("pk", flat=True))
        user._acting_organisation_ids = cached
    return cached


def acting_credit_codes(*, user: User) -> QuerySet:
    """The credit codes of those organisations, as a subquery (the wallet matches certificates by them)."""
    return acting_organisations(user=user).values("credit_code")


def manages(*, user: User, organisation: Organisation) -> bool:
    """Who adds and removes agents: the legal representative, or a window clerk (against a 授权委托书)."""
    return user.is_authenticated and (user.role == Role.CLERK or organisation.legal_rep_id == user.pk)


def access_organisation(*, user: User, credit_code: str) -> Organisation:
    """Applicants: the organisations they act for; clerks: any (they register them at the window)."""
    if not user.is_authenticated:
        raise Http404("单位不存在")
    rows = Organisation.objects.select_related("legal_rep")
    if user.role == Role.APPLICANT:
        rows = rows.filter(pk__in=acting_organisations(user=user).values("pk"))
    elif user.role != Role.CLERK:
        rows = rows.none()
    organisation = rows.filter(credit_code=(credit_code or "").strip().upper()).first()
    if organisation is None:
        raise Http404("单位不存在")
    return organisation


def current_agents(organisation: Organisation) -> QuerySet[OrganisationAgent]:
    return organisation.agents.filter(removed_at__isnull=True).select_related("user", "added_by")


def may_act_for(*, user: User, organisation: Organisation) -> bool:
    """The legal representative or a current agent (a clerk registering the case checks the person present)."""
    return organisation.legal_rep_id == user.pk or organisation.agents.filter(user=user, removed_at__isnull=True).exists()


def person_ids_acting_for(organisation: Organisation) -> set[str]:
    """ID numbers that may collect the organisation's results at the window (代领): its legal representative's and
    its current agents'."""
    numbers = set(
        organisation.agents.filter(removed_at__isnull=True).exclude(user__id_number=None)
        .values_list("user__id_number", flat=True)
    )
    numbers.add(organisation.legal_rep_id_number)
    return numbers
