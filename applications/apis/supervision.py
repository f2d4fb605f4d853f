"""Supervision (DESIGN §6, §10): 差评整改 (rectifications: heads act, supervisors judge) and the statistics."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from applications import services, statistics
from applications.apis.actions import action_input, action_schema
from applications.models import Rectification
from applications.permissions import access_rectification, visible_rectifications
from applications.stats_export import statistics_workbook, xlsx_response
from portal.inputs import bounded

NOTE_MAX_LENGTH = 2000


class RectificationSerializer(serializers.ModelSerializer):
    application = serializers.CharField(source="application.number")
    department = serializers.CharField(source="department.code")
    score = serializers.IntegerField(source="rating.score")
    score_display = serializers.CharField(source="rating.get_score_display")
    comment = serializers.CharField(source="rating.comment")
    # Plain strings: a second "state" enum would collide with the case's in the schema.
    state = serializers.CharField()
    state_display = serializers.CharField(source="get_state_display")

    class Meta:
        model = Rectification
        fields = [
            "id", "application", "department", "score", "score_display", "comment", "state", "state_display",
            "opened_at", "due_date", "due_date_provisional", "started_at", "closed_at", "note", "invalid_reason",
            "overdue", "flagged_at",
        ]


class RectificationListApi(ListAPIView):
    """差评整改: a head's department's, or every one for a supervisor; `?state=`, `?overdue=1`."""

    permission_classes = [IsAuthenticated]
    serializer_class = RectificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Rectification.objects.none()
        rows = visible_rectifications(user=self.request.user).order_by("due_date", "pk")
        if state := self.request.query_params.get("state"):
            rows = rows.filter(state=state)
        if self.request.query_params.get("overdue") in ("1", "true"):
            rows = rows.filter(overdue=True)
        return rows


class NoteSerializer(serializers.Serializer):
    note = bounded(Rectification, "note", multiline=True, max_length=NOTE_MAX_LENGTH, allow_blank=True, required=False,
                   default="")


class InvalidReasonSerializer(serializers.Serializer):
    reason = bounded(Rectification, "invalid_reason", multiline=True, allow_blank=True)


RECTIFICATION_ACTIONS = {
    # head of the rated department: 待整改 →（回访，note 必填）整改中 → 已整改待复核 / 无法整改
    "start": (services.rectification_start, NoteSerializer),
    "complete": (services.rectification_complete, NoteSerializer),
    "impossible": (services.rectification_declare_impossible, NoteSerializer),
    # supervisor: 无效评价; 复核 of a rectification the department completed (confirm, or send back with why)
    "invalidate": (services.rectification_invalidate, InvalidReasonSerializer),
    "confirm": (services.rectification_confirm, NoteSerializer),
    "send-back": (services.rectification_send_back, NoteSerializer),
}


class RectificationActionApi(APIView):
    permission_classes = [IsAuthenticated]

    @action_schema(RECTIFICATION_ACTIONS, operation_id="rectifications_action", responses=RectificationSerializer)
    def post(self, request, rectification_id, action):
        if action not in RECTIFICATION_ACTIONS:
            raise Http404("未知的操作")
        rectification = access_rectification(user=request.user, pk=rectification_id)
        service, input_serializer = RECTIFICATION_ACTIONS[action]
        service(actor=request.user, rectification=rectification, **action_input(request, input_serializer))
        return Response(RectificationSerializer(access_rectification(user=request.user, pk=rectification_id)).data)


def _stats_schema():
    rate = lambda: serializers.FloatField(allow_null=True)
    count = serializers.IntegerField
    code = lambda: serializers.CharField(allow_null=True)
    return inline_serializer("Statistics", {
        "from": serializers.DateField(), "to": serializers.DateField(),
        "department": code(), "item": code(), "hall": code(),
        "received": count(), "accepted": count(), "decided": count(), "on_time_rate": rate(),
        "avg_working_days": serializers.FloatField(allow_null=True), "overdue_open": count(),
        "satisfaction_rate": rate(), "intake_satisfaction_rate": rate(), "issuance_satisfaction_rate": rate(),
        "one_visit_share": rate(), "zero_visit_share": rate(), "online_share": rate(),
        "avg_wait_minutes": serializers.FloatField(allow_null=True),
        "on_time": count(), "closed": count(), "online": count(), "ratings": count(), "satisfied_ratings": count(), "intake_ratings": count(),
        "tickets_called": count(),
        "visits_per_case": serializers.FloatField(allow_null=True), "avg_promised_days": serializers.FloatField(allow_null=True),
        "items": count(), "items_online": count(), "one_visit_items": count(), "zero_visit_items": count(),
        "instant_items": count(), "promised_vs_statutory": rate(),
        "catalogue_departments": inline_serializer("CatalogueDepartment", {
            "department": serializers.CharField(), "name": serializers.CharField(), "items": count(),
            "items_online": count(), "one_visit_items": count(), "zero_visit_items": count(), "instant_items": count(),
            "promised_vs_statutory": rate(),
        }, many=True),
    })


class StatsApi(APIView):
    """统计 (DESIGN §6): figures computed from the records for [from, to] (both days included; default this
    month). Supervisors: any department; heads: their own only (another department is 403, none means
    their own); everyone else 403. Rates are fractions in [0, 1], null when there is nothing to divide.
    overdue_open is today's snapshot; the queue wait is narrowed by hall only."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="起始日期 YYYY-MM-DD（默认本月 1 日）"),
            OpenApiParameter("to", str, description="截止日期 YYYY-MM-DD（含当日，默认今天）"),
            OpenApiParameter("department", str, description="部门编码"),
            OpenApiParameter("item", str, description="事项实施编码"),
            OpenApiParameter("hall", str, description="大厅编码"),
        ],
        responses=_stats_schema(),
    )
    def get(self, request):
        form = statistics.ScopeForm(request.query_params)
        if not form.is_valid():
            errors = {field: [error["message"] for error in errors] for field, errors in form.errors.get_json_data().items()}
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        scope = form.scope(user=request.user)
        catalogue = statistics.catalogue_figures(scope)
        return Response({
            "from": scope.date_from, "to": scope.date_to,
            "department": scope.department.code if scope.department else None,
            "item": scope.item.code if scope.item else None,
            "hall": scope.hall.code if scope.hall else None,
            **statistics.compute(scope, catalogue=catalogue),
            "catalogue_departments": [
                {"department": row["code"], "name": row["name"], **{key: row[key] for key in statistics.CATALOGUE_FIGURES}}
                for row in catalogue["departments"]
            ],
        })


class StatsExportApi(APIView):
    """统计分析 as export.xlsx: the scope and the rules of GET stats/ (heads: their own department)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter(name, str) for name in ("from", "to", "department", "item", "hall")],
                   responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): bytes})
    def get(self, request):
        form = statistics.ScopeForm(request.query_params)
        if not form.is_valid():
            errors = {field: [error["message"] for error in errors] for field, errors in form.errors.get_json_data().items()}
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        scope = form.scope(user=request.user)
        return xlsx_response(statistics_workbook(scope), f"统计分析_{scope.date_from:%Y%m%d}-{scope.date_to:%Y%m%d}.xlsx")
