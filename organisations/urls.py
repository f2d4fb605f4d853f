from django.urls import path

from organisations import views

app_name = "organisations"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("<str:credit_code>/", views.detail, name="detail"),
    path("<str:credit_code>/agents/<int:agent_id>/remove/", views.agent_remove, name="agent-remove"),
]
