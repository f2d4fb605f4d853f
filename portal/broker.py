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
from kombu import Connection
from kombu.exceptions import ChannelError

logger = logging.getLogger(__name__)

BROKER_PROBE_TIMEOUT = 2
PUBLISH_PAUSE_SECONDS = 30
_publishing_paused_until = 0.0


def publish(task, *, args: list, what: str) -> bool:
    """Queue `task` now; False when the broker is unreachable (or was, moments ago) and the sweep will."""
    global _publishing_paused_until
    if time.monotonic() < _publishing_paused_until:
        return False
    try:
        task.apply_async(args=args, retry=False, ignore_result=True)
    except Exception as error:  # the broker is the outside world: nothing is lost, only delayed
        _publishing_paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS
        logger.warning("%s 未能入队（%s）；%d 秒内不再尝试入队，由重试任务补发", what, error, PUBLISH_PAUSE_SECONDS)
        return False
    return True


def publishing_resume() -> None:
    """Try the broker again at the next publish (the health check saw it back; tests)."""
    global _publishing_paused_until
    _publishing_paused_until = 0.0


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
