"""Reads of cases: querysets with their relations fetched once."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connections
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from applications.models import FINISHED, Application, Commitment, Deficiency, Material, MaterialState, State
from applications.permissions import visible_applications
from certificates.selectors import valid_certificate_types_of
from items.models import Bundle, BundleMaterial, ItemVersion, MaterialRequirement, VersionStatus
from items.selectors import item_current_for, item_first_published
from organisations.models import Organisation
from portal.db import read_database
from portal.models import AuditEvent, Hall, User
from portal.prepared import PreparedGet


def application_list(*, user: User, state: str | None = None) -> QuerySet[Application]:
    cases = visible_applications(user=user).select_related("item_version", "item_version__item", "held_certificate__type")
    if state:
        cases = cases.filter(state=state)
    return cases


def prereview_queue(*, user: User) -> QuerySet[Application]:
    """网上预审: single cases submitted and waiting for the window, and each bundle with a child waiting once,
    as its parent (the window takes a bundle as one case, 一件事一次办), oldest waiting first. `waiting_since`
    is a single case's submission or the first waiting child's."""
    waiting = application_list(user=user, state=State.SUBMITTED)
    first_child = waiting.filter(parent=OuterRef("pk")).order_by("submitted_at").values("submitted_at")[:1]
    return (
        Application.objects.filter(Q(pk__in=waiting.filter(parent__isnull=True).values("pk"))
                                   | Q(pk__in=waiting.filter(parent__isnull=False).values("parent_id")))
        .select_related("item_version", "item_version__item", "department")
        .annotate(waiting_since=Coalesce(Subquery(first_child), "submitted_at"))
        .order_by("waiting_since", "pk")
    )


def waiting_children(*, user: User, parents: list[Application]) -> dict[int, int]:
    """For the prereview page: how many children of each parent wait for the window."""
    rows = (application_list(user=user, state=State.SUBMITTED).filter(parent__in=parents)
            .values("parent_id").annotate(count=Count("pk")).order_by())
    return {row["parent_id"]: row["count"] for row in rows}


def bundles_to_deliver(*, user: User) -> QuerySet[Application]:
    """领取送达: the parents whose results can all go together (一并送达): some child issued, none still
    running. Found through their children, as in prereview_queue (a clerk cannot see a parent's own row)."""
    unfinished = [state for state in State.values if state not in (State.ISSUED, *FINISHED)]
    issued = application_list(user=user, state=State.ISSUED).filter(parent__isnull=False)
    return (Application.objects.filter(pk__in=issued.values("parent_id"))
            .exclude(children__state__in=unfinished).select_related("item_version"))


def bundle_names(codes) -> dict[str, str]:
    return dict(Bundle.objects.filter(code__in=set(codes)).values_list("code", "name"))


def application_detail(*, application: Application) -> Application:
    return (
        Application.objects.select_related("item_version", "item_version__item", "department", "hall", "applicant",
                                          "organisation", "principal", "assisted_by", "held_certificate__type",
                                          "held_certificate__issuer")
        .select_related("commitment")
        .prefetch_related(
            "item_version__materials__satisfied_by",
            Prefetch("materials", queryset=Material.objects.order_by("requirement_id", "-version")),
            "notices__deficiencies__requirement",
            "documents",
            "suspensions",
        )
        .get(pk=application.pk)
    )


def collectable_by(query: str) -> Q:
    """Cases found at the pickup window by their number or by the ID number shown there: the applicant's own,
    the account that filed it (an agent, 代领), or a legal representative or current agent of the
    organisation it was filed for (`issuance.collector_id_numbers` checks the same people)."""
    organisations = Organisation.objects.filter(
        Q(legal_rep_id_number=query) | Q(agents__user__id_number=query, agents__removed_at__isnull=True)
    ).values("pk")
    return (Q(number=query) | Q(applicant_id_number=query) | Q(applicant__id_number=query, organisation__isnull=True)
            | Q(organisation__in=organisations))


def application_events(*, application: Application) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(object_type="application", object_id=application.number).order_by("id")


# --- the department's work list (DESIGN §10, §12) -----------------------------------------------------

# What a department works on: the clock runs (accepted, in_review) or is stopped (suspended).
WORKLIST_STATES = [State.ACCEPTED, State.IN_REVIEW, State.SUSPENDED]
# `{hall or NET}-{yyyymmdd}-{000001}` (DESIGN §5)
CASE_NUMBER = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*-\d{8}-\d{6}$")
# Only what a row shows; the item version's long texts (conditions, legal basis…) stay in the database.
WORKLIST_FIELDS = [
    "number", "state", "due_date", "due_date_provisional", "alert_level", "reviewer_id", "deferral_lapsed", "deferral_due",
    "item_version__name", "reviewer__username", "reviewer__real_name",
]


COUNT_CAP = 10_000
# Up to this many arms a page is a UNION ALL of them (the head's overdue list has four: two states × two levels).
UNION_ARMS = 4


class ByDueDate:
    """Cases of several arms, soonest due first, as the Paginator slices them: one count, one page query.

    Each arm is a filter that one index answers as a single range already in due-date order:
    (department, state, due_date) for a state, (department, state, alert_level, due_date) for a state and
    an alert level, (reviewer, state, due_date) for "mine", (item_version, state, due_date) for an item.
    Several arms in one `… IN (…) ORDER BY due_date` would make PostgreSQL read and sort every matching
    case; so the page is a UNION ALL of the arms, each cut at the end of the page, merged and cut again:
    a page reads at most (offset + page size) rows per arm.

    Past UNION_ARMS arms (a name search: one arm per matching item version and state) the arms are rows of
    one statement instead, `unnest(…) CROSS JOIN LATERAL (one arm)`: the same index range and cut per arm,
    but one arm for Django to compile and PostgreSQL to plan. A UNION ALL costs both per arm: at 18 arms
    (six versions × three states) that was several times the reading of their rows (docs/benchmarks.md, the
    work list's item-name search).
    """

    def __init__(self, cases: QuerySet[Application], arms: list[dict]):
        self.cases, self.arms = cases, list(arms)
        self.more = False  # set by count(): more cases match than the count says
        connection = connections[cases.db]
        self.lateral = len(self.arms) > UNION_ARMS and connection.vendor == "postgresql"

    def _lateral(self, arm: QuerySet, *, columns: str = "id") -> tuple[str, list]:
        """`arm` (filtered on the columns of `worklist_arm`) once per arm, its rows named `hit(columns)`: the
        SQL and its parameters."""
        connection = connections[self.cases.db]
        keys = list(self.arms[0])
        fields = [Application._meta.get_field(key) for key in keys]
        arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
        names = ", ".join(connection.ops.quote_name(key) for key in keys)
        values = [[getattr(arm_values[key], "pk", arm_values[key]) for arm_values in self.arms] for key in keys]
        sql, params = arm.query.get_compiler(using=self.cases.db).as_sql()
        return (f"unnest({arrays}) AS worklist_arm({names}) CROSS JOIN LATERAL ({sql}) AS hit({columns})",
                [*values, *params])

    def _arm_of_row(self) -> QuerySet[Application]:
        """One arm whose values are the current row of `worklist_arm` (every arm has the same keys)."""
        if any(arm.keys() != self.arms[0].keys() for arm in self.arms):
            raise ValueError("the arms of a work list differ in their keys")
        connection = connections[self.cases.db]
        return self.cases.filter(**{key: RawSQL(f"worklist_arm.{connection.ops.quote_name(key)}", ())
                                    for key in self.arms[0]})

    def _any_arm(self) -> QuerySet[Application]:
        condition = Q()
        for arm in self.arms:
            condition |= Q(**arm)
        return self.cases.filter(condition)

    def count(self) -> int:
        """At most COUNT_CAP: a department with 100,000 open cases is not read to the end to print a number
        nobody pages through (the list is by due date; deeper down one filters). `more` tells it was cut."""
        if not self.arms:
            return 0
        if len(self.arms) == 1 or not connections[self.cases.db].features.supports_slicing_ordering_in_compound:
            counted = self._any_arm().order_by().values("pk")[:COUNT_CAP + 1].count()
        elif self.lateral:
            arms, params = self._lateral(self._arm_of_row().order_by().values("pk")[:COUNT_CAP + 1])
            with connections[self.cases.db].cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {arms} LIMIT {COUNT_CAP + 1}) AS capped", params)
                counted = cursor.fetchone()[0]
        else:
            # One index range per arm, each cut at the cap: never a bitmap over the whole department.
            arms = [self.cases.filter(**arm).order_by().values("pk")[:COUNT_CAP + 1] for arm in self.arms]
            counted = arms[0].union(*arms[1:], all=True).count()
        self.more = counted > COUNT_CAP
        return min(counted, COUNT_CAP)

    def __getitem__(self, index: slice) -> list[Application]:
        start, stop = index.start or 0, index.stop
        if not self.arms or stop <= start:
            return []
        order = ("due_date", "pk")
        if len(self.arms) == 1:
            return list(self.cases.filter(**self.arms[0]).order_by(*order)[start:stop])
        if not connections[self.cases.db].features.supports_slicing_ordering_in_compound:
            # SQLite (the embedded default) cannot cut the arms of a UNION: one filtered, sorted query.
            return list(self._any_arm().order_by(*order)[start:stop])
        if self.lateral:
            # The page's ids from every arm at once, then the page itself, its relations joined as any page's.
            arms, params = self._lateral(self._arm_of_row().order_by(*order).values("pk", "due_date")[:stop],
                                          columns="id, due_date")
            page = RawSQL(f"SELECT hit.id FROM {arms} ORDER BY hit.due_date, hit.id LIMIT %s OFFSET %s",
                          [*params, stop - start, start])
            return list(self.cases.filter(pk__in=page).order_by(*order))
        arms = [self.cases.filter(**arm).order_by(*order)[:stop] for arm in self.arms]
        return list(arms[0].union(*arms[1:], all=True).order_by(*order)[start:stop])


# Past this many (item version × state) arms a name search is one ordered scan of the department instead.
MAX_SEARCH_ARMS = 60


def department_worklist(*, user: User, states: list[str], alert_levels: list[str] | None = None,
                        reviewer: User | None = None, search: str = "") -> ByDueDate:
    """The department's running and suspended cases the user may see, soonest due first.

    `alert_levels` applies to running cases (a suspended case's level is frozen; it is listed as suspended).
    `search` is a case number (exact) or part of the item's name. Read from the replica when the request
    may (portal/db.py): a reviewer who just claimed a case is pinned to the primary and sees the claim.
    """
    cases = (visible_applications(user=user).using(read_database())
             .select_related("item_version", "reviewer").only(*WORKLIST_FIELDS))
    states = [state for state in WORKLIST_STATES if state in states]
    arms = [{"state": state} for state in states]
    if alert_levels:
        arms = [{"state": state, "alert_level": level} for state in states if state != State.SUSPENDED
                for level in alert_levels]
    if reviewer is not None:
        # Claiming is what sets the reviewer: an accepted (unclaimed) case is nobody's yet.
        arms = [{**arm, "reviewer": reviewer} for arm in arms if arm["state"] != State.ACCEPTED]
    if search and CASE_NUMBER.match(search.upper()):
        # A whole case number: the unique index answers it.
        cases = cases.filter(number=search.upper())
    elif search:
        # The department's matching item versions first (one small query), then one arm per version and
        # state: the planner sees the values, and no match means no case query at all.
        versions = list(
            ItemVersion.objects.filter(department_id=user.department_id, name__icontains=search).values_list("pk", flat=True)
        )
        if not versions:
            return ByDueDate(cases.none(), [])
        if len(versions) * len(arms) <= MAX_SEARCH_ARMS:
            arms = [{**arm, "item_version_id": version} for arm in arms for version in versions]
        else:
            cases = cases.filter(item_version_id__in=versions)
    return ByDueDate(cases, arms)


# --- what stands for each material requirement ----------------------------------------------------


def current_materials(case: Application) -> dict[int, Material]:
    """The latest version of each requirement's upload (read at every acceptance: compiled once)."""
    latest: dict[int, Material] = {}
    for material in _CASE_MATERIALS.list(case.pk, using=case._state.db or "default"):
        latest.setdefault(material.requirement_id, material)
    return latest


_CASE_MATERIALS = PreparedGet(lambda pk: Material.objects.filter(application_id=pk).order_by("requirement_id", "-version"))


def case_requirements(case: Application, *, requirements=None) -> list[MaterialRequirement]:
    """What this case must hand in: its pinned version's materials, and the 授权委托书 when it is filed for
    another person (代办, DESIGN §13)."""
    rows = list(case.item_version.materials.all() if requirements is None else requirements)
    if case.principal_id:
        rows.append(MaterialRequirement.objects.attorney_letter())
    return rows


def satisfied_by_certificates(case: Application, *, requirements: list[MaterialRequirement] | None = None) -> dict[int, str]:
    """免交: requirements met by a valid e-certificate the applicant holds → that certificate type's code."""
    if requirements is None:
        requirements = case_requirements(case, requirements=case.item_version.materials.select_related("satisfied_by"))
    if not any(requirement.satisfied_by_id for requirement in requirements):
        return {}  # nothing on this item can be stood in for: no need to read the applicant's wallet
    # The applicant in law: the person, the principal of a 代办, or the organisation (never its agent's own).
    held = valid_certificate_types_of(id_type=case.applicant_id_type, id_number=case.applicant_id_number)
    if not held:
        return {}
    return {
        requirement.pk: requirement.satisfied_by.code
        for requirement in requirements
        if requirement.satisfied_by_id and requirement.satisfied_by.code in held
    }


def committed_requirement_ids(case: Application, *, requirements: list[MaterialRequirement] | None = None) -> set[int]:
    """告知承诺制: the requirements the case's signed 承诺书 stands in for. No query when no requirement of
    the case may be committed (most items)."""
    if requirements is None:
        requirements = case_requirements(case)
    if not any(requirement.commitment_allowed for requirement in requirements):
        return set()
    return set(Commitment.requirements.through.objects.filter(commitment__application_id=case.pk)
               .values_list("materialrequirement_id", flat=True))


def commitment_of(case: Application) -> Commitment | None:
    """The case's 承诺书, or None (read from `select_related("commitment")` when the case came with it)."""
    try:
        return case.commitment
    except Commitment.DoesNotExist:
        return None


def commitment_tasks(*, user: User) -> QuerySet[Commitment]:
    """承诺核查: the department's open verification tasks (approved on a commitment, no outcome yet), soonest
    due first — one range of commitment_open_idx, the case and item in the same query."""
    return (
        Commitment.objects.filter(department_id=user.department_id, outcome="", verification_due__isnull=False)
        .select_related("application", "application__item_version")
        .only("verification_due", "signed_at", "application__number", "application__state", "application__applicant_name",
              "application__decided_at", "application__certificate_identifier", "application__item_version__name")
        .order_by("verification_due", "pk")
    )


@dataclass(frozen=True)
class MaterialStatus:
    """The case's requirements with what stands for each: read once per service call (four queries at most)."""

    requirements: list[MaterialRequirement]
    present: dict[int, Material]  # the latest upload per requirement
    satisfied: dict[int, str]  # 免交: requirement → the held certificate type's code
    committed: set[int] = frozenset()  # 告知承诺: requirements the signed commitment stands in for


REQUIREMENT_FIELDS = ["version_id", "order", "name", "form", "copies_original", "copies_copy", "required", "deferrable",
                      "commitment_allowed", "satisfied_by__code"]


# A published version's requirements never change (items/models.py refuses it): each process reads a
# version's once. Keyed by the moment of publishing too, so a version id a rolled-back test reused is not
# mistaken for the one before. Bounded: a process that met more versions than this starts over.
_FROZEN_REQUIREMENTS: dict[tuple, list[MaterialRequirement]] = {}
FROZEN_REQUIREMENTS_KEPT = 4096


def version_requirements(version: ItemVersion) -> list[MaterialRequirement]:
    """The version's material requirements with their 免交 certificate type's code, in order; a published
    version's from this process's memory after the first read (DESIGN §12: one query less per acceptance)."""
    if version.status != VersionStatus.PUBLISHED or version.published_at is None:
        return _VERSION_REQUIREMENTS.list(version.pk)
    key = (version.pk, version.published_at)
    requirements = _FROZEN_REQUIREMENTS.get(key)
    if requirements is None:
        if len(_FROZEN_REQUIREMENTS) >= FROZEN_REQUIREMENTS_KEPT:
            _FROZEN_REQUIREMENTS.clear()
        requirements = _FROZEN_REQUIREMENTS[key] = _VERSION_REQUIREMENTS.list(version.pk)
    return requirements


def forget_frozen_requirements() -> None:
    """Start this process's memory of published versions' requirements over (tests: a fresh database)."""
    _FROZEN_REQUIREMENTS.clear()


# Compiled once per connection: a process's first case of each version reads them (portal/prepared.py).
_VERSION_REQUIREMENTS = PreparedGet(lambda pk: MaterialRequirement.objects.filter(version_id=pk)
                                    .select_related("satisfied_by").only(*REQUIREMENT_FIELDS))


def material_status(case: Application) -> MaterialStatus:
    requirements = case_requirements(case, requirements=version_requirements(case.item_version))
    present = current_materials(case)
    # An upload comes first (requirement_state): what stands in for a requirement matters only where nothing
    # was uploaded, and a case with every material uploaded reads neither the wallet nor the commitment.
    open_requirements = [requirement for requirement in requirements if requirement.pk not in present]
    return MaterialStatus(requirements, present, satisfied_by_certificates(case, requirements=open_requirements),
                          committed_requirement_ids(case, requirements=open_requirements))


def requirement_state(requirement: MaterialRequirement, *, present, satisfied, committed=()) -> MaterialState:
    """The one classification of a requirement on a case (pages, API and documents all use it): an upload
    first, then a held e-certificate standing in (免交), then a signed commitment (告知承诺), then 容缺,
    missing, or optional."""
    if requirement.pk in present:
        return MaterialState.UPLOADED
    if requirement.pk in satisfied:
        return MaterialState.SATISFIED
    if requirement.pk in committed:
        return MaterialState.COMMITTED
    if requirement.required and requirement.deferrable:
        return MaterialState.DEFERRABLE
    if requirement.required:
        return MaterialState.MISSING
    return MaterialState.OPTIONAL


def missing_requirements(case: Application, *, include_deferrable: bool = False,
                         status: MaterialStatus | None = None) -> list[MaterialRequirement]:
    """Required materials with nothing uploaded and no held e-certificate standing in for them;
    容缺 (deferrable) ones may follow after acceptance."""
    status = status or material_status(case)
    present = set(status.present) | set(status.satisfied) | set(status.committed)
    missing = []
    for requirement in status.requirements:
        if not requirement.required or requirement.pk in present:
            continue
        if requirement.deferrable and not include_deferrable:
            continue
        missing.append(requirement)
    return missing


def deferred_outstanding(case: Application, *, status: MaterialStatus | None = None) -> list[MaterialRequirement]:
    """容缺: required deferrable materials with nothing uploaded and nothing standing in for them."""
    status = status or material_status(case)
    return [
        requirement for requirement in status.requirements
        if requirement_state(requirement, present=status.present, satisfied=status.satisfied,
                             committed=status.committed) == MaterialState.DEFERRABLE
    ]


def noticed_requirement_ids(case: Application) -> set[int]:
    """What the open (unresolved) notice named: only those materials may change now."""
    return set(
        Deficiency.objects.filter(notice__application=case, notice__resolved_at__isnull=True)
        .values_list("requirement_id", flat=True)
    )


def hall_get(*, code: str) -> Hall:
    hall = Hall.objects.filter(code=code).first()
    if hall is None:
        raise Http404("大厅不存在")
    return hall


# --- 一件事: what a bundle's parent shows, from its children (applications/services/bundles.py) ---------------


class CombinedState:
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PENDING_MATERIALS = "pending_materials"
    IN_PROGRESS = "in_progress"
    ISSUED = "issued"
    DONE = "done"
    WITHDRAWN = "withdrawn"

    LABELS = {
        "draft": "草稿",
        "submitted": "已提交待受理",
        "pending_materials": "待补正材料",
        "in_progress": "并联审批中",
        "issued": "已出证待送达",
        "done": "已办结",
        "withdrawn": "已撤回",
    }


def combined_state(children: list[Application]) -> str:
    """The parent's status, from its children (first rule that applies)."""
    states = {child.state for child in children}
    if not states or states == {State.WITHDRAWN}:
        return CombinedState.WITHDRAWN
    if states <= FINISHED:
        return CombinedState.DONE
    if State.DRAFT in states:
        return CombinedState.DRAFT
    if State.PENDING_MATERIALS in states:
        return CombinedState.PENDING_MATERIALS
    if states & {State.SUBMITTED, State.REFERRED}:
        return CombinedState.SUBMITTED
    if states <= FINISHED | {State.ISSUED}:
        return CombinedState.ISSUED
    return CombinedState.IN_PROGRESS


def latest_due_date(children: list[Application]) -> date | None:
    """The bundle is due when its slowest child is."""
    return max((child.due_date for child in children if child.due_date and child.state != State.WITHDRAWN), default=None)


# --- 办件查询: the public case query (DESIGN §13; docs/decisions/045-public-case-query.md) ----------------

# Audit actions that are milestones the public may see → (milestone, label). Nothing else of an event is read:
# its payload holds reasons, opinions and names. A bundle's parent has its own events (`bundle_*`).
PUBLIC_MILESTONES = {
    "application_submit": ("submitted", "提交申请"),
    "application_request_materials": ("materials_notice", "一次性告知补正材料"),
    "application_resubmit": ("resubmitted", "补正后重新提交"),
    "application_accept": ("accepted", "受理"),
    "application_deem_accept": ("accepted", "视为受理"),
    "application_decline": ("not_accepted", "不予受理"),
    "application_suspend": ("suspended", "中止计时"),
    "application_resume": ("resumed", "恢复计时"),
    "application_extend": ("extended", "延长办理期限"),
    "application_approve": ("decided", "作出准予许可决定"),
    "application_reject": ("decided", "作出不予许可决定"),
    "application_issue": ("issued", "出证"),
    "application_deliver": ("delivered", "送达"),
    "application_withdraw": ("withdrawn", "撤回申请"),
}
# The bundle-wide steps on a parent read as the same milestones as a single case's.
BUNDLE_MILESTONES = {
    f"bundle_{step}": PUBLIC_MILESTONES[f"application_{step}"]
    for step in ("submit", "request_materials", "resubmit", "accept", "deliver", "withdraw")
}


@dataclass(frozen=True)
class Milestone:
    action: str
    label: str
    at: datetime


@dataclass(frozen=True)
class PublicCase:
    """What anyone holding the number and the applicant's name may see: never materials, contact data, the
    ID number, opinions or reasons. A bundle's parent lists its member cases as `parts`."""

    number: str
    item_code: str
    item_name: str
    department_name: str
    state: str
    state_display: str
    due_date: date | None
    due_date_provisional: bool
    milestones: list[Milestone]
    parts: list["PublicCase"]


def _milestones(numbers: list[str]) -> dict[str, list[Milestone]]:
    """Each case's public milestones, oldest first, in one read of the audit index (no payload fetched)."""
    milestones: dict[str, list[Milestone]] = {number: [] for number in numbers}
    for number, action, at in (
        AuditEvent.objects.filter(object_type="application", object_id__in=numbers,
                                  action__in=[*PUBLIC_MILESTONES, *BUNDLE_MILESTONES])
        .order_by("id").values_list("object_id", "action", "at")
    ):
        names = BUNDLE_MILESTONES if action.startswith("bundle_") else PUBLIC_MILESTONES
        milestones[number].append(Milestone(*names[action], at))
    return milestones


def _public_case(case: Application, milestones: list[Milestone]) -> PublicCase:
    return PublicCase(
        number=case.number, item_code=case.item_version.item.code, item_name=case.item_version.name,
        department_name=case.department.name, state=case.state, state_display=case.get_state_display(),
        due_date=case.due_date, due_date_provisional=case.due_date_provisional, milestones=milestones, parts=[],
    )


def public_case_lookup(number: str, name: str) -> PublicCase | None:
    """The case with this number whose applicant has exactly this name, or None: the same None for a wrong
    number and a wrong name, so an answer never tells which one was right. A draft is no case yet."""
    number, name = number.strip().upper(), name.strip()
    if not number or not name:
        return None
    case = (Application.objects.select_related("item_version__item", "department")
            .filter(number=number, applicant_name=name).first())
    if case is None:
        return None
    if not case.is_bundle_parent:
        if case.state == State.DRAFT:
            return None
        return _public_case(case, _milestones([case.number])[case.number])
    children = list(case.children.select_related("item_version__item", "department").order_by("pk"))
    combined = combined_state(children)
    if combined == CombinedState.DRAFT:
        return None
    milestones = _milestones([case.number, *(child.number for child in children)])
    due = latest_due_date(children)
    return PublicCase(
        number=case.number, item_code=case.bundle_code,
        item_name=Bundle.objects.filter(code=case.bundle_code).values_list("name", flat=True).first() or case.bundle_code,
        department_name="、".join(dict.fromkeys(child.department.name for child in children)),
        state=combined, state_display=CombinedState.LABELS[combined],
        due_date=due, due_date_provisional=any(child.due_date_provisional for child in children if child.due_date == due),
        # The parent's own steps (submission, notice, acceptance, delivery of the whole); decisions are its parts'.
        milestones=milestones[case.number],
        parts=[_public_case(child, milestones[child.number]) for child in children],
    )


# --- 一件事: a bundle's parent and its children ---------------------------------------------------------


def bundle_children(parent: Application) -> list[Application]:
    return list(
        parent.children.select_related("item_version", "item_version__item", "department").order_by("pk")
    )


@dataclass
class SharedMaterialRow:
    material: BundleMaterial
    targets: list[tuple[Application, MaterialRequirement]]  # each child and its mapped requirement
    uploaded: bool


def shared_material_rows(parent: Application, children: list[Application]) -> list[SharedMaterialRow]:
    """Each shared material with the requirement it fills in every child (by name, in the pinned version)."""
    bundle = Bundle.objects.filter(code=parent.bundle_code).first()
    if bundle is None:
        return []
    rows = []
    for material in bundle.materials.all():
        targets = []
        for child in children:
            name = material.maps.get(child.item_version.item.code)
            requirement = next((r for r in child.item_version.materials.all() if r.name == name), None) if name else None
            if requirement is not None:
                targets.append((child, requirement))
        uploaded = bool(targets) and all(
            any(m.requirement_id == requirement.pk for m in child.materials.all()) for child, requirement in targets
        )
        rows.append(SharedMaterialRow(material=material, targets=targets, uploaded=uploaded))
    return rows


def parent_bundle_name(parent: Application) -> str:
    bundle = Bundle.objects.filter(code=parent.bundle_code).only("name").first()
    return bundle.name if bundle else parent.bundle_code


def most_used_items(*, limit: int = 8, days: int = 90) -> list[ItemVersion]:
    """常用事项 for the home page: the published items with the most cases created in the last `days`, most
    first (one aggregate query with LIMIT, then their current versions); the first published items when
    there are no cases yet. A draft is no case yet (as in 办件查询); an item no longer published drops out
    rather than being replaced."""
    since = timezone.now() - timedelta(days=days)
    counts = list(
        Application.objects.filter(created_at__gte=since).exclude(state=State.DRAFT)
        .values("item_version__item")
        .annotate(cases=Count("id"))
        .order_by("-cases", "item_version__item")
        .values_list("item_version__item", flat=True)[:limit]
    )
    if not counts:
        return item_first_published(limit=limit)
    current = item_current_for(item_ids=counts)
    return [current[item_id] for item_id in counts if item_id in current]
