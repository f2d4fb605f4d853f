"""A case's files (DESIGN §10): upload a material, read one (every read recorded), and a document's PDF."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from applications import services, uploads
from applications.permissions import access_application
from applications.presenters import MaterialFileSerializer
from portal.schema import ERROR
from portal.security import file_response


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
    """The document's PDF. An intake document is served only sealed with the center's 政务服务专用章: 409
    `document_sealing` while it cannot be sealed yet (DESIGN §14)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/pdf"): bytes, 409: ERROR})
    def get(self, request, number, document_id):
        case = access_application(user=request.user, number=number)
        document = case.documents.filter(pk=document_id).first()
        if document is None:
            raise Http404("文书不存在")
        document = services.document_pdf_ensure(document=document)
        return file_response(document.pdf.open("rb"), content_type="application/pdf", filename=f"{document.serial}.pdf")


