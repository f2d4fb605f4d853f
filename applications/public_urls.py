"""办件查询 (applications/public.py), mounted by portal.urls: the page at the site root (`urlpatterns`,
namespace `public`) and the API inside /api/v1/ (`api_urlpatterns`, namespace `api`)."""

from django.urls import path

from applications import public

app_name = "public"

urlpatterns = [
    path("query/", public.query_page, name="query"),
]

api_urlpatterns = [
    path("query/", public.PublicCaseQueryApi.as_view(), name="public-query"),
]
