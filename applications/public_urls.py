"""办件查询 (applications/public.py) and 好差评公开 (applications/disclosure.py), mounted by portal.urls: the page at the site root (`urlpatterns`,
namespace `public`) and the API inside /api/v1/ (`api_urlpatterns`, namespace `api`)."""

from django.urls import path

from applications import disclosure, public
from applications.views import complaints

app_name = "public"

urlpatterns = [
    path("query/", public.query_page, name="query"),
    path("ratings/", disclosure.ratings_page, name="ratings"),
    path("complaints/new/", complaints.complaint_new, name="complaint-new"),
    path("complaints/follow/<str:token>/", complaints.complaint_follow, name="complaint-follow"),
]

api_urlpatterns = [
    path("query/", public.PublicCaseQueryApi.as_view(), name="public-query"),
    path("ratings/public/", disclosure.PublicRatingsApi.as_view(), name="public-ratings"),
]
