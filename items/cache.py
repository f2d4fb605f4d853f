"""The public catalogue API's response cache (docs/decisions/011-catalogue-cache.md).

The catalogue changes a few times a day and is read all day long, mostly by the same few requests (the
guide's landing page, popular searches, item pages). So each web process keeps the JSON bodies it has
rendered in a bounded LRU, keyed by the catalogue's *generation*:

- The generation is a random token in one database row (`CatalogueGeneration`). `catalogue_changed()`
  writes a new token inside the transaction of the change, so the token and the data commit together (or
  roll back together): no change can commit without retiring the cached bodies, and no token is ever seen
  whose data is not committed. Services call it explicitly (`item_publish`, `catalogue_import`); signal
  receivers below cover every other save of a row the API shows (departments and certificate types edited
  in the admin, an item's codes).
- A process reads the token at most once every `CHECK_INTERVAL` seconds (and at once after a commit that
  changed it in this process), so a hit costs no query at all, and another process or host serves the old
  body for at most `CHECK_INTERVAL` after the commit.
- A body is stored under the token read *before* its data was read, so a body can be newer than its key,
  never older.
- The cache is used only in autocommit mode: inside a transaction (a test's, or a view run in
  `atomic`), what a query sees may never commit, so nothing is served from or stored into the cache there.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from certificates.models import CertificateType
from items.models import CatalogueGeneration, Item
from portal.models import Department

# Staleness bound for other processes and hosts (seconds): how old a process's idea of the generation may be.
CHECK_INTERVAL = 0.25
# Safety net for writes that bypass both the services and the signals (queryset.update(), raw SQL, a
# restored backup): no body is served longer than this after it was rendered.
MAX_AGE = 60.0
# Per process: ~400 list pages of ~80 KiB, or every item page; well inside the 200 MB worker budget.
MAX_BYTES = 32 * 2**20
MAX_ENTRIES = 4096


# ---------------------------------------------------------------------------------------------- generation


def catalogue_changed() -> None:
    """Record that what the public catalogue API shows has changed: a new generation token, written in the
    current transaction (call it inside the transaction of the change).

    Once per transaction: a catalogue import publishing 2,500 items writes the row once. Django drops the
    on-commit hook of a rolled-back savepoint, so a token written inside one is written again by the next
    change.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(hook is _after_commit for _, hook, _ in connection.run_on_commit):
        return
    token, now = uuid.uuid4().hex, timezone.now()
    if not CatalogueGeneration.objects.filter(pk=1).update(token=token, changed_at=now):
        # The migration seeds the row; a flushed test database has none.
        CatalogueGeneration.objects.update_or_create(pk=1, defaults={"token": token, "changed_at": now})
    # Only to make this process see its own change at once; other processes poll.
    transaction.on_commit(_after_commit, robust=True)


def _after_commit() -> None:
    response_cache.expire_generation()


def read_generation() -> str | None:
    """The committed token; None when there is no row (a flushed test database): then nothing is cached."""
    return CatalogueGeneration.objects.filter(pk=1).values_list("token", flat=True).first()


@receiver([post_save, post_delete], sender=Department)
@receiver([post_save, post_delete], sender=CertificateType)
@receiver([post_save, post_delete], sender=Item)
def _shown_row_changed(sender, **kwargs) -> None:
    # Departments (list, item department/joint departments), certificate types (an item's result, a
    # material's satisfied_by code and name) and items (codes, current version) appear in the API.
    # Versions and materials need none: published ones are frozen, drafts are never shown.
    catalogue_changed()


# ---------------------------------------------------------------------------------------------- bodies


@dataclass(frozen=True)
class CachedResponse:
    status: int
    headers: dict
    body: bytes
    stored_at: float


class CatalogueResponseCache:
    """One process's rendered responses, keyed by (generation, scheme, host, path, Accept, query).

    Scheme and host are in the key because the bodies hold absolute URLs (`next`/`previous`, a
    material's `blank_form_url`/`sample_url`); Accept because DRF negotiates the renderer from it (only
    JSON is stored); the query parameters sorted by name (values in their order), which is how DRF rebuilds
    them in `next`, so two spellings of one query share a body.
    """

    def __init__(self, *, check_interval=CHECK_INTERVAL, max_age=MAX_AGE, max_bytes=MAX_BYTES,
                 max_entries=MAX_ENTRIES, clock=time.monotonic):
        self.check_interval, self.max_age = check_interval, max_age
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, CachedResponse] = OrderedDict()
        self._bytes = 0
        self._generation: str | None = None
        self._next_check = float("-inf")

    # -- generation

    def generation(self) -> str | None:
        """The generation as this process knows it, read from the database at most every check_interval."""
        now = self.clock()
        if now >= self._next_check:
            token = read_generation()
            with self._lock:
                if token != self._generation:
                    self._clear()
                    self._generation = token
                self._next_check = now + self.check_interval
        return self._generation

    def expire_generation(self) -> None:
        """Read the generation again on the next request (this process has just committed a change)."""
        self._next_check = float("-inf")

    def clear(self) -> None:
        with self._lock:
            self._clear()
            self._generation = None
            self._next_check = float("-inf")

    def _clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    # -- requests

    def respond(self, request, render) -> HttpResponse:
        """The cached response to a GET, or `render()`'s, stored when it is a 200 JSON body."""
        if request.method != "GET" or transaction.get_connection().in_atomic_block:
            return render()
        generation = self.generation()
        if generation is None:
            return render()
        key = (
            generation,
            request.scheme,
            request.get_host(),
            request.path,
            request.META.get("HTTP_ACCEPT", ""),
            tuple((name, tuple(values)) for name, values in sorted(request.GET.lists())),
        )
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if now - entry.stored_at < self.max_age:
                    self._entries.move_to_end(key)
                else:
                    self._discard(key)
                    entry = None
        if entry is not None:
            return HttpResponse(entry.body, status=entry.status, headers=entry.headers)

        response = render()
        if response.status_code == 200 and isinstance(getattr(response, "accepted_renderer", None), JSONRenderer):
            response.render()
            self._store(key, CachedResponse(response.status_code, dict(response.items()), response.content, now))
        return response

    def _store(self, key: tuple, entry: CachedResponse) -> None:
        size = len(entry.body)
        if size > self.max_bytes // 4:
            return  # one huge body must not flush everything else
        with self._lock:
            if key[0] != self._generation:
                return  # the generation moved on while this body was rendered
            if key in self._entries:
                self._discard(key)
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes or len(self._entries) > self.max_entries:
                self._discard(next(iter(self._entries)))

    def _discard(self, key: tuple) -> None:
        self._bytes -= len(self._entries.pop(key).body)

    def __len__(self) -> int:
        return len(self._entries)


response_cache = CatalogueResponseCache()


class CachedCatalogueMixin:
    """For the public catalogue API views (anonymous, no per-user content): answer from `response_cache`
    before DRF's request handling starts, which is most of the cost of a hit."""

    def dispatch(self, request, *args, **kwargs):
        def render():
            return super(CachedCatalogueMixin, self).dispatch(request, *args, **kwargs)

        return response_cache.respond(request, render)
