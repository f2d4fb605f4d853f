"""The project's URLs plus the reference views the benchmark compares against."""

from django.http import JsonResponse
from django.urls import include, path


def bare(request):
    """DESIGN §12's reference: a bare Django JSON view behind the same middleware stack, no database."""
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/bare/", bare, name="bench-bare"),
    path("", include("portal.urls")),
]
