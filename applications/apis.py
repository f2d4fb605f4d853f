"""The case API (DESIGN §10). Views only translate HTTP; services decide; permissions fetch."""

from django.core.files.base import ContentFile
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from applications import bundles, selectors, services, uploads
from applications.documents import render_document_pdf
from applications.models import Application, Deficiency, Rating, Referral, State, Suspension
from applications.permissions import access_application, sees_contact_data
from items.models import Item
from portal.errors import Refused
from portal.identity import IdType, mask_id_number
from portal.inputs import FormDataField, bounded, phone_validator
from portal.models import Hall, User
from portal.schema import ERROR
from portal.security import file_response
from portal.throttles import AnonymousClientRateThrottle

# Text columns without a length of their own (TextField) take what the page forms take.
OPINION_MAX_LENGTH = 2000
LEGAL_BASIS_MAX_LENGTH = 1000
NOTE_MAX_LENGTH = 2000


class MaterialFileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    original_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()

    def get_url(self, material) -> str:
        return f"/api/v1/applications/{self.context['number']}/materials/{material.id}/"


def materials_view(case: Application) -> list[dict]:
    """Each requirement of the pinned version with its uploads, newest first; `satisfied` (免交) when a
    valid e-certificate the applicant holds stands in for it, shown to the clerk and the reviewer alike."""
    satisfied = services.satisfied_by_certificates(case)
    uploads: dict[int, list] = {}
    for material in case.materials.all():
        uploads.setdefault(material.requirement_id, []).append(material)
    rows = []
    for requirement in case.item_version.materials.all():
        files = uploads.get(requirement.pk, [])
        if files:
            status_ = "uploaded"
        elif requirement.pk in satisfied:
            status_ = "satisfied"
        elif requirement.required and requirement.deferrable:
            status_ = "deferrable"
        elif requirement.required:
            status_ = "missing"
        else:
            status_ = "optional"
        rows.append({
            "requirement": requirement.pk,
            "name": requirement.name,
            "form": requirement.form,
            "required": requirement.required,
            "deferrable": requirement.deferrable,
            "satisfied_by": requirement.satisfied_by.code if requirement.satisfied_by_id else None,
            "status": status_,
            "certificate": satisfied.get(requirement.pk),
            "files": MaterialFileSerializer(files, many=True, context={"number": case.number}).data,
        })
    return rows


class ApplicationSerializer(serializers.ModelSerializer):
    item = serializers.SerializerMethodField()
    applicant = serializers.SerializerMethodField()
    state_display = serializers.CharField(source="get_state_display")
    suspended = serializers.BooleanField()
    outcome = serializers.SerializerMethodField()
    certificate = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "number", "item", "state", "state_display", "channel", "applicant", "submitted_at", "accepted_at",
            "due_date", "due_date_provisional", "alert_level", "suspended", "outcome", "certificate", "visits",
            "created_at", "deemed_accepted", "issuing",
        ]

    def get_item(self, case) -> dict:
        version = case.item_version
        return {"code": version.item.code, "name": version.name, "version": version.number}

    def get_applicant(self, case) -> dict:
        return {"name": case.applicant_name, "id_type": case.applicant_id_type, "id_masked": mask_id_number(case.applicant_id_number)}

    def get_outcome(self, case) -> str | None:
        if case.outcome:
            return case.outcome
        return {State.NOT_ACCEPTED: "not_accepted", State.WITHDRAWN: "withdrawn"}.get(case.state)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_certificate(self, case):
        # The e-certificate's identifier once issued (DESIGN §8); none before issuance.
        return case.certificate_identifier or None


class ApplicationDetailSerializer(ApplicationSerializer):
    materials = serializers.SerializerMethodField()
    suspensions = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()
    notices = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField()
    contact = serializers.SerializerMethodField()
    form_data = serializers.JSONField()

    class Meta(ApplicationSerializer.Meta):
        fields = [
            *ApplicationSerializer.Meta.fields, "materials", "notices", "documents", "contact", "form_data",
            "suspensions", "extended_days", "extension_reason", "decision",
        ]

    def get_suspensions(self, case) -> list[dict]:
        return [
            {"kind": s.kind, "kind_display": s.get_kind_display(), "reason": s.reason, "from": s.started_on,
             "to": s.ended_on, "working_days": s.working_days}
            for s in case.suspensions.all()
        ]

    def get_decision(self, case) -> dict | None:
        if case.decided_at is None:
            return None
        return {"opinion": case.decision_opinion, "legal_basis": case.decision_legal_basis, "at": case.decided_at}

    def get_materials(self, case) -> list[dict]:
        return materials_view(case)

    def get_notices(self, case) -> list[dict]:
        return [
            {
                "sequence": notice.sequence,
                "issued_at": notice.issued_at,
                "resolved_at": notice.resolved_at,
                "deficiencies": [
                    {"requirement": d.requirement_id, "name": d.requirement.name, "reason": d.reason}
                    for d in notice.deficiencies.all()
                ],
            }
            for notice in case.notices.all()
        ]

    def get_documents(self, case) -> list[dict]:
        return [
            {"id": d.id, "kind": d.kind, "serial": d.serial, "created_at": d.created_at,
             "url": f"/api/v1/applications/{case.number}/documents/{d.id}/pdf/"}
            for d in case.documents.all()
        ]

    def get_contact(self, case) -> dict | None:
        # 受审分离: reviewers never see the applicant's phone or address.
        if not sees_contact_data(user=self.context["request"].user, application=case):
            return None
        return {"phone": case.contact_phone, "address": case.contact_address}


class ApplicantInputSerializer(serializers.Serializer):
    # The walk-in's account keeps the name (portal.services.user_for_identity).
    name = bounded(User, "real_name", label="申请人姓名")
    id_type = serializers.ChoiceField(label="证件类型", choices=IdType.choices, default=IdType.RESIDENT_ID)
    id_number = bounded(Application, "applicant_id_number")


class ApplicationCreateSerializer(serializers.Serializer):
    item = bounded(Item, "code", label="事项实施编码")
    form_data = FormDataField(required=False, default=dict)
    applicant = ApplicantInputSerializer(required=False)
    contact_phone = bounded(Application, "contact_phone", required=False, allow_blank=True, default="",
                            validators=[phone_validator])
    contact_address = bounded(Application, "contact_address", required=False, allow_blank=True, default="")


def detail_response(request, case, status_code=status.HTTP_200_OK) -> Response:
    case = selectors.application_detail(application=case)
    data = ApplicationDetailSerializer(case, context={"request": request}).data
    if case.is_bundle_parent:
        data.update(bundle_summary(case))
    return Response(data, status=status_code)


def bundle_summary(parent: Application) -> dict:
    """一件事: the parent's status is its children's (applications/bundles.py)."""
    children = bundles.bundle_children(parent)
    combined = bundles.combined_state(children)
    due = bundles.latest_due_date(children)
    return {
        "bundle": parent.bundle_code,
        "combined_state": combined,
        "combined_state_display": bundles.CombinedState.LABELS[combined],
        "due_date": due.isoformat() if due else None,
        "children": [
            {"number": c.number, "item": {"code": c.item_version.item.code, "name": c.item_version.name},
             "state": c.state, "due_date": c.due_date.isoformat() if c.due_date else None,
             "department": {"code": c.department.code, "name": c.department.name}}
            for c in children
        ],
    }


def access_case_or_bundle(*, user, number) -> Application:
    """A case the user may see, or a bundle's parent (clerks cannot see a parent through its own row)."""
    try:
        return access_application(user=user, number=number)
    except Http404:
        return bundles.access_bundle(user=user, number=number)


class ApplicationListApi(ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = ApplicationSerializer

    def get_queryset(self):
        return selectors.application_list(user=self.request.user, state=self.request.query_params.get("state"))

    @extend_schema(request=ApplicationCreateSerializer, responses={201: ApplicationDetailSerializer})
    def post(self, request):
        data = ApplicationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.application_create(
            actor=request.user,
            item_code=data.validated_data["item"],
            form_data=data.validated_data["form_data"],
            applicant=data.validated_data.get("applicant"),
            contact_phone=data.validated_data["contact_phone"],
            contact_address=data.validated_data["contact_address"],
        )
        return detail_response(request, case, status.HTTP_201_CREATED)


class ApplicationDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ApplicationDetailSerializer)
    def get(self, request, number):
        return detail_response(request, access_case_or_bundle(user=request.user, number=number))


class MaterialUploadSerializer(serializers.Serializer):
    requirement = serializers.IntegerField(label="材料要求")
    file = serializers.FileField(label="文件", allow_empty_file=True)


class MaterialUploadApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    # 503: the file could not be written (applications.uploads.stored_upload); nothing was kept.
    @extend_schema(request={"multipart/form-data": MaterialUploadSerializer},
                   responses={201: MaterialFileSerializer, 503: ERROR})
    def post(self, request, number):
        case = access_application(user=request.user, number=number)
        data = MaterialUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        material = services.application_material_upload(
            actor=request.user, application=case,
            requirement_id=data.validated_data["requirement"], upload=data.validated_data["file"],
        )
        return Response(MaterialFileSerializer(material, context={"number": case.number}).data, status=status.HTTP_201_CREATED)


class MaterialFileApi(APIView):
    """The file itself, only through the permission check, and every read is recorded."""

    permission_classes = [IsAuthenticated]

    # Served with the type the upload was found to be by parsing (applications.uploads.SIGNATURES).
    @extend_schema(responses={(200, content_type): bytes for _magic, content_type in uploads.SIGNATURES})
    def get(self, request, number, material_id):
        case = access_application(user=request.user, number=number)
        material = case.materials.filter(pk=material_id).first()
        if material is None:
            raise Http404("材料不存在")
        services.material_read_record(actor=request.user, application=case, material=material)
        return file_response(material.file.open("rb"), content_type=material.content_type, filename=material.original_name)


class DocumentPdfApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, number, document_id):
        case = access_application(user=request.user, number=number)
        document = case.documents.filter(pk=document_id).first()
        if document is None:
            raise Http404("文书不存在")
        if not document.pdf:
            # Rendered from the frozen snapshot the first time someone asks; kept afterwards.
            document.pdf.save(f"{document.serial}.pdf", ContentFile(render_document_pdf(kind=document.kind, context=document.context)))
        return file_response(document.pdf.open("rb"), content_type="application/pdf", filename=f"{document.serial}.pdf")


class EventSerializer(serializers.Serializer):
    action = serializers.CharField()
    actor = serializers.CharField(source="actor_name")
    role = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    at = serializers.DateTimeField()
    payload = serializers.JSONField()
    hash = serializers.CharField()


class ApplicationEventsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=EventSerializer(many=True))
    def get(self, request, number):
        case = access_application(user=request.user, number=number)
        return Response(EventSerializer(selectors.application_events(application=case), many=True).data)


# --- transitions ---------------------------------------------------------------------------------


class DeficiencySerializer(serializers.Serializer):
    requirement = serializers.IntegerField()
    reason = bounded(Deficiency, "reason", multiline=True, allow_blank=True)


class RequestMaterialsSerializer(serializers.Serializer):
    deficiencies = DeficiencySerializer(many=True, allow_empty=True)


class ReasonSerializer(serializers.Serializer):
    # refer: the referral's reason; return: the department's answer (both 500).
    reason = bounded(Referral, "reason", multiline=True, allow_blank=True, required=False, default="")


class DeclineSerializer(serializers.Serializer):
    reason = bounded(Referral, "answer", multiline=True, allow_blank=True, label="不予受理理由")
    legal_basis = bounded(Referral, "legal_basis", multiline=True, allow_blank=True)


class EmptySerializer(serializers.Serializer):
    pass


class SuspendSerializer(serializers.Serializer):
    kind = bounded(Suspension, "kind", allow_blank=True)
    reason = bounded(Suspension, "reason", multiline=True, allow_blank=True)
    deficiencies = DeficiencySerializer(many=True, required=False)


class ExtendSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    reason = bounded(Application, "extension_reason", multiline=True, allow_blank=True)


class OpinionSerializer(serializers.Serializer):
    opinion = bounded(Application, "decision_opinion", multiline=True, max_length=OPINION_MAX_LENGTH, allow_blank=True)
    # 照面信息: as long as the approval page's face fields.
    face_data = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=500), required=False,
                                      label="照面信息")


class DeliverSerializer(serializers.Serializer):
    method = bounded(Application, "delivery_method")
    tracking_number = bounded(Application, "tracking_number", required=False, allow_blank=True, default="")
    id_number = bounded(Application, "applicant_id_number", required=False, allow_blank=True, default="", label="领取人证件号码")


class RejectSerializer(serializers.Serializer):
    opinion = bounded(Application, "decision_opinion", multiline=True, max_length=OPINION_MAX_LENGTH, allow_blank=True)
    legal_basis = bounded(Application, "decision_legal_basis", multiline=True, max_length=LEGAL_BASIS_MAX_LENGTH,
                          allow_blank=True)


class RateSerializer(serializers.Serializer):
    # Shape only: the service checks the range, the comment rule for 4/5, its length and the channel.
    score = serializers.IntegerField(label="评价等级（1 非常满意 … 5 非常不满意）")
    comment = serializers.CharField(label="评价内容", allow_blank=True, required=False, default="")
    channel = bounded(Rating, "channel", required=False, default="pc")


ACTIONS = {
    # URL action: (service, input serializer or None)
    "submit": (services.application_submit, None),
    "request-materials": (services.application_request_materials, RequestMaterialsSerializer),
    "resubmit": (services.application_resubmit, None),
    "accept": (services.application_accept, None),
    "refer": (services.application_refer, ReasonSerializer),
    "return": (services.application_return, ReasonSerializer),
    "decline": (services.application_decline, DeclineSerializer),
    "withdraw": (services.application_withdraw, None),
    "claim": (services.application_claim, None),
    "suspend": (services.application_suspend, SuspendSerializer),
    "resume": (services.application_resume, None),
    "extend": (services.application_extend, ExtendSerializer),
    "approve": (services.application_approve, OpinionSerializer),
    "reject": (services.application_reject, RejectSerializer),
    "deliver": (services.application_deliver, DeliverSerializer),
    "rate": (services.application_rate, RateSerializer),
}


def action_schema(actions: dict, **kwargs):
    """extend_schema for a POST …/{action}/ endpoint: `action` one of `actions`, and a JSON object whose
    fields depend on it (listed in the description; a wrong one is a 400 naming the field)."""
    inputs = "\n".join(
        f"- `{name}`: {', '.join(f'`{field}`' for field in serializer().fields) if serializer else '（无）'}"
        for name, (_service, serializer) in actions.items()
    )
    return extend_schema(
        request=OpenApiTypes.OBJECT,
        description=f"各操作的输入：\n\n{inputs}",
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(actions))],
        **kwargs,
    )


class ApplicationActionApi(APIView):
    """POST /applications/{number}/{action}/ — one endpoint per transition of DESIGN §5."""

    permission_classes = [IsAuthenticated]

    @action_schema(ACTIONS, operation_id="applications_action", responses=ApplicationDetailSerializer)
    def post(self, request, number, action):
        case = access_case_or_bundle(user=request.user, number=number)
        if case.is_bundle_parent or (case.parent_id and action in BUNDLE_ACTIONS):
            return bundle_action(request, case, action)
        if action not in ACTIONS:
            raise Http404("未知的操作")
        service, input_serializer = ACTIONS[action]
        arguments = {}
        if input_serializer is not None:
            data = input_serializer(data=request.data)
            data.is_valid(raise_exception=True)
            arguments = data.validated_data
        service(actor=request.user, application=case, **arguments)
        return detail_response(request, case)


# --- 一件事一次办: the parent's number takes the bundle actions (applications/bundles.py) -------------


class BundleDeficiencySerializer(serializers.Serializer):
    child = bounded(Application, "number", label="子办件编号")
    requirement = serializers.IntegerField()
    reason = bounded(Deficiency, "reason", multiline=True, allow_blank=True)


class BundleRequestMaterialsSerializer(serializers.Serializer):
    deficiencies = BundleDeficiencySerializer(many=True, allow_empty=True)


BUNDLE_ACTIONS = {
    "submit": (bundles.bundle_submit, None),
    "accept": (bundles.bundle_accept, None),
    "request-materials": (bundles.bundle_request_materials, BundleRequestMaterialsSerializer),
    "resubmit": (bundles.bundle_resubmit, None),
    "withdraw": (bundles.bundle_withdraw, None),
    "deliver": (bundles.bundle_deliver, DeliverSerializer),
}


def bundle_action(request, case: Application, action: str) -> Response:
    if case.parent_id:
        # Intake and delivery of a bundle are for all its cases together (DESIGN §4).
        raise bundles.child_refusal(case)
    if action not in BUNDLE_ACTIONS:
        raise Refused("一件事主办件不能执行该操作，审查在各子办件上进行", code="invalid_transition")
    service, input_serializer = BUNDLE_ACTIONS[action]
    arguments = {}
    if input_serializer is not None:
        data = input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        arguments = data.validated_data
    if action == "request-materials":
        arguments = {"deficiencies": [dict(entry) for entry in arguments["deficiencies"]]}
    service(actor=request.user, application=case, **arguments)
    return detail_response(request, case)


class BundleCreateSerializer(serializers.Serializer):
    form_data = FormDataField(label="共享表单内容", required=False, default=dict)
    applicant = ApplicantInputSerializer(required=False)


class BundleApplicationCreateApi(APIView):
    """POST /bundles/{code}/applications/ — one parent and one case per member item."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=BundleCreateSerializer, responses={201: ApplicationDetailSerializer})
    def post(self, request, code):
        data = BundleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        parent = bundles.bundle_application_create(
            actor=request.user, bundle_code=code, form_data=data.validated_data["form_data"],
            applicant=data.validated_data.get("applicant"),
        )
        return detail_response(request, parent, status.HTTP_201_CREATED)


# =====================================================================================================
# Service quality and the hall (DESIGN §6, §10): rectifications, queue, appointments, statistics.
# =====================================================================================================

from django.utils import timezone
from django.utils.dateparse import parse_date
from rest_framework.permissions import AllowAny

from applications.models import Appointment, AppointmentSlot, Rectification


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
        rows = services.visible_rectifications(user=self.request.user).order_by("due_date", "pk")
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
    # head of the rated department: 待整改 → 整改中 → 已整改 / 无法整改
    "start": (services.rectification_start, NoteSerializer),
    "complete": (services.rectification_complete, NoteSerializer),
    "impossible": (services.rectification_declare_impossible, NoteSerializer),
    # supervisor: 无效评价
    "invalidate": (services.rectification_invalidate, InvalidReasonSerializer),
}


class RectificationActionApi(APIView):
    permission_classes = [IsAuthenticated]

    @action_schema(RECTIFICATION_ACTIONS, operation_id="rectifications_action", responses=RectificationSerializer)
    def post(self, request, rectification_id, action):
        if action not in RECTIFICATION_ACTIONS:
            raise Http404("未知的操作")
        rectification = services.access_rectification(user=request.user, pk=rectification_id)
        service, input_serializer = RECTIFICATION_ACTIONS[action]
        data = input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        service(actor=request.user, rectification=rectification, **data.validated_data)
        return Response(RectificationSerializer(services.access_rectification(user=request.user, pk=rectification_id)).data)


# --- the hall queue ---------------------------------------------------------------------------------


class TicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(source="number")
    hall = serializers.CharField(source="hall.code")
    issued_at = serializers.DateTimeField()
    called_at = serializers.DateTimeField(allow_null=True)
    window = serializers.IntegerField(allow_null=True)
    wait_seconds = serializers.IntegerField(allow_null=True)
    item = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_item(self, ticket):
        return ticket.item.code if ticket.item_id else None


class TicketRequestSerializer(serializers.Serializer):
    item = bounded(Item, "code", label="办理事项实施编码（可不填）", required=False, allow_blank=True, default="")


class HallTicketApi(APIView):
    """取号: anyone, no account needed (the hall's kiosk is a public device; a signed-in citizen's ticket
    is kept with their account). Anonymous callers are rate-limited per address, so one address cannot
    empty the day's numbers."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonymousClientRateThrottle]
    throttle_scope = "kiosk"

    @extend_schema(request=TicketRequestSerializer, responses={201: TicketSerializer})
    def post(self, request, code):
        hall = services.hall_get(code=code)
        data = TicketRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.ticket_issue(hall=hall, actor=request.user, item_code=data.validated_data["item"])
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)


class CallNextSerializer(serializers.Serializer):
    window = serializers.IntegerField(label="窗口号")


class HallCallNextApi(APIView):
    """叫号: a clerk of this hall calls the oldest waiting ticket of today to their window; 409 queue_empty."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=CallNextSerializer, responses=TicketSerializer)
    def post(self, request, code):
        hall = services.hall_get(code=code)
        data = CallNextSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.ticket_call_next(actor=request.user, hall=hall, window=data.validated_data["window"])
        return Response(TicketSerializer(ticket).data)


# --- appointments -------------------------------------------------------------------------------------


class SlotSerializer(serializers.ModelSerializer):
    # RFC 3339 date-times with the hall's offset ("2026-11-24T09:00:00+08:00"), as every other moment in the API.
    start = serializers.DateTimeField(source="starts_at", label="开始时间")
    end = serializers.DateTimeField(source="ends_at", label="结束时间")
    remaining = serializers.IntegerField()

    class Meta:
        model = AppointmentSlot
        fields = ["id", "date", "start", "end", "capacity", "booked", "remaining"]


class HallSlotsApi(APIView):
    """A hall's appointment slots of one day with the places left (public)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("date", str, description="日期 YYYY-MM-DD（默认今天）")],
        responses=SlotSerializer(many=True),
    )
    def get(self, request, code):
        hall = services.hall_get(code=code)
        raw = request.query_params.get("date")
        day = parse_date(raw) if raw else timezone.localdate()
        if day is None:
            raise serializers.ValidationError({"date": ["日期格式应为 YYYY-MM-DD"]})
        slots = AppointmentSlot.objects.filter(hall=hall, date=day).order_by("start")
        return Response(SlotSerializer(slots, many=True).data)


class AppointmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    hall = serializers.CharField(source="slot.hall.code")
    hall_name = serializers.CharField(source="slot.hall.name")
    date = serializers.DateField(source="slot.date")
    start = serializers.DateTimeField(source="slot.starts_at")
    end = serializers.DateTimeField(source="slot.ends_at")
    item = serializers.CharField(source="item.code")
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    booked_at = serializers.DateTimeField()
    ticket = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_ticket(self, appointment):
        return appointment.ticket.number if appointment.ticket_id else None


class AppointmentRequestSerializer(serializers.Serializer):
    hall = bounded(Hall, "code")
    slot = serializers.IntegerField(label="预约时段")
    item = bounded(Item, "code", label="办理事项实施编码")


class AppointmentListApi(ListAPIView):
    """The caller's own bookings (applicants), newest first; POST books one place (409 slot_full)."""

    permission_classes = [IsAuthenticated]
    serializer_class = AppointmentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Appointment.objects.none()
        return (
            Appointment.objects.filter(user=self.request.user)
            .select_related("slot", "slot__hall", "item", "ticket").order_by("-booked_at", "-pk")
        )

    # 404: the hall named in the body does not exist.
    @extend_schema(request=AppointmentRequestSerializer, responses={201: AppointmentSerializer, 404: ERROR})
    def post(self, request):
        data = AppointmentRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hall = services.hall_get(code=data.validated_data["hall"])
        appointment = services.appointment_book(
            actor=request.user, hall=hall, slot_id=data.validated_data["slot"], item_code=data.validated_data["item"],
        )
        appointment = services.access_appointment(user=request.user, pk=appointment.pk)
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


APPOINTMENT_ACTIONS = {"cancel": services.appointment_cancel, "arrive": services.appointment_arrive}


class AppointmentActionApi(APIView):
    """cancel (the applicant; frees the place) or arrive (a clerk of the hall; gives a ticket)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="appointments_action", request=EmptySerializer, responses=AppointmentSerializer,
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(APPOINTMENT_ACTIONS))],
    )
    def post(self, request, appointment_id, action):
        if action not in APPOINTMENT_ACTIONS:
            raise Http404("未知的操作")
        appointment = services.access_appointment(user=request.user, pk=appointment_id)
        APPOINTMENT_ACTIONS[action](actor=request.user, appointment=appointment)
        return Response(AppointmentSerializer(services.access_appointment(user=request.user, pk=appointment_id)).data)


# --- statistics ---------------------------------------------------------------------------------------------

from drf_spectacular.utils import inline_serializer

from applications import statistics


def _stats_schema():
    rate = lambda: serializers.FloatField(allow_null=True)
    count = serializers.IntegerField
    code = lambda: serializers.CharField(allow_null=True)
    return inline_serializer("Statistics", {
        "from": serializers.DateField(), "to": serializers.DateField(),
        "department": code(), "item": code(), "hall": code(),
        "received": count(), "accepted": count(), "decided": count(), "on_time_rate": rate(),
        "avg_working_days": serializers.FloatField(allow_null=True), "overdue_open": count(),
        "satisfaction_rate": rate(), "one_visit_share": rate(), "zero_visit_share": rate(), "online_share": rate(),
        "avg_wait_minutes": serializers.FloatField(allow_null=True),
        "on_time": count(), "closed": count(), "online": count(), "ratings": count(), "satisfied_ratings": count(),
        "tickets_called": count(),
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
        return Response({
            "from": scope.date_from, "to": scope.date_to,
            "department": scope.department.code if scope.department else None,
            "item": scope.item.code if scope.item else None,
            "hall": scope.hall.code if scope.hall else None,
            **statistics.compute(scope),
        })
