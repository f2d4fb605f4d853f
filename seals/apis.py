"""POST applications/{number}/issue/ lives here: only seals may stamp (DESIGN §3)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from applications.apis.cases import ApplicationDetailSerializer, detail_response
from applications.permissions import access_application
from seals.services import seal_issue


class ApplicationIssueApi(APIView):
    """Stamp a decided case with its department's seal: 202, the case shows `issuing` until the task
    has rendered, signed and issued the certificate or decision letter."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="applications_issue", request=None, responses={202: ApplicationDetailSerializer})
    def post(self, request, number):
        case = access_application(user=request.user, number=number)
        seal_issue(actor=request.user, application=case)
        return detail_response(request, case, status.HTTP_202_ACCEPTED)
