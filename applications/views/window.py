"""The window's pages (window/, clerks): online pre-review, walk-in registration, the case checklist with
accept, one-time notice, referral and resubmission, and pickup and delivery of results. A bundle's parent
shares the case URLs; views.bundles answers for it."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from applications import selectors, services
from applications.forms import DeliverForm, IntakeForm, NoticeForm, ReferForm, add_service_errors
from applications.models import Channel, State, Ticket
from applications.permissions import access_application
from applications.views import bundles as bundle_views
from applications.views.common import (
    PAGE_SIZE,
    act,
    bundle_or_case,
    case_context,
    clerk_required,
    commit_materials,
    submit_form,
    upload_material,
)
from items.selectors import item_list
from portal.errors import Refused
from portal.workdays import WorkCalendar

ITEM_CHOICES_LIMIT = 30


@clerk_required
def prereview(request):
    """网上预审: submissions waiting for the window, oldest first, with the days left before the law deems
    them accepted (行政许可法 第三十二条). A bundle is one row, its parent: the window takes it as one case."""
    page = Paginator(selectors.prereview_queue(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    parents = [case for case in page if case.is_bundle_parent]
    waiting = selectors.waiting_children(user=request.user, parents=parents)
    names = selectors.bundle_names(case.bundle_code for case in parents)
    calendar, today = WorkCalendar.load(), timezone.localdate()
    rows = []
    for case in page:
        row = {"case": case, "due": None, "remaining": None, "bundle": names.get(case.bundle_code, case.bundle_code)
               if case.is_bundle_parent else "", "waiting_children": waiting.get(case.pk, 0)}
        if case.channel == Channel.ONLINE and case.waiting_since:
            due = services.deemed_acceptance_due(submitted_on=timezone.localdate(case.waiting_since), calendar=calendar)
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
    ticket = _called_ticket(request)
    form = IntakeForm(request.POST or None, initial={"item": request.GET.get("item", "")})
    if request.method == "POST" and form.is_valid():
        try:
            case = services.application_create(
                actor=request.user, item_code=form.cleaned_data["item"], applicant=form.applicant(),
                contact_phone=form.cleaned_data["contact_phone"], contact_address=form.cleaned_data["contact_address"],
                certificate=form.cleaned_data["certificate"], **form.party(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except Refused as error:  # another open case on the same certificate
            form.add_error("certificate", error.detail)
        else:
            if ticket is not None:
                try:
                    services.ticket_link(actor=request.user, ticket=ticket, application=case)
                except Refused as error:  # another window linked it meanwhile: the case stands on its own
                    messages.warning(request, f"排队号未关联：{error.detail}")
            messages.success(request, f"已登记办件 {case.number}，请核对并收取材料。")
            return redirect("applications:window-case", number=case.number)
    selected = form["item"].value() or ""
    return render(request, "applications/pages/intake.html", {
        "form": form, "query": query, "items": _item_choices(query, selected), "selected": selected,
        "limit": ITEM_CHOICES_LIMIT, "ticket": ticket,
    })


def _called_ticket(request):
    """The ticket this window called that the walk-in registered here holds (叫号 → 受理), if the page came
    from the queue: one of today's tickets of the clerk's hall, called and still without a case."""
    ticket_id = request.POST.get("ticket") or request.GET.get("ticket") or ""
    if not str(ticket_id).isdigit():
        return None
    return Ticket.objects.filter(pk=int(ticket_id), hall_id=request.user.hall_id, day=timezone.localdate(),
                                 called_at__isnull=False, skipped_at__isnull=True, application__isnull=True).first()


def _case_page(request, case, *, upload_errors=None, notice_form=None, refer_form=None, deliver_form=None):
    context = case_context(request, case, upload_errors=upload_errors)
    case = context["case"]
    if case.parent_id:
        return _bundle_child_page(request, context)
    requirements = selectors.case_requirements(case)
    expected_due = None
    if case.state in (State.DRAFT, State.SUBMITTED):
        # What the applicant is told at the window: the due date if accepted today.
        expected_due = WorkCalendar.load().add_working_days(timezone.localdate(), case.item_version.promised_days)
    first_notice = context["notices"][0]["notice"] if context["notices"] else None
    context.update({
        "expected_due": expected_due,
        "notice_form": notice_form or NoticeForm(requirements=requirements, prefix="notice"),
        "refer_form": refer_form or ReferForm(prefix="refer"),
        "can_accept": "accept" in context["actions"],
        # 一次性告知 (DESIGN §5): one notice per case; once given, the page shows it instead of the form.
        # (a refused post, from a page opened before the notice, comes back with its errors)
        "can_notice": "request_materials" in context["actions"] and (first_notice is None or notice_form is not None),
        "noticed": first_notice if "request_materials" in context["actions"] else None,
        "can_refer": "refer" in context["actions"],
        "can_assist": not case.assisted_by_id and case.state in services.ASSISTABLE,
        "deliver_form": deliver_form or DeliverForm.for_case(case),
        # 一次一评: a stage done and not rated yet can go to this window's pad
        "can_rating_pad": bool(services.rating_stages_open(case)),
    })
    return render(request, "applications/pages/window_case.html", context)


def _bundle_child_page(request, context):
    """A bundle's child at the window: what it holds, and no action of its own — the window takes the bundle
    as one case on its parent's page (一件事一次办)."""
    parent = context["case"].parent
    for row in context["materials"]:
        row["uploadable"] = False
    context.update({"actions": [], "commit_form": None, "parent": parent,
                    "bundle_name": selectors.parent_bundle_name(parent)})
    return render(request, "applications/pages/window_case.html", context)


def _bundle_child_refusal(request, case):
    """An action posted to a bundle's child: refused with the error page, which names and links the bundle."""
    parent = case.parent
    message = (f"办件 {case.number} 属于一件事“{selectors.parent_bundle_name(parent)}”（一件事办件 {parent.number}），"
               "受理、一次性告知、转部门研判、补正和送达须在一件事办件上统一办理，本次操作未执行")
    return render(request, "409.html", {
        "message": message, "link": reverse("applications:window-case", args=[parent.number]),
        "link_label": f"前往一件事办件 {parent.number}",
    }, status=409)


def single_case(view):
    """A window action on one case (`view(request, case)`); a bundle's child answers 409 naming its bundle."""

    @wraps(view)
    def wrapped(request, number, **kwargs):
        case = access_application(user=request.user, number=number)
        if case.parent_id:
            return _bundle_child_refusal(request, case)
        return view(request, case, **kwargs)

    return wrapped


@clerk_required
@bundle_or_case(bundle_views.window_page)
def window_case(request, number):
    return _case_page(request, access_application(user=request.user, number=number))


@clerk_required
@require_POST
@single_case
def window_case_upload(request, case):
    return upload_material(request, case, page=_case_page, back="applications:window-case")


@clerk_required
@require_POST
@single_case
def window_case_commit(request, case):
    """告知承诺制: the walk-in signs the 承诺书 on paper; the clerk records it on the draft."""
    return commit_materials(request, case, back="applications:window-case")


@clerk_required
@require_POST
@bundle_or_case(bundle_views.window_accept)
@single_case
def window_case_accept(request, case):
    act(request, case, services.application_accept, success="已受理，受理通知书已生成。")
    return redirect("applications:window-case", number=case.number)


@clerk_required
@require_POST
@single_case
def window_case_assist(request, case):
    """帮办: the clerk who helped this applicant is recorded on the case."""
    act(request, case, services.application_assist, success="已登记您为本办件的帮办人员。")
    return redirect("applications:window-case", number=case.number)


@clerk_required
@require_POST
@bundle_or_case(bundle_views.window_resubmit)
@single_case
def window_case_resubmit(request, case):
    act(request, case, services.application_resubmit, success="补正材料已提交。")
    return redirect("applications:window-case", number=case.number)


@clerk_required
@require_POST
@bundle_or_case(bundle_views.window_notice)
@single_case
def window_case_notice(request, case):
    """一次性告知: every deficiency in one submit, or nothing."""
    form = NoticeForm(request.POST, requirements=selectors.case_requirements(case), prefix="notice")
    done = submit_form(
        request, form, back=reverse("applications:window-case", args=[case.number]),
        run=lambda: services.application_request_materials(
            actor=request.user, application=case, deficiencies=form.deficiencies()),
        success="已一次性告知需补正的全部材料，补正材料通知书已生成。",
    )
    return done or _case_page(request, case, notice_form=form)


@clerk_required
@require_POST
@single_case
def window_case_refer(request, case):
    """The window has no veto (窗口无否决权): doubts go to the department with a reason."""
    form = ReferForm(request.POST, prefix="refer")
    done = submit_form(
        request, form, back=reverse("applications:window-case", args=[case.number]),
        run=lambda: services.application_refer(actor=request.user, application=case, reason=form.cleaned_data["reason"]),
        success="已转部门研判。",
    )
    return done or _case_page(request, case, refer_form=form)


# --- results: pickup and delivery ----------------------------------------------------------------------


@clerk_required
def pickup(request):
    """领取送达: issued results waiting to be picked up or mailed, newest first; `q` finds a case by its
    number or the ID number of whoever may collect it (as the person at the window shows it)."""
    cases = selectors.application_list(user=request.user, state=State.ISSUED).filter(parent__isnull=True)
    query = (request.GET.get("q") or "").strip().upper()
    if query:
        cases = cases.filter(selectors.collectable_by(query))
    page = Paginator(cases.order_by("-issued_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    # A bundle is listed once all its results can go together (一并送达).
    issued_parents = selectors.bundles_to_deliver(user=request.user)
    if query:
        issued_parents = issued_parents.filter(selectors.collectable_by(query))
    return render(request, "applications/pages/pickup.html", {
        "page": page, "query": query, "bundles": list(issued_parents.order_by("-pk")[:PAGE_SIZE]),
    })


def _deliver(request, case, *, deliver, page):
    """送达 at the window: pickup (the holder's ID checked, a visit) or mail (address and tracking number)."""
    form = DeliverForm(request.POST, prefix="deliver")

    def run():
        data = form.cleaned_data
        deliver(actor=request.user, application=case, method=data["method"], tracking_number=data["tracking_number"],
                id_number=data["id_number"], address=data["address"])

    def success():
        data = form.cleaned_data
        done = ("已核验证件，当面交付" if data["method"] == "pickup"
                else f"已邮寄至 {data['address'].strip()}（单号 {data['tracking_number'].strip()}）")
        return f"{done}，办件已送达。"

    done = submit_form(request, form, run=run, success=success,
                       back=reverse("applications:window-case", args=[case.number]))
    return done or page(request, case, deliver_form=form)


def _deliver_bundle(request, parent):
    """A bundle's results all together (一并送达)."""
    return _deliver(request, parent, deliver=services.bundle_deliver, page=bundle_views.window_page)


@clerk_required
@require_POST
@bundle_or_case(_deliver_bundle)
@single_case
def window_case_deliver(request, case):
    return _deliver(request, case, deliver=services.application_deliver, page=_case_page)
