from django.urls import path

from organisations import apis

urlpatterns = [
    path("organisations/", apis.OrganisationListApi.as_view(), name="organisation-list"),
    path("organisations/<str:credit_code>/", apis.OrganisationDetailApi.as_view(), name="organisation-detail"),
    path("organisations/<str:credit_code>/agents/", apis.AgentListApi.as_view(), name="organisation-agents"),
    path("organisations/<str:credit_code>/agents/<int:agent_id>/", apis.AgentDetailApi.as_view(),
         name="organisation-agent"),
]
