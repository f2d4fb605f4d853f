"""The Celery broker as the web tier meets it: publishing that never stalls a request, and short, bounded
looks for the health check and the metrics.

Everything a request queues is a row first (the notification outbox, the pending issuance), so a message
that cannot be published is only late: the retry sweeps send it. Publishing therefore makes one attempt
with no retries and no result backend, and after a failure this process stops trying for
`PUBLISH_PAUSE_SECONDS` — a broker outage costs one refused connection per process per pause, not one per
request (issue 14: accept took 19 s with Redis down).
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCacheClient
from kombu import Connection
from kombu.exceptions import ChannelError

logger = logging.getLogger(__name__)

BROKER_PROBE_TIMEOUT = 2
PUBLISH_PAUSE_SECONDS = 30
_publishing_paused_until = 0.0
_marking_paused_until = 0.0


def publish(task, *, args: list, what: str, countdown: float | None = None) -> bool:
    """Queue `task` now (or to run `countdown` seconds from now); False when the broker is unreachable (or
    was, moments ago) and the sweep will."""
    global _publishing_paused_until
    if time.monotonic() < _publishing_paused_until:
        return False
    try:
        task.apply_async(args=args, retry=False, ignore_result=True,
                         **({"countdown": countdown} if countdown is not None else {}))
    except Exception as error:  # the broker is the outside world: nothing is lost, only delayed
        _publishing_paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS
        logger.warning("%s 未能入队（%s）；%d 秒内不再尝试入队，由重试任务补发", what, error, PUBLISH_PAUSE_SECONDS)
        return False
    return True


# A drain queued but not begun: later commits need not queue another (it will see their rows). Past this
# age the mark lapses (a worker that never took the message) and the next commit queues a drain again.
WAKE_SECONDS = 10


def wake(task, *, name: str, what: str) -> bool:
    """Queue `task`, a drain that finds its own work (due rows of an outbox), unless one is queued already
    and has not begun: a transition's commit then costs one Redis SET NX instead of a broker message
    (DESIGN §12). Every row committed before the mark was found set is seen by the drain that clears it,
    because a drain clears the mark (`woken`) before it reads. Without a shared cache (the embedded default:
    each process's own memory), or when the cache does not answer, every call queues one."""
    global _marking_paused_until
    if time.monotonic() < _publishing_paused_until:
        return False  # the broker was unreachable moments ago: the sweep sends what is waiting
    key = f"wake:{name}"
    marked = False
    if settings.BROKER_WAKE_SHARED and time.monotonic() >= _marking_paused_until:
        try:
            if not _mark(key):
                return True
            marked = True
        except Exception as error:  # the cache is the outside world: queue a drain as if none were queued
            _marking_paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS  # and do not wait on it again soon
            logger.warning("%s：共享缓存不可用（%s），%d 秒内直接入队", what, error, PUBLISH_PAUSE_SECONDS)
    if publish(task, args=[], what=what):
        return True
    if marked:
        woken(name)  # nothing was queued: the next commit tries again
    return False


def _mark(key: str) -> bool:
    """`cache.add(key, 1, WAKE_SECONDS)`: True when this call set it. On Redis through one client per cache
    connection kept for the purpose: Django's Redis backend builds a new client object (and its table of
    response callbacks) for every command, which cost a wake more than the round trip."""
    client = getattr(cache._cache, "_wake_client", None) if isinstance(cache._cache, RedisCacheClient) else None
    if client is None:
        if not isinstance(cache._cache, RedisCacheClient):
            return cache.add(key, 1, timeout=WAKE_SECONDS)
        client = cache._cache._wake_client = cache._cache.get_client(write=True)
    return bool(client.set(cache.make_and_validate_key(key), 1, nx=True, ex=WAKE_SECONDS))


def woken(name: str) -> bool:
    """A drain begins: commits from now on queue the next one. False when the mark could not be cleared (it
    lapses by itself after WAKE_SECONDS; the drain then queues a look after that)."""
    if not settings.BROKER_WAKE_SHARED:
        return True
    try:
        cache.delete(f"wake:{name}")
    except Exception as error:
        logger.warning("清除 wake:%s 失败（%s）", name, error)
        return False
    return True


def publishing_resume() -> None:
    """Try the broker (and the wake marks' cache) again at the next publish (the health check saw it back;
    tests)."""
    global _publishing_paused_until, _marking_paused_until
    _publishing_paused_until = _marking_paused_until = 0.0


def _connection() -> Connection:
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        options.update(socket_timeout=BROKER_PROBE_TIMEOUT, socket_connect_timeout=BROKER_PROBE_TIMEOUT)
    return Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_PROBE_TIMEOUT, transport_options=options)


def broker_ping() -> None:
    """Raises if the broker cannot be reached within the timeout; a broker that answers ends a publishing
    pause early."""
    with _connection() as connection:
        connection.ensure_connection(max_retries=1, timeout=BROKER_PROBE_TIMEOUT)
        connection.default_channel  # opens a channel: for Redis, a real round trip
    publishing_resume()


def broker_queue_depths(*, queues: list[str] | None = None) -> dict[str, int]:
    """Messages waiting per queue (by default the one the workers consume)."""
    queues = queues or [settings.CELERY_TASK_DEFAULT_QUEUE]
    depths = {}
    with _connection() as connection:
        connection.ensure_connection(max_retries=1, timeout=BROKER_PROBE_TIMEOUT)
        for queue in queues:
            try:
                depths[queue] = connection.default_channel.queue_declare(queue=queue, passive=True).message_count
            except ChannelError:  # not declared yet: no worker has started on it, nothing waits there
                depths[queue] = 0
    return depths
