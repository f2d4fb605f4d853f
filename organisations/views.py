"""我的单位 (applicants) and 单位登记 (window clerks): register an organisation, add and remove its agents."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from applications.forms import add_service_errors
from organisations import selectors, services
from organisations.forms import AgentForm, OrganisationForm
from organisations.models import Organisation
from portal.decorators import role_required
from portal.errors import Forbidden, Refused
from portal.models import Role


@role_required(Role.APPLICANT, Role.CLERK)
def mine(request):
    user = request.user
    at_window = user.role == Role.CLERK
    initial = {} if at_window else {"legal_rep_name": user.real_name, "legal_rep_id_number": user.id_number}
    form = OrganisationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.organisation_register(actor=user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        except Forbidden as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"已登记单位「{organisation.name}」。")
            return redirect("organisations:detail", credit_code=organisation.credit_code)
    query = request.GET.get("credit_code", "").strip().upper()[:18]
    if at_window:
        organisations = list(Organisation.objects.filter(credit_code=query)) if query else []
    else:
        organisations = list(selectors.acting_organisations(user=user).select_related("legal_rep"))
    return render(request, "organisations/mine.html", {
        "form": form, "organisations": organisations, "at_window": at_window, "query": query,
    })


def _detail_page(request, organisation, *, agent_form=None, status=200):
    at_window = request.user.role == Role.CLERK
    return render(request, "organisations/detail.html", {
        "organisation": organisation,
        "agents": list(selectors.current_agents(organisation)),
        "manages": selectors.manages(user=request.user, organisation=organisation),
        "agent_form": agent_form or AgentForm(at_window=at_window),
        "at_window": at_window,
    }, status=status)


@role_required(Role.APPLICANT, Role.CLERK)
def detail(request, credit_code):
    organisation = selectors.access_organisation(user=request.user, credit_code=credit_code)
    if request.method != "POST":
        return _detail_page(request, organisation)
    if not selectors.manages(user=request.user, organisation=organisation):
        raise Http404("页面不存在")
    form = AgentForm(request.POST, request.FILES, at_window=request.user.role == Role.CLERK)
    if form.is_valid():
        try:
            agent = services.agent_add(actor=request.user, organisation=organisation, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"已添加经办人 {agent.user.display_name}。")
            return redirect("organisations:detail", credit_code=organisation.credit_code)
    return _detail_page(request, organisation, agent_form=form, status=400)


@role_required(Role.APPLICANT, Role.CLERK)
@require_POST
def agent_remove(request, credit_code, agent_id):
    organisation = selectors.access_organisation(user=request.user, credit_code=credit_code)
    if not selectors.manages(user=request.user, organisation=organisation):
        raise Http404("页面不存在")
    try:
        agent = services.agent_remove(actor=request.user, organisation=organisation, agent_id=agent_id)
    except (ValidationError, Refused) as error:
        messages.error(request, "；".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, f"已解除 {agent.user.display_name} 的经办人授权。")
    return redirect("organisations:detail", credit_code=organisation.credit_code)
