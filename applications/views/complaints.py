"""投诉 pages (decision 059): filing (from a case's page, or /complaints/new/ without an account and the link that
follows it), the citizen's list, and the department's and supervisors' list and page per complaint. Each step
is a POST; a refusal shows the page again with 409 (403 for the wrong person), nothing changed."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from applications import services
from applications.complaint_forms import CaseComplaintForm, ComplaintForm, ComplaintRateForm
from applications.complaint_links import complaint_link_path, complaint_link_read
from applications.forms import add_service_errors
from applications.models import AWAITING_DEPARTMENT, ComplaintState
from applications.permissions import access_application, access_complaint, complains_as_account, is_supervisor, visible_complaints
from applications.views.common import PAGE_SIZE, applicant_required
from items.models import Item
from portal.account_views import SEND_CODE, send_code_page
from portal.decorators import role_required
from portal.errors import Forbidden, Refused
from portal.models import Department, Role, SmsPurpose
from portal.throttles import throttle_page

NEW_TEMPLATE = "applications/pages/complaint_new.html"
staff_required = role_required(Role.REVIEWER, Role.HEAD, Role.SUPERVISOR)


def _rate(request, complaint, *, actor, template: str, context: dict):
    """The rating form of a page (the signed link's, or the complainant's own): done → back to the page."""
    form = ComplaintRateForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.complaint_rate(actor=actor, complaint=complaint, verdict=form.cleaned_data["verdict"],
                                    comment=form.cleaned_data["comment"])
        except ValidationError as error:
            add_service_errors(form, error)
        except (Refused, Forbidden) as error:
            form.add_error(None, error.detail)
            status = error.status_code if isinstance(error, Refused) else 403
        else:
            messages.success(request, "感谢您的评价！")
            return redirect(request.path)
    return render(request, template, {**context, "complaint": complaint, "rate_form": form}, status=status)


# --- filing ---------------------------------------------------------------------------------------------


def _initial_route(query) -> dict:
    """`?item=<code>` (its department chosen with it) or `?department=<code>`."""
    item = Item.objects.filter(code=query.get("item", ""), current_version__isnull=False).select_related("department").first()
    if item is not None:
        return {"department": item.department.code, "item": item.code}
    return {"department": query.get("department", "")}


@throttle_page("complaint_file", methods=("POST",))
def complaint_new(request):
    """投诉 without an account (or signed in as an applicant, who gives no phone): pick the department or
    an item, prove the phone with an SMS code, then the number and the link to follow it."""
    known = complains_as_account(user=request.user)
    context = {"known": known, "due_days": settings.COMPLAINT_DUE_WORKING_DAYS}
    action = request.POST.get("action")
    if request.method != "POST" or action not in ("file", SEND_CODE):
        # The first visit (`?item=` from an item's guide, `?department=`), or a department chosen: its items listed.
        initial = request.POST.dict() if request.method == "POST" else _initial_route(request.GET)
        initial.pop("code", None)
        return render(request, NEW_TEMPLATE, {"form": ComplaintForm(initial=initial, known=known), **context})
    form = ComplaintForm(request.POST, known=known)
    if form.is_valid():
        if action == SEND_CODE and not known:
            return send_code_page(request, form, SmsPurpose.COMPLAINT, NEW_TEMPLATE, **context)
        try:
            complaint = services.complaint_file(actor=request.user if known else None, **form.filing())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"投诉已提交，编号 {complaint.number}。部门将于 {complaint.due_date:%Y年%m月%d日} 前答复。")
            if known:
                return redirect("applications:my-complaint", number=complaint.number)
            return redirect(complaint_link_path(complaint))
    return render(request, NEW_TEMPLATE, {"form": form, **context}, status=400)


@applicant_required
def case_complaint(request, number):
    """投诉 from a case's page: routed to the case's department, linked to the case."""
    case = access_application(user=request.user, number=number)
    form = CaseComplaintForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                complaint = services.complaint_file(actor=request.user, application=case, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            except Forbidden as error:
                form.add_error(None, error.detail)
                status = 403
            else:
                messages.success(request, f"投诉已提交，编号 {complaint.number}，{case.department.name}将于 "
                                          f"{complaint.due_date:%Y年%m月%d日} 前答复。")
                return redirect("applications:my-complaint", number=complaint.number)
    return render(request, "applications/pages/complaint_case.html", {"case": case, "form": form, "due_days": settings.COMPLAINT_DUE_WORKING_DAYS}, status=status)


def complaint_follow(request, token):
    """The signed link (SMS, and the page after filing): the complaint's progress, and rating the answer."""
    complaint = complaint_link_read(token)
    if complaint is None:
        raise Http404("投诉链接无效或已过期")
    context = {"link": True, "can_rate": complaint.state == ComplaintState.ANSWERED}
    if request.method == "POST":
        return _rate(request, complaint, actor=None, template="applications/pages/complaint_follow.html",
                     context=context)
    return render(request, "applications/pages/complaint_follow.html",
                  {**context, "complaint": complaint, "rate_form": ComplaintRateForm()})


# --- the citizen's own ------------------------------------------------------------------------------------


@applicant_required
def my_complaints(request):
    rows = visible_complaints(user=request.user).order_by("-received_at", "-pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "applications/pages/complaints_mine.html", {"page": page})


@applicant_required
def my_complaint(request, number):
    complaint = access_complaint(user=request.user, number=number)
    context = {"link": False, "can_rate": "rate" in services.complaint_steps(user=request.user, complaint=complaint)}
    if request.method == "POST":
        return _rate(request, complaint, actor=request.user, template="applications/pages/complaint_follow.html",
                     context=context)
    return render(request, "applications/pages/complaint_follow.html",
                  {**context, "complaint": complaint, "rate_form": ComplaintRateForm()})


# --- the department and the supervisors -----------------------------------------------------------------------

STEPS = {
    # step → (service, the service's argument the page's `text` fills)
    "start": (services.complaint_start, "note"),
    "answer": (services.complaint_answer, "answer"),
    "confirm": (services.complaint_confirm, "note"),
    "send-back": (services.complaint_send_back, "note"),
}


@staff_required
def complaints(request):
    """投诉处理: the department's (all of them for supervisors), awaiting the department first, soonest due
    first; filters by state, overdue, and for supervisors the department."""
    rows = visible_complaints(user=request.user)
    values = {key: request.GET.get(key, "") for key in ("state", "overdue", "department")}
    if values["state"] == "open":
        rows = rows.filter(state__in=AWAITING_DEPARTMENT)
    elif values["state"] in ComplaintState.values:
        rows = rows.filter(state=values["state"])
    if values["overdue"] == "1":
        rows = rows.filter(overdue=True)
    supervisor = is_supervisor(user=request.user)
    if supervisor and values["department"]:
        rows = rows.filter(department__code=values["department"])
    page = Paginator(rows.order_by("due_date", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "applications/pages/complaints.html", {
        "page": page, "values": values, "states": ComplaintState.choices,
        "departments": Department.objects.order_by("code") if supervisor else [],
        "query_string": urlencode({key: value for key, value in values.items() if value}),
    })


def _staff_page(request, complaint, *, status: int = 200, errors: dict | None = None, error: str = "",
                values: dict | None = None):
    return render(request, "applications/pages/complaint_staff.html", {
        "complaint": complaint, "steps": services.complaint_steps(user=request.user, complaint=complaint),
        "errors": errors or {}, "error": error, "values": values or {},
    }, status=status)


@staff_required
def complaint_detail(request, number):
    return _staff_page(request, access_complaint(user=request.user, number=number))


@staff_required
@require_POST
def complaint_step(request, number, step):
    if step not in STEPS:
        raise Http404("未知的操作")
    complaint = access_complaint(user=request.user, number=number)
    service, argument = STEPS[step]
    text = request.POST.get("text", "")
    try:
        service(actor=request.user, complaint=complaint, **{argument: text})
    except ValidationError as error:
        key = step.replace("-", "_")  # a template's name
        return _staff_page(request, complaint, status=400, values={key: text},
                           errors={key: [message for field in error.message_dict.values() for message in field]})
    except (Refused, Forbidden) as error:
        complaint.refresh_from_db()
        return _staff_page(request, complaint, status=error.status_code if isinstance(error, Refused) else 403,
                           error=error.detail)
    messages.success(request, "已更新投诉处理状态。")
    return redirect(reverse("applications:complaint", args=[complaint.number]))
