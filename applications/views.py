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
from django.db.models import Prefetch, Q
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
    DeliverForm,
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
        # A bundle's child is submitted, withdrawn and resubmitted with its bundle, on the parent's page.
        "bundle_parent": case.parent.number if case.parent_id else "",
        "can_withdraw": case.state in WITHDRAWABLE and not case.parent_id,
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


# Intake and delivery of a bundle's child are for the whole bundle, on the parent (DESIGN §4): the API
# routes them there (applications.apis.bundle_action); a child's own page refuses them the same way.
BUNDLE_WIDE_SERVICES = {
    services.application_submit, services.application_resubmit, services.application_withdraw,
    services.application_accept, services.application_deliver,
}


def _act(request, number, service, *, success: str, **arguments):
    """Run a transition without input: a refusal becomes a message and the case stays as it was."""
    case = access_application(user=request.user, number=number)
    try:
        if case.parent_id and service in BUNDLE_WIDE_SERVICES:
            raise bundles.child_refusal(case)
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


def _window_case_page(request, case, *, upload_errors=None, notice_form=None, refer_form=None, deliver_form=None):
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
        # A bundle's child is delivered with its bundle, on the parent's page.
        "can_deliver": case.state == State.ISSUED and not case.parent_id,
        "deliver_form": deliver_form or DeliverForm(prefix="deliver"),
    })
    return render(request, "applications/pages/window_case.html", context)


@clerk_required
def pickup(request):
    """领取送达: issued results waiting to be picked up or mailed, newest first; `q` finds a case by its
    number or the applicant's ID number (as the person at the window shows it)."""
    cases = selectors.application_list(user=request.user, state=State.ISSUED).filter(parent__isnull=True)
    query = (request.GET.get("q") or "").strip().upper()
    if query:
        cases = cases.filter(Q(number=query) | Q(applicant_id_number=query))
    page = Paginator(cases.order_by("-issued_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    # A bundle is listed once all its results can go together (一并送达): some issued, none still running.
    unfinished = [state for state in State.values if state not in (State.ISSUED, *bundles.FINISHED)]
    issued_parents = (selectors.application_list(user=request.user)
                      .filter(bundle_code__gt="", parent__isnull=True, children__state=State.ISSUED)
                      .exclude(children__state__in=unfinished).distinct())
    if query:
        issued_parents = issued_parents.filter(Q(number=query) | Q(applicant_id_number=query))
    return render(request, "applications/pages/pickup.html", {
        "page": page, "query": query, "bundles": list(issued_parents.order_by("-pk")[:PAGE_SIZE]),
    })


@clerk_required
@require_POST
def window_case_deliver(request, number):
    """送达 at the window: pickup (the holder's ID checked, a visit) or mail (tracking number); a bundle's
    results all together (一并送达)."""
    parent = _bundle_parent(request, number)
    case = parent or access_application(user=request.user, number=number)
    form = DeliverForm(request.POST, prefix="deliver")
    if form.is_valid():
        data = form.cleaned_data
        try:
            if case.parent_id:
                raise bundles.child_refusal(case)
            deliver = bundles.bundle_deliver if parent is not None else services.application_deliver
            deliver(actor=request.user, application=case, method=data["method"],
                    tracking_number=data["tracking_number"], id_number=data["id_number"])
        except ValidationError as error:
            add_service_errors(form, error)
        except (Refused, Forbidden) as error:
            _refused(request, error)
            return redirect("applications:window-case", number=case.number)
        else:
            done = "已核验证件，当面交付" if data["method"] == "pickup" else f"已邮寄（单号 {data['tracking_number'].strip()}）"
            messages.success(request, f"{done}，办件已送达。")
            return redirect("applications:window-case", number=case.number)
    if parent is not None:
        return _bundle_window_page(request, parent, deliver_form=form)
    return _window_case_page(request, case, deliver_form=form)


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
        "approve_form": forms.get("approve") or ApproveForm(prefix="approve", face_fields=_face_fields(case)),
        "reject_form": forms.get("reject") or RejectForm(prefix="reject"),
        "extend_form": forms.get("extend") or ExtendForm(prefix="extend"),
        "open_form": next(iter(forms), ""),
        "rights": services.RECONSIDERATION_RIGHTS,
        "decided": case.decided_at is not None,
    })
    return render(request, "applications/pages/review_case.html", context)


def _face_fields(case) -> dict:
    """The certificate's 照面信息 as known so far, for the reviewer to confirm at approval."""
    return services.certificate_face_data(case)[0]


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


# =====================================================================================================
# Service quality and the hall (DESIGN §6): the hall screen, the window's queue, citizens' appointments,
# the 好差评 page, rectifications, and the statistics page with server-drawn SVG charts.
# =====================================================================================================

from django.core.exceptions import PermissionDenied
from django.utils.dateparse import parse_date

from applications import statistics
from applications.models import (
    OPEN_RECTIFICATION,
    Appointment,
    AppointmentSlot,
    AppointmentStatus,
    Rating,
    RatingChannel,
    Score,
    Ticket,
)
from items.models import Item
from portal.models import Department, Hall

SCREEN_ROWS = 8


def hall_screen(request, code):
    """叫号大屏: public, big numbers, the latest calls and their windows; refreshes itself every 5 s."""
    hall = services.hall_get(code=code)
    today = timezone.localdate()
    tickets = Ticket.objects.filter(hall=hall, day=today)
    called = list(tickets.filter(called_at__isnull=False).order_by("-called_at", "-pk")[:SCREEN_ROWS])
    return render(request, "applications/pages/hall_screen.html", {
        "hall": hall, "latest": called[0] if called else None, "recent": called[1:],
        "waiting": tickets.filter(called_at__isnull=True).count(), "now": timezone.localtime(),
    })


def _queue_page(request, *, window=None):
    hall = request.user.hall
    today = timezone.localdate()
    tickets = Ticket.objects.filter(hall=hall, day=today)
    window = window or request.session.get("queue_window") or 1
    appointments = (
        Appointment.objects.filter(slot__hall=hall, slot__date=today, status=AppointmentStatus.BOOKED)
        .select_related("user", "item__current_version", "slot").order_by("slot__start", "pk")
    )
    return render(request, "applications/pages/queue.html", {
        "hall": hall, "windows": range(1, hall.windows + 1), "window": int(window),
        "waiting": tickets.filter(called_at__isnull=True).count(),
        "next_ticket": tickets.filter(called_at__isnull=True).order_by("sequence").first(),
        "mine": tickets.filter(called_by=request.user).order_by("-called_at")[:10],
        "appointments": appointments,
    })


@clerk_required
def queue(request):
    """叫号: the clerk picks their window once (kept for the session) and calls the next ticket."""
    if request.method == "POST":
        window = request.POST.get("window")
        try:
            ticket = services.ticket_call_next(actor=request.user, hall=request.user.hall, window=window)
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        except (Refused, Forbidden) as error:
            _refused(request, error)
        else:
            request.session["queue_window"] = ticket.window
            minutes = ticket.wait_seconds // 60
            messages.success(request, f"请 {ticket.number} 号到 {ticket.window} 号窗口办理（已等候 {minutes} 分钟）")
        return redirect("applications:queue")
    return _queue_page(request)


@clerk_required
@require_POST
def queue_arrive(request, appointment_id):
    """预约签到: the booking gets a ticket of today's queue."""
    appointment = services.access_appointment(user=request.user, pk=appointment_id)
    try:
        appointment = services.appointment_arrive(actor=request.user, appointment=appointment)
    except (Refused, Forbidden) as error:
        _refused(request, error)
    else:
        messages.success(request, f"已签到，排队号 {appointment.ticket.number}")
    return redirect("applications:queue")


# --- appointments (citizens) ---------------------------------------------------------------------------------

APPOINTMENT_ITEMS_LIMIT = 200


def _appointment_items():
    items = Item.objects.filter(current_version__isnull=False).select_related("current_version").order_by("code")
    bookable = items.filter(current_version__appointment=True)
    return list((bookable if bookable.exists() else items)[:APPOINTMENT_ITEMS_LIMIT])


@applicant_required
def appointments(request):
    """预约办事: pick hall and day, then a slot and the item; the citizen's bookings below."""
    halls = list(Hall.objects.order_by("code"))
    hall = next((h for h in halls if h.code == request.GET.get("hall")), halls[0] if halls else None)
    day = parse_date(request.GET.get("date") or "") or timezone.localdate() + timedelta(days=1)
    if request.method == "POST":
        hall = services.hall_get(code=request.POST.get("hall", ""))
        try:
            appointment = services.appointment_book(actor=request.user, hall=hall, slot_id=request.POST.get("slot"),
                                                    item_code=request.POST.get("item", ""))
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        except (Refused, Forbidden) as error:
            _refused(request, error)
        else:
            slot = appointment.slot
            messages.success(request, f"预约成功：{hall.name} {slot.date:%Y-%m-%d} {slot.start:%H:%M}–{slot.end:%H:%M}，请按时到厅签到取号。")
        day = parse_date(request.POST.get("date") or "") or day
        return redirect(f"{reverse('applications:appointments')}?hall={hall.code}&date={day:%Y-%m-%d}")
    now = timezone.localtime()
    slots = []
    if hall is not None:
        for slot in AppointmentSlot.objects.filter(hall=hall, date=day).order_by("start"):
            started = slot.date < now.date() or (slot.date == now.date() and slot.start <= now.time())
            slots.append({"slot": slot, "open": not started and slot.remaining > 0, "started": started})
    mine = (
        Appointment.objects.filter(user=request.user).select_related("slot__hall", "item__current_version", "ticket")
        .order_by("-slot__date", "-slot__start")[:20]
    )
    return render(request, "applications/pages/appointments.html", {
        "halls": halls, "hall": hall, "day": day, "slots": slots, "items": _appointment_items(),
        "mine": [{"appointment": a, "cancellable": a.status == AppointmentStatus.BOOKED and a.slot.starts_at > now}
                 for a in mine],
    })


@applicant_required
@require_POST
def appointment_cancel(request, appointment_id):
    appointment = services.access_appointment(user=request.user, pk=appointment_id)
    try:
        services.appointment_cancel(actor=request.user, appointment=appointment)
    except (Refused, Forbidden) as error:
        _refused(request, error)
    else:
        messages.success(request, "预约已取消。")
    return redirect("applications:appointments")


# --- 好差评 (the applicant's rating of a finished case) ----------------------------------------------------------


@applicant_required
def rate(request, number):
    """好差评: one rating per issued case; 不满意/非常不满意 need a reason and go to the department."""
    case = access_application(user=request.user, number=number)
    rating = Rating.objects.filter(application=case).first()
    errors, values = {}, {"score": "", "comment": ""}
    if request.method == "POST" and rating is None:
        values = {"score": request.POST.get("score", ""), "comment": request.POST.get("comment", "")}
        try:
            services.application_rate(actor=request.user, application=case, score=values["score"],
                                      comment=values["comment"], channel=RatingChannel.PC)
        except ValidationError as error:
            errors = error.message_dict
        except (Refused, Forbidden) as error:
            _refused(request, error)
            return redirect("applications:rate", number=case.number)
        else:
            messages.success(request, "感谢您的评价！")
            return redirect("applications:rate", number=case.number)
    return render(request, "applications/pages/rate.html", {
        "case": case, "rating": rating, "scores": Score.choices, "errors": errors, "values": values,
        "can_rate": rating is None and case.state in services.RATED_STATES,
        "rectification": getattr(rating, "rectification", None) if rating else None,
    })


# --- rectifications (heads act, supervisors judge) --------------------------------------------------------------

rectification_roles = role_required(Role.HEAD, Role.SUPERVISOR)
RECTIFICATION_STEPS = {
    "start": services.rectification_start,
    "complete": services.rectification_complete,
    "impossible": services.rectification_declare_impossible,
    "invalidate": services.rectification_invalidate,
}


@rectification_roles
def rectifications(request):
    """差评整改: open ones first, soonest due first; a head acts on their department's, a supervisor judges."""
    rows = services.visible_rectifications(user=request.user).select_related("application__item_version")
    show = request.GET.get("show", "open")
    if show == "open":
        rows = rows.filter(state__in=OPEN_RECTIFICATION)
    page = Paginator(rows.order_by("due_date", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "applications/pages/rectifications.html", {"page": page, "show": show, "today": timezone.localdate()})


@rectification_roles
@require_POST
def rectification_step(request, pk, step):
    if step not in RECTIFICATION_STEPS:
        raise Http404("未知的操作")
    rectification = services.access_rectification(user=request.user, pk=pk)
    text = request.POST.get("text", "")
    arguments = {"reason": text} if step == "invalidate" else {"note": text}
    try:
        RECTIFICATION_STEPS[step](actor=request.user, rectification=rectification, **arguments)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    except (Refused, Forbidden) as error:
        _refused(request, error)
    else:
        messages.success(request, "已更新整改状态。")
    return redirect("applications:rectifications")


# --- statistics (supervisors; heads for their own department) -------------------------------------------------

CHART_WIDTH = 400
FIGURE_LABELS = [
    # (key, label, kind)
    ("received", "收件量", "count"),
    ("accepted", "受理量", "count"),
    ("decided", "审批决定量", "count"),
    ("on_time_rate", "按时办结率", "rate"),
    ("avg_working_days", "平均审批用时（工作日）", "number"),
    ("overdue_open", "在办超期件（截至今日）", "count"),
    ("satisfaction_rate", "好评率", "rate"),
    ("one_visit_share", "最多跑一次占比", "rate"),
    ("zero_visit_share", "零跑动占比", "rate"),
    ("online_share", "网上申请占比", "rate"),
    ("avg_wait_minutes", "平均排队等候（分钟）", "number"),
]


def _figure_text(value, kind) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "number":
        return f"{value:.1f}" if isinstance(value, float) else str(value)
    return f"{value:,}"


def _department_chart(rows: list[dict]) -> dict:
    """Horizontal bars (receive / decide) per department: the names stay readable on a phone."""
    top = max([max(r["received"], r["decided"]) for r in rows] + [1])
    label_width, bar_space, row_height = 0, CHART_WIDTH - 44, 52
    bars = []
    for index, row in enumerate(rows):
        y = index * row_height
        bars.append({
            "name": row["department"].name, "y": y, "label_y": y + 13,
            "received": row["received"], "decided": row["decided"],
            "received_w": round(bar_space * row["received"] / top, 1),
            "decided_w": round(bar_space * row["decided"] / top, 1),
            "received_y": y + 18, "decided_y": y + 32,
            "received_tx": label_width + round(bar_space * row["received"] / top, 1) + 4,
            "decided_tx": label_width + round(bar_space * row["decided"] / top, 1) + 4,
            "on_time": _figure_text(row["on_time_rate"], "rate"),
        })
    return {"bars": bars, "height": max(len(rows) * row_height, row_height), "width": CHART_WIDTH}


def _month_chart(rows: list[dict]) -> dict:
    """Grouped vertical bars per month: received and decided."""
    top = max([max(r["received"], r["decided"]) for r in rows] + [1])
    plot_height, slot = 160, max(66, min(120, 720 // max(len(rows), 1)))
    bars = []
    for index, row in enumerate(rows):
        x = index * slot + 8
        received_h = round(plot_height * row["received"] / top, 1)
        decided_h = round(plot_height * row["decided"] / top, 1)
        width = (slot - 20) / 2
        bars.append({
            "label": f"{row['month']:%Y-%m}", "label_x": x + (slot - 16) / 2, "x": x, "w": round(width, 1),
            "x2": round(x + width + 2, 1), "received": row["received"], "decided": row["decided"],
            "received_h": received_h, "received_y": plot_height - received_h + 16,
            "decided_h": decided_h, "decided_y": plot_height - decided_h + 16,
            "received_ty": plot_height - received_h + 12, "decided_ty": plot_height - decided_h + 12,
            "received_tx": round(x + width / 2, 1), "decided_tx": round(x + width * 1.5 + 2, 1),
        })
    return {"bars": bars, "width": max(len(rows) * slot + 16, 200), "height": plot_height + 40, "base": plot_height + 16}


@role_required(Role.SUPERVISOR, Role.HEAD)
def stats(request):
    """统计分析: the public figures for a period, with charts per department and per month."""
    form = statistics.ScopeForm(request.GET or None)
    if not form.is_bound:
        form = statistics.ScopeForm({})
    context = {"form": form, "is_head": request.user.role == Role.HEAD}
    if form.is_valid():
        try:
            scope = form.scope(user=request.user)
        except Forbidden as error:
            raise PermissionDenied(error.detail) from error
        parts = statistics.parts_for(scope)  # the period split once, the unrolled days counted once
        figures = statistics.compute(scope, parts=parts)
        departments = statistics.by_department(scope, parts=parts)
        months = statistics.by_month(scope, parts=parts)
        context.update({
            "scope": scope,
            "figures": [{"key": key, "label": label, "text": _figure_text(figures[key], kind)}
                        for key, label, kind in FIGURE_LABELS],
            "counts": figures,
            "department_chart": _department_chart(departments) if departments else None,
            "department_rows": [{**row, "on_time_text": _figure_text(row["on_time_rate"], "rate")} for row in departments],
            "month_chart": _month_chart(months),
            "months": months,
        })
    context.update({
        "departments": Department.objects.order_by("code") if request.user.role == Role.SUPERVISOR else [],
        "halls": Hall.objects.order_by("code"),
        "values": {key: request.GET.get(key, "") for key in ("from", "to", "department", "item", "hall")},
    })
    return render(request, "applications/pages/stats.html", context)


# === 一件事一次办: bundle pages (DESIGN §4 "Bundles"; docs/decisions/020-bundles.md) =====================
# The parent's number reuses /my/cases/<number>/ and /window/cases/<number>/: the routes in urls.py's bundle
# section come first and hand every non-parent case to the single-case views above.

from django import forms as django_forms

from applications import bundles
from applications.forms import phone_validator
from applications.models import Application
from items.bundles import bundle_get_published
from items.models import BundleField


class BundleApplyForm(django_forms.Form):
    """The bundle's one form: its shared fields (from the catalogue), the description and the contact."""

    description = django_forms.CharField(
        label="申请说明", max_length=1000, required=False,
        widget=django_forms.Textarea(attrs={"rows": 3, "placeholder": "可简要说明申请的情况"}),
    )
    contact_phone = django_forms.CharField(label="联系电话", max_length=20, required=False, validators=[phone_validator])
    contact_address = django_forms.CharField(label="联系地址", max_length=200, required=False,
                                             help_text="用于邮寄送达办理结果，可不填")

    def __init__(self, *args, bundle, **kwargs):
        super().__init__(*args, **kwargs)
        self.shared = list(bundle.fields.all())
        for field in self.shared:
            self.fields[f"f_{field.name}"] = django_forms.CharField(
                label=field.label, max_length=500, required=field.required,
                error_messages={"required": f"请填写{field.label}"},
            )

    def shared_fields(self):
        return [self[f"f_{field.name}"] for field in self.shared]

    def form_data(self) -> dict:
        data = {field.name: self.cleaned_data[f"f_{field.name}"] for field in self.shared}
        if self.cleaned_data.get("description", "").strip():
            data["申请说明"] = self.cleaned_data["description"].strip()
        return data


class BundleNoticeForm(django_forms.Form):
    """一次性告知 across the bundle: one checkbox + reason per (child, requirement) of the children that may
    still be told (submitted)."""

    def __init__(self, *args, children, **kwargs):
        super().__init__(*args, **kwargs)
        self.entries = []
        for child in children:
            if child.state != State.SUBMITTED:
                continue
            for requirement in child.item_version.materials.all():
                key = f"{child.pk}_{requirement.pk}"
                self.fields[f"named_{key}"] = django_forms.BooleanField(label=requirement.name, required=False)
                self.fields[f"reason_{key}"] = django_forms.CharField(
                    label=f"{child.item_version.name}：{requirement.name}的补正原因", max_length=300, required=False,
                    widget=django_forms.TextInput(attrs={"placeholder": "例如：复印件不清晰"}),
                )
                self.entries.append((child, requirement, key))

    def rows(self):
        return [(child, requirement, self[f"named_{key}"], self[f"reason_{key}"]) for child, requirement, key in self.entries]

    def clean(self):
        data = super().clean()
        for _child, _requirement, key in self.entries:
            if data.get(f"named_{key}") and not (data.get(f"reason_{key}") or "").strip():
                self.add_error(f"reason_{key}", "请写明补正原因")
        return data

    def deficiencies(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {"child": child.number, "requirement": requirement.pk, "reason": data[f"reason_{key}"].strip()}
            for child, requirement, key in self.entries if data.get(f"named_{key}")
        ]


def _bundle_parent(request, number) -> Application | None:
    """The parent with this number if the user may see it, None when the number is not a bundle's parent."""
    try:
        return bundles.access_bundle(user=request.user, number=number)
    except Http404:
        return None


def _bundle_context(request, parent, *, upload_errors=None) -> dict:
    children = bundles.bundle_children(parent)
    detailed = [selectors.application_detail(application=child) for child in children]
    combined = bundles.combined_state(detailed)
    shared_rows = bundles.shared_material_rows(parent, detailed)
    shared_requirements = {(child.pk, requirement.pk) for row in shared_rows for child, requirement in row.targets}
    upload_errors = upload_errors or {}
    child_rows = []
    for child in detailed:
        noticed = services.noticed_requirement_ids(child)
        requirements = {r.pk: r for r in child.item_version.materials.all()}
        materials = []
        for row in materials_view(child):
            row["shared"] = (child.pk, row["requirement"]) in shared_requirements
            row["uploadable"] = services.upload_refusal(child, requirements[row["requirement"]], noticed=noticed) is None
            row["noticed"] = row["requirement"] in noticed and child.state == State.PENDING_MATERIALS
            row["errors"] = upload_errors.get(("child", child.pk, row["requirement"]), [])
            materials.append(row)
        child_rows.append({
            "case": child,
            "materials": materials,
            "own": [row for row in materials if not row["shared"]],
            "missing": [row["name"] for row in materials if row["status"] == "missing"],
            "upload_action": reverse("applications:bundle-child-upload", args=[parent.number, child.number]),
        })
    shared = []
    for row in shared_rows:
        names = {(child.pk, requirement.pk) for child, requirement in row.targets}
        # Every child holds a row for the same stored file: show the first child's.
        files = next((material["files"] for child_row in child_rows for material in child_row["materials"]
                      if (child_row["case"].pk, material["requirement"]) in names and material["files"]), [])
        shared.append({
            "material": row.material, "uploaded": row.uploaded, "files": files,
            "targets": [f"{child.item_version.name}：{requirement.name}" for child, requirement in row.targets],
            "uploadable": any(
                services.upload_refusal(child, requirement, noticed=services.noticed_requirement_ids(child)) is None
                for child, requirement in row.targets if child.state != State.WITHDRAWN
            ),
            "errors": upload_errors.get(("shared", row.material.pk), []),
        })
    notices = list(parent.notices.prefetch_related("deficiencies__requirement").order_by("sequence"))
    notice_pdfs = [d for d in parent.documents.all() if d.kind == DocumentKind.MATERIALS_NOTICE]
    due = bundles.latest_due_date(detailed)
    # The parent keeps the form by field name; show each field's label.
    labels = dict(BundleField.objects.filter(bundle__code=parent.bundle_code).values_list("name", "label"))
    return {
        "case": parent,
        "form_rows": [(labels.get(key, key), value) for key, value in parent.form_data.items()],
        "bundle_name": bundles.parent_bundle_name(parent),
        "children": child_rows,
        "shared": shared,
        "combined": combined,
        "combined_label": bundles.CombinedState.LABELS[combined],
        "due_date": due,
        "notices": [
            {"notice": notice, "pdf": notice_pdfs[index] if index < len(notice_pdfs) else None}
            for index, notice in enumerate(notices)
        ],
        "id_masked": mask_id_number(parent.applicant_id_number),
        "can_submit": any(child.state == State.DRAFT for child in detailed),
        "can_resubmit": any(child.state == State.PENDING_MATERIALS for child in detailed),
        "can_withdraw": any(child.state in WITHDRAWABLE for child in detailed),
        "missing": [f"{row['case'].item_version.name}：{name}" for row in child_rows for name in row["missing"]],
    }


def _bundle_case_page(request, parent, *, upload_errors=None):
    return render(request, "applications/pages/bundle_case.html",
                  _bundle_context(request, parent, upload_errors=upload_errors))


def _bundle_act(request, number, service, *, success):
    parent = bundles.access_bundle(user=request.user, number=number)
    try:
        service(actor=request.user, application=parent)
    except (Refused, Forbidden) as error:
        _refused(request, error)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, success)
    return parent


@login_required
def bundle_apply(request, code):
    """在线办理 a bundle: one form creates the parent and one case per member item."""
    if request.user.role != Role.APPLICANT:
        raise Http404("页面不存在")
    bundle = bundle_get_published(code=code)
    user = request.user
    form = BundleApplyForm(request.POST or None, bundle=bundle,
                           initial={"contact_phone": user.phone, "contact_address": user.address})
    if request.method == "POST" and form.is_valid():
        try:
            parent = bundles.bundle_application_create(
                actor=user, bundle_code=bundle.code, form_data=form.form_data(),
                contact_phone=form.cleaned_data["contact_phone"].strip(),
                contact_address=form.cleaned_data["contact_address"].strip(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"一件事申请已创建（编号 {parent.number}），请上传材料后一并提交。")
            return redirect("applications:case", number=parent.number)
    members = [member.item for member in bundle.members.select_related("item", "item__current_version",
                                                                       "item__current_version__department")]
    return render(request, "applications/pages/bundle_apply.html", {
        "bundle": bundle, "members": members, "form": form, "identified": bool(user.id_number),
    })


@applicant_required
def bundle_my_cases(request):
    """我的办件: a bundle's parent with its children under it; children are not listed on their own."""
    cases = (
        selectors.application_list(user=request.user).filter(parent__isnull=True)
        .prefetch_related(Prefetch("children", queryset=Application.objects.select_related(
            "item_version", "department").order_by("pk")))
        .order_by("-created_at")
    )
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    for case in page:
        if case.is_bundle_parent:
            children = list(case.children.all())
            combined = bundles.combined_state(children)
            case.bundle_view = {"name": bundles.parent_bundle_name(case), "children": children, "state": combined,
                           "label": bundles.CombinedState.LABELS[combined], "due_date": bundles.latest_due_date(children)}
    return render(request, "applications/pages/bundle_mine.html", {"page": page})


@applicant_required
def bundle_my_case(request, number):
    parent = _bundle_parent(request, number)
    if parent is None:
        return my_case(request, number)
    return _bundle_case_page(request, parent)


@applicant_required
@require_POST
def bundle_shared_upload(request, number, material_id):
    parent = bundles.access_bundle(user=request.user, number=number)
    upload = request.FILES.get("file")
    if upload is None:
        return _bundle_case_page(request, parent, upload_errors={("shared", material_id): ["请选择要上传的文件"]})
    try:
        created = bundles.bundle_material_upload(actor=request.user, application=parent, material_id=material_id,
                                                 upload=upload)
    except ValidationError as error:
        return _bundle_case_page(request, parent, upload_errors={("shared", material_id): error.messages})
    except (Refused, Forbidden) as error:
        _refused(request, error)
    else:
        messages.success(request, f"已上传共享材料，{len(created)} 个子办件同时使用")
    return redirect("applications:case", number=parent.number)


@applicant_required
@require_POST
def bundle_child_upload(request, number, child):
    """A child's own (not shared) material, through the single-case upload service on that child."""
    parent = bundles.access_bundle(user=request.user, number=number)
    case = access_application(user=request.user, number=child)
    if case.parent_id != parent.pk:
        raise Http404("办件不存在")
    form = MaterialUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        errors = [message for field_errors in form.errors.values() for message in field_errors]
        requirement = request.POST.get("requirement", "")
        if requirement.isdigit():
            return _bundle_case_page(request, parent, upload_errors={("child", case.pk, int(requirement)): errors})
        messages.error(request, "；".join(errors))
        return redirect("applications:case", number=parent.number)
    try:
        material = services.application_material_upload(
            actor=request.user, application=case, requirement_id=form.cleaned_data["requirement"],
            upload=form.cleaned_data["file"],
        )
    except ValidationError as error:
        return _bundle_case_page(request, parent, upload_errors={
            ("child", case.pk, form.cleaned_data["requirement"]): error.messages})
    except (Refused, Forbidden) as error:
        _refused(request, error)
    else:
        messages.success(request, f"已上传「{case.item_version.name}：{material.requirement.name}」（第 {material.version} 版）")
    return redirect("applications:case", number=parent.number)


def _citizen_or_bundle(single_view, bundle_service, success):
    @applicant_required
    @require_POST
    def view(request, number):
        if _bundle_parent(request, number) is None:
            return single_view(request, number)
        parent = _bundle_act(request, number, bundle_service, success=success)
        return redirect("applications:case", number=parent.number)
    return view


bundle_my_case_submit = _citizen_or_bundle(
    my_case_submit, bundles.bundle_submit, "一件事申请已提交，各子办件一并进入窗口预审。")
bundle_my_case_resubmit = _citizen_or_bundle(
    my_case_resubmit, bundles.bundle_resubmit, "补正材料已提交，各子办件等待窗口受理。")


@applicant_required
def bundle_my_case_withdraw(request, number):
    parent = _bundle_parent(request, number)
    if parent is None:
        return my_case_withdraw(request, number)
    if request.method == "POST":
        _bundle_act(request, number, bundles.bundle_withdraw, success="一件事申请已撤回（已作出决定的子办件不受影响）。")
        return redirect("applications:case", number=parent.number)
    return render(request, "applications/pages/withdraw.html", {"case": parent})


def _bundle_window_page(request, parent, *, notice_form=None, deliver_form=None):
    context = _bundle_context(request, parent)
    children = [row["case"] for row in context["children"]]
    live = [child for child in children if child.state != State.WITHDRAWN]
    calendar = WorkCalendar.load()
    for row in context["children"]:
        row["expected_due"] = calendar.add_working_days(timezone.localdate(), row["case"].item_version.promised_days)
    context.update({
        "notice_form": notice_form or BundleNoticeForm(children=children, prefix="notice"),
        "can_accept": bool(live) and all(child.state in (State.DRAFT, State.SUBMITTED) for child in live),
        "can_notice": any(child.state == State.SUBMITTED for child in children),
        # 一并送达: once every child is decided and issued (or finished otherwise), all results at once.
        "can_deliver": any(child.state == State.ISSUED for child in children)
        and all(child.state in (State.ISSUED, *bundles.FINISHED) for child in children),
        "deliver_form": deliver_form or DeliverForm(prefix="deliver"),
    })
    return render(request, "applications/pages/bundle_window_case.html", context)


@clerk_required
def bundle_window_case(request, number):
    parent = _bundle_parent(request, number)
    if parent is None:
        return window_case(request, number)
    return _bundle_window_page(request, parent)


@clerk_required
@require_POST
def bundle_window_accept(request, number):
    if _bundle_parent(request, number) is None:
        return window_case_accept(request, number)
    parent = _bundle_act(request, number, bundles.bundle_accept, success="一件事各子办件已一并受理，受理通知书已生成。")
    return redirect("applications:window-case", number=parent.number)


@clerk_required
@require_POST
def bundle_window_notice(request, number):
    parent = _bundle_parent(request, number)
    if parent is None:
        return window_case_notice(request, number)
    form = BundleNoticeForm(request.POST, children=bundles.bundle_children(parent), prefix="notice")
    if form.is_valid():
        try:
            bundles.bundle_request_materials(actor=request.user, application=parent, deficiencies=form.deficiencies())
        except ValidationError as error:
            add_service_errors(form, error)
        except (Refused, Forbidden) as error:
            _refused(request, error)
            return redirect("applications:window-case", number=parent.number)
        else:
            messages.success(request, "已一次性告知各子办件需补正的全部材料，补正材料通知书已生成。")
            return redirect("applications:window-case", number=parent.number)
    return _bundle_window_page(request, parent, notice_form=form)


@clerk_required
@require_POST
def bundle_window_resubmit(request, number):
    if _bundle_parent(request, number) is None:
        return window_case_resubmit(request, number)
    parent = _bundle_act(request, number, bundles.bundle_resubmit, success="补正材料已提交。")
    return redirect("applications:window-case", number=parent.number)
# === end of bundle pages ==============================================================================
