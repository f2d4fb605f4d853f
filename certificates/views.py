"""Certificate pages (Chinese, server-rendered): public verification by identifier or by file, the holder's
wallet, and the issuing department head's list with revocation.

Views only translate HTTP: certificates come from permissions / selectors, every write goes through a
service; a service's ValidationError is shown next to its field, a refusal as a message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from certificates import selectors, services
from certificates.forms import DepartmentFilterForm, IdentifierForm, RevokeForm, VerifyFileForm
from certificates.identifiers import identifier_is_valid
from certificates.models import CertificateStatus
from certificates.permissions import access_certificate, visible_certificates
from portal.decorators import role_required
from portal.errors import Forbidden, Refused
from portal.models import Role
from portal.security import file_response
from portal.throttles import throttle_page

PAGE_SIZE = 20

head_required = role_required(Role.HEAD, with_department=True)


def _rows(certificates) -> list[dict]:
    """Each certificate with its status as of today (past its end date = expired, sweep or not)."""
    today = timezone.localdate()
    rows = []
    for certificate in certificates:
        status = certificate.status_on(today)
        rows.append({"certificate": certificate, "status": status, "status_label": CertificateStatus(status).label})
    return rows


# --- public verification ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@throttle_page("verify_file", methods=("POST",))
def verify(request):
    """Enter an identifier (→ its verification page) or upload a PDF (→ the answer on this page)."""
    identifier_form = IdentifierForm(request.GET if "identifier" in request.GET else None)
    file_form = VerifyFileForm()
    result = certificate = None
    if request.method == "POST":
        file_form = VerifyFileForm(request.POST, request.FILES)
        if file_form.is_valid():
            result = services.certificate_verify_file(data=file_form.cleaned_data["data"])
            if result["identifier"]:
                certificate = selectors.certificate_for_verification(identifier=result["identifier"])
    elif identifier_form.is_bound and identifier_form.is_valid():
        return redirect("certificates:verify-identifier", identifier=identifier_form.cleaned_data["identifier"].strip())
    return render(request, "certificates/verify.html", {
        "identifier_form": identifier_form,
        "file_form": file_form,
        "result": result,
        "certificate": certificate,
        "status_label": CertificateStatus(result["status"]).label if result and result["status"] else "",
    })


@throttle_page("verify")
def verify_identifier(request, identifier):
    """The page the QR code opens: status first, then what the certificate is; the holder's ID masked."""
    well_formed = identifier_is_valid(identifier)
    certificate = selectors.certificate_for_verification(identifier=identifier) if well_formed else None
    if certificate is None:
        return render(request, "certificates/verify_unknown.html", {
            "identifier": identifier,
            "well_formed": well_formed,
            "identifier_form": IdentifierForm(initial={"identifier": identifier}),
        }, status=404)
    status = certificate.status_on(timezone.localdate())
    current = selectors.latest_version(certificate=certificate) if status == CertificateStatus.SUPERSEDED else None
    return render(request, "certificates/verify_result.html", {
        "certificate": certificate,
        "status": status,
        "status_label": CertificateStatus(status).label,
        "current": current,
    })


# --- the holder -------------------------------------------------------------------------------------


@login_required
def wallet(request):
    page = Paginator(selectors.certificate_wallet(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "certificates/wallet.html", {"page": page, "rows": _rows(page)})


@login_required
def download(request, identifier):
    """The signed PDF as issued, to its holder or to staff who may see it (their reads are recorded)."""
    certificate = access_certificate(user=request.user, identifier=identifier)
    services.certificate_read_record(actor=request.user, certificate=certificate)
    return file_response(certificate.pdf.open("rb"), content_type="application/pdf", filename=f"{certificate.identifier}.pdf")


# --- the issuing department's head ----------------------------------------------------------------------


def _department_page(request, *, revoke_forms: dict | None = None, status: int = 200):
    filters = DepartmentFilterForm(request.GET or None)
    certificates = (
        visible_certificates(user=request.user).filter(issuer_id=request.user.department_id)
        .select_related("type", "revoked_by").order_by("-issued_on", "-id")
    )
    if filters.is_valid():
        query = filters.cleaned_data["q"].strip()
        if query:
            certificates = certificates.filter(
                Q(holder_name__icontains=query) | Q(identifier__icontains=query) | Q(application_number=query)
            )
        certificates = selectors.with_status(certificates, status=filters.cleaned_data["status"] or None,
                                             today=timezone.localdate())
    page = Paginator(certificates, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _rows(page)
    revoke_forms = revoke_forms or {}
    for row in rows:
        certificate = row["certificate"]
        row["revoke_form"] = revoke_forms.get(certificate.identifier) or RevokeForm(auto_id=_revoke_id(certificate))
    return render(request, "certificates/department.html", {
        "page": page, "rows": rows, "filters": filters, "query_string": _query_without_page(request),
    }, status=status)


def _revoke_id(certificate) -> str:
    # One revoke form per row: distinct ids so each label points at its own text area.
    return f"revoke-{certificate.pk}-%s"


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@head_required
def department(request):
    return _department_page(request)


@require_POST
@head_required
def department_revoke(request, identifier):
    certificate = access_certificate(user=request.user, identifier=identifier)
    form = RevokeForm(request.POST, auto_id=_revoke_id(certificate))
    if form.is_valid():
        try:
            services.certificate_revoke(actor=request.user, certificate=certificate, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except (Forbidden, Refused) as error:
            messages.error(request, error.detail)
            return redirect("certificates:department")
        else:
            messages.success(request, f"已注销「{certificate.type.name}」（{certificate.holder_name}），已通知持证人。")
            return redirect("certificates:department")
    return _department_page(request, revoke_forms={certificate.identifier: form}, status=400)
