"""Short, bounded looks at the Celery broker for the health check and the metrics: never a stalled request.

Both go through kombu, so they read Redis in production and the filesystem transport of `make run` alike,
with connect and socket timeouts of `BROKER_PROBE_TIMEOUT` seconds and no retries.
"""

from django.conf import settings
from kombu import Connection
from kombu.exceptions import ChannelError

BROKER_PROBE_TIMEOUT = 2


def _connection() -> Connection:
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        options.update(socket_timeout=BROKER_PROBE_TIMEOUT, socket_connect_timeout=BROKER_PROBE_TIMEOUT)
    return Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_PROBE_TIMEOUT, transport_options=options)


def broker_ping() -> None:
    """Raises if the broker cannot be reached within the timeout."""
    with _connection() as connection:
        connection.ensure_connection(max_retries=1, timeout=BROKER_PROBE_TIMEOUT)
        connection.default_channel  # opens a channel: for Redis, a real round trip


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
