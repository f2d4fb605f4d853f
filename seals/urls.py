from django.urls import path

from seals import views

app_name = "seals"

urlpatterns = [
    path("center/issuance/", views.queue, name="queue"),
    path("center/issuance/<str:number>/issue/", views.issue, name="issue"),
    path("center/seal-log/", views.log, name="log"),
]
