import logging
import uuid

from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.http import require_POST

from applications.selectors import most_used_items
from items.selectors import bundle_list, home_catalogue
from portal.broker import broker_ping
from portal.context_processors import TEXT_SIZE_COOKIE
from portal.db import replica_enabled, replica_lag
from portal.models import Notification, Role

logger = logging.getLogger(__name__)


def home(request):
    """The front door (DESIGN §13 "Home page", decision 047): search, 个人办事 / 法人办事 by theme, the 一件事
    bundles, the most-used items, 办件查询 and 证照核验. A fixed number of queries, whatever the catalogue's size."""
    catalogue = home_catalogue()
    return render(request, "portal/home.html", {
        "audience_sections": [
            {"key": "person", "title": "个人办事", "themes": catalogue["person"]},
            {"key": "legal", "title": "法人办事", "themes": catalogue["legal"]},
        ],
        "bundles": bundle_list(),
        "popular": most_used_items(),
    })


# Where a message about a case takes each role: its own page of that case.
CASE_PAGES = {
    Role.APPLICANT: "applications:case",
    Role.CLERK: "applications:window-case",
    Role.REVIEWER: "applications:review-case",
    Role.HEAD: "applications:review-case",
}


def _case_link(user, number: str) -> str:
    page = CASE_PAGES.get(user.role)
    return reverse(page, args=[number]) if page and number else ""


@login_required
def inbox(request):
    """消息中心: the user's notifications, newest first, each with a link to its case; mark one or all read."""
    if request.method == "POST":
        Notification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
        return redirect("inbox")
    page = Paginator(Notification.objects.filter(user=request.user), 30).get_page(request.GET.get("page"))
    rows = [{"notification": n, "link": reverse("inbox-open", args=[n.pk]) if _case_link(request.user, n.application) else ""}
            for n in page.object_list]
    return render(request, "portal/inbox.html", {"page": page, "rows": rows})


@login_required
def inbox_open(request, notification_id):
    """A message's link: it is read now, and its case opens on the reader's own page of it."""
    notification = get_object_or_404(Notification, pk=notification_id, user=request.user)
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
    return redirect(_case_link(request.user, notification.application) or "inbox")


@login_required
@require_POST
def inbox_read(request, notification_id):
    """标为已读: one message."""
    updated = Notification.objects.filter(pk=notification_id, user=request.user, read_at__isnull=True).update(read_at=timezone.now())
    if not updated and not Notification.objects.filter(pk=notification_id, user=request.user).exists():
        raise Http404("消息不存在")
    page = request.POST.get("page", "")
    return redirect(f"{reverse('inbox')}?page={page}" if str(page).isdigit() else reverse("inbox"))


@require_POST
def text_size(request):
    """大字版 on or off (适老化, GB/T 37668): a cookie for a year, then back to the page the reader was on."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("home")
    response = redirect(target)
    if request.POST.get("size") == "large":
        response.set_cookie(TEXT_SIZE_COOKIE, "large", max_age=365 * 24 * 3600, samesite="Lax",
                            secure=request.is_secure(), httponly=True)
    else:
        response.delete_cookie(TEXT_SIZE_COOKIE, samesite="Lax")
    return response


def not_found(request, exception):
    """handler404: an address no URL pattern matches (`/api/v1/notifications/abc/read/`). Under /api/ it is
    the API's own 404 shape (DESIGN §10), not a page an API client cannot read."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "未找到该地址", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def healthz(request):
    """Liveness for the load balancer: the process answers and the database does (one `SELECT 1`).

    `?full=1` also checks the broker and the file storage, each bounded by a short timeout, and answers 503
    naming what failed; the reasons go to the log (with the request id), not to the public answer. With a
    read replica it also tells the replica's state and lag; a replica behind or down is marked but does not
    fail the host, whose reads then go to the primary (decision 061)."""
    if request.GET.get("full") != "1":
        _database_check()
        return JsonResponse({"status": "ok"})
    checks = {name: _run_check(name, check) for name, check in HEALTH_CHECKS.items()}
    healthy = all(result == "ok" for result in checks.values())
    answer = {"status": "ok" if healthy else "fail", "checks": checks}
    if replica_enabled():
        answer["replica"] = _replica_report()
    return JsonResponse(answer, status=200 if healthy else 503)


def _replica_report() -> dict:
    """`ok`, `lagging` (not streaming, or behind by more than REPLICA_MAX_LAG_SECONDS) or `down`, with the
    lag in seconds and in bytes of WAL the primary has written and the replica not yet replayed."""
    try:
        lag = replica_lag(with_bytes=True)
    except DatabaseError as error:
        logger.error("健康检查 replica 失败：%s: %s", type(error).__name__, error)
        return {"state": "down", "lag_seconds": None, "lag_bytes": None}
    seconds = None if lag.seconds is None else round(lag.seconds, 3)
    return {"state": "ok" if lag.usable else "lagging", "lag_seconds": seconds, "lag_bytes": lag.bytes}


def _database_check() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _storage_check() -> None:
    """Write, read back and delete a small file where uploads and PDFs go."""
    content = uuid.uuid4().hex.encode()
    name = default_storage.save(f"healthz/{uuid.uuid4().hex}.txt", ContentFile(content))
    try:
        with default_storage.open(name) as stored:
            if stored.read() != content:
                raise OSError("read back differs from what was written")
    finally:
        default_storage.delete(name)


HEALTH_CHECKS = {"database": _database_check, "broker": broker_ping, "storage": _storage_check}


def _run_check(name: str, check) -> str:
    try:
        check()
    except Exception as error:  # reporting the failure is the point of the check
        logger.error("健康检查 %s 失败：%s: %s", name, type(error).__name__, error)
        return "fail"
    return "ok"
