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


def test_broker_is_redis_when_redis_url_is_set():
    if os.environ.get("REDIS_URL"):
        assert settings.CELERY_BROKER_URL == os.environ["REDIS_URL"]
    else:
        assert settings.CELERY_BROKER_URL == "filesystem://"
