"""Who may see and who may act, in one place (DESIGN §5).

Seeing: `access_*` are the only way to fetch a case, a rectification or an appointment a user may see; anything
else is a 404, never a 403. Acting: `actor_refusal` holds each action's rule on who may take it (role, owner,
department, the claiming reviewer); the services check through it, and `allowed_actions` adds the case's state,
so pages show exactly the buttons the services would accept and the case API lists the same (`available_actions`).
"""

from collections.abc import Callable

from django.db.models import Q, QuerySet
from django.http import Http404
from django_fsm import can_proceed

from applications.models import (
    DECIDED,
    FINISHED,
    RUNNING,
    WITHDRAWABLE,
    Application,
    Appointment,
    Channel,
    Commitment,
    Complaint,
    Rating,
    RatingStage,
    Rectification,
    State,
    rating_stage_open,
)
from organisations.selectors import acting_organisation_ids, acting_organisations
from portal.errors import Forbidden
from portal.models import Role, User


def visible_applications(*, user: User) -> QuerySet[Application]:
    """Applicants: their own; clerks: any case but citizens' unsubmitted online drafts (any window accepts
    any item); department staff: their
    department's cases once submitted; custodians: decided cases; supervisors: everything, read-only."""
    cases = Application.objects.all()
    if not user.is_authenticated:
        return cases.none()
    if user.role == Role.APPLICANT:
        return cases.filter(party_condition(user))
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


def party_condition(user: User) -> Q:
    """The cases a person is a party to (DESIGN §13): what they filed for themselves or for another person, what
    another filed for them (代办: they are the principal), and their organisations' cases while they may act
    for it (a removed agent no longer sees the cases they filed for it)."""
    return (
        Q(applicant=user, organisation__isnull=True) | Q(principal=user)
        | Q(organisation__in=acting_organisations(user=user).values("pk"))
    )


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
    return user.role == Role.CLERK or owns(user=user, application=application)


def owns(*, user: User, application: Application) -> bool:
    """A party to the case acts as its applicant: who filed it, the principal it was filed for, and any current
    agent or the legal representative of the organisation it was filed for (`party_condition` in Python)."""
    if user.role != Role.APPLICANT:
        return False
    if application.organisation_id:
        return application.organisation_id in acting_organisation_ids(user)
    return user.pk in (application.applicant_id, application.principal_id)


def is_department_head(*, user: User, application: Application) -> bool:
    return heads_department(user=user, department_id=application.department_id)


def heads_department(*, user: User, department_id: int) -> bool:
    """The head of this department: answers referrals, extends, and rectifies its 差评."""
    return user.role == Role.HEAD and user.department_id == department_id


def is_hall_clerk(*, user: User, hall_id: int) -> bool:
    """A window clerk of this hall: calls its queue and checks its appointments in."""
    return user.role == Role.CLERK and user.hall_id == hall_id


def is_supervisor(*, user: User) -> bool:
    return user.role == Role.SUPERVISOR


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


def visible_complaints(*, user: User):
    """投诉 (decision 059): the complainant's own; the department's reviewers and head, their department's;
    supervisors, all; nobody else any (a complaint followed without an account goes by its signed link)."""
    rows = Complaint.objects.select_related("department", "application", "item", "item__current_version")
    if not user.is_authenticated:
        return rows.none()
    if user.role == Role.APPLICANT:
        return rows.filter(complainant=user)
    if user.role in (Role.REVIEWER, Role.HEAD):
        return rows.filter(department_id=user.department_id)
    if user.role == Role.SUPERVISOR:
        return rows
    return rows.none()


def access_complaint(*, user: User, number: str) -> Complaint:
    """Like access_application: a complaint the user may not see is a 404."""
    complaint = visible_complaints(user=user).filter(number=str(number)).first()
    if complaint is None:
        raise Http404("投诉不存在")
    return complaint


def complains_as_account(*, user: User) -> bool:
    """A signed-in applicant files a complaint as themselves (no phone to prove); staff file none."""
    return user.is_authenticated and user.role == Role.APPLICANT


def answers_complaint(*, user: User, complaint: Complaint) -> bool:
    """The department it was routed to answers it: its reviewers and its head."""
    return user.role in (Role.REVIEWER, Role.HEAD) and user.department_id == complaint.department_id


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


# --- acting on a case ---------------------------------------------------------------------------------

# The transitions of DESIGN §5, in the order a case meets them (the keys of services.ACTION_LABELS).
ACTIONS = [
    "submit", "request_materials", "resubmit", "accept", "refer", "return_to_window", "decline", "withdraw",
    "claim", "suspend", "resume", "extend", "approve", "reject", "issue", "deliver", "rate",
    # 告知承诺制 (DESIGN §14): signing the 承诺书 on a draft, the department's verification after approval.
    "commit", "verify_commitment",
]
# A bundle's children take these together, on the parent (一件事一次办, DESIGN §4); never one by one.
BUNDLE_WIDE = {"submit", "request_materials", "resubmit", "accept", "withdraw", "deliver"}
# Nor does the window refer one child alone: it takes the bundle as one case (issue 18).
NOT_FOR_A_CHILD = BUNDLE_WIDE | {"refer"}


def _applicant(message: str) -> Callable[[User, Application], str | None]:
    return lambda user, case: None if owns(user=user, application=case) else message


def _role(role: str, message: str = "您的角色无权执行此操作") -> Callable[[User, Application], str | None]:
    return lambda user, case: None if user.role == role else message


def _head(message: str) -> Callable[[User, Application], str | None]:
    return lambda user, case: None if is_department_head(user=user, application=case) else message


def _department(user: User, case: Application) -> str | None:
    if user.role in (Role.REVIEWER, Role.HEAD) and user.department_id == case.department_id:
        return None
    return "只有本部门审查人员可以办理"


def _case_reviewer(user: User, case: Application) -> str | None:
    """The reviewer who claimed the case (or anyone of the department while nobody has), or the head."""
    refusal = _department(user, case)
    if refusal is None and user.role == Role.REVIEWER and case.reviewer_id not in (None, user.pk):
        return "该办件已由其他审查人员认领"
    return refusal


def _applicant_or_clerk(message: str) -> Callable[[User, Application], str | None]:
    return lambda user, case: None if owns(user=user, application=case) or user.role == Role.CLERK else message


def _issuer(user: User, case: Application) -> str | None:
    """审批与用印分离, by role and by person: a custodian stamps, and never a case they claimed or decided (a
    reviewer moved to the center may not stamp their own approval)."""
    if user.role != Role.CUSTODIAN:
        return "只有政务服务中心印章管理员可以用印签发"
    if user.pk in (case.reviewer_id, case.decided_by_id):
        return "您曾审查或决定该办件，不能为其用印签发（审批与用印须由不同人员完成）"
    return None


WHO = {
    "submit": _applicant("只有申请人本人可以提交申请"),
    "request_materials": _role(Role.CLERK),
    "resubmit": _applicant_or_clerk("只有申请人或窗口人员可以提交补正材料"),
    "accept": _role(Role.CLERK),
    "refer": _role(Role.CLERK),
    "return_to_window": _head("只有本部门负责人可以研判转办件"),
    "decline": _head("只有本部门负责人可以作出不予受理决定"),
    "withdraw": _applicant("只有申请人本人可以撤回申请"),
    "claim": _department,
    "suspend": _case_reviewer,
    "resume": _case_reviewer,
    "extend": _head("只有本部门负责人可以批准延长办理期限"),
    "approve": _case_reviewer,
    "reject": _case_reviewer,
    "issue": _issuer,
    # The method decides further: the applicant downloads, the window hands over or mails.
    "deliver": _applicant_or_clerk("只有申请人或窗口人员可以办理送达"),
    "rate": _applicant("只有申请人本人可以评价"),
    "commit": _applicant_or_clerk("只有申请人或窗口人员可以签署告知承诺书"),
    "verify_commitment": _department,
}


def actor_refusal(user: User, case: Application, action: str) -> Forbidden | None:
    """Why this user may not take `action` on the case whatever its state, or None."""
    message = WHO[action](user, case)
    return None if message is None else Forbidden(message)


def check_actor(user: User, case: Application, action: str) -> None:
    """The services' check: a 403 naming who may."""
    refusal = actor_refusal(user, case, action)
    if refusal is not None:
        raise refusal


def state_allows(case: Application, action: str) -> bool:
    """Whether the case's state (and its own rules: one extension, one rating) lets the action happen now."""
    if action == "extend":
        return case.state in RUNNING and not case.extended_days
    if action == "rate":
        # 一次一评: some stage of the case is open for rating and not rated yet.
        rated = set(Rating.objects.filter(application=case).values_list("stage", flat=True))
        return any(stage not in rated and rating_stage_open(case, stage) for stage in RatingStage.values)
    if action == "issue" and case.issuing:
        return False
    if action in ("approve", "issue") and case.deferral_due is not None and case.state != State.REJECTED:
        # 容缺: a deferred material is still outstanding (the deadline clears when the last one is in).
        return False
    if action == "commit":
        # A draft whose item lets a signed commitment stand in for a material, not signed yet.
        return (case.state == State.DRAFT and any(r.commitment_allowed for r in case.item_version.materials.all())
                and not _has_commitment(case))
    if action == "verify_commitment":
        commitment = _commitment(case) if case.state in DECIDED else None
        return commitment is not None and commitment.verification_due is not None and not commitment.outcome
    return can_proceed(getattr(case, action))


def _commitment(case: Application):
    try:
        return case.commitment
    except Commitment.DoesNotExist:
        return None


def _has_commitment(case: Application) -> bool:
    return _commitment(case) is not None


def allowed_actions(user: User, case: Application) -> list[str]:
    """The transitions this user may take on this case now, in DESIGN §5's order. A bundle's parent answers
    for the bundle (`bundle_allowed_actions`); its children leave intake and delivery to it."""
    if not user.is_authenticated:
        return []
    return [
        action for action in ACTIONS
        if not (case.parent_id and action in NOT_FOR_A_CHILD)
        and actor_refusal(user, case, action) is None and state_allows(case, action)
    ]


def bundle_allowed_actions(user: User, parent: Application, children: list[Application]) -> list[str]:
    """What may be done to a bundle as a whole (on its parent), from its children's states: submitted, noticed
    and accepted together, resubmitted and withdrawn together, and delivered at once when all are done."""
    if not user.is_authenticated:
        return []
    states = [child.state for child in children]
    live = [state for state in states if state != State.WITHDRAWN]
    possible = {
        "submit": State.DRAFT in states,
        "request_materials": State.SUBMITTED in states,
        "resubmit": State.PENDING_MATERIALS in states,
        "accept": bool(live) and all(state in (State.DRAFT, State.SUBMITTED) for state in live),
        "withdraw": any(state in WITHDRAWABLE for state in states),
        "deliver": State.ISSUED in states and all(state in (State.ISSUED, *FINISHED) for state in states),
    }
    return [
        action for action in ACTIONS
        if possible.get(action) and actor_refusal(user, parent, action) is None
    ]


def access_bundle(*, user: User, number: str) -> Application:
    """A parent case the user may see: its applicant and supervisors always; clerks once it was submitted
    (they cannot see a citizen's unsubmitted online draft either); department staff see the children only."""
    parent = (
        Application.objects.select_related("item_version", "item_version__item", "department")
        .filter(number=number, parent__isnull=True).exclude(bundle_code="").first()
    )
    if parent is None or not user.is_authenticated:
        raise Http404("办件不存在")
    if user.role == Role.SUPERVISOR or owns(user=user, application=parent):
        return parent
    if user.role == Role.CLERK and visible_applications(user=user).filter(parent=parent).exists():
        return parent
    raise Http404("办件不存在")


def access_case_or_bundle(*, user: User, number: str) -> Application:
    """A case the user may see, or a bundle's parent (clerks cannot see a parent through its own row)."""
    try:
        return access_application(user=user, number=number)
    except Http404:
        return access_bundle(user=user, number=number)
