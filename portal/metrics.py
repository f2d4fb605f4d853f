"""Prometheus metrics (prometheus-client), scraped at `/metrics` (docs/operations.md).

Two kinds: counters and histograms that the processes observe as they work (request latency by view,
transitions by action and outcome, timer durations), and gauges read from the records and the broker at
scrape time (notifications waiting or given up, issuances pending or failed, Celery queue depth, timers'
last runs) — the latter are the same whichever host answers the scrape.

Under gunicorn and Celery's prefork pool, set `PROMETHEUS_MULTIPROC_DIR` (an empty folder per host, shared
by the processes of that host): the processes write their observations there and the scrape adds them up.
Each app may contribute scrape-time gauges from a `metrics` module with `collect()` (seals does: issuances),
found the way `loaddemo` finds `demo` modules, so this infrastructure imports no app.
"""

import hmac
import ipaddress
import logging
import os
import shutil
from importlib import import_module
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.http import HttpResponseForbidden
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.django import PrometheusDjangoView

from portal.broker import broker_queue_depths
from portal.models import Notification, TimerRun
from portal.notifications import MAX_ATTEMPTS

logger = logging.getLogger(__name__)

REQUEST_SECONDS = Histogram(
    "portal_http_request_duration_seconds", "请求耗时（秒），按视图与方法", ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REQUESTS = Counter("portal_http_requests", "请求数，按视图、方法与状态码", ["view", "method", "status"])
TRANSITIONS = Counter("portal_transitions", "状态流转次数，按动作与结果（done/refused/conflict）", ["action", "outcome"])
TIMER_SECONDS = Histogram(
    "portal_timer_duration_seconds", "定时任务每轮耗时（秒）", ["timer", "outcome"],
    buckets=(0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
)


def request_observed(*, view: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(view, method).observe(seconds)
    REQUESTS.labels(view, method, str(status)).inc()


def transition_counted(*, action: str, outcome: str) -> None:
    TRANSITIONS.labels(action, outcome).inc()


def timer_observed(*, timer: str, seconds: float, succeeded: bool) -> None:
    TIMER_SECONDS.labels(timer, "ok" if succeeded else "failed").observe(seconds)


class StateCollector:
    """Gauges read at scrape time: the outbox, the broker's queues, the timers, and each app's own."""

    def describe(self):
        return []  # nothing to read when registering: the figures are read per scrape

    def collect(self):
        yield from _guarded("notifications", _notification_gauges)
        yield from _guarded("broker", _queue_gauges)
        yield from _guarded("timers", _timer_gauges)
        for config in apps.get_app_configs():
            module = _app_metrics_module(config.name) if config.name != "portal" else None
            if module is not None:
                yield from _guarded(config.name, module.collect)


def _guarded(source: str, collect):
    """One failing source (the broker down) costs its own gauges and an `up` of 0, not the whole scrape."""
    up = GaugeMetricFamily("portal_metrics_source_up", "该指标来源本次是否读取成功", labels=["source"])
    try:
        families = list(collect())
    except Exception as error:  # the outside world (broker, database) failing is what this reports
        logger.warning("指标来源 %s 读取失败：%s", source, error)
        families, ok = [], 0
    else:
        ok = 1
    up.add_metric([source], ok)
    yield up
    yield from families


def _app_metrics_module(name: str):
    try:
        return import_module(f"{name}.metrics")
    except ModuleNotFoundError as error:
        if error.name != f"{name}.metrics":
            raise
        return None


def _notification_gauges():
    unsent = Notification.objects.filter(sent_at__isnull=True)
    gauge = GaugeMetricFamily("portal_notifications", "未发出的通知：pending 待发送，failed 已放弃重试", labels=["state"])
    gauge.add_metric(["pending"], unsent.filter(attempts__lt=MAX_ATTEMPTS).count())
    gauge.add_metric(["failed"], unsent.filter(attempts__gte=MAX_ATTEMPTS).count())
    yield gauge


def _queue_gauges():
    gauge = GaugeMetricFamily("portal_celery_queue_depth", "Celery 队列中等待的消息数", labels=["queue"])
    for queue, depth in broker_queue_depths().items():
        gauge.add_metric([queue], depth)
    yield gauge


def _timer_gauges():
    duration = GaugeMetricFamily("portal_timer_last_duration_seconds", "定时任务最近一轮耗时（秒）", labels=["timer"])
    succeeded = GaugeMetricFamily("portal_timer_last_succeeded", "定时任务最近一轮是否成功", labels=["timer"])
    success_at = GaugeMetricFamily("portal_timer_last_success_timestamp_seconds", "定时任务最近一次成功的时间", labels=["timer"])
    for run in TimerRun.objects.all():
        duration.add_metric([run.name], run.last_duration_seconds)
        succeeded.add_metric([run.name], int(run.last_succeeded))
        if run.last_success_at:
            success_at.add_metric([run.name], run.last_success_at.timestamp())
    yield from (duration, succeeded, success_at)


_state_collector = StateCollector()
_registered_globally = False


def _process_registry() -> CollectorRegistry | None:
    """What this host's processes observed, added up from the multiprocess folder (None: single process)."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return None
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def multiprocess_folder_reset() -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def serve_process_metrics(*, address: str, port: int) -> None:
    """A scrape endpoint in a thread of this process (the Celery worker's), with no record gauges."""
    start_http_server(port, addr=address, registry=_process_registry() or REGISTRY)


def scrape_registry() -> CollectorRegistry:
    registry = _process_registry()
    if registry is not None:
        registry.register(_state_collector)
        return registry
    global _registered_globally
    if not _registered_globally:
        REGISTRY.register(_state_collector)
        _registered_globally = True
    return REGISTRY


def scrape_allowed(request) -> bool:
    """A bearer token (`METRICS_TOKEN`) or a client address in `METRICS_ALLOWED_NETWORKS`; neither set: closed."""
    token = settings.METRICS_TOKEN
    supplied = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in settings.METRICS_ALLOWED_NETWORKS)


class MetricsView(PrometheusDjangoView):
    def get(self, request, *args, **kwargs):
        if not scrape_allowed(request):
            return HttpResponseForbidden("指标接口需要令牌或内网地址", content_type="text/plain; charset=utf-8")
        self.registry = scrape_registry()
        return super().get(request, *args, **kwargs)
