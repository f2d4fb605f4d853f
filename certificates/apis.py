"""E-certificate API (DESIGN §10): the holder's and staff's certificates, revocation, public verification.

Views only translate HTTP: certificates come from permissions.access_certificate (404 for what the caller
may not see), writes go through services (Forbidden → 403, ValidationError → 400, a refused transition → 409).
"""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from certificates import selectors, services
from certificates.faces import numbered_field, public_face_data
from certificates.identifiers import looks_like_identifier
from certificates.models import Certificate, CertificateStatus
from certificates.permissions import access_certificate, can_revoke, visible_certificates
from certificates.uploads import read_pdf_upload
from portal.inputs import bounded
from portal.security import file_response
from portal.throttles import ClientRateThrottle


class TypeRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class HolderSerializer(serializers.Serializer):
    # 个人信息保护法 第六条: the API shows the holder's code masked; the certificate itself carries it in full.
    name = serializers.CharField(source="holder_name")
    id_type = serializers.CharField(source="holder_id_type")
    id_masked = serializers.CharField(source="holder_id_masked")


class CertificateSerializer(serializers.ModelSerializer):
    type = TypeRefSerializer()
    holder = HolderSerializer(source="*")
    issuer = serializers.CharField(source="issuer.name")
    issuer_code = serializers.CharField(source="issuer.code")
    status = serializers.SerializerMethodField()
    status_display = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = [
            "identifier", "type", "holder", "issuer", "issuer_code", "serial", "version", "issued_on", "valid_from",
            "valid_until", "status", "status_display", "sha256", "application_number", "pdf_url",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=CertificateStatus.choices))
    def get_status(self, certificate) -> str:
        # As of today: past its end date it is expired, even before the nightly sweep writes that down.
        return certificate.status_on(timezone.localdate())

    def get_status_display(self, certificate) -> str:
        return CertificateStatus(certificate.status_on(timezone.localdate())).label

    def get_pdf_url(self, certificate) -> str:
        return f"/api/v1/certificates/{certificate.identifier}/pdf/"


class CertificateDetailSerializer(CertificateSerializer):
    face_data = serializers.JSONField()
    can_revoke = serializers.SerializerMethodField()

    class Meta(CertificateSerializer.Meta):
        fields = [*CertificateSerializer.Meta.fields, "face_data", "revoked_at", "revoke_reason", "can_revoke"]

    def get_can_revoke(self, certificate) -> bool:
        return can_revoke(user=self.context["request"].user, certificate=certificate)


class PublicFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField()


class OtherVersionSerializer(serializers.Serializer):
    identifier = serializers.CharField()
    version = serializers.IntegerField()
    issued_on = serializers.DateField()
    status = serializers.ChoiceField(choices=CertificateStatus.choices)
    status_display = serializers.CharField()


class VerificationSerializer(CertificateSerializer):
    """What anyone may learn about a certificate from its identifier or licence number: the type's public
    face fields only (DESIGN §14), the holder's code masked, why it was revoked."""

    current_identifier = serializers.SerializerMethodField()
    licence_number = serializers.SerializerMethodField()
    public_fields = serializers.SerializerMethodField()
    revoke_reason = serializers.SerializerMethodField()
    other_versions = serializers.SerializerMethodField()

    class Meta(CertificateSerializer.Meta):
        fields = [
            "identifier", "type", "holder", "issuer", "version", "issued_on", "valid_from", "valid_until", "status",
            "status_display", "revoked_at", "revoke_reason", "current_identifier", "licence_number", "public_fields",
            "other_versions",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_current_identifier(self, certificate):
        """For a re-issued (superseded) certificate, the identifier of the version now in force."""
        if certificate.status != CertificateStatus.SUPERSEDED:
            return None
        return selectors.latest_version(certificate=certificate).identifier

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_licence_number(self, certificate):
        """The licence number, when the type makes its number field public."""
        number_field = numbered_field(certificate.type)
        public = certificate.type.public_fields if isinstance(certificate.type.public_fields, list) else []
        return certificate.licence_number or None if number_field and number_field in public else None

    @extend_schema_field(PublicFieldSerializer(many=True))
    def get_public_fields(self, certificate):
        return [{"name": name, "value": value} for name, value in public_face_data(certificate)]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_revoke_reason(self, certificate):
        return certificate.revoke_reason or None if certificate.status == CertificateStatus.REVOKED else None

    @extend_schema_field(OtherVersionSerializer(many=True))
    def get_other_versions(self, certificate):
        """Found by licence number: the other versions carrying it (superseded by this one, or no longer valid)."""
        today = timezone.localdate()
        return [
            {"identifier": other.identifier, "version": other.version, "issued_on": other.issued_on,
             "status": other.status_on(today), "status_display": CertificateStatus(other.status_on(today)).label}
            for other in self.context.get("others", [])
        ]


class CertificateListApi(ListAPIView):
    """The caller's certificates: what they hold; department staff also what their department issued;
    supervisors everything. `?status=valid|revoked|expired|superseded`, `?type=<type code>`."""

    permission_classes = [IsAuthenticated]
    serializer_class = CertificateSerializer

    @extend_schema(parameters=[
        OpenApiParameter("status", str, enum=CertificateStatus.values, description="证照状态（按当日计算）"),
        OpenApiParameter("type", str, description="证照类型编码"),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Certificate.objects.none()
        certificates = visible_certificates(user=self.request.user).select_related("type", "issuer")
        if self.request.query_params.get("type"):
            certificates = certificates.filter(type__code=self.request.query_params["type"])
        status = self.request.query_params.get("status")
        if status and status not in CertificateStatus.values:
            raise ValidationError({"status": [f"状态应为 {'、'.join(CertificateStatus.values)} 之一"]})
        return selectors.with_status(certificates, status=status, today=timezone.localdate())


class CertificateDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=CertificateDetailSerializer)
    def get(self, request, identifier):
        certificate = access_certificate(user=request.user, identifier=identifier)
        return Response(CertificateDetailSerializer(certificate, context={"request": request}).data)


class CertificatePdfApi(APIView):
    """The signed PDF exactly as issued (its SHA-256 is the one stored); a read by staff is recorded."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, identifier):
        certificate = access_certificate(user=request.user, identifier=identifier)
        services.certificate_read_record(actor=request.user, certificate=certificate)
        return file_response(certificate.pdf.open("rb"), content_type="application/pdf", filename=f"{certificate.identifier}.pdf")


class RevokeSerializer(serializers.Serializer):
    reason = bounded(Certificate, "revoke_reason", multiline=True, allow_blank=True, required=False, default="")


class CertificateRevokeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=RevokeSerializer, responses=CertificateDetailSerializer)
    def post(self, request, identifier):
        certificate = access_certificate(user=request.user, identifier=identifier)
        data = RevokeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        certificate = services.certificate_revoke(actor=request.user, certificate=certificate, reason=data.validated_data["reason"])
        certificate = access_certificate(user=request.user, identifier=certificate.identifier)
        return Response(CertificateDetailSerializer(certificate, context={"request": request}).data)


# --- public verification ----------------------------------------------------------------------------


class VerifyIdentifierApi(APIView):
    """Anyone: the status of a certificate from its identifier (the QR code's address) or its licence number,
    in any letter case; holder masked, the type's public face fields."""

    authentication_classes = []
    permission_classes = [AllowAny]
    # Rate-limited (with the verification page) so the register cannot be walked by guessing identifiers.
    throttle_classes = [ClientRateThrottle]
    throttle_scope = "verify"

    @extend_schema(responses=VerificationSerializer, parameters=[
        OpenApiParameter("identifier", str, OpenApiParameter.PATH, description="证照标识或许可证编号，不区分大小写"),
    ])
    def get(self, request, identifier):
        # A mistyped identifier fails its check character: no need to ask the database.
        certificate, others = selectors.certificate_for_verification(identifier=identifier), []
        if certificate is None and not looks_like_identifier(identifier):
            # A licence number: the version in force first, the others listed (DESIGN §14).
            found = selectors.certificates_by_licence_number(number=identifier)
            certificate, others = (found[0], found[1:]) if found else (None, [])
        if certificate is None:
            raise Http404("未找到该电子证照，请核对证照标识或许可证编号")
        return Response(VerificationSerializer(certificate, context={"others": others}).data)


class VerifyFileSerializer(serializers.Serializer):
    file = serializers.FileField(label="证照文件（PDF）", allow_empty_file=True, required=False)


class VerifyFileResultSerializer(serializers.Serializer):
    genuine = serializers.BooleanField(help_text="与签发的文件逐字节一致（SHA-256）")
    signature_valid = serializers.BooleanField(help_text="电子签章有效")
    identifier = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=CertificateStatus.choices, allow_null=True)


class VerifyFileApi(APIView):
    """Anyone: is this PDF byte for byte the certificate issued, and is its signature valid?"""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser, FormParser]
    # Public, and each request hashes up to 20 MB and validates a signature: shared with the page's count.
    throttle_classes = [ClientRateThrottle]
    throttle_scope = "verify_file"

    @extend_schema(request={"multipart/form-data": VerifyFileSerializer}, responses=VerifyFileResultSerializer)
    def post(self, request):
        data = read_pdf_upload(request.FILES.get("file"))
        return Response(services.certificate_verify_file(data=data))
