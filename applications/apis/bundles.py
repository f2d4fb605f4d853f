"""一件事一次办 (DESIGN §4): POST /bundles/{code}/applications/ creates a bundle's parent and its cases; the
parent's actions go through applications.apis.actions."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from applications import services
from applications.apis.cases import ApplicantInputSerializer, ApplicationDetailSerializer, detail_response
from portal.inputs import FormDataField


class BundleCreateSerializer(serializers.Serializer):
    form_data = FormDataField(label="共享表单内容", required=False, default=dict)
    applicant = ApplicantInputSerializer(required=False)
    organisation = serializers.CharField(label="申请单位统一社会信用代码", max_length=18, required=False, allow_blank=True,
                                         default="")


class BundleApplicationCreateApi(APIView):
    """POST /bundles/{code}/applications/ — one parent and one case per member item."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=BundleCreateSerializer, responses={201: ApplicationDetailSerializer})
    def post(self, request, code):
        data = BundleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        parent = services.bundle_application_create(
            actor=request.user, bundle_code=code, form_data=data.validated_data["form_data"],
            applicant=data.validated_data.get("applicant"), organisation=data.validated_data["organisation"],
        )
        return detail_response(request, parent, status.HTTP_201_CREATED)


