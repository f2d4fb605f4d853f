"""投诉 (DESIGN §10, §15; decision 059): the citizen's complaints (list, file one about their case or a
department), the department's and supervisors' list, and each step. Filing without an account is a page
(/complaints/new/): it needs an SMS code the person reads on their phone."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from applications import services
from applications.apis.actions import action_input, action_schema
from applications.models import AWAITING_DEPARTMENT, Complaint, ComplaintCategory, ComplaintState, ComplaintVerdict
from applications.permissions import access_application, access_complaint, visible_complaints
from portal.inputs import bounded
from portal.schema import ERROR


class ComplaintSerializer(serializers.ModelSerializer):
    department = serializers.CharField(source="department.code")
    department_name = serializers.CharField(source="department.name")
    application = serializers.CharField(source="application.number", allow_null=True, default=None)
    item = serializers.CharField(source="item.code", allow_null=True, default=None)
    # Plain strings, as the rectification's: a second "state" enum would collide with the case's in the schema.
    category = serializers.CharField()
    category_display = serializers.CharField(source="get_category_display")
    state = serializers.CharField()
    state_display = serializers.CharField(source="get_state_display")
    verdict = serializers.CharField()
    available_actions = serializers.SerializerMethodField()

    class Meta:
        model = Complaint
        fields = [
            "number", "department", "department_name", "application", "item", "name", "phone", "category",
            "category_display", "content", "state", "state_display", "received_at", "due_date",
            "due_date_provisional", "overdue", "flagged_at", "callback_note", "callback_at", "answer", "answered_at",
            "verdict", "verdict_comment", "rated_at", "review_note", "reviewed_at", "closed_at", "available_actions",
        ]

    def get_available_actions(self, complaint) -> list[str]:
        return services.complaint_steps(user=self.context["request"].user, complaint=complaint)


class ComplaintCreateSerializer(serializers.Serializer):
    application = serializers.CharField(label="相关办件编号", max_length=40, required=False, allow_blank=True, default="")
    department = serializers.CharField(label="投诉部门编码", max_length=32, required=False, allow_blank=True, default="")
    item = serializers.CharField(label="相关事项实施编码", max_length=64, required=False, allow_blank=True, default="")
    category = serializers.ChoiceField(label="投诉类别", choices=ComplaintCategory.choices)
    content = bounded(Complaint, "content", multiline=True)


class ComplaintListApi(ListAPIView):
    """投诉: a citizen's own; a department's reviewers' and head's; every one for a supervisor.
    `?state=` (or `open`: awaiting the department), `?overdue=1`, `?department=` (code). POST files one:
    about a case of the caller's (`application`: routed to its department), or to a `department` or the
    department of an `item`."""

    permission_classes = [IsAuthenticated]
    serializer_class = ComplaintSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Complaint.objects.none()
        rows = visible_complaints(user=self.request.user).order_by("due_date", "pk")
        state = self.request.query_params.get("state")
        if state == "open":
            rows = rows.filter(state__in=AWAITING_DEPARTMENT)
        elif state:
            rows = rows.filter(state=state if state in ComplaintState.values else "")
        if self.request.query_params.get("overdue") in ("1", "true"):
            rows = rows.filter(overdue=True)
        if department := self.request.query_params.get("department"):
            rows = rows.filter(department__code=department)
        return rows

    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=["open", *ComplaintState.values]),
                    OpenApiParameter("overdue", str, enum=["1", "true"]), OpenApiParameter("department", str)],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    # 404: a case named in the body that the caller may not see, as at its own address.
    @extend_schema(request=ComplaintCreateSerializer, responses={201: ComplaintSerializer, 404: ERROR})
    def post(self, request):
        data = ComplaintCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        case = access_application(user=request.user, number=fields["application"]) if fields["application"] else None
        complaint = services.complaint_file(actor=request.user, application=case, department_code=fields["department"],
                                            item_code=fields["item"], category=fields["category"],
                                            content=fields["content"])
        return Response(ComplaintSerializer(complaint, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ComplaintDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ComplaintSerializer)
    def get(self, request, complaint_number):
        complaint = access_complaint(user=request.user, number=complaint_number)
        return Response(ComplaintSerializer(complaint, context={"request": request}).data)


class NoteSerializer(serializers.Serializer):
    note = bounded(Complaint, "callback_note", multiline=True, allow_blank=True, required=False, default="")


class AnswerSerializer(serializers.Serializer):
    answer = bounded(Complaint, "answer", multiline=True, allow_blank=True)


class RateSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(label="对答复的评价", choices=ComplaintVerdict.choices)
    comment = bounded(Complaint, "verdict_comment", multiline=True, allow_blank=True, required=False, default="")


COMPLAINT_ACTIONS = {
    # the department's reviewers and head: 待处理 →（回访，note 必填）处理中 →（answer）已答复
    "start": (services.complaint_start, NoteSerializer),
    "answer": (services.complaint_answer, AnswerSerializer),
    # the complainant: 满意/基本满意 → 已办结; 不满意 (comment 必填) → 复核中, once
    "rate": (services.complaint_rate, RateSerializer),
    # supervisor's 复核: confirm the answer (已办结), or send it back with why (处理中)
    "confirm": (services.complaint_confirm, NoteSerializer),
    "send-back": (services.complaint_send_back, NoteSerializer),
}


class ComplaintActionApi(APIView):
    permission_classes = [IsAuthenticated]

    @action_schema(COMPLAINT_ACTIONS, operation_id="complaints_action", responses=ComplaintSerializer)
    def post(self, request, complaint_number, action):
        if action not in COMPLAINT_ACTIONS:
            raise Http404("未知的操作")
        complaint = access_complaint(user=request.user, number=complaint_number)
        service, input_serializer = COMPLAINT_ACTIONS[action]
        service(actor=request.user, complaint=complaint, **action_input(request, input_serializer))
        complaint = access_complaint(user=request.user, number=complaint_number)
        return Response(ComplaintSerializer(complaint, context={"request": request}).data)
