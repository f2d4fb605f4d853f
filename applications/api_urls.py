"""Case endpoints, included into portal.urls' `api_v1`."""

from django.urls import path

from applications import apis

urlpatterns = [
    path("applications/", apis.ApplicationListApi.as_view(), name="application-list"),
    path("applications/<str:number>/", apis.ApplicationDetailApi.as_view(), name="application-detail"),
    path("applications/<str:number>/materials/", apis.MaterialUploadApi.as_view(), name="application-materials"),
    path("applications/<str:number>/materials/<int:material_id>/", apis.MaterialFileApi.as_view(), name="application-material-file"),
    path("applications/<str:number>/documents/<int:document_id>/pdf/", apis.DocumentPdfApi.as_view(), name="application-document-pdf"),
    path("applications/<str:number>/events/", apis.ApplicationEventsApi.as_view(), name="application-events"),
    path("applications/<str:number>/<str:action>/", apis.ApplicationActionApi.as_view(), name="application-action"),
    path("bundles/<str:code>/applications/", apis.BundleApplicationCreateApi.as_view(), name="bundle-applications"),
    # service quality and the hall (DESIGN §6)
    path("rectifications/", apis.RectificationListApi.as_view(), name="rectification-list"),
    path("rectifications/<int:rectification_id>/<str:action>/", apis.RectificationActionApi.as_view(), name="rectification-action"),
    path("halls/<str:code>/tickets/", apis.HallTicketApi.as_view(), name="hall-tickets"),
    path("halls/<str:code>/call-next/", apis.HallCallNextApi.as_view(), name="hall-call-next"),
    path("halls/<str:code>/slots/", apis.HallSlotsApi.as_view(), name="hall-slots"),
    path("appointments/", apis.AppointmentListApi.as_view(), name="appointment-list"),
    path("appointments/<int:appointment_id>/<str:action>/", apis.AppointmentActionApi.as_view(), name="appointment-action"),
    path("stats/", apis.StatsApi.as_view(), name="stats"),
]
