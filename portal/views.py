from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.shortcuts import redirect
from django.utils import timezone

from portal.models import Notification
from django.http import JsonResponse
from django.shortcuts import render


def home(request):
    return render(request, "portal/home.html")


@login_required
def inbox(request):
    """消息中心: the user's notifications; opening the page marks them read."""
    if request.method == "POST":
        Notification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
        return redirect("inbox")
    page = Paginator(Notification.objects.filter(user=request.user), 30).get_page(request.GET.get("page"))
    return render(request, "portal/inbox.html", {"page": page})


def healthz(request):
    """Liveness for the load balancer: the process answers and the database does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
