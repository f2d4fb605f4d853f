"""The custodian's issuance queue and the seal-use log (custodians and supervisors)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from applications.documents import DocumentKind
from applications.models import Application, State
from applications.permissions import access_application
from portal.audit import chain_label
from portal.decorators import role_required
from portal.errors import Forbidden, Refused
from portal.models import Role
from seals.models import SealUse
from seals.services import custodian_conflict, seal_issue

custodian_required = role_required(Role.CUSTODIAN)


@custodian_required
def queue(request):
    """Decided cases waiting for the seal, oldest decision first; 制证中 ones show as such."""
    cases = (
        Application.objects.filter(state__in=[State.APPROVED, State.REJECTED])
        .select_related("item_version", "department", "decided_by").order_by("decided_at")
    )
    page = Paginator(cases, 50).get_page(request.GET.get("page"))
    for case in page.object_list:
        case.custodian_conflict = custodian_conflict(actor=request.user, application=case)
    return render(request, "seals/queue.html", {"page": page})


@custodian_required
@require_POST
def issue(request, number):
    case = access_application(user=request.user, number=number)
    try:
        seal_issue(actor=request.user, application=case)
    except (Refused, Forbidden) as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"已下达签发：{case.number}，正在制证，完成后自动出证。")
    return redirect("seals:queue")


@role_required(Role.CUSTODIAN, Role.SUPERVISOR)
def log(request):
    uses = SealUse.objects.select_related("seal", "application", "custodian").order_by("-used_at")
    department = request.GET.get("department", "").strip()
    if department:
        uses = uses.filter(seal__department__code=department)
    page = Paginator(uses, 50).get_page(request.GET.get("page"))
    for use in page.object_list:
        # The certificate, a decision letter (department's seal) or an intake document (the center's seal).
        use.document_label = "电子证照" if use.document_kind == "certificate" else (
            DocumentKind(use.document_kind).label if use.document_kind in DocumentKind.values else use.document_kind)
        use.audit_chain_label = chain_label(use.audit_chain)
    return render(request, "seals/log.html", {"page": page, "department": department})


