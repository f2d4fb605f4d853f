"""What operators rely on (issue 13): a cheap and a full health check, a protected scrape endpoint with the
outbox, queue and timer gauges, and the timers' last runs."""

import io
import time
import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from portal.broker import broker_queue_depths
from portal.celery import app
from portal.models import Notification, TimerRun
from portal.notifications import MAX_ATTEMPTS
from portal.tasks import worker_echo_task
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = {"HTTP_AUTHORIZATION": "Bearer test-metrics-token"}


def samples(response) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_healthz_is_cheap_and_full_checks_every_dependency(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    response = client.get("/healthz?full=1")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "storage": "ok"}}


def test_full_healthz_names_an_unreachable_broker_quickly(client):
    started = time.monotonic()
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:9/0", CELERY_BROKER_TRANSPORT_OPTIONS={}):
        response = client.get("/healthz?full=1")
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert response.json() == {"status": "fail", "checks": {"database": "ok", "broker": "fail", "storage": "ok"}}
    assert "9" not in response.content.decode().replace("ok", "")  # no address or reason in the public answer


def test_full_healthz_names_unwritable_storage(client, tmp_path):
    not_a_folder = tmp_path / "media"
    not_a_folder.write_text("a file where the media folder should be")
    with override_settings(MEDIA_ROOT=str(not_a_folder)):
        response = client.get("/healthz?full=1")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "fail"}


def test_scrape_endpoint_needs_its_token_or_an_allowed_network(client):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="test-metrics-token").status_code == 403
    assert client.get("/metrics", **TOKEN).status_code == 200
    with override_settings(METRICS_ALLOWED_NETWORKS=["10.0.0.0/8"]):
        assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="192.168.1.9").status_code == 403
    with override_settings(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=[]):  # nothing configured: closed
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_outbox_gauges_count_what_waits_and_what_was_given_up(client):
    user = UserFactory()
    Notification.objects.create(user=user, kind="decided", message="待发送")
    Notification.objects.create(user=user, kind="decided", message="已放弃", attempts=MAX_ATTEMPTS)
    Notification.objects.create(user=user, kind="decided", message="已发送", attempts=1, sent_at="2026-12-01T10:00Z")
    found = samples(client.get("/metrics", **TOKEN))
    assert found[("portal_notifications", (("state", "pending"),))] == 1
    assert found[("portal_notifications", (("state", "failed"),))] == 1
    assert found[("portal_issuances", (("status", "failed"),))] == 0
    assert found[("portal_metrics_source_up", (("source", "broker"),))] == 1
    assert ("portal_celery_queue_depth", (("queue", "celery"),)) in found


def test_a_broker_outage_costs_only_its_own_gauges(client):
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:9/0", CELERY_BROKER_TRANSPORT_OPTIONS={}):
        response = client.get("/metrics", **TOKEN)
    assert response.status_code == 200
    found = samples(response)
    assert found[("portal_metrics_source_up", (("source", "broker"),))] == 0
    assert found[("portal_metrics_source_up", (("source", "notifications"),))] == 1
    assert not any(name == "portal_celery_queue_depth" for name, _ in found)


def test_queue_depth_counts_messages_waiting_on_a_queue():
    queue = f"depth-{uuid.uuid4().hex[:10]}"
    for _ in range(3):
        worker_echo_task.apply_async(args=["等待"], queue=queue)
    try:
        assert broker_queue_depths(queues=[queue]) == {queue: 3}
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)


def test_timer_runs_are_recorded_and_scraped(client):
    call_command("run_timers", stdout=io.StringIO())
    runs = {run.name: run for run in TimerRun.objects.all()}
    assert set(runs) == set(settings.CELERY_BEAT_SCHEDULE)
    assert all(run.runs == 1 and run.last_succeeded and run.last_duration_seconds >= 0 for run in runs.values())
    call_command("run_timers", stdout=io.StringIO())
    assert TimerRun.objects.get(name="deadline-sweep").runs == 2
    found = samples(client.get("/metrics", **TOKEN))
    assert found[("portal_timer_last_succeeded", (("timer", "deadline-sweep"),))] == 1
    assert ("portal_timer_last_duration_seconds", (("timer", "notification-retry"),)) in found
    assert found[("portal_timer_duration_seconds_count", (("outcome", "ok"), ("timer", "statistics-rollup")))] >= 2


def test_timer_runs_are_read_only_in_the_admin(client):
    call_command("run_timers", stdout=io.StringIO())
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/portal/timerrun/")
    assert page.status_code == 200 and "deadline-sweep" in page.content.decode()
    run = TimerRun.objects.get(name="deadline-sweep")
    assert client.post(f"/admin/portal/timerrun/{run.pk}/delete/", {"post": "yes"}).status_code == 403
    assert TimerRun.objects.filter(pk=run.pk).exists()
