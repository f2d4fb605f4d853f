"""The citizen's pages (apply/, my/cases/): apply online, my cases, a case's page with its materials, and
submit, resubmit and withdraw. A bundle's parent shares these URLs; views.bundles answers for it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from applications import selectors, services
from applications.forms import ApplyForm, CommitForm, add_held_certificate_field, add_service_errors
from applications.models import Application, DeliveryMethod
from applications.permissions import access_application
from applications.progress import case_progress, case_refusal
from applications.views import bundles as bundle_views
from applications.views.common import (
    PAGE_SIZE,
    act,
    applicant_required,
    applying_as,
    bundle_or_case,
    case_context,
    commit_materials,
    sign_commitment,
    upload_material,
)
from certificates.selectors import lifecycle_candidates
from items.models import CertificateAction
from items.selectors import item_get_current
from portal.errors import Refused
from portal.models import Role
from portal.workdays import WorkCalendar


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
    organisations, initial = applying_as(request)
    form = ApplyForm(request.POST or None, organisations=organisations,
                     initial={"contact_phone": user.phone, "contact_address": user.address, **initial})
    lifecycle = version.certificate_type_id is not None and version.certificate_action != CertificateAction.ISSUE
    if lifecycle:
        add_held_certificate_field(form, selected=request.GET.get("certificate", ""), certificates=lifecycle_candidates(
            user=user, certificate_type_id=version.certificate_type_id))
    # 告知承诺制: the materials a signed commitment may stand in for, ticked here and signed with the draft.
    commit_form = CommitForm(request.POST or None, requirements=version.materials.all(), prefix="commit")
    if request.method == "POST" and form.is_valid() and commit_form.is_valid():
        try:
            case = services.application_create(
                actor=user, item_code=version.item.code, form_data=form.form_data(),
                contact_phone=form.cleaned_data["contact_phone"], contact_address=form.cleaned_data["contact_address"],
                certificate=form.cleaned_data.get("certificate", ""), **form.party(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except Refused as error:  # another open case on the same certificate
            form.add_error("certificate" if lifecycle else None, error.detail)
        else:
            messages.success(request, f"申请已创建（办件编号 {case.number}），请逐项上传材料后提交。")
            if commit_form.cleaned_data["requirements"]:
                sign_commitment(request, case, commit_form.cleaned_data["requirements"])
            return redirect("applications:case", number=case.number)
    return render(request, "applications/pages/apply.html", {
        "version": version, "item": version.item, "form": form, "identified": bool(user.id_number),
        "commit_form": commit_form,
    })


@applicant_required
def my_cases(request):
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
            combined = selectors.combined_state(children)
            case.bundle_view = {"name": selectors.parent_bundle_name(case), "children": children, "state": combined,
                                "label": selectors.CombinedState.LABELS[combined],
                                "due_date": selectors.latest_due_date(children)}
    return render(request, "applications/pages/bundle_mine.html", {"page": page})


def _case_page(request, case, *, upload_errors=None):
    context = case_context(request, case, upload_errors=upload_errors)
    context["progress"] = case_progress(context["case"], today=services.local_today(), calendar=WorkCalendar.load())
    context["refusal"] = case_refusal(context["case"])
    return render(request, "applications/pages/case.html", context)


@applicant_required
@bundle_or_case(bundle_views.case_page)
def my_case(request, number):
    return _case_page(request, access_application(user=request.user, number=number))


@applicant_required
@require_POST
def my_case_upload(request, number):
    case = access_application(user=request.user, number=number)
    return upload_material(request, case, page=_case_page, back="applications:case")


@applicant_required
@require_POST
def my_case_commit(request, number):
    case = access_application(user=request.user, number=number)
    return commit_materials(request, case, back="applications:case")


@applicant_required
@require_POST
@bundle_or_case(bundle_views.submit)
def my_case_submit(request, number):
    case = access_application(user=request.user, number=number)
    act(request, case, services.application_submit, success="申请已提交，窗口将在 5 个工作日内完成预审。")
    return redirect("applications:case", number=case.number)


@applicant_required
@require_POST
@bundle_or_case(bundle_views.resubmit)
def my_case_resubmit(request, number):
    case = access_application(user=request.user, number=number)
    act(request, case, services.application_resubmit, success="补正材料已提交，等待窗口受理。")
    return redirect("applications:case", number=case.number)


@applicant_required
@bundle_or_case(bundle_views.withdraw)
def my_case_withdraw(request, number):
    """撤回 asks once more before it acts: a withdrawn case cannot be reopened."""
    case = access_application(user=request.user, number=number)
    if request.method == "POST":
        act(request, case, services.application_withdraw, success="申请已撤回。")
        return redirect("applications:case", number=case.number)
    return render(request, "applications/pages/withdraw.html", {"case": case})


@applicant_required
@require_POST
@bundle_or_case(bundle_views.receive)
def my_case_receive(request, number):
    """网上下载送达: the applicant confirms they have the result (the e-certificate in their wallet, or the
    decision letter below): delivered, with no visit."""
    case = access_application(user=request.user, number=number)
    act(request, case, services.application_deliver, success="已确认收到办理结果（网上下载送达）。",
        method=DeliveryMethod.DOWNLOAD)
    return redirect("applications:case", number=case.number)
