"""投诉 pages (decision 059): the citizen's (my/), and the department's and supervisors' (review/complaints/).
Filing without an account and following by link are public (applications.public_urls)."""

from django.urls import path

from applications.views import complaints

urlpatterns = [
    path("my/cases/<str:number>/complaint/", complaints.case_complaint, name="case-complaint"),
    path("my/complaints/", complaints.my_complaints, name="my-complaints"),
    path("my/complaints/<str:number>/", complaints.my_complaint, name="my-complaint"),
    path("review/complaints/", complaints.complaints, name="complaints"),
    path("review/complaints/<str:number>/", complaints.complaint_detail, name="complaint"),
    path("review/complaints/<str:number>/<str:step>/", complaints.complaint_step, name="complaint-step"),
]
