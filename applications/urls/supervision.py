"""Supervision pages: supervision/ (rectifications and statistics)."""

from django.urls import path

from applications.views import supervision

urlpatterns = [
    path("supervision/rectifications/", supervision.rectifications, name="rectifications"),
    path("supervision/rectifications/<int:pk>/<str:step>/", supervision.rectification_step, name="rectification-step"),
    path("supervision/stats/", supervision.stats, name="stats"),
    path("supervision/stats/export.xlsx", supervision.stats_export, name="stats-export"),
]
