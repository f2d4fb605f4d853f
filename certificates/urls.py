"""Certificate pages, mounted at the site root (namespace `certificates`)."""

from django.urls import path

from certificates import views

app_name = "certificates"

urlpatterns = [
    # anyone
    path("verify/", views.verify, name="verify"),
    path("verify/<str:identifier>/", views.verify_identifier, name="verify-identifier"),
    # the holder
    path("my/certificates/", views.wallet, name="wallet"),
    path("certificates/<str:identifier>/pdf/", views.download, name="download"),
    # the issuing department's head
    path("dept/certificates/", views.department, name="department"),
    path("dept/certificates/<str:identifier>/revoke/", views.department_revoke, name="revoke"),
]
