"""Supervision pages (supervision/): 差评整改 (heads act on their department's, supervisors judge) and the
statistics page with server-drawn SVG charts (applications.charts)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from applications import charts, disclosure, services, statistics
from applications.models import OPEN_RECTIFICATION
from applications.permissions import access_rectification, visible_rectifications
from applications.stats_export import statistics_workbook, xlsx_response
from applications.views.common import PAGE_SIZE, show_refusal
from portal.decorators import role_required
from portal.errors import Forbidden, Refused
from portal.models import Department, Hall, Role

# --- rectifications (heads act, supervisors judge) ------------------------------------------------------

rectification_roles = role_required(Role.HEAD, Role.SUPERVISOR)
RECTIFICATION_STEPS = {
    "start": services.rectification_start,
    "complete": services.rectification_complete,
    "impossible": services.rectification_declare_impossible,
    "invalidate": services.rectification_invalidate,
    "confirm": services.rectification_confirm,
    "send-back": services.rectification_send_back,
}


@rectification_roles
def rectifications(request):
    """差评整改: open ones first, soonest due first; a head acts on their department's, a supervisor judges."""
    rows = visible_rectifications(user=request.user).select_related("application__item_version")
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
    rectification = access_rectification(user=request.user, pk=pk)
    text = request.POST.get("text", "")
    arguments = {"reason": text} if step == "invalidate" else {"note": text}
    try:
        RECTIFICATION_STEPS[step](actor=request.user, rectification=rectification, **arguments)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        messages.success(request, "已更新整改状态。")
    return redirect("applications:rectifications")


# --- statistics (supervisors; heads for their own department) -------------------------------------------


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
        catalogue = statistics.catalogue_figures(scope)
        figures = statistics.compute(scope, parts=parts, catalogue=catalogue)
        departments = statistics.by_department(scope, parts=parts)
        months = statistics.by_month(scope, parts=parts)
        context.update({
            "scope": scope,
            "figures": charts.figure_rows(figures),
            "counts": figures,
            "department_chart": charts.department_chart(departments) if departments else None,
            "department_rows": [{**row, "on_time_text": charts.figure_text(row["on_time_rate"], "rate")} for row in departments],
            "month_chart": charts.month_chart(months),
            "months": months,
            "catalogue_figures": charts.figure_rows(figures, charts.CATALOGUE_LABELS),
            "catalogue_rows": charts.catalogue_rows(catalogue["departments"]),
            "export_query": request.GET.urlencode(),
            "complaint_rows": disclosure.complaint_figures(
                start=scope.start, end=scope.end, department_id=scope.department.pk if scope.department else None),
        })
    context.update({
        "departments": Department.objects.order_by("code") if request.user.role == Role.SUPERVISOR else [],
        "halls": Hall.objects.order_by("code"),
        "values": {key: request.GET.get(key, "") for key in ("from", "to", "department", "item", "hall")},
    })
    return render(request, "applications/pages/stats.html", context)


@role_required(Role.SUPERVISOR, Role.HEAD)
def stats_export(request):
    """统计分析 as export.xlsx: the page's scope, the same figures."""
    form = statistics.ScopeForm(request.GET)
    if not form.is_valid():
        raise Http404("统计条件有误，请在统计分析页重新选择")
    try:
        scope = form.scope(user=request.user)
    except Forbidden as error:
        raise PermissionDenied(error.detail) from error
    return xlsx_response(statistics_workbook(scope), f"统计分析_{scope.date_from:%Y%m%d}-{scope.date_to:%Y%m%d}.xlsx")

