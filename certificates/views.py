"""Certificate pages (Chinese, server-rendered): public verification by identifier or by file, the holder's
wallet, and the issuing department head's list with revocation.

Views only translate HTTP: certificates come from permissions / selectors, every write goes through a
service; a service's ValidationError is shown next to its field, a refusal as a message.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from certificates import selectors, services
from certificates.faces import public_face_data
from certificates.forms import DepartmentFilterForm, IdentifierForm, RevokeForm, VerifyFileForm
from certificates.identifiers import identifier_parts, looks_like_identifier
from certificates.models import CertificateStatus
from certificates.permissions import access_certificate, visible_certificates
from portal.decorators import role_required
from portal.errors import Forbidden, Refused
from portal.identity import IdType
from portal.models import Role
from portal.security import file_response
from portal.throttles import throttle_hit, throttle_page, throttled_response

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


def _verification_context(certificate) -> dict:
    """What the result pages show of a certificate: its status today, the version in force if it was
    re-issued, and the face fields its type makes public (never an ID number in full)."""
    status = certificate.status_on(timezone.localdate())
    return {
        "certificate": certificate,
        "status": status,
        "status_label": CertificateStatus(status).label,
        "current": selectors.latest_version(certificate=certificate) if status == CertificateStatus.SUPERSEDED else None,
        "public_fields": public_face_data(certificate),
    }


def _unknown(request, query: str):
    return render(request, "certificates/verify_unknown.html", {
        "identifier": query,
        "meant_identifier": looks_like_identifier(query),
        "well_formed": identifier_parts(query) is not None,
        "identifier_form": IdentifierForm(initial={"identifier": query}),
    }, status=404)


def _licence_number_result(request, number: str):
    """Every version carrying the licence number: the one in force first, the others said to be superseded."""
    found = selectors.certificates_by_licence_number(number=number)
    if not found:
        return _unknown(request, number)
    today = timezone.localdate()
    others = [{"certificate": other, "status": other.status_on(today),
               "status_label": CertificateStatus(other.status_on(today)).label} for other in found[1:]]
    return render(request, "certificates/verify_result.html", {
        **_verification_context(found[0]), "licence_number": number, "others": others,
    })


@require_http_methods(["GET", "POST"])
@throttle_page("verify_file", methods=("POST",))
def verify(request):
    """Enter an identifier (→ its verification page) or a licence number (→ the answer here), or upload a
    PDF (→ the answer on this page)."""
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
        query = identifier_form.cleaned_data["identifier"].strip()
        if looks_like_identifier(query):
            return redirect("certificates:verify-identifier", identifier=query)
        # A licence number is answered here, counted like the identifier page (the register is not walked).
        wait = throttle_hit(scope="verify", request=request)
        if wait is not None:
            return throttled_response(request, wait)
        return _licence_number_result(request, query)
    return render(request, "certificates/verify.html", {
        "identifier_form": identifier_form,
        "file_form": file_form,
        "result": result,
        "certificate": certificate,
        "public_fields": public_face_data(certificate) if certificate else [],
        "status_label": CertificateStatus(result["status"]).label if result and result["status"] else "",
    })


@throttle_page("verify")
def verify_identifier(request, identifier):
    """The page the QR code opens: status first, then what the certificate is; the holder's ID masked.
    The address also takes a licence number (as the API does); either in any letter case."""
    certificate = selectors.certificate_for_verification(identifier=identifier)
    if certificate is None and not looks_like_identifier(identifier):
        return _licence_number_result(request, identifier)
    if certificate is None:
        return _unknown(request, identifier)
    return render(request, "certificates/verify_result.html", _verification_context(certificate))


# --- the holder -------------------------------------------------------------------------------------


@login_required
def wallet(request):
    """我的证照 by licence (DESIGN §14): the version in force first, its earlier versions under it, and the
    延续/变更/补证/注销 items that apply to it."""
    page = Paginator(selectors.certificate_wallet_chains(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _rows(page)
    earlier = selectors.earlier_versions(page)
    items = selectors.lifecycle_items(type_ids={certificate.type_id for certificate in page})
    today = timezone.localdate()
    for row in rows:
        certificate = row["certificate"]
        row["earlier"] = _rows(earlier[certificate.pk])
        row["actions"] = _lifecycle_actions(certificate, status=row["status"], items=items.get(certificate.type_id, {}),
                                            today=today)
    return render(request, "certificates/wallet.html", {"page": page, "rows": rows})


LIFECYCLE_ACTIONS = (("renew", "延续"), ("change", "变更"), ("replace", "补证"), ("cancel", "注销"))


def _lifecycle_actions(certificate, *, status: str, items: dict, today) -> list[dict]:
    """Links to the apply pages of the items that act on this certificate, where the case would be accepted:
    a valid one for every action; an expired one only for 延续, within the type's grace window."""
    actions = []
    for action, label in LIFECYCLE_ACTIONS:
        item = items.get(action)
        if item is None:
            continue
        if status == CertificateStatus.EXPIRED:
            if action != "renew" or (today - certificate.valid_until).days > certificate.type.renewal_grace_days:
                continue
        elif status != CertificateStatus.VALID:
            continue
        query = {"certificate": certificate.identifier}
        if certificate.holder_id_type == IdType.CREDIT_CODE:
            query["as"] = certificate.holder_id_number  # the apply page then files it as the organisation
        actions.append({"label": label, "name": item["name"], "url": f"/apply/{item['code']}/?{urlencode(query)}"})
    return actions


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
