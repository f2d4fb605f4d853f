"""portal.broker.wake: a burst of commits queues one outbox drain (DESIGN §12), and nothing committed is
left behind: the drain clears the mark before it reads, a failed publish leaves no mark, a cache that does
not answer costs one wait and then a queued message per commit."""

import socket
import time
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache

from portal import broker
from portal.broker import wake, woken
from portal.celery import app
from portal.models import Notification
from portal.notifications import notification_drain, notify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def drain_queue():
    """A queue of this test's own on the real broker (the test workers share the default one), emptied after."""
    name = f"test-wake-{uuid.uuid4().hex[:12]}"
    yield name
    broker.publishing_resume()
    with broker._connection() as connection:
        connection.default_channel.queue_delete(name)


def queued(queue: str) -> int:
    return broker.broker_queue_depths(queues=[queue])[queue]


def drain_task(queue: str):
    return app.signature("portal.notification_drain_task", queue=queue)


@pytest.fixture
def shared(settings):
    settings.BROKER_WAKE_SHARED = True
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    cache.delete(f"wake:{name}")


def test_a_burst_of_commits_queues_one_drain_until_it_begins(shared, drain_queue):
    for _ in range(3):
        assert wake(drain_task(drain_queue), name=shared, what="测试") is True
    assert queued(drain_queue) == 1
    woken(shared)  # the drain begins: the next commit queues the next one
    assert wake(drain_task(drain_queue), name=shared, what="测试") is True
    assert queued(drain_queue) == 2


def test_without_a_shared_cache_every_commit_queues_one(settings, drain_queue):
    settings.BROKER_WAKE_SHARED = False  # the embedded default: each process's own memory cannot mark for others
    for _ in range(3):
        assert wake(drain_task(drain_queue), name="local", what="测试") is True
    assert queued(drain_queue) == 3


def test_a_publish_that_failed_leaves_no_mark(shared, broker_down):
    try:
        assert wake(drain_task("celery"), name=shared, what="测试") is False
        assert cache.get(f"wake:{shared}") is None  # so the next commit, with the broker back, queues one
    finally:
        broker.publishing_resume()


@pytest.fixture
def silent_redis():
    """A Redis that accepts the connection and never answers (the kernel completes the handshake): every
    command waits for the client's socket timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()


def test_a_cache_that_does_not_answer_costs_one_wait_then_a_drain_per_commit(settings, drain_queue, silent_redis):
    settings.BROKER_WAKE_SHARED = True
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": silent_redis,
                                   "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    timings = []
    for _ in range(3):
        started = time.monotonic()
        assert wake(drain_task(drain_queue), name="down", what="测试") is True
        timings.append(time.monotonic() - started)
    assert timings[0] >= 0.9  # the first commit waited for the cache's timeout…
    assert max(timings[1:]) < 0.5  # …the next ones do not try it again for a while
    assert queued(drain_queue) == 3


def test_a_drain_that_cannot_clear_its_mark_says_so(settings, silent_redis):
    settings.BROKER_WAKE_SHARED = True
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": silent_redis,
                                   "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    assert woken("down") is False  # commits until the mark lapses queue nothing: the drain must look again


def test_the_drain_clears_the_mark_and_sends_what_is_due(shared, settings, tmp_path):
    settings.SMS_BACKEND = "portal.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.log")
    cache.set("wake:notifications", 1, timeout=60)  # a drain was queued by a commit
    users = [UserFactory(phone=f"1380000000{n}") for n in range(3)]
    rows = notify(users=users, kind="accepted", message="您的申请已受理")
    later = Notification.objects.get(pk=rows[2].pk)
    later.next_attempt_at = later.created_at.replace(year=later.created_at.year + 1)  # backing off: not due
    later.save(update_fields=["next_attempt_at"])
    assert notification_drain() == 2
    assert cache.get("wake:notifications") is None
    assert set(Notification.objects.filter(sent_at__isnull=False).values_list("pk", flat=True)) == {
        rows[0].pk, rows[1].pk}
    assert len((tmp_path / "sms.log").read_text(encoding="utf-8").splitlines()) == 2
    assert notification_drain() == 0  # nothing is sent twice


def test_a_full_batch_wakes_another_drain_for_the_rest(shared, settings, tmp_path):
    settings.SMS_BACKEND = "portal.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.log")
    cache.delete("wake:notifications")
    notify(users=[UserFactory() for _ in range(3)], kind="accepted", message="您的申请已受理")
    try:
        assert notification_drain(batch=2) == 2
        assert cache.get("wake:notifications") == 1  # the next drain is queued
        assert notification_drain(batch=2) == 1
        assert Notification.objects.filter(sent_at__isnull=True).count() == 0
    finally:
        cache.delete("wake:notifications")


def test_the_drain_sends_rows_a_host_with_a_faster_clock_wrote(shared, settings, tmp_path):
    """The row's time is the web host's clock, the drain's the worker's: a few seconds apart, the drain still
    sends what it was queued for."""
    settings.SMS_BACKEND = "portal.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.log")
    (row,) = notify(users=[UserFactory(phone="13800000009")], kind="accepted", message="您的申请已受理")
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=row.next_attempt_at + timedelta(seconds=5))
    assert notification_drain() == 1
    assert Notification.objects.get(pk=row.pk).sent_at is not None
