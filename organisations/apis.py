"""法人 and 经办人 over HTTP (DESIGN §10, §13): the legal representative registers the organisation and manages its
agents online; a window clerk does both against the business licence and a 授权委托书."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from organisations import services
from organisations.models import Organisation, OrganisationAgent, OrganisationKind
from organisations.selectors import access_organisation, acting_organisations, manages
from portal.errors import Forbidden
from portal.inputs import bounded
from portal.models import Role
from portal.schema import ERROR


class AgentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    id_masked = serializers.CharField()
    added_at = serializers.DateTimeField(required=False)
    at_window = serializers.BooleanField(required=False, help_text="窗口凭授权委托书添加")


class OrganisationSerializer(serializers.Serializer):
    name = serializers.CharField()
    credit_code = serializers.CharField()
    kind = serializers.CharField()
    kind_display = serializers.CharField()
    legal_rep_name = serializers.CharField()
    is_legal_rep = serializers.BooleanField()
    agents = AgentSerializer(many=True, required=False, help_text="仅法定代表人和窗口人员可见")


class AgentRemovedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    removed_at = serializers.DateTimeField()


class OrganisationInputSerializer(serializers.Serializer):
    name = bounded(Organisation, "name")
    credit_code = serializers.CharField(label="统一社会信用代码", max_length=18)
    kind = serializers.CharField(label="主体类型（A.4 服务对象代码）", max_length=2, default=OrganisationKind.ENTERPRISE)
    legal_rep_name = bounded(Organisation, "legal_rep_name")
    legal_rep_id = serializers.CharField(label="法定代表人身份证号码", max_length=18)


class AgentInputSerializer(serializers.Serializer):
    id_number = serializers.CharField(label="经办人身份证号码", max_length=18)
    name = serializers.CharField(label="经办人姓名", max_length=50, required=False, allow_blank=True, default="")
    attorney_letter = serializers.FileField(label="授权委托书", required=False, allow_null=True, default=None)


def organisation_data(organisation: Organisation, *, user) -> dict:
    data = {
        "name": organisation.name, "credit_code": organisation.credit_code, "kind": organisation.kind,
        "kind_display": organisation.get_kind_display(), "legal_rep_name": organisation.legal_rep_name,
        "is_legal_rep": organisation.legal_rep_id == user.pk,
    }
    if manages(user=user, organisation=organisation):
        data["agents"] = [
            {"id": agent.pk, "name": agent.user.display_name, "id_masked": agent.user.id_masked,
             "added_at": agent.added_at, "at_window": bool(agent.attorney_letter)}
            for agent in organisation.current_agents
        ]
    return data


def _with_agents(rows):
    return rows.select_related("legal_rep").prefetch_related(Prefetch(
        "agents", queryset=OrganisationAgent.objects.filter(removed_at__isnull=True).select_related("user"),
        to_attr="current_agents"))


class OrganisationListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OrganisationSerializer(many=True)})
    def get(self, request):
        """Applicants: the organisations they act for. Clerks: `?credit_code=` finds one."""
        if request.user.role == Role.CLERK:
            rows = Organisation.objects.filter(credit_code=request.query_params.get("credit_code", "").strip().upper())
        else:
            rows = acting_organisations(user=request.user)
        return Response([organisation_data(o, user=request.user) for o in _with_agents(rows)[:50]])

    @extend_schema(request=OrganisationInputSerializer, responses={201: OrganisationSerializer})
    def post(self, request):
        data = OrganisationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        organisation = services.organisation_register(
            actor=request.user, legal_rep_id_number=values.pop("legal_rep_id"), **values)
        organisation = _with_agents(Organisation.objects.filter(pk=organisation.pk)).get()
        return Response(organisation_data(organisation, user=request.user), status=status.HTTP_201_CREATED)


class OrganisationDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OrganisationSerializer})
    def get(self, request, credit_code):
        organisation = access_organisation(user=request.user, credit_code=credit_code)
        organisation = _with_agents(Organisation.objects.filter(pk=organisation.pk)).get()
        return Response(organisation_data(organisation, user=request.user))


class AgentListApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request=AgentInputSerializer, responses={201: AgentSerializer})
    def post(self, request, credit_code):
        """Add an agent: the legal representative online; a clerk with the 授权委托书 (multipart `attorney_letter`)."""
        organisation = access_organisation(user=request.user, credit_code=credit_code)
        if not manages(user=request.user, organisation=organisation):
            raise Forbidden("只有法定代表人本人可以添加经办人；也可持授权委托书到窗口办理")
        data = AgentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agent = services.agent_add(actor=request.user, organisation=organisation, **data.validated_data)
        return Response({"id": agent.pk, "name": agent.user.display_name, "id_masked": agent.user.id_masked},
                        status=status.HTTP_201_CREATED)


class AgentDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: AgentRemovedSerializer, 409: ERROR})
    def delete(self, request, credit_code, agent_id):
        organisation = access_organisation(user=request.user, credit_code=credit_code)
        agent = services.agent_remove(actor=request.user, organisation=organisation, agent_id=agent_id)
        return Response({"id": agent.pk, "removed_at": agent.removed_at})
