from django.urls import path

from seals import apis

urlpatterns = [
    path("applications/<str:number>/issue/", apis.ApplicationIssueApi.as_view(), name="application-issue"),
]
