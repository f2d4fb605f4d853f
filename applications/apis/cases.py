"""The case API (DESIGN §10): list, create and read cases (a bundle's parent with its children's summary),
and a case's audit events. Views only translate HTTP; services decide; permissions fetch."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from applications import selectors, services
from applications.models import Application, State
from applications.permissions import (
    access_application,
    access_case_or_bundle,
    allowed_actions,
    bundle_allowed_actions,
    sees_contact_data,
)
from applications.presenters import materials_view
from items.models import Item
from portal.identity import IdType, mask_id_number
from portal.inputs import FormDataField, bounded, phone_validator
from portal.models import User


class HeldCertificateSerializer(serializers.Serializer):
    """The certificate a lifecycle case is about, as it stands now (it becomes superseded or revoked at issuance)."""

    identifier = serializers.CharField()
    type = serializers.CharField(source="type.code")
    type_name = serializers.CharField(source="type.name")
    version = serializers.IntegerField()
    licence_number = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    valid_until = serializers.DateField(allow_null=True)


class ApplicationSerializer(serializers.ModelSerializer):
    item = serializers.SerializerMethodField()
    applicant = serializers.SerializerMethodField()
    state_display = serializers.CharField(source="get_state_display")
    suspended = serializers.BooleanField()
    outcome = serializers.SerializerMethodField()
    certificate = serializers.SerializerMethodField()
    held_certificate = serializers.SerializerMethodField(
        help_text="延续、变更、补证、注销办件所涉的持有证照；新办办件为 null")

    class Meta:
        model = Application
        fields = [
            "number", "item", "state", "state_display", "channel", "applicant", "submitted_at", "accepted_at",
            "due_date", "due_date_provisional", "alert_level", "suspended", "outcome", "certificate", "visits",
            "created_at", "deemed_accepted", "issuing", "held_certificate",
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

    @extend_schema_field(HeldCertificateSerializer(allow_null=True))
    def get_held_certificate(self, case) -> dict | None:
        held = case.held_certificate
        if held is None:
            return None
        return HeldCertificateSerializer(held).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_certificate(self, case):
        # The e-certificate's identifier once issued (DESIGN §8); none before issuance.
        return case.certificate_identifier or None


# The URL names of the transitions (POST /applications/{number}/{name}/) where they differ from the services'.
API_ACTION_NAMES = {"request_materials": "request-materials", "return_to_window": "return", "commit": "commitment",
                    "verify_commitment": "commitment/verify"}


def api_actions(actions: list[str]) -> list[str]:
    return [API_ACTION_NAMES.get(action, action) for action in actions]


class ApplicationDetailSerializer(ApplicationSerializer):
    available_actions = serializers.SerializerMethodField(
        help_text="本用户此刻可以执行的操作（POST …/{action}/），与页面上的按钮一致")
    materials = serializers.SerializerMethodField()
    suspensions = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()
    notices = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField()
    contact = serializers.SerializerMethodField()
    parties = serializers.SerializerMethodField()
    form_data = serializers.JSONField()
    deferral = serializers.SerializerMethodField(help_text="容缺受理：补齐期限、是否逾期、尚缺的容缺材料")
    commitment = serializers.SerializerMethodField(help_text="告知承诺：承诺书、代替的材料、核查期限与结果")

    class Meta(ApplicationSerializer.Meta):
        fields = [
            *ApplicationSerializer.Meta.fields, "materials", "notices", "documents", "contact", "parties", "form_data",
            "suspensions", "extended_days", "extension_reason", "decision", "available_actions", "deferral", "commitment",
        ]

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_deferral(self, case) -> dict | None:
        outstanding = [row["name"] for row in self._materials(case) if row["status"] == "deferrable"]
        if case.deferral_due is None and not case.deferral_lapsed:
            return None
        return {"due": case.deferral_due, "lapsed": case.deferral_lapsed, "outstanding": outstanding}

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_commitment(self, case) -> dict | None:
        commitment = selectors.commitment_of(case)
        if commitment is None:
            return None
        return {
            "requirements": [row["requirement"] for row in self._materials(case) if row["status"] == "committed"],
            "text": commitment.text, "signed_at": commitment.signed_at, "verification_due": commitment.verification_due,
            "outcome": commitment.outcome or None, "note": commitment.note, "verified_at": commitment.verified_at,
        }

    def _materials(self, case) -> list[dict]:
        # The materials rows once per case: `materials`, `deferral` and `commitment` all read them.
        if getattr(case, "_materials_rows", None) is None:
            case._materials_rows = materials_view(case)
        return case._materials_rows

    def get_parties(self, case) -> dict:
        """Who filed it for whom (DESIGN §13): the organisation, the principal of a 代办, the agent, the 帮办."""
        agent = None
        if case.organisation_id or case.principal_id:
            agent = {"name": case.applicant.display_name, "id_masked": case.applicant.id_masked}
        return {
            "organisation": ({"name": case.organisation.name, "credit_code": case.organisation.credit_code,
                              "kind": case.organisation.kind, "legal_rep_name": case.organisation.legal_rep_name}
                             if case.organisation_id else None),
            "principal": ({"name": case.principal.display_name, "id_masked": case.principal.id_masked}
                          if case.principal_id else None),
            "agent": agent,
            "assisted_by": case.assisted_by.display_name if case.assisted_by_id else None,
        }

    def get_available_actions(self, case) -> list[str]:
        return api_actions(allowed_actions(self.context["request"].user, case))

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
        return self._materials(case)

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
    organisation = serializers.CharField(label="申请单位统一社会信用代码", max_length=18, required=False, allow_blank=True,
                                         default="")
    principal = ApplicantInputSerializer(required=False, label="委托人（代办）")
    certificate = serializers.CharField(
        label="所涉证照标识", max_length=100, required=False, allow_blank=True, default="",
        help_text="延续、变更、补证、注销事项必填：申请人（或申请单位）持有的该类证照的证照标识；新办事项不得填写")


def detail_response(request, case, status_code=status.HTTP_200_OK) -> Response:
    case = selectors.application_detail(application=case)
    data = ApplicationDetailSerializer(case, context={"request": request}).data
    if case.is_bundle_parent:
        data.update(bundle_summary(case, user=request.user))
    return Response(data, status=status_code)


def bundle_summary(parent: Application, *, user: User) -> dict:
    """一件事: the parent's status and what may be done to it are its children's (applications/services.py)."""
    children = selectors.bundle_children(parent)
    combined = selectors.combined_state(children)
    due = selectors.latest_due_date(children)
    return {
        "bundle": parent.bundle_code,
        "combined_state": combined,
        "combined_state_display": selectors.CombinedState.LABELS[combined],
        "due_date": due.isoformat() if due else None,
        "available_actions": api_actions(bundle_allowed_actions(user, parent, children)),
        "children": [
            {"number": c.number, "item": {"code": c.item_version.item.code, "name": c.item_version.name},
             "state": c.state, "due_date": c.due_date.isoformat() if c.due_date else None,
             "department": {"code": c.department.code, "name": c.department.name}}
            for c in children
        ],
    }


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
            organisation=data.validated_data["organisation"],
            principal=data.validated_data.get("principal"),
            certificate=data.validated_data["certificate"],
        )
        return detail_response(request, case, status.HTTP_201_CREATED)


class ApplicationDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ApplicationDetailSerializer)
    def get(self, request, number):
        return detail_response(request, access_case_or_bundle(user=request.user, number=number))


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


