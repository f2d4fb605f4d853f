"""DESIGN §12: memory — a gunicorn web worker < 200 MB RSS, a Celery worker < 250 MB, after real work."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time

from bench.data.cases import BENCH_PASSWORD, bench_cases
from bench.lib import REPO, Context, Row, WsgiClient, children_pids, gunicorn_server, login, rss_mib

NAME = "memory"
ORDER = 70
WEB_TARGET_MIB = 200
WORKER_TARGET_MIB = 250
FULL_REQUESTS = 400
SWEEP_CHANGES = 2_000  # applications.services.application_alert_sweep's batch

HOW_MEASURED = f"""
Both servers run as production runs them (docker-compose.yml, bin/run), with `bench.settings` and the
benchmark's database and Redis database 15, started and stopped by the case.

Web: `gunicorn portal.wsgi:application --workers 2` (sync workers) on a free loopback port. The case sends
{FULL_REQUESTS} requests over HTTP, one at a time, alternating the catalogue search API mix (unfiltered
page and searches) and the reviewer's work list (`/review/`, several filters and pages) with the session of
a signed-in reviewer of the biggest department, so both workers serve both. Then it reads VmRSS (and
VmHWM, the peak) of each worker from /proc and reports the larger.

Celery: `celery -A portal worker --concurrency=2` (prefork, two children). The case orders one issuance
through the real path — a fresh case accepted, claimed and approved by the services, then
`seals.services.seal_issue` by the custodian, whose `seal_issue_task` renders the 食品经营许可证 with
WeasyPrint and signs it in a worker child — and waits for it to finish; then it puts the cases that change
level today back (one batch of them) and sends `applications.application_alert_task` (the deadline sweep over the full data:
2,000 changing cases — one full batch of the sweep, whose size bounds what a worker holds — with their
notifications and one publish per 200 notifications) and waits for its result. RSS of
each child (and the master) is read right after; the queue (the sweep's notification sends) is purged and
the worker stopped.
"""


def _environment() -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(REPO)}
    return env


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _rss(pids: list[int]) -> list[tuple[int, float, float]]:
    return [(pid, rss_mib(pid), rss_mib(pid, peak=True)) for pid in pids]


def _web(ctx: Context, data, log_path) -> tuple[list, float, int]:
    department = data.biggest_department
    client = WsgiClient()
    login(client, data.reviewers[department][0], BENCH_PASSWORD)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    with gunicorn_server(workers=2, log_path=log_path) as (port, master_pid):
        paths = ["/api/v1/items/", "/review/", "/api/v1/items/?search=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7",
                 "/review/?page=2", "/api/v1/items/?search=%E9%A3%9F%E5%93%81", "/review/?alert=overdue",
                 "/api/v1/items/?page=2", "/review/?state=in_review", "/api/v1/items/?search=%E5%85%AC%E7%A7%AF%E9%87%91",
                 "/review/?mine=on"]
        requests = ctx.scaled(FULL_REQUESTS, minimum=30)
        started = time.perf_counter()
        for number in range(requests):
            path = paths[number % len(paths)]
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            headers = {"Host": "bench.local", "Cookie": cookie} if path.startswith("/review/") else {"Host": "bench.local"}
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                raise RuntimeError(f"gunicorn: {path} → HTTP {response.status}")
        seconds = time.perf_counter() - started
        workers = children_pids(master_pid)
        readings = _rss(workers)
        ctx.log(f"gunicorn: {requests} requests in {seconds:.1f} s; workers " +
                ", ".join(f"{pid}: {rss:.0f} MiB (peak {peak:.0f})" for pid, rss, peak in readings))
        master = rss_mib(master_pid)
        return readings, master, requests


def _issuance_case(ctx: Context, data):
    """A fresh case decided by the services, ready for the custodian to issue: (case, seal)."""
    from applications.models import Application
    from applications.services import application_accept, application_approve, application_claim
    from bench.cases.certificate import seal_and_certificate
    from bench.cases.intake import fresh_submitted_cases
    from items.models import ItemVersion
    from portal.models import User
    from seals.models import Seal, SealStatus
    from seals.services import seal_create

    seal_and_certificate(ctx)  # the CA (and one seal)
    with_certificates = set(ItemVersion.objects.filter(pk__in=[version.id for version in data.versions],
                                                       certificate_type__isnull=False).values_list("pk", flat=True))
    versions = [version for version in data.versions if version.id in with_certificates and version.promised_days > 0]
    form_data = json.dumps({"持证人": "长春市南湖餐饮管理有限公司", "证件号码": "91220101MA0Y3K8X2R", "有效期": "五年",
                            "法定代表人": "王建国", "住所": "吉林省长春市南关区人民大街5688号"}, ensure_ascii=False)
    (pk, department), = fresh_submitted_cases(data, 1, versions=versions[:1] or None, form_data=form_data)
    clerk = User.objects.select_related("hall").get(username=data.clerks[0])
    reviewer = User.objects.get(username=data.reviewers[department][0])
    application_accept(actor=clerk, application=Application(pk=pk))
    application_claim(actor=reviewer, application=Application(pk=pk))
    application_approve(actor=reviewer, application=Application(pk=pk), opinion="准予许可。")
    seal = Seal.objects.filter(department_id=department, status=SealStatus.ACTIVE).first()
    if seal is None:
        seal = seal_create(department_code=data.department_codes[department])
    return Application.objects.select_related("department").get(pk=pk), seal


def _celery(ctx: Context, data, log_path) -> tuple[list, float, dict]:
    from applications.tasks import application_alert_task
    from bench.data.cases import reset_alert_changes
    from portal.celery import app
    from portal.models import User
    from seals.models import Issuance, IssuanceStatus
    from seals.services import seal_issue

    case, _ = _issuance_case(ctx, data)
    app.control.purge()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--concurrency=2", "--loglevel=WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"bench-{os.getpid()}@%h"],
            cwd=REPO, env=_environment(), stdout=log, stderr=subprocess.STDOUT,
        )
    facts = {}
    try:
        deadline = time.monotonic() + 90
        while len(children_pids(process.pid)) < 2:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start; see {log_path}")
            time.sleep(0.5)
        custodian = User.objects.get(username=data.custodian)
        started = time.perf_counter()
        issuance = seal_issue(actor=custodian, application=case)
        while Issuance.objects.filter(pk=issuance.pk, status=IssuanceStatus.PENDING).exists():
            if time.perf_counter() - started > 180 or process.poll() is not None:
                raise RuntimeError(f"the issuance task did not finish; see {log_path}")
            time.sleep(0.2)
        status = Issuance.objects.get(pk=issuance.pk).status
        if status != IssuanceStatus.DONE:
            raise RuntimeError(f"issuance ended {status}; see {log_path}")
        facts["issuance_s"] = time.perf_counter() - started
        # One full batch of the sweep (it reads 2,000 cases at a time): what a worker holds in memory
        # depends on the batch, not on how many batches a day has; the other changing cases stay swept.
        reset_alert_changes(limit=SWEEP_CHANGES)
        started = time.perf_counter()
        facts["changed"] = application_alert_task.apply_async(ignore_result=False).get(timeout=600)
        facts["sweep_s"] = time.perf_counter() - started
        children = children_pids(process.pid)
        readings = _rss(children)
        master = rss_mib(process.pid)
        ctx.log(f"celery: issuance {facts['issuance_s']:.1f} s, sweep of {facts['changed']:,} changes "
                f"{facts['sweep_s']:.1f} s; children " +
                ", ".join(f"{pid}: {rss:.0f} MiB (peak {peak:.0f})" for pid, rss, peak in readings))
        return readings, master, facts
    finally:
        app.control.purge()
        _stop(process)
        app.control.purge()


def run(ctx: Context) -> list[Row]:
    import tempfile

    from django.db import connections

    data = bench_cases(ctx)
    logs = tempfile.mkdtemp(prefix="portal_bench_memory_")
    web, web_master, requests = _web(ctx, data, os.path.join(logs, "gunicorn.log"))
    connections.close_all()
    worker, worker_master, facts = _celery(ctx, data, os.path.join(logs, "celery.log"))
    web_max = max(rss for _, rss, _ in web)
    worker_max = max(rss for _, rss, _ in worker)
    return [
        Row(what=f"memory: gunicorn web worker RSS after {requests} requests (catalogue API + work list)",
            figure=f"{web_max:.0f} MiB (workers " + ", ".join(f"{rss:.0f}" for _, rss, _ in web)
                   + f"; peak {max(peak for _, _, peak in web):.0f})",
            target=f"< {WEB_TARGET_MIB} MB", reference=f"master {web_master:.0f} MiB",
            passed=web_max * 1.048576 < WEB_TARGET_MIB, value=web_max, unit="MiB"),
        Row(what="memory: Celery worker child RSS after an issuance (render + sign) and the deadline sweep",
            figure=f"{worker_max:.0f} MiB (children " + ", ".join(f"{rss:.0f}" for _, rss, _ in worker)
                   + f"; peak {max(peak for _, _, peak in worker):.0f})",
            target=f"< {WORKER_TARGET_MIB} MB",
            reference=f"master {worker_master:.0f} MiB; sweep {facts['changed']:,} changes in {facts['sweep_s']:.1f} s",
            passed=worker_max * 1.048576 < WORKER_TARGET_MIB, value=worker_max, unit="MiB"),
    ]
