"""What operators read: one log line per request with a request id, the same id on the tasks it queued, and
the timers' last runs (DESIGN §11; docs/operations.md).

The request id comes from the proxy's `X-Request-ID` when it is well-formed (one id across nginx, gunicorn
and Celery), else a new one; it is echoed in the response, stamped on every task the request publishes, and
put on every log line by `LogContextFilter` (JSON in production settings).
"""

import contextvars
import logging
import re
import time
import uuid

from celery.signals import before_task_publish, task_postrun, task_prerun, worker_init, worker_ready
from django.conf import settings
from django.core.signals import request_finished
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import SimpleLazyObject, empty

from portal import metrics
from portal.logcontext import request_id_var
from portal.models import TimerRun

request_logger = logging.getLogger("portal.request")

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a proxy: short and plain, so a client cannot inject log structure or huge labels.
_REQUEST_ID_FORMAT = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _incoming_request_id(request) -> str:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    return supplied if _REQUEST_ID_FORMAT.fullmatch(supplied) else uuid.uuid4().hex


class RequestLogMiddleware:
    """One line per request (method, path, status, duration, view, user id, case number) and its latency in
    the metrics, labelled by view name so the label set stays bounded."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = _incoming_request_id(request)
        # Cleared when the response is finished (below), not here: Django logs a 404 or a 500 after the
        # middleware has returned, and that line must carry the id too.
        request_id_var.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        self._record(request, request_id, response.status_code, time.perf_counter() - started)
        return response

    @staticmethod
    def _record(request, request_id: str, status: int, seconds: float) -> None:
        match = request.resolver_match
        view = match.view_name if match else "<unresolved>"
        user_id = _resolved_user_id(request)
        case_number = str(match.kwargs.get("number", "")) if match else ""
        metrics.request_observed(view=view, method=request.method, status=status, seconds=seconds)
        fields = {
            "request_id": request_id, "method": request.method, "path": request.path, "status": status,
            "duration_ms": round(seconds * 1000, 1), "view": view, "user_id": user_id,
        }
        if case_number:
            fields["case"] = case_number
        request_logger.info("%s %s %s", request.method, request.path, status, extra=fields)


@receiver(request_finished, dispatch_uid="portal.request_id_cleared")
def _clear_request_id(**kwargs):
    request_id_var.set("")


def _resolved_user_id(request) -> int | None:
    """The user the request was served as, if the view looked it up: resolving it here would cost the
    session and user queries on requests that never needed them (the public catalogue, the health check)."""
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    return user.pk if user is not None and user.is_authenticated else None


# --- Celery: the request id travels with the task ---------------------------------------------------


@before_task_publish.connect(dispatch_uid="portal.request_id_on_publish")
def _stamp_request_id(headers=None, **kwargs):
    request_id = request_id_var.get()
    if headers is not None and request_id and not headers.get("request_id"):
        headers["request_id"] = request_id


_task_tokens: dict[str, contextvars.Token] = {}
_task_started: dict[str, float] = {}
TIMER_TASKS = {entry["task"]: name for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}


@task_prerun.connect(dispatch_uid="portal.request_id_in_task")
def _adopt_request_id(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, "request_id", None) or ""
    _task_tokens[task_id] = request_id_var.set(request_id)
    _task_started[task_id] = time.perf_counter()


@task_postrun.connect(dispatch_uid="portal.request_id_after_task")
def _task_finished(task_id=None, task=None, state=None, **kwargs):
    started = _task_started.pop(task_id, None)
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)
    timer = TIMER_TASKS.get(task.name)
    if timer and started is not None:
        timer_run_record(name=timer, seconds=time.perf_counter() - started, succeeded=state == "SUCCESS")


def timer_run_record(*, name: str, seconds: float, succeeded: bool) -> None:
    """The timer's last run, one row per timer: every host's metrics endpoint reads the same figures."""
    now = timezone.now()
    updated = {"last_finished_at": now, "last_duration_seconds": seconds, "last_succeeded": succeeded}
    if succeeded:
        updated["last_success_at"] = now
    _, created = TimerRun.objects.get_or_create(name=name, defaults={**updated, "runs": 1})
    if not created:
        TimerRun.objects.filter(name=name).update(runs=F("runs") + 1, **updated)
    metrics.timer_observed(timer=name, seconds=seconds, succeeded=succeeded)


# --- the Celery worker's own scrape endpoint ---------------------------------------------------------


@worker_init.connect(dispatch_uid="portal.worker_metrics_folder")
def _empty_metrics_folder(**kwargs):
    """Before the pool forks: last run's per-process files would be added to this run's figures."""
    metrics.multiprocess_folder_reset()


@worker_ready.connect(dispatch_uid="portal.worker_metrics_server")
def _serve_worker_metrics(**kwargs):
    """What only the worker observes (issuances it completes, timer durations) on its own port, bound to an
    internal address (`WORKER_METRICS_ADDRESS`); the records' gauges are on the web hosts' `/metrics`."""
    if settings.WORKER_METRICS_PORT:
        metrics.serve_process_metrics(address=settings.WORKER_METRICS_ADDRESS, port=settings.WORKER_METRICS_PORT)
