"""办事指南 pages, mounted at /guide/ (namespace `items`)."""

from django.urls import path

from items import views

app_name = "items"

urlpatterns = [
    path("", views.guide, name="guide"),
    path("files/<int:material_id>/<str:kind>/", views.material_file, name="material_file"),
    # 一件事一次办: before `<code>/`, which would otherwise take "bundles"
    path("bundles/", views.bundles, name="bundles"),
    path("bundles/<str:code>/", views.bundle_detail, name="bundle"),
    path("<str:code>/", views.detail, name="detail"),
    path("<str:code>/history/", views.history, name="history"),
    path("<str:code>/versions/<int:number>/", views.version_detail, name="version"),
]
