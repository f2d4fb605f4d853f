"""A task round-trips through a real Celery worker on the configured broker (Redis in CI)."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from portal.tasks import worker_echo_task

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_queue():
    """A real worker process listening on a queue of its own, so no other worker can take our message."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "-Q", queue, "--loglevel=INFO",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield queue
    process.terminate()
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output)


@pytest.mark.worker
def test_task_round_trips_through_a_real_worker(worker_queue):
    result = worker_echo_task.apply_async(args=["办件已受理"], queue=worker_queue)
    answer = result.get(timeout=90)
    assert answer["value"] == "办件已受理"
    assert answer["worker"]
    assert result.successful()


@pytest.mark.worker
def test_the_request_id_travels_with_the_task(worker_queue):
    """A task queued while serving a request runs (and logs) under that request's id in the worker."""
    from portal.logcontext import request_id_var

    token = request_id_var.set("req-4f2c9a")
    try:
        result = worker_echo_task.apply_async(args=["送达"], queue=worker_queue)
    finally:
        request_id_var.reset(token)
    assert result.get(timeout=90)["request_id"] == "req-4f2c9a"
    # Queued outside any request: no id is invented for it.
    assert worker_echo_task.apply_async(args=["定时"], queue=worker_queue).get(timeout=90)["request_id"] == ""


def test_broker_is_redis_when_redis_url_is_set():
    if os.environ.get("REDIS_URL"):
        assert settings.CELERY_BROKER_URL == os.environ["REDIS_URL"]
    else:
        assert settings.CELERY_BROKER_URL == "filesystem://"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_deadline_sweep_runs_in_a_real_worker(tmp_path):
    """The beat task goes through the broker to a worker process that works on this test's database."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone
    from rest_framework.test import APIClient

    from applications.models import Application
    from applications.tasks import application_alert_task
    from tests.factories import HallFactory, UserFactory, published_item
    from tests.files import pdf_file

    item = published_item()
    citizen, clerk = UserFactory(identified=True), UserFactory(clerk=True, hall=HallFactory())
    client = APIClient()
    client.force_authenticate(citizen)
    number = client.post("/api/v1/applications/", {"item": item.code}, format="json").json()["number"]
    for requirement in item.current_version.materials.filter(required=True, deferrable=False):
        client.post(f"/api/v1/applications/{number}/materials/", {"requirement": requirement.pk, "file": pdf_file()}, format="multipart")
    client.post(f"/api/v1/applications/{number}/submit/")
    client.force_authenticate(clerk)
    assert client.post(f"/api/v1/applications/{number}/accept/").status_code == 200
    today = timezone.localdate()
    Application.objects.filter(number=number).update(due_date=today - timedelta(days=1), next_alert_on=today)

    # The worker must open this test's database, not the development one.
    database = connection.settings_dict
    if connection.vendor == "postgresql":
        url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    else:
        url = f"sqlite:///{database['NAME']}"
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test", "DATABASE_URL": url}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "-Q", queue,
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        changed = application_alert_task.apply_async(queue=queue, ignore_result=False).get(timeout=90)
    finally:
        worker.terminate()
        worker.communicate(timeout=30)
    assert changed == 1
    assert Application.objects.get(number=number).alert_level == "overdue"
