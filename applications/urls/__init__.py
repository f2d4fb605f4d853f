"""Case pages, mounted at the site root (namespace `applications`): one URL list per audience."""

from django.urls import include, path

app_name = "applications"

urlpatterns = [
    path("", include("applications.urls.citizen")),
    path("", include("applications.urls.window")),
    path("", include("applications.urls.department")),
    path("", include("applications.urls.hall")),
    path("", include("applications.urls.supervision")),
    path("", include("applications.urls.complaints")),
]
