"""一件事一次办 pages (DESIGN §4 "Bundles"; docs/decisions/020-services.md): applying for a bundle, the
parent's page for the citizen and for the window, and the bundle-wide actions. A parent's number shares the
single case's URLs; common.bundle_or_case sends it here."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from applications import selectors, services
from applications.documents import DocumentKind
from applications.forms import BundleApplyForm, BundleNoticeForm, DeliverForm, MaterialUploadForm, add_service_errors
from applications.models import DeliveryMethod, State
from applications.permissions import access_application, access_bundle, bundle_allowed_actions
from applications.presenters import materials_view
from applications.views.common import act, applicant_required, applying_as, show_refusal, submit_form
from items.models import BundleField
from items.selectors import bundle_get_published
from portal.errors import Forbidden, Refused
from portal.identity import mask_id_number
from portal.models import Role
from portal.workdays import WorkCalendar


def _context(request, parent, *, upload_errors=None) -> dict:
    children = selectors.bundle_children(parent)
    detailed = [selectors.application_detail(application=child) for child in children]
    combined = selectors.combined_state(detailed)
    shared_rows = selectors.shared_material_rows(parent, detailed)
    shared_requirements = {(child.pk, requirement.pk) for row in shared_rows for child, requirement in row.targets}
    upload_errors = upload_errors or {}
    child_rows = []
    for child in detailed:
        noticed = selectors.noticed_requirement_ids(child)
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
                services.upload_refusal(child, requirement, noticed=selectors.noticed_requirement_ids(child)) is None
                for child, requirement in row.targets if child.state != State.WITHDRAWN
            ),
            "errors": upload_errors.get(("shared", row.material.pk), []),
        })
    notices = list(parent.notices.prefetch_related("deficiencies__requirement").order_by("sequence"))
    notice_pdfs = [d for d in parent.documents.all() if d.kind == DocumentKind.MATERIALS_NOTICE]
    due = selectors.latest_due_date(detailed)
    actions = bundle_allowed_actions(request.user, parent, detailed)
    # The parent keeps the form by field name; show each field's label.
    labels = dict(BundleField.objects.filter(bundle__code=parent.bundle_code).values_list("name", "label"))
    return {
        "case": parent,
        "form_rows": [(labels.get(key, key), value) for key, value in parent.form_data.items()],
        "bundle_name": selectors.parent_bundle_name(parent),
        "children": child_rows,
        "shared": shared,
        "combined": combined,
        "combined_label": selectors.CombinedState.LABELS[combined],
        "due_date": due,
        "notices": [
            {"notice": notice, "pdf": notice_pdfs[index] if index < len(notice_pdfs) else None}
            for index, notice in enumerate(notices)
        ],
        "id_masked": mask_id_number(parent.applicant_id_number),
        "actions": actions,
        "can_submit": "submit" in actions,
        "can_resubmit": "resubmit" in actions,
        "can_withdraw": "withdraw" in actions,
        "can_deliver": "deliver" in actions,
        "missing": [f"{row['case'].item_version.name}：{name}" for row in child_rows for name in row["missing"]],
    }


# --- the citizen -----------------------------------------------------------------------------------------


@login_required
def bundle_apply(request, code):
    """在线办理 a bundle: one form creates the parent and one case per member item."""
    if request.user.role != Role.APPLICANT:
        raise Http404("页面不存在")
    bundle = bundle_get_published(code=code)
    user = request.user
    organisations, initial = applying_as(request)
    form = BundleApplyForm(request.POST or None, bundle=bundle, organisations=organisations,
                           initial={"contact_phone": user.phone, "contact_address": user.address, **initial})
    if request.method == "POST" and form.is_valid():
        try:
            parent = services.bundle_application_create(
                actor=user, bundle_code=bundle.code, form_data=form.form_data(),
                contact_phone=form.cleaned_data["contact_phone"].strip(),
                contact_address=form.cleaned_data["contact_address"].strip(), **form.party(),
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


def case_page(request, parent, *, upload_errors=None):
    """The citizen's page of a bundle: the shared form, shared materials and each child's own."""
    return render(request, "applications/pages/bundle_case.html", _context(request, parent, upload_errors=upload_errors))


@applicant_required
@require_POST
def bundle_shared_upload(request, number, material_id):
    parent = access_bundle(user=request.user, number=number)
    upload = request.FILES.get("file")
    if upload is None:
        return case_page(request, parent, upload_errors={("shared", material_id): ["请选择要上传的文件"]})
    try:
        created = services.bundle_material_upload(actor=request.user, application=parent, material_id=material_id,
                                                 upload=upload)
    except ValidationError as error:
        return case_page(request, parent, upload_errors={("shared", material_id): error.messages})
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        messages.success(request, f"已上传共享材料，{len(created)} 个子办件同时使用")
    return redirect("applications:case", number=parent.number)


@applicant_required
@require_POST
def bundle_child_upload(request, number, child):
    """A child's own (not shared) material, through the single-case upload service on that child."""
    parent = access_bundle(user=request.user, number=number)
    case = access_application(user=request.user, number=child)
    if case.parent_id != parent.pk:
        raise Http404("办件不存在")
    form = MaterialUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        errors = [message for field_errors in form.errors.values() for message in field_errors]
        requirement = request.POST.get("requirement", "")
        if requirement.isdigit():
            return case_page(request, parent, upload_errors={("child", case.pk, int(requirement)): errors})
        messages.error(request, "；".join(errors))
        return redirect("applications:case", number=parent.number)
    try:
        material = services.application_material_upload(
            actor=request.user, application=case, requirement_id=form.cleaned_data["requirement"],
            upload=form.cleaned_data["file"],
        )
    except ValidationError as error:
        return case_page(request, parent, upload_errors={
            ("child", case.pk, form.cleaned_data["requirement"]): error.messages})
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        messages.success(request, f"已上传「{case.item_version.name}：{material.requirement.name}」（第 {material.version} 版）")
    return redirect("applications:case", number=parent.number)


def submit(request, parent):
    act(request, parent, services.bundle_submit, success="一件事申请已提交，各子办件一并进入窗口预审。")
    return redirect("applications:case", number=parent.number)


def resubmit(request, parent):
    act(request, parent, services.bundle_resubmit, success="补正材料已提交，各子办件等待窗口受理。")
    return redirect("applications:case", number=parent.number)


def receive(request, parent):
    """网上下载送达 of every result of the bundle at once."""
    act(request, parent, services.bundle_deliver, success="已确认收到全部办理结果（网上下载送达）。",
        method=DeliveryMethod.DOWNLOAD)
    return redirect("applications:case", number=parent.number)


def withdraw(request, parent):
    """撤回 the whole bundle, after asking once more; children already decided keep their decision."""
    if request.method == "POST":
        act(request, parent, services.bundle_withdraw, success="一件事申请已撤回（已作出决定的子办件不受影响）。")
        return redirect("applications:case", number=parent.number)
    return render(request, "applications/pages/withdraw.html", {"case": parent})


# --- the window ------------------------------------------------------------------------------------------


def window_page(request, parent, *, notice_form=None, deliver_form=None):
    """The window's page of a bundle: accept all children at once, one notice across them, deliver together."""
    context = _context(request, parent)
    children = [row["case"] for row in context["children"]]
    calendar = WorkCalendar.load()
    for row in context["children"]:
        row["expected_due"] = calendar.add_working_days(timezone.localdate(), row["case"].item_version.promised_days)
    # 一次性告知 (DESIGN §5): one notice across the bundle; once given, the page shows it instead of the form.
    first_notice = context["notices"][0]["notice"] if context["notices"] else None
    context.update({
        "notice_form": notice_form or BundleNoticeForm(children=children, prefix="notice"),
        "can_accept": "accept" in context["actions"],
        # (a refused post, from a page opened before the notice, comes back with its errors)
        "can_notice": "request_materials" in context["actions"] and (first_notice is None or notice_form is not None),
        "noticed": first_notice if "request_materials" in context["actions"] else None,
        "deliver_form": deliver_form or DeliverForm.for_case(parent),
    })
    return render(request, "applications/pages/bundle_window_case.html", context)


def window_accept(request, parent):
    act(request, parent, services.bundle_accept, success="一件事各子办件已一并受理，受理通知书已生成。")
    return redirect("applications:window-case", number=parent.number)


def window_resubmit(request, parent):
    act(request, parent, services.bundle_resubmit, success="补正材料已提交。")
    return redirect("applications:window-case", number=parent.number)


def window_notice(request, parent):
    """一次性告知 across the bundle: every child's deficiencies in one submit, or nothing."""
    form = BundleNoticeForm(request.POST, children=selectors.bundle_children(parent), prefix="notice")
    done = submit_form(
        request, form, back=reverse("applications:window-case", args=[parent.number]),
        run=lambda: services.bundle_request_materials(
            actor=request.user, application=parent, deficiencies=form.deficiencies()),
        success="已一次性告知各子办件需补正的全部材料，补正材料通知书已生成。",
    )
    return done or window_page(request, parent, notice_form=form)
