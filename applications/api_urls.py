"""Case endpoints, included into portal.urls' `api_v1`."""

from django.urls import path

from applications.apis import actions, bundles, cases, complaints, hall, materials, supervision

urlpatterns = [
    path("applications/", cases.ApplicationListApi.as_view(), name="application-list"),
    path("applications/<str:number>/", cases.ApplicationDetailApi.as_view(), name="application-detail"),
    path("applications/<str:number>/materials/", materials.MaterialUploadApi.as_view(), name="application-materials"),
    path("applications/<str:number>/materials/<int:material_id>/", materials.MaterialFileApi.as_view(),
         name="application-material-file"),
    path("applications/<str:number>/documents/<int:document_id>/pdf/", materials.DocumentPdfApi.as_view(),
         name="application-document-pdf"),
    path("applications/<str:number>/events/", cases.ApplicationEventsApi.as_view(), name="application-events"),
    path("applications/<str:number>/commitment/verify/", actions.CommitmentVerifyApi.as_view(),
         name="application-commitment-verify"),
    path("applications/<str:number>/<str:action>/", actions.ApplicationActionApi.as_view(), name="application-action"),
    path("bundles/<str:code>/applications/", bundles.BundleApplicationCreateApi.as_view(), name="bundle-applications"),
    # service quality and the hall (DESIGN §6)
    path("rectifications/", supervision.RectificationListApi.as_view(), name="rectification-list"),
    path("rectifications/<int:rectification_id>/<str:action>/", supervision.RectificationActionApi.as_view(),
         name="rectification-action"),
    path("complaints/", complaints.ComplaintListApi.as_view(), name="complaint-list"),
    path("complaints/<str:complaint_number>/", complaints.ComplaintDetailApi.as_view(), name="complaint-detail"),
    path("complaints/<str:complaint_number>/<str:action>/", complaints.ComplaintActionApi.as_view(),
         name="complaint-action"),
    path("halls/<str:code>/tickets/", hall.HallTicketApi.as_view(), name="hall-tickets"),
    path("halls/<str:code>/call-next/", hall.HallCallNextApi.as_view(), name="hall-call-next"),
    path("halls/<str:code>/slots/", hall.HallSlotsApi.as_view(), name="hall-slots"),
    path("appointments/", hall.AppointmentListApi.as_view(), name="appointment-list"),
    path("appointments/<int:appointment_id>/<str:action>/", hall.AppointmentActionApi.as_view(), name="appointment-action"),
    path("stats/", supervision.StatsApi.as_view(), name="stats"),
    path("stats/export.xlsx", supervision.StatsExportApi.as_view(), name="stats-export"),
]
