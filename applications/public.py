"""办件查询 without signing in (DESIGN §13; docs/decisions/045-public-case-query.md): `/query/` and
`GET /api/v1/query/?number=&name=`. The case number and the applicant's exact name find the case; the answer
is its item, department, state, milestones and due date, nothing else. A wrong number and a wrong name get
the same answer, and guesses are rate-limited per client address (the page and the API share one count)."""

from django import forms
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.models import Application
from applications.selectors import public_case_lookup
from portal.inputs import bounded
from portal.schema import ERROR
from portal.throttles import ClientRateThrottle, throttle_page

NOT_FOUND_MESSAGE = "未找到该办件，请核对办件编号和申请人姓名"
# Per minute and per day (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]). Signed-in callers count too: an
# account is free to open, so being signed in buys no extra guesses.
THROTTLE_SCOPES = ("case_query", "case_query_day")


class QueryForm(forms.Form):
    number = forms.CharField(
        label="办件编号", max_length=Application._meta.get_field("number").max_length,
        help_text="见受理通知书、材料接收凭证等文书，例如 NET-20261124-000001",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
        error_messages={"required": "请输入办件编号"},
    )
    name = forms.CharField(
        label="申请人姓名", max_length=Application._meta.get_field("applicant_name").max_length,
        help_text="申请人为单位的，填写单位名称",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": "请输入申请人姓名"},
    )


def _throttled(view):
    for scope in reversed(THROTTLE_SCOPES):
        view = throttle_page(scope, methods=("POST",))(view)
    return view


@never_cache
@require_http_methods(["GET", "POST"])
@_throttled
def query_page(request):
    """GET: the form (the QR code on a notice opens it with ?number=); POST: the answer. The name travels in
    the body, not the address, so it stays out of access logs and the browser's history."""
    if request.method == "POST":
        form = QueryForm(request.POST)
    else:
        form = QueryForm(initial={"number": request.GET.get("number", "")[:40]})
    case = not_found = None
    if form.is_bound and form.is_valid():
        case = public_case_lookup(form.cleaned_data["number"], form.cleaned_data["name"])
        not_found = case is None
    return render(request, "applications/pages/query.html", {"form": form, "case": case, "not_found": not_found,
                                                              "not_found_message": NOT_FOUND_MESSAGE},
                  status=404 if not_found else 200)


# --- the API -------------------------------------------------------------------------------------------


class PublicCaseQuerySerializer(serializers.Serializer):
    number = bounded(Application, "number")
    name = bounded(Application, "applicant_name", label="申请人姓名")


class MilestoneSerializer(serializers.Serializer):
    action = serializers.CharField(help_text="submitted, materials_notice, resubmitted, accepted, not_accepted, "
                                             "suspended, resumed, extended, decided, issued, delivered, withdrawn")
    label = serializers.CharField()
    at = serializers.DateTimeField()


class PublicCasePartSerializer(serializers.Serializer):
    number = serializers.CharField()
    item = serializers.SerializerMethodField()
    department = serializers.SerializerMethodField()
    state = serializers.CharField()
    state_display = serializers.CharField()
    milestones = MilestoneSerializer(many=True)
    due_date = serializers.DateField(allow_null=True)
    due_date_provisional = serializers.BooleanField()

    def get_item(self, case) -> dict[str, str]:
        return {"code": case.item_code, "name": case.item_name}

    def get_department(self, case) -> dict[str, str]:
        return {"name": case.department_name}


class PublicCaseSerializer(PublicCasePartSerializer):
    parts = PublicCasePartSerializer(many=True, help_text="一件事的各子办件；单个办件为空")


class CaseQueryThrottle(ClientRateThrottle):
    scope = THROTTLE_SCOPES[0]


class CaseQueryDayThrottle(ClientRateThrottle):
    scope = THROTTLE_SCOPES[1]


class PublicCaseQueryApi(APIView):
    """Anyone: a case's progress by its number and the applicant's name; 404 when either is wrong."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [CaseQueryThrottle, CaseQueryDayThrottle]

    @extend_schema(parameters=[PublicCaseQuerySerializer], responses={200: PublicCaseSerializer, 404: ERROR})
    def get(self, request):
        query = PublicCaseQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        case = public_case_lookup(query.validated_data["number"], query.validated_data["name"])
        if case is None:
            raise Http404(NOT_FOUND_MESSAGE)
        return Response(PublicCaseSerializer(case).data)
