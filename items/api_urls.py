"""Catalogue endpoints, included into portal.urls' `api_v1` (namespace `api`)."""

from django.urls import path

from items import apis

urlpatterns = [
    path("departments/", apis.DepartmentListApi.as_view(), name="department-list"),
    path("items/", apis.ItemListApi.as_view(), name="item-list"),
    path("items/<str:code>/", apis.ItemDetailApi.as_view(), name="item-detail"),
]
