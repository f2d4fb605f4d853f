"""Transitions (DESIGN §5): POST /applications/{number}/{action}/, one action per transition; a bundle's
parent takes the bundle-wide ones (applications/services.py)."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from applications import services
from applications.apis.cases import ApplicationDetailSerializer, detail_response
from applications.models import Application, Commitment, Deficiency, Rating, Referral, Suspension
from applications.permissions import access_application, access_case_or_bundle
from portal.errors import Refused
from portal.inputs import bounded

# Text columns without a length of their own (TextField) take what the page forms take.
OPINION_MAX_LENGTH = 2000
LEGAL_BASIS_MAX_LENGTH = 1000


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
    # 邮寄送达: omitted, the case's contact address is used; either way the service checks it (decision 058).
    address = bounded(Application, "contact_address", required=False, allow_blank=True, label="邮寄地址")


class RejectSerializer(serializers.Serializer):
    opinion = bounded(Application, "decision_opinion", multiline=True, max_length=OPINION_MAX_LENGTH, allow_blank=True)
    legal_basis = bounded(Application, "decision_legal_basis", multiline=True, max_length=LEGAL_BASIS_MAX_LENGTH,
                          allow_blank=True)


class RateSerializer(serializers.Serializer):
    # Shape only: the service checks the range, the comment rule for 4/5, its length and the channel.
    score = serializers.IntegerField(label="评价等级（1 非常满意 … 5 非常不满意）")
    comment = serializers.CharField(label="评价内容", allow_blank=True, required=False, default="")
    channel = bounded(Rating, "channel", required=False, default="pc")
    stage = bounded(Rating, "stage", required=False, default="", allow_blank=True,
                    label="评价环节（intake 受理 / issuance 出证；不填为尚未评价的环节）")


class CommitSerializer(serializers.Serializer):
    requirements = serializers.ListField(child=serializers.IntegerField(), allow_empty=True, max_length=100,
                                         label="以承诺代替的材料（材料要求 id）")


class CommitmentVerifySerializer(serializers.Serializer):
    outcome = serializers.CharField(label="核查结果（confirmed 核查属实 / false 承诺不实）", max_length=10, allow_blank=True)
    note = bounded(Commitment, "note", multiline=True, allow_blank=True, required=False, default="")


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
    # Not a transition: records the hall staff member who helped (帮办, DESIGN §13).
    "assist": (services.application_assist, None),
    # 告知承诺制 (DESIGN §14): the 承诺书 in place of named materials, on a draft.
    "commitment": (services.application_commit, CommitSerializer),
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


def action_input(request, input_serializer) -> dict:
    """An action's checked input (a 400 naming the field when it does not fit); none for an action without."""
    if input_serializer is None:
        return {}
    data = input_serializer(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


class ApplicationActionApi(APIView):
    """POST /applications/{number}/{action}/ — one endpoint per transition of DESIGN §5."""

    permission_classes = [IsAuthenticated]

    @action_schema(ACTIONS, operation_id="applications_action", responses=ApplicationDetailSerializer)
    def post(self, request, number, action):
        case = access_case_or_bundle(user=request.user, number=number)
        if case.is_bundle_parent:
            return bundle_action(request, case, action)
        if action not in ACTIONS:
            raise Http404("未知的操作")
        service, input_serializer = ACTIONS[action]
        arguments = action_input(request, input_serializer)
        service(actor=request.user, application=case, **arguments)
        return detail_response(request, case)


class CommitmentVerifyApi(APIView):
    """POST /applications/{number}/commitment/verify/ — 告知承诺核查 (DESIGN §14): the case's department records
    the outcome once; `false` (the head only, `note` required) revokes the certificate issued on the case."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=CommitmentVerifySerializer, responses=ApplicationDetailSerializer,
                   operation_id="applications_commitment_verify")
    def post(self, request, number):
        case = access_application(user=request.user, number=number)
        arguments = action_input(request, CommitmentVerifySerializer)
        services.commitment_verify(actor=request.user, application=case, **arguments)
        return detail_response(request, case)


# --- 一件事一次办: the parent's number takes the bundle actions (applications/services.py) -------------


class BundleDeficiencySerializer(serializers.Serializer):
    child = bounded(Application, "number", label="子办件编号")
    requirement = serializers.IntegerField()
    reason = bounded(Deficiency, "reason", multiline=True, allow_blank=True)


class BundleRequestMaterialsSerializer(serializers.Serializer):
    deficiencies = BundleDeficiencySerializer(many=True, allow_empty=True)


BUNDLE_ACTIONS = {
    "submit": (services.bundle_submit, None),
    "accept": (services.bundle_accept, None),
    "request-materials": (services.bundle_request_materials, BundleRequestMaterialsSerializer),
    "resubmit": (services.bundle_resubmit, None),
    "withdraw": (services.bundle_withdraw, None),
    "deliver": (services.bundle_deliver, DeliverSerializer),
}


def bundle_action(request, case: Application, action: str) -> Response:
    if action not in BUNDLE_ACTIONS:
        raise Refused("一件事主办件不能执行该操作，审查在各子办件上进行", code="invalid_transition")
    service, input_serializer = BUNDLE_ACTIONS[action]
    arguments = action_input(request, input_serializer)
    if action == "request-materials":
        arguments = {"deficiencies": [dict(entry) for entry in arguments["deficiencies"]]}
    service(actor=request.user, application=case, **arguments)
    return detail_response(request, case)


