"""What every case page shares: the role gates, the case page's context and timeline, uploading one
material, running one transition, and the one dispatch from a shared URL to a bundle's parent or a case."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from applications import selectors, services
from applications.documents import DocumentKind
from applications.forms import CommitForm, MaterialUploadForm, add_service_errors
from applications.models import Application, State, SuspensionKind
from applications.permissions import access_bundle, allowed_actions
from applications.presenters import materials_view
from organisations.selectors import acting_organisations
from portal.decorators import role_required
from portal.errors import Forbidden, Refused
from portal.identity import mask_id_number
from portal.models import Role

PAGE_SIZE = 30

EVENT_LABELS = {
    "application_create": "创建申请",
    "material_upload": "上传材料",
    "application_deferral_complete": "容缺材料补齐",
    "application_deferral_lapse": "容缺材料逾期未补",
    "commitment_verify": "告知承诺核查",
    **{f"application_{method}": label for method, label in services.ACTION_LABELS.items()},
}

applicant_required = role_required(Role.APPLICANT)
clerk_required = role_required(Role.CLERK)
head_required = role_required(Role.HEAD)

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
        elif event.action == "application_commit":
            detail = "以承诺代替：" + "、".join(row.get("name", "") for row in event.payload.get("requirements", []))
        elif event.action == "commitment_verify":
            outcome = {"confirmed": "核查属实", "false": "承诺不实"}.get(event.payload.get("outcome"), "")
            detail = "：".join(part for part in (outcome, event.payload.get("note", "")) if part)
        elif event.action == "application_deferral_lapse":
            detail = f"期限 {event.payload.get('deferral_due')}，尚缺：{event.payload.get('outstanding', '')}"
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


def applying_as(request) -> tuple[list, dict]:
    """The organisations the signed-in applicant may file for, and the apply form's initial choice: the one
    named by `?as=<credit code>` (the organisation page's link), else applying in person."""
    organisations = list(acting_organisations(user=request.user).order_by("name"))
    chosen = request.GET.get("as", "")
    initial = {"applying_as": f"org:{chosen}"} if any(o.credit_code == chosen for o in organisations) else {}
    return organisations, initial


def case_context(request, case, *, upload_errors=None) -> dict:
    """A single case as its pages show it: materials, notices, documents and timeline."""
    case = selectors.application_detail(application=case)
    notices = list(case.notices.all())
    # What the open notice named: the same set the upload service checks.
    noticed = {d.requirement_id for notice in notices if notice.resolved_at is None for d in notice.deficiencies.all()}
    requirements = {requirement.pk: requirement for requirement in selectors.case_requirements(case)}
    latest_notice = notices[-1] if notices else None
    latest_noticed = {d.requirement_id for d in latest_notice.deficiencies.all()} if latest_notice else set()
    documents = list(case.documents.all())
    notice_pdfs = [d for d in documents if d.kind == DocumentKind.MATERIALS_NOTICE]
    materials = materials_view(case)
    upload_errors = upload_errors or {}
    # The buttons a page shows: exactly what the services would accept from this user now (and what the
    # case API lists as `available_actions`).
    actions = allowed_actions(request.user, case)
    for row in materials:
        row["uploadable"] = services.upload_refusal(case, requirements[row["requirement"]], noticed=noticed) is None
        row["noticed"] = row["requirement"] in latest_noticed and case.state == State.PENDING_MATERIALS
        # 需补正 until a file came after the notice (then 已补正): never 需补正 and 已上传 at once (issue 18)
        row["resupplied"] = row["noticed"] and any(
            parse_datetime(file["uploaded_at"]) >= latest_notice.issued_at for file in row["files"])
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
        "actions": actions,
        "can_submit": "submit" in actions,
        "can_resubmit": "resubmit" in actions,
        "can_withdraw": "withdraw" in actions,
        "can_deliver": "deliver" in actions,
        "can_rate": "rate" in actions,
        "missing": [row["name"] for row in materials if row["status"] == "missing"],
        # 容缺 and 告知承诺 (DESIGN §14): the deadline, what is still owed, the 承诺书 and signing one.
        "deferral": {"due": case.deferral_due, "lapsed": case.deferral_lapsed,
                     "outstanding": [row["name"] for row in materials if row["status"] == "deferrable"]}
        if case.deferral_due or case.deferral_lapsed else None,
        "commitment": selectors.commitment_of(case),
        "commit_form": CommitForm(requirements=requirements.values(), prefix="commit") if "commit" in actions else None,
        "commit_action": reverse(
            "applications:window-commit" if request.user.role == Role.CLERK else "applications:commit", args=[case.number]
        ),
        "upload_action": reverse(
            "applications:window-upload" if request.user.role == Role.CLERK else "applications:upload", args=[case.number]
        ),
    }


def show_refusal(request, error) -> None:
    """A service's refusal (Refused, InvalidTransition, Forbidden) as a message on the next page."""
    messages.error(request, error.detail)


def upload_material(request, case, *, page, back):
    """One file for one requirement; a bad file is shown next to that requirement's input."""
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
            show_refusal(request, error)
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


def sign_commitment(request, case, requirements: list[int]) -> bool:
    """Sign the 承诺书 for these requirements; a refusal or a bad choice becomes a message."""
    try:
        commitment = services.application_commit(actor=request.user, application=case, requirements=requirements)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        names = "、".join(commitment.requirements.order_by("order").values_list("name", flat=True))
        messages.success(request, f"已签署告知承诺书，以承诺代替：{names}。")
        return True
    return False


def commit_materials(request, case, *, back):
    """The case page's 签署告知承诺书 form (the applicant's draft, or a walk-in's at the window)."""
    form = CommitForm(request.POST, requirements=selectors.case_requirements(case), prefix="commit")
    if not form.is_valid():
        messages.error(request, "；".join(error for errors in form.errors.values() for error in errors))
    elif not form.cleaned_data["requirements"]:
        messages.error(request, "请勾选以告知承诺代替的材料")
    else:
        sign_commitment(request, case, form.cleaned_data["requirements"])
    return redirect(back, number=case.number)


def act(request, case, service, *, success: str, **arguments) -> None:
    """Run a transition without input on a case or a bundle's parent: a refusal becomes a message and the
    case stays as it was."""
    try:
        service(actor=request.user, application=case, **arguments)
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, success)


def submit_form(request, form, *, run, success, back: str):
    """Run a service with a page form's input (`run()`, once the form is valid). A form error or the
    service's ValidationError is left on the form and None returned, for the caller to show the page again;
    a refusal is a message; either way nothing has changed. Done or refused, the redirect to `back`.
    `success` is the message, or a function that makes it from the form's data."""
    if not form.is_valid():
        return None
    try:
        run()
    except ValidationError as error:
        add_service_errors(form, error)
        return None
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        messages.success(request, success() if callable(success) else success)
    return redirect(back)


def _visible_parent(user, number) -> Application | None:
    """The bundle's parent with this number if the user may see it; None for any other number."""
    try:
        return access_bundle(user=user, number=number)
    except Http404:
        return None


def bundle_or_case(bundle_view):
    """For a URL that a bundle's parent shares with single cases (my/cases/<number>/…, window/cases/<number>/…):
    a parent's number goes to `bundle_view(request, parent, …)`, any other number to the decorated
    single-case view. The one place where the two are told apart (一件事一次办, DESIGN §4)."""

    def decorator(case_view):
        @wraps(case_view)
        def view(request, number, **kwargs):
            parent = _visible_parent(request.user, number)
            if parent is None:
                return case_view(request, number, **kwargs)
            return bundle_view(request, parent, **kwargs)

        return view

    return decorator
