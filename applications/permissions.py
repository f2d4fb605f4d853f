"""The only way to fetch a case a user may see. Anything else is a 404, never a 403 (DESIGN §5)."""

from django.db.models import QuerySet
from django.http import Http404

from applications.models import Application, Appointment, Channel, Rectification, State
from portal.models import Role, User

DECIDED = [State.APPROVED, State.REJECTED, State.ISSUED, State.DELIVERED]


def visible_applications(*, user: User) -> QuerySet[Application]:
    """Applicants: their own; clerks: any case but citizens' unsubmitted online drafts (any window accepts
    any item); department staff: their
    department's cases once submitted; custodians: decided cases; supervisors: everything, read-only."""
    cases = Application.objects.all()
    if not user.is_authenticated:
        return cases.none()
    if user.role == Role.APPLICANT:
        return cases.filter(applicant=user)
    if user.role == Role.CLERK:
        # A citizen's online draft is theirs until they submit it.
        return cases.exclude(state=State.DRAFT, channel=Channel.ONLINE)
    if user.role in (Role.REVIEWER, Role.HEAD):
        return cases.filter(department_id=user.department_id).exclude(state=State.DRAFT)
    if user.role == Role.CUSTODIAN:
        return cases.filter(state__in=DECIDED)
    if user.role == Role.SUPERVISOR:
        return cases
    return cases.none()


def access_application(*, user: User, number: str, for_update: bool = False) -> Application:
    cases = visible_applications(user=user)
    if for_update:
        cases = cases.select_for_update(of=("self",))  # not the shared item version and department rows
    case = cases.select_related("item_version", "item_version__item", "department").filter(number=number).first()
    if case is None:
        raise Http404("办件不存在")
    return case


def sees_contact_data(*, user: User, application: Application) -> bool:
    """受审分离: reviewers judge the materials, not the person; only the applicant and intake see contacts."""
    return user.role == Role.CLERK or (user.role == Role.APPLICANT and application.applicant_id == user.pk)


def owns(*, user: User, application: Application) -> bool:
    return user.role == Role.APPLICANT and application.applicant_id == user.pk


def is_department_head(*, user: User, application: Application) -> bool:
    return user.role == Role.HEAD and user.department_id == application.department_id


def visible_rectifications(*, user: User):
    """Heads see their department's rectifications, supervisors all; nobody else any."""
    rows = Rectification.objects.select_related("rating", "application", "department")
    if not user.is_authenticated:
        return rows.none()
    if user.role == Role.SUPERVISOR:
        return rows
    if user.role == Role.HEAD:
        return rows.filter(department_id=user.department_id)
    return rows.none()


def access_rectification(*, user: User, pk) -> Rectification:
    """Like permissions.access_application: what the user may not see is a 404."""
    try:
        return visible_rectifications(user=user).get(pk=int(pk))
    except (Rectification.DoesNotExist, TypeError, ValueError) as error:
        raise Http404("整改记录不存在") from error


def access_appointment(*, user: User, pk) -> Appointment:
    """The applicant's own bookings, and a clerk's hall's; anything else is a 404."""
    rows = Appointment.objects.select_related("slot", "slot__hall", "item", "ticket")
    if user.is_authenticated and user.role == Role.APPLICANT:
        rows = rows.filter(user=user)
    elif user.is_authenticated and user.role == Role.CLERK:
        rows = rows.filter(slot__hall_id=user.hall_id)
    else:
        rows = rows.none()
    try:
        return rows.get(pk=int(pk))
    except (Appointment.DoesNotExist, TypeError, ValueError) as error:
        raise Http404("预约不存在") from error
