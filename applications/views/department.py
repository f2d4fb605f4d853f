"""The department's pages (dept/, review/): the head's referrals and overdue list, and the back office's work
list and review page (claim, suspend, resume, approve, reject, extend).

受审分离: reviewers judge the materials, never the person: these pages show no phone or address, and the
case comes, as everywhere, from access_application (another department's case is a 404).
"""

from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from applications import selectors, services
from applications.forms import (
    ApproveForm,
    CommitmentVerifyForm,
    DeclineForm,
    ExtendForm,
    RejectForm,
    ReturnForm,
    SuspendForm,
    WorklistFilterForm,
    add_service_errors,
)
from applications.models import RUNNING, AlertLevel, Material, Referral, State, SuspensionKind
from applications.permissions import access_application
from applications.views.common import PAGE_SIZE, case_context, head_required, show_refusal, submit_form
from portal.decorators import role_required
from portal.errors import Forbidden, Refused
from portal.models import Role
from portal.workdays import WorkCalendar

department_required = role_required(Role.REVIEWER, Role.HEAD)
WORKLIST_PAGE_SIZE = 50
SUSPENDED_LABEL = "暂停计时"


# --- the head's referrals -------------------------------------------------------------------------------


def _referrals_page(request, *, forms_for=None):
    """Referred cases of the head's department, oldest referral first, each with its open referral."""
    open_referrals = Referral.objects.filter(answered_at__isnull=True).select_related("referred_by").order_by("-referred_at")
    cases = (
        # visible_applications already limits department staff to their own department's cases.
        selectors.application_list(user=request.user, state=State.REFERRED)
        .prefetch_related(
            Prefetch("referrals", queryset=open_referrals, to_attr="open_referrals"),
            Prefetch("materials", queryset=Material.objects.select_related("requirement").order_by("requirement_id", "-version")),
        )
        .order_by("submitted_at", "pk")
    )
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    forms_for = forms_for or {}
    rows = []
    for case in page:
        bound = forms_for.get(case.pk, {})
        rows.append({
            "case": case,
            "referral": case.open_referrals[0] if case.open_referrals else None,
            "return_form": bound.get("return") or ReturnForm(prefix=f"return-{case.pk}"),
            "decline_form": bound.get("decline") or DeclineForm(prefix=f"decline-{case.pk}"),
        })
    return render(request, "applications/pages/referrals.html", {"page": page, "rows": rows})


@head_required
def referrals(request):
    return _referrals_page(request)


def _answer(request, number, *, form_class, kind, service, success):
    case = access_application(user=request.user, number=number)
    form = form_class(request.POST, prefix=f"{kind}-{case.pk}")
    done = submit_form(
        request, form, back=reverse("applications:head"), success=success.format(number=case.number),
        run=lambda: service(actor=request.user, application=case, **form.cleaned_data),
    )
    return done or _referrals_page(request, forms_for={case.pk: {kind: form}})


@head_required
@require_POST
def referral_return(request, number):
    return _answer(request, number, form_class=ReturnForm, kind="return", service=services.application_return,
                   success="办件 {number} 已退回窗口继续受理。")


@head_required
@require_POST
def referral_decline(request, number):
    return _answer(request, number, form_class=DeclineForm, kind="decline", service=services.application_decline,
                   success="办件 {number} 已作出不予受理决定，不予受理通知书已生成。")


# --- back office: the department's reviewers and head ---------------------------------------------------


def _remaining_working_days(calendar: WorkCalendar, today: date, due_dates: set[date]) -> dict[date, int]:
    """calendar.remaining_working_days for every due date on a page, in one walk over the days they span:
    cumulative working-day counts, so a case 300 days overdue costs a subtraction, not 300 look-ups."""
    if not due_dates:
        return {}
    day, last = min(*due_dates, today), max(*due_dates, today)
    counted, running = {}, 0
    while day <= last:
        running += calendar.is_working_day(day)
        counted[day] = running
        day += timedelta(days=1)
    return {due: counted[due] - counted[today] for due in due_dates}


def _alert(case, remaining: int | None, *, frozen: int | None = None) -> dict:
    """A row's alert colour (`level`) and, never colour alone, its words: the label and the time left."""
    if case.state == State.SUSPENDED:
        left = f"（暂停时剩 {frozen} 个工作日）" if frozen is not None else ""
        return {"level": "suspended", "label": SUSPENDED_LABEL, "days": f"计时暂停{left}", "days_class": "paused"}
    level = case.alert_level or AlertLevel.GREEN
    if remaining is None:
        days, days_class = "—", ""
    elif remaining < 0:
        days, days_class = f"超期 {-remaining} 个工作日", "late"
    elif remaining == 0:
        days, days_class = "今日到期", "due"
    else:
        days, days_class = f"剩 {remaining} 个工作日", "warn" if level == AlertLevel.YELLOW else "ok"
    return {"level": level, "label": AlertLevel(level).label, "days": days, "days_class": days_class}


def _worklist_rows(cases) -> list[dict]:
    """One calendar load for the page; nothing per row touches the database."""
    cases = list(cases)
    if not cases:
        return []
    remaining = _remaining_working_days(WorkCalendar.load(), timezone.localdate(), {c.due_date for c in cases if c.due_date})
    return [{"case": case, **_alert(case, remaining.get(case.due_date))} for case in cases]


@department_required
def worklist(request):
    """待审工作台: the department's accepted, in-review and suspended cases, soonest due first (DESIGN §10)."""
    form = WorklistFilterForm(request.GET or None)
    filters = form.filters()
    states = [filters["state"]] if filters["state"] else list(selectors.WORKLIST_STATES)
    alert_levels = None
    if filters["alert"] == "suspended":
        states = [state for state in states if state == State.SUSPENDED]
    elif filters["alert"]:
        alert_levels = [filters["alert"]]
    cases = selectors.department_worklist(
        user=request.user, states=states, alert_levels=alert_levels,
        reviewer=request.user if filters["mine"] else None, search=filters["q"],
    )
    page = Paginator(cases, WORKLIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "applications/pages/review_worklist.html", {
        "page": page, "rows": _worklist_rows(page), "form": form,
        "filtered": any(filters.values()), "department": request.user.department,
    })


@head_required
def overdue(request):
    """超期预警: the head's view of running cases due today or overdue, most overdue first."""
    cases = selectors.department_worklist(user=request.user, states=list(RUNNING),
                                          alert_levels=[AlertLevel.RED, AlertLevel.OVERDUE])
    page = Paginator(cases, WORKLIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "applications/pages/review_overdue.html", {
        "page": page, "rows": _worklist_rows(page), "department": request.user.department,
    })


def _clock(case, suspensions) -> dict | None:
    """Where the case stands against its due date; a suspended clock shows what was left when it stopped."""
    if not case.due_date:
        return None
    calendar, today = WorkCalendar.load(), timezone.localdate()
    if case.state == State.SUSPENDED:
        open_ = next((s for s in reversed(suspensions) if s.ended_on is None), None)
        left = calendar.remaining_working_days(open_.started_on, case.due_date) if open_ else None
        return _alert(case, None, frozen=left)
    if case.state in RUNNING:
        return _alert(case, calendar.remaining_working_days(today, case.due_date))
    return None


def _review_page(request, case, *, forms=None):
    context = case_context(request, case)
    case = context["case"]
    user = request.user
    requirements = selectors.case_requirements(case)
    open_noticed = {d.requirement_id for n in case.notices.all() if n.resolved_at is None for d in n.deficiencies.all()}
    for row in context["materials"]:
        # The department reads the materials; only the applicant or the window adds to them.
        row["uploadable"] = False
        row["noticed"] = case.state == State.SUSPENDED and row["requirement"] in open_noticed
    suspensions = list(case.suspensions.all())
    claimed_by_other = user.role == Role.REVIEWER and case.reviewer_id not in (None, user.pk)
    forms = forms or {}
    context.update({
        "standard": case.item_version,
        "suspensions": suspensions,
        "clock": _clock(case, suspensions),
        "reviewer": case.reviewer,
        "claimed_by_other": claimed_by_other,
        "can_claim": "claim" in context["actions"],
        "can_resume": "resume" in context["actions"],
        "can_extend": "extend" in context["actions"],
        "suspend_form": forms.get("suspend") or SuspendForm(requirements=requirements, prefix="suspend"),
        "approve_form": forms.get("approve") or ApproveForm(prefix="approve", face_fields=_face_fields(case)),
        "reject_form": forms.get("reject") or RejectForm(prefix="reject"),
        "extend_form": forms.get("extend") or ExtendForm(prefix="extend"),
        "open_form": next(iter(forms), ""),
        "rights": services.RECONSIDERATION_RIGHTS,
        "decided": case.decided_at is not None,
        # 容缺: approve is not offered while a deferred material is outstanding; reject and suspend are.
        "can_approve": "approve" in context["actions"],
        "can_decide": "reject" in context["actions"],
        "deferred_block": [row["name"] for row in context["materials"] if row["status"] == "deferrable"]
        if "reject" in context["actions"] and "approve" not in context["actions"] else [],
        "verification_left": _verification_left(context["commitment"]),
        "can_verify": "verify_commitment" in context["actions"],
        "verify_form": forms.get("verify") or CommitmentVerifyForm(prefix="verify"),
    })
    return render(request, "applications/pages/review_case.html", context)


def _face_fields(case) -> list:
    """The certificate's 照面信息 as known so far, typed, for the reviewer to confirm at approval."""
    return services.certificate_face_fields(case)


def _verification_left(commitment) -> dict | None:
    """An open verification task's time left, as the review page shows it."""
    if commitment is None or not commitment.verification_due or commitment.outcome:
        return None
    return _days_left(WorkCalendar.load().remaining_working_days(timezone.localdate(), commitment.verification_due))


def _days_left(remaining: int) -> dict:
    if remaining < 0:
        return {"days": f"超期 {-remaining} 个工作日", "days_class": "late", "level": "overdue"}
    if remaining == 0:
        return {"days": "今日到期", "days_class": "due", "level": "red"}
    return {"days": f"剩 {remaining} 个工作日", "days_class": "ok", "level": "green"}


@department_required
def commitment_tasks(request):
    """承诺核查: the department's open verification tasks (cases approved on a 承诺书), soonest due first."""
    page = Paginator(selectors.commitment_tasks(user=request.user), WORKLIST_PAGE_SIZE).get_page(request.GET.get("page"))
    commitments = list(page)
    remaining = _remaining_working_days(WorkCalendar.load(), timezone.localdate(), {c.verification_due for c in commitments})
    rows = [{"commitment": c, "case": c.application, **_days_left(remaining[c.verification_due])} for c in commitments]
    return render(request, "applications/pages/review_commitments.html", {
        "page": page, "rows": rows, "department": request.user.department,
    })


@department_required
@require_POST
def review_commitment_verify(request, number):
    return _review_post(
        request, number, service=services.commitment_verify, name="verify",
        form=lambda case: CommitmentVerifyForm(request.POST, prefix="verify"), arguments=lambda form: form.cleaned_data,
        success=lambda commitment: "已记录核查结果：" + commitment.get_outcome_display()
        + ("，许可证照已撤销。" if commitment.outcome == "false" else "。"),
    )


@department_required
def review_case(request, number):
    return _review_page(request, access_application(user=request.user, number=number))


def _review_post(request, number, *, service, success, form=None, name=None, arguments=None):
    """Run one review service. A form error or the service's ValidationError re-renders the page with the
    message next to its field; a refusal (Refused/InvalidTransition/Forbidden) is a message; either way
    nothing has changed. `success` gets what the service returned."""
    case = access_application(user=request.user, number=number)
    bound = form(case) if form else None
    if bound is not None and not bound.is_valid():
        return _review_page(request, case, forms={name: bound})
    try:
        result = service(actor=request.user, application=case, **(arguments(bound) if bound is not None else {}))
    except ValidationError as error:
        if bound is None:
            messages.error(request, "；".join(error.messages))
        else:
            add_service_errors(bound, error)
            return _review_page(request, case, forms={name: bound})
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        messages.success(request, success(result))
    return redirect("applications:review-case", number=case.number)


@department_required
@require_POST
def review_claim(request, number):
    return _review_post(request, number, service=services.application_claim, success=lambda case: "已认领，开始审查。")


@department_required
@require_POST
def review_suspend(request, number):
    def success(suspension):
        told = "，已一次性告知申请人需补正的全部材料" if suspension.kind == SuspensionKind.SUPPLEMENT else ""
        return f"已中止计时（{suspension.get_kind_display()}）{told}。"

    return _review_post(
        request, number, service=services.application_suspend, success=success, name="suspend",
        form=lambda case: SuspendForm(request.POST, requirements=selectors.case_requirements(case), prefix="suspend"),
        arguments=lambda form: {"kind": form.cleaned_data["kind"], "reason": form.cleaned_data["reason"],
                                "deficiencies": form.deficiencies()},
    )


@department_required
@require_POST
def review_resume(request, number):
    return _review_post(request, number, service=services.application_resume,
                        success=lambda case: f"已恢复计时，承诺办结日期为 {case.due_date:%Y-%m-%d}。")


@department_required
@require_POST
def review_approve(request, number):
    return _review_post(
        request, number, service=services.application_approve, name="approve",
        form=lambda case: ApproveForm(request.POST, prefix="approve", face_fields=_face_fields(case)),
        arguments=lambda form: form.service_arguments(),
        success=lambda case: "已作出准予许可决定，办件转服务中心签发。",
    )


@department_required
@require_POST
def review_reject(request, number):
    return _review_post(
        request, number, service=services.application_reject, name="reject",
        form=lambda case: RejectForm(request.POST, prefix="reject"), arguments=lambda form: form.cleaned_data,
        success=lambda case: "已作出不予许可决定，并告知申请人依法享有的权利。",
    )


@department_required
@require_POST
def review_extend(request, number):
    # Reviewers reach this too: the service says who may extend (the head), and its refusal is the answer.
    return _review_post(
        request, number, service=services.application_extend, name="extend",
        form=lambda case: ExtendForm(request.POST, prefix="extend"), arguments=lambda form: form.cleaned_data,
        success=lambda case: f"办理期限已延长 {case.extended_days} 个工作日，承诺办结日期为 {case.due_date:%Y-%m-%d}。",
    )
