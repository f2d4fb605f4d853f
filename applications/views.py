"""Case pages (Chinese, server-rendered): the citizen's application and case pages, the window's pre-review
queue, walk-in registration and checklist, the department head's referrals and overdue list, and the back
office's work list and review page.

Views only translate HTTP: cases come from permissions.access_application, every write goes through a
service; a service's ValidationError is shown next to its field, a refusal as a message, and nothing changes.
"""

from datetime import date, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from applications import selectors, services
from applications.apis import materials_view
from applications.documents import DocumentKind
from applications.forms import (
    ApplyForm,
    ApproveForm,
    DeclineForm,
    ExtendForm,
    IntakeForm,
    MaterialUploadForm,
    NoticeForm,
    ReferForm,
    RejectForm,
    ReturnForm,
    SuspendForm,
    WorklistFilterForm,
    add_service_errors,
)
from applications.models import (
    RUNNING,
    WITHDRAWABLE,
    AlertLevel,
    Channel,
    Material,
    Referral,
    State,
    SuspensionKind,
)
from applications.permissions import access_application, is_department_head
from items.selectors import item_get_current, item_list
from portal.errors import Forbidden, Refused
from portal.identity import mask_id_number
from portal.models import Role
from portal.workdays import WorkCalendar

PAGE_SIZE = 30
ITEM_CHOICES_LIMIT = 30

EVENT_LABELS = {
    "application_create": "创建申请",
    "material_upload": "上传材料",
    **{f"application_{method}": label for method, label in services.ACTION_LABELS.items()},
}


def role_required(*roles):
    """Anonymous → the login page; a signed-in user of another role → 404, as if the page did not exist."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if request.user.role not in roles:
                raise Http404("页面不存在")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


applicant_required = role_required(Role.APPLICANT)
clerk_required = role_required(Role.CLERK)
head_required = role_required(Role.HEAD)


# --- shared pieces of the case pages ---------------------------------------------------------------------


def _events(case, requirement_names: dict[int, str]) -> list[dict]:
    """The timeline: what happened, oldest first; file reads are recorded but not shown here."""
    rows = []
    for event in selectors.application_events(application=case).exclude(action="material_read"):
        detail = ""
        if event.action == "material_upload":
            name = requirement_names.get(event.payload.get("requirement"), "")
            detail = f"{name}（第 {event.payload.get('version', 1)} 版）"
        elif event.action == "application_suspend":
            kind = event.payload.get("kind", "")
            label = SuspensionKind(kind).label if kind in SuspensionKind.values else kind
            detail = f"{label}：{event.payload.get('reason', '')}"
        elif event.action == "application_extend":
            detail = f"延长 {event.payload.get('days')} 个工作日，承诺办结日期 {event.payload.get('due_date')}：{event.payload.get('reason', '')}"
        elif event.payload.get("reason"):
            detail = event.payload["reason"]
        elif event.payload.get("opinion"):
            basis = event.payload.get("legal_basis")
            detail = event.payload["opinion"] + (f"（依据：{basis}）" if basis else "")
        elif event.payload.get("due_date"):
            detail = f"承诺办结日期 {event.payload['due_date']}{'（预计）' if event.payload.get('provisional') else ''}"
        rows.append({
            "at": event.at,
            "label": EVENT_LABELS.get(event.action, event.action),
            "actor": event.actor_name or "系统",
            "to_state": State(event.to_state).label if event.to_state in State.values else "",
            "detail": detail,
            "deficiencies": event.payload.get("deficiencies", [])
            if event.action in ("application_request_materials", "application_suspend") else [],
        })
    return rows


def _case_context(request, case, *, upload_errors=None) -> dict:
    case = selectors.application_detail(application=case)
    notices = list(case.notices.all())
    # What the open notice named: the same set the upload service checks.
    noticed = {d.requirement_id for notice in notices if notice.resolved_at is None for d in notice.deficiencies.all()}
    requirements = {requirement.pk: requirement for requirement in case.item_version.materials.all()}
    latest_notice = notices[-1] if notices else None
    latest_noticed = {d.requirement_id for d in latest_notice.deficiencies.all()} if latest_notice else set()
    documents = list(case.documents.all())
    notice_pdfs = [d for d in documents if d.kind == DocumentKind.MATERIALS_NOTICE]
    materials = materials_view(case)
    upload_errors = upload_errors or {}
    for row in materials:
        row["uploadable"] = services.upload_refusal(case, requirements[row["requirement"]], noticed=noticed) is None
        row["noticed"] = row["requirement"] in latest_noticed and case.state == State.PENDING_MATERIALS
        row["errors"] = upload_errors.get(row["requirement"], [])
    return {
        "case": case,
        "materials": materials,
        "events": _events(case, {row["requirement"]: row["name"] for row in materials}),
        "notices": [
            {"notice": notice, "pdf": notice_pdfs[index] if index < len(notice_pdfs) else None}
            for index, notice in enumerate(notices)
        ],
        "documents": [
            {"document": d, "label": DocumentKind(d.kind).label if d.kind in DocumentKind.values else d.kind,
             "url": f"/api/v1/applications/{case.number}/documents/{d.id}/pdf/"}
            for d in documents
        ],
        "id_masked": mask_id_number(case.applicant_id_number),
        "can_withdraw": case.state in WITHDRAWABLE,
        "missing": [row["name"] for row in materials if row["status"] == "missing"],
        "upload_action": reverse(
            "applications:window-upload" if request.user.role == Role.CLERK else "applications:upload", args=[case.number]
        ),
    }


def _refused(request, error) -> None:
    messages.error(request, error.detail)


def _upload(request, number, *, page, back):
    """One file for one requirement; a bad file is shown next to that requirement's input."""
    case = access_application(user=request.user, number=number)
    form = MaterialUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            material = services.application_material_upload(
                actor=request.user, application=case,
                requirement_id=form.cleaned_data["requirement"], upload=form.cleaned_data["file"],
            )
        except ValidationError as error:
            errors = [message for messages_ in error.message_dict.values() for message in messages_] \
                if hasattr(error, "error_dict") else error.messages
            return page(request, case, upload_errors={form.cleaned_data["requirement"]: errors})
        except (Refused, Forbidden) as error:
            _refused(request, error)
        else:
            messages.success(request, f"已上传「{material.requirement.name}」（第 {material.version} 版）")
    else:
        errors = [message for field_errors in form.errors.values() for message in field_errors]
        try:
            requirement = int(request.POST.get("requirement", ""))
        except ValueError:
            messages.error(request, "；".join(errors))
        else:
            return page(request, case, upload_errors={requirement: errors})
    return redirect(back, number=case.number)


def _act(request, number, service, *, success: str, **arguments):
    """Run a transition without input: a refusal becomes a message and the case stays as it was."""
    case = access_application(user=request.user, number=number)
    try:
        service(actor=request.user, application=case, **arguments)
    except (Refused, Forbidden) as error:
        _refused(request, error)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, success)
    return case


# --- citizen ------------------------------------------------------------------------------------------


@login_required
def apply(request, code):
    """在线办理: the draft is created here; materials are uploaded on the case page."""
    if request.user.role == Role.CLERK:
        # A clerk following the guide's button registers a walk-in for the same item.
        return redirect(f"{reverse('applications:intake')}?item={code}")
    if request.user.role != Role.APPLICANT:
        raise Http404("页面不存在")
    version = item_get_current(code=code)
    user = request.user
    form = ApplyForm(request.POST or None, initial={"contact_phone": user.phone, "contact_address": user.address})
    if request.method == "POST" and form.is_valid():
        try:
            case = services.application_create(
                actor=user, item_code=version.item.code, form_data=form.form_data(),
                contact_phone=form.cleaned_data["contact_phone"], contact_address=form.cleaned_data["contact_address"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"申请已创建（办件编号 {case.number}），请逐项上传材料后提交。")
            return redirect("applications:case", number=case.number)
    return render(request, "applications/pages/apply.html", {
        "version": version, "item": version.item, "form": form, "identified": bool(user.id_number),
    })


@applicant_required
def my_cases(request):
    cases = selectors.application_list(user=request.user).order_by("-created_at")
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "applications/pages/mine.html", {"page": page})


def _citizen_case_page(request, case, *, upload_errors=None):
    return render(request, "applications/pages/case.html", _case_context(request, case, upload_errors=upload_errors))


@applicant_required
def my_case(request, number):
    return _citizen_case_page(request, access_application(user=request.user, number=number))


@applicant_required
@require_POST
def my_case_upload(request, number):
    return _upload(request, number, page=_citizen_case_page, back="applications:case")


@applicant_required
@require_POST
def my_case_submit(request, number):
    case = _act(request, number, services.application_submit, success="申请已提交，窗口将在 5 个工作日内完成预审。")
    return redirect("applications:case", number=case.number)


@applicant_required
@require_POST
def my_case_resubmit(request, number):
    case = _act(request, number, services.application_resubmit, success="补正材料已提交，等待窗口受理。")
    return redirect("applications:case", number=case.number)


@applicant_required
def my_case_withdraw(request, number):
    """撤回 asks once more before it acts: a withdrawn case cannot be reopened."""
    case = access_application(user=request.user, number=number)
    if request.method == "POST":
        _act(request, number, services.application_withdraw, success="申请已撤回。")
        return redirect("applications:case", number=case.number)
    return render(request, "applications/pages/withdraw.html", {"case": case})


# --- window (clerks) ---------------------------------------------------------------------------------


@clerk_required
def prereview(request):
    """网上预审: submissions waiting for the window, oldest first, with the days left before the law deems
    them accepted (行政许可法 第三十二条)."""
    cases = (
        selectors.application_list(user=request.user, state=State.SUBMITTED)
        .select_related("department")
        .order_by("submitted_at", "pk")
    )
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    calendar, today = WorkCalendar.load(), timezone.localdate()
    rows = []
    for case in page:
        row = {"case": case, "due": None, "remaining": None}
        if case.channel == Channel.ONLINE and case.submitted_at:
            due = services.deemed_acceptance_due(submitted_on=timezone.localdate(case.submitted_at), calendar=calendar)
            row["due"], row["remaining"] = due, calendar.remaining_working_days(today, due)
        rows.append(row)
    return render(request, "applications/pages/prereview.html", {"page": page, "rows": rows})


def _item_choices(query: str, selected: str):
    versions = item_list(search=query).prefetch_related(None).select_related("item", "department")
    choices = list(versions[:ITEM_CHOICES_LIMIT])
    if selected and all(version.item.code != selected for version in choices):
        extra = item_list().prefetch_related(None).select_related("item", "department").filter(item__code=selected).first()
        if extra is not None:
            choices.insert(0, extra)
    return choices


@clerk_required
def intake(request):
    """窗口受理: register a walk-in with real name and ID, then check the materials on the case page."""
    query = request.GET.get("q", "").strip()
    form = IntakeForm(request.POST or None, initial={"item": request.GET.get("item", "")})
    if request.method == "POST" and form.is_valid():
        try:
            case = services.application_create(
                actor=request.user, item_code=form.cleaned_data["item"], applicant=form.applicant(),
                contact_phone=form.cleaned_data["contact_phone"], contact_address=form.cleaned_data["contact_address"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"已登记办件 {case.number}，请核对并收取材料。")
            return redirect("applications:window-case", number=case.number)
    selected = form["item"].value() or ""
    return render(request, "applications/pages/intake.html", {
        "form": form, "query": query, "items": _item_choices(query, selected), "selected": selected,
        "limit": ITEM_CHOICES_LIMIT,
    })


def _window_case_page(request, case, *, upload_errors=None, notice_form=None, refer_form=None):
    context = _case_context(request, case, upload_errors=upload_errors)
    case = context["case"]
    requirements = list(case.item_version.materials.all())
    expected_due = None
    if case.state in (State.DRAFT, State.SUBMITTED):
        # What the applicant is told at the window: the due date if accepted today.
        expected_due = WorkCalendar.load().add_working_days(timezone.localdate(), case.item_version.promised_days)
    context.update({
        "expected_due": expected_due,
        "notice_form": notice_form or NoticeForm(requirements=requirements, prefix="notice"),
        "refer_form": refer_form or ReferForm(prefix="refer"),
        "can_accept": case.state in (State.DRAFT, State.SUBMITTED),
        "can_notice": case.state == State.SUBMITTED,
        "can_refer": case.state == State.SUBMITTED,
        "can_resubmit": case.state == State.PENDING_MATERIALS,
    })
    return render(request, "applications/pages/window_case.html", context)


@clerk_required
def window_case(request, number):
    return _window_case_page(request, access_application(user=request.user, number=number))


@clerk_required
@require_POST
def window_case_upload(request, number):
    return _upload(request, number, page=_window_case_page, back="applications:window-case")


@clerk_required
@require_POST
def window_case_accept(request, number):
    case = _act(request, number, services.application_accept, success="已受理，受理通知书已生成。")
    return redirect("applications:window-case", number=case.number)


@clerk_required
@require_POST
def window_case_resubmit(request, number):
    case = _act(request, number, services.application_resubmit, success="补正材料已提交。")
    return redirect("applications:window-case", number=case.number)


@clerk_required
@require_POST
def window_case_notice(request, number):
    """一次性告知: every deficiency in one submit, or nothing."""
    case = access_application(user=request.user, number=number)
    form = NoticeForm(request.POST, requirements=case.item_version.materials.all(), prefix="notice")
    if form.is_valid():
        try:
            services.application_request_materials(actor=request.user, application=case, deficiencies=form.deficiencies())
        except ValidationError as error:
            add_service_errors(form, error)
        except (Refused, Forbidden) as error:
            _refused(request, error)
            return redirect("applications:window-case", number=case.number)
        else:
            messages.success(request, "已一次性告知需补正的全部材料，补正材料通知书已生成。")
            return redirect("applications:window-case", number=case.number)
    return _window_case_page(request, case, notice_form=form)


@clerk_required
@require_POST
def window_case_refer(request, number):
    """The window has no veto (窗口无否决权): doubts go to the department with a reason."""
    case = access_application(user=request.user, number=number)
    form = ReferForm(request.POST, prefix="refer")
    if form.is_valid():
        try:
            services.application_refer(actor=request.user, application=case, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            add_service_errors(form, error)
        except (Refused, Forbidden) as error:
            _refused(request, error)
            return redirect("applications:window-case", number=case.number)
        else:
            messages.success(request, "已转部门研判。")
            return redirect("applications:window-case", number=case.number)
    return _window_case_page(request, case, refer_form=form)


# --- department head ---------------------------------------------------------------------------------


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
    if form.is_valid():
        try:
            service(actor=request.user, application=case, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
            return _referrals_page(request, forms_for={case.pk: {kind: form}})
        except (Refused, Forbidden) as error:
            _refused(request, error)
        else:
            messages.success(request, success.format(number=case.number))
        return redirect("applications:head")
    return _referrals_page(request, forms_for={case.pk: {kind: form}})


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


# --- back office: the department's reviewers and head (受审分离) -------------------------------------------
# Reviewers judge the materials, never the person: these pages show no phone or address, and the case comes,
# as everywhere, from access_application (another department's case is a 404).

department_required = role_required(Role.REVIEWER, Role.HEAD)
WORKLIST_PAGE_SIZE = 50
SUSPENDED_LABEL = "暂停计时"


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
    context = _case_context(request, case)
    case = context["case"]
    user = request.user
    requirements = list(case.item_version.materials.all())
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
        "can_claim": case.state == State.ACCEPTED,
        "can_decide": case.state == State.IN_REVIEW and not claimed_by_other,
        "can_resume": case.state == State.SUSPENDED and not claimed_by_other,
        "can_extend": is_department_head(user=user, application=case) and case.state in RUNNING and not case.extended_days,
        "suspend_form": forms.get("suspend") or SuspendForm(requirements=requirements, prefix="suspend"),
        "approve_form": forms.get("approve") or ApproveForm(prefix="approve"),
        "reject_form": forms.get("reject") or RejectForm(prefix="reject"),
        "extend_form": forms.get("extend") or ExtendForm(prefix="extend"),
        "open_form": next(iter(forms), ""),
        "rights": services.RECONSIDERATION_RIGHTS,
        "decided": case.decided_at is not None,
    })
    return render(request, "applications/pages/review_case.html", context)


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
        _refused(request, error)
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
        form=lambda case: SuspendForm(request.POST, requirements=case.item_version.materials.all(), prefix="suspend"),
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
        form=lambda case: ApproveForm(request.POST, prefix="approve"), arguments=lambda form: form.cleaned_data,
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
