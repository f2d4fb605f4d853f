"""Certificate endpoints, included into portal.urls' `api_v1`."""

from django.urls import path

from certificates import apis

urlpatterns = [
    path("certificates/", apis.CertificateListApi.as_view(), name="certificate-list"),
    path("certificates/<str:identifier>/", apis.CertificateDetailApi.as_view(), name="certificate-detail"),
    path("certificates/<str:identifier>/pdf/", apis.CertificatePdfApi.as_view(), name="certificate-pdf"),
    path("certificates/<str:identifier>/revoke/", apis.CertificateRevokeApi.as_view(), name="certificate-revoke"),
    path("verify/", apis.VerifyFileApi.as_view(), name="verify-file"),
    path("verify/<str:identifier>/", apis.VerifyIdentifierApi.as_view(), name="verify-identifier"),
]
