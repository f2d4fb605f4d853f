"""The audit chain (全程留痕): append-only events linked by SHA-256, verifiable end to end."""

import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timezone as dt_timezone

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from portal.metrics import transition_counted
from portal.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
SYSTEM_ROLE = "system"
# Chains are named by their head. Today there is one, head row pk=1; when the chain is split per department
# (issue 20) this row keeps the name, so anchors taken before the split still name it (decision 042).
MAIN_CHAIN = "main"


def canonical_json(value) -> str:
    """Sorted keys, no spaces, UTF-8 as is: one text per value, so a hash or signature over it is stable."""
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over every field that matters, in canonical JSON, chained to the previous hash."""
    body = {
        "seq": event.seq,
        "at": event.at.astimezone(dt_timezone.utc).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_name": event.actor_name,
        "role": event.role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def audit_record(
    *,
    actor=None,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    from_state: str = "",
    to_state: str = "",
    payload: dict | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records: both commit or neither."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:  # the migration seeds it; a flushed test database may not have it
        AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    event = AuditEvent(
        seq=head.last_seq + 1,
        at=timezone.now(),
        actor=actor if actor is not None and actor.pk else None,
        actor_name=actor.display_name if actor is not None and actor.pk else "",
        role=(actor.role if actor is not None and actor.pk else SYSTEM_ROLE),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        from_state=from_state or "",
        to_state=to_state or "",
        # Round-trip through JSON so the stored payload is exactly what was hashed.
        payload=json.loads(canonical_json(payload or {})),
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(event)
    event.save(force_insert=True)
    head.last_seq, head.last_hash = event.seq, event.hash
    head.save(update_fields=["last_seq", "last_hash"])
    if from_state or to_state:  # a state change: counted once it is committed
        transaction.on_commit(lambda: transition_counted(action=action, outcome="done"))
    return event


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    event_id: int | None
    reason: str

    def __str__(self):
        where = f"事件 #{self.seq}" + (f"（id={self.event_id}）" if self.event_id is not None else "")
        return f"{where}：{self.reason}"


def _events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=5000)


@contextmanager
def audit_snapshot():
    """One consistent view of the events and the heads while verifying a live system: on PostgreSQL a
    read-only REPEATABLE READ transaction, so an append committed half-way through is either wholly seen
    (event and head) or not at all, instead of a head ahead of the events read before it. SQLite's
    transactions here take the write lock up front (settings), so there it reads as it always did."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def audit_heads() -> dict[str, tuple[int, str]]:
    """Every chain's head: {name: (last seq, last hash)}."""
    head = AuditChainHead.objects.filter(pk=1).first()
    return {MAIN_CHAIN: (head.last_seq, head.last_hash) if head is not None else (0, GENESIS_HASH)}


def audit_stored_hashes(*, chain: str, seqs: Iterable[int]) -> dict[int, str]:
    """The stored hash of each of these events of the chain that exists (seq 0 is the genesis)."""
    if chain != MAIN_CHAIN:
        return {}
    wanted = sorted(set(seqs))
    found = {0: GENESIS_HASH} if 0 in wanted else {}
    for start in range(0, len(wanted), 5000):
        found.update(AuditEvent.objects.filter(seq__in=wanted[start : start + 5000]).values_list("seq", "hash"))
    return found


def audit_verify() -> tuple[int, ChainBreak | None]:
    """Recompute the whole chain. Returns (events checked, the first break or None)."""
    expected_seq, previous_hash, checked = 1, GENESIS_HASH, 0
    for event in _events():
        if event.seq != expected_seq:
            return checked, ChainBreak(expected_seq, None, f"缺失（下一条为 #{event.seq}），事件被删除")
        if event.prev_hash != previous_hash:
            return checked, ChainBreak(event.seq, event.id, "前一事件哈希不符，链条被改动")
        if event_hash(event) != event.hash:
            return checked, ChainBreak(event.seq, event.id, "内容与哈希不符，事件被修改")
        previous_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead(last_seq=0, last_hash=GENESIS_HASH)
    if head.last_seq != checked or head.last_hash != previous_hash:
        return checked, ChainBreak(checked + 1, None, f"链头记录到 #{head.last_seq}，末尾事件被删除或链头被改动")
    return checked, None
