"""The read replica (decision 061, docs/deploy.md): statistics, catalogue and work-list reads go to a streaming
replica when one is configured; everything that writes, locks, or must see its own writes stays on the primary.

Inside a request (`ReplicaReadsMiddleware`) the first read that may go to the replica asks the replica how far
behind it is (one query on the replica): streaming and at most `REPLICA_MAX_LAG_SECONDS` behind, the request's
replica reads go there; otherwise, or when the replica does not answer, they go to the primary, and a replica
that did not answer is left alone for `REPLICA_RETRY_SECONDS` (no request waits on a dead host each time).
A user who wrote is pinned to the primary for `REPLICA_PIN_SECONDS` by a signed cookie: read-your-writes on
any app host. Outside a request (Celery tasks, commands) and inside a transaction every read is the primary's.
"""

import logging
import time
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"
# Catalogue models change only on publication; a replica a moment behind is fine for them.
REPLICA_APPS = {"items"}
PIN_COOKIE = "primary_reads"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


@dataclass
class _RequestReads:
    pinned: bool
    alias: str | None = None  # decided at the request's first replica read


_reads: ContextVar[_RequestReads | None] = ContextVar("replica_reads", default=None)
_down_until = 0.0  # this process leaves a replica that did not answer alone until then (time.monotonic())


@dataclass(frozen=True)
class ReplicaLag:
    streaming: bool  # in recovery, its WAL receiver running
    seconds: float | None  # 0 when it has replayed all it received; None when unknown
    bytes: int | None = None  # WAL the primary has written and the replica not replayed (healthz only)

    @property
    def usable(self) -> bool:
        return self.streaming and self.seconds is not None and self.seconds <= settings.REPLICA_MAX_LAG_SECONDS


def replica_enabled() -> bool:
    return settings.REPLICA_READS and REPLICA in settings.DATABASES


def replica_lag(*, with_bytes: bool = False) -> ReplicaLag:
    """Ask the replica how far behind it is; `with_bytes` also asks the primary where its WAL is.
    Raises DatabaseError when a server does not answer."""
    primary_lsn = None
    if with_bytes:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            primary_lsn = cursor.fetchone()[0]
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver),"
            " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
            " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END,"
            " pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())",
            [primary_lsn],
        )
        streaming, seconds, behind = cursor.fetchone()
    return ReplicaLag(
        streaming=bool(streaming),
        seconds=None if seconds is None else max(float(seconds), 0.0),
        bytes=None if behind is None else max(int(behind), 0),
    )


def _replica_down(error: Exception) -> None:
    """Leave a replica that failed alone for REPLICA_RETRY_SECONDS, its broken connection closed."""
    global _down_until
    logger.warning("只读副本无应答，读取改走主库：%s: %s", type(error).__name__, error)
    _down_until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
    with suppress(DatabaseError):
        connections[REPLICA].close()


def _replica_answers() -> bool:
    if time.monotonic() < _down_until:
        return False
    try:
        lag = replica_lag()
    except DatabaseError as error:
        _replica_down(error)
        return False
    if not lag.usable:
        logger.info("只读副本落后（%s 秒，streaming=%s），读取改走主库", lag.seconds, lag.streaming)
    return lag.usable


def read_database() -> str:
    """Where a read that may be a moment old goes: the replica within a request that may use it, else the
    primary. Statistics and the work list pass it to `.using()`; the router gives it for catalogue models."""
    reads = _reads.get()
    if reads is None or reads.pinned or connections[PRIMARY].in_atomic_block:
        return PRIMARY
    if reads.alias is None:
        reads.alias = REPLICA if _replica_answers() else PRIMARY
    return reads.alias


class ReplicaReadsMiddleware:
    """Marks the request as one whose reads may go to the replica, unless its user wrote in the last
    `REPLICA_PIN_SECONDS` (the signed cookie's own timestamp says when) or this request itself writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_enabled():
            return self.get_response(request)
        writes = request.method not in SAFE_METHODS
        wrote = request.get_signed_cookie(PIN_COOKIE, default=None, salt=PIN_COOKIE,
                                          max_age=settings.REPLICA_PIN_SECONDS) is not None
        token = _reads.set(_RequestReads(pinned=writes or wrote))
        try:
            response = self.get_response(request)
        finally:
            _reads.reset(token)
        if writes:
            response.set_signed_cookie(PIN_COOKIE, "1", salt=PIN_COOKIE, max_age=settings.REPLICA_PIN_SECONDS,
                                       secure=request.is_secure(), httponly=True, samesite="Lax")
        return response

    def process_exception(self, request, exception):
        """The replica went away between the request's lag check and one of its reads (a crash, a failover, a
        network cut): the request is answered again from the primary instead of a 500. Only a request that
        changes nothing (a safe method, so never pinned) and read on the replica is run again, once: its
        first run wrote nothing, and its second run reads the primary."""
        reads = _reads.get()
        if (reads is None or reads.alias != REPLICA or request.method not in SAFE_METHODS
                or not isinstance(exception, (OperationalError, InterfaceError))
                or not connections[REPLICA].errors_occurred):  # the primary's error: nothing to fall back to
            return None
        _replica_down(exception)
        reads.alias = PRIMARY
        return self.get_response(request)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if model._meta.app_label in REPLICA_APPS:
            return read_database()
        # What a row read on the replica leads to (its department, a prefetch) is read beside it, from the
        # same moment; the services lock their rows again, on the primary (select_for_update writes).
        instance = hints.get("instance")
        if instance is not None and instance._state.db == REPLICA:
            return REPLICA
        return PRIMARY

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary: same rows

    def allow_migrate(self, db, app_label, **hints):
        return db == PRIMARY
