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
# Chains are named by their head row (decision 063). "main" is the one chain every event went to before the
# split (head row pk=1): closed since, its events verify as they always did and anchors taken before the split
# still name it. Since then each department has its own chain (every event of its cases, whoever acted), the
# service center one (halls, queue, appointments, its seal) and the system one (catalogue, accounts,
# organisations): a transition waits only for others of the same department.
MAIN_CHAIN = "main"
CENTER_CHAIN = "center"
SYSTEM_CHAIN = "system"
_DEPARTMENT_PREFIX = "department:"


def department_chain(department_id: int) -> str:
    return f"{_DEPARTMENT_PREFIX}{department_id}"


def chain_label(chain: str) -> str:
    """How people read a chain's name: 部门 #12 链, 中心链, 系统链, 原总链."""
    if chain.startswith(_DEPARTMENT_PREFIX):
        return f"部门 {chain.removeprefix(_DEPARTMENT_PREFIX)} 链"
    return {MAIN_CHAIN: "原总链", CENTER_CHAIN: "中心链", SYSTEM_CHAIN: "系统链"}.get(chain, chain)


def canonical_json(value) -> str:
    """Sorted keys, no spaces, UTF-8 as is: one text per value, so a hash or signature over it is stable."""
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over every field that matters, in canonical JSON, chained to the previous hash."""
    body = {
        # Events of the closed main chain were hashed before chains had names: their body stays as it was.
        **({"chain": event.chain} if event.chain != MAIN_CHAIN else {}),
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


def _locked_head(chain: str) -> AuditChainHead:
    """The chain's head row, locked until the transaction ends; a chain's first event creates it. Plain SQL:
    every transition runs it, and Django's compiling it cost more than the round trip (DESIGN §12)."""
    head = _select_head(chain)
    if head is None:  # two first events at once: one inserts, the other waits for it and goes on after it
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {AuditChainHead._meta.db_table} (name, last_seq, last_hash) VALUES (%s, 0, %s) "
                "ON CONFLICT (name) DO NOTHING",
                [chain, GENESIS_HASH],
            )
        head = _select_head(chain)
    return head


def _select_head(chain: str) -> AuditChainHead | None:
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""  # SQLite: the write lock is the lock
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, last_seq, last_hash FROM {AuditChainHead._meta.db_table} WHERE name = %s{lock}",
                       [chain])
        row = cursor.fetchone()
    if row is None:
        return None
    return AuditChainHead.from_db(connection.alias, ["id", "name", "last_seq", "last_hash"], (row[0], chain, *row[1:]))


def _append(event: AuditEvent, head: AuditChainHead) -> None:
    """Store the event and move the head to it. On PostgreSQL one statement (the INSERT in a WITH of the
    head's UPDATE): a transition's audit append costs two round trips with the head's lock, not three."""
    if connection.vendor != "postgresql":
        event.save(force_insert=True)
        head.save(update_fields=["last_seq", "last_hash"])
        return
    fields = [field for field in AuditEvent._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    values = [field.get_db_prep_save(field.pre_save(event, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH event AS (INSERT INTO {AuditEvent._meta.db_table} ({columns}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING id) "
            f"UPDATE {AuditChainHead._meta.db_table} SET last_seq = %s, last_hash = %s WHERE id = %s "
            "RETURNING (SELECT id FROM event)",
            [*values, head.last_seq, head.last_hash, head.pk],
        )
        event.pk = cursor.fetchone()[0]
    event._state.adding, event._state.db = False, connection.alias


def audit_record(
    *,
    chain: str,
    actor=None,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    from_state: str = "",
    to_state: str = "",
    payload: dict | None = None,
) -> AuditEvent:
    """Append one event to `chain` (department_chain(id), CENTER_CHAIN or SYSTEM_CHAIN). Call it inside the
    transaction of the change it records: both commit or neither. Only appends to the same chain wait for
    each other (its head row's lock)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    if chain == MAIN_CHAIN or not chain:
        raise ValueError(f"不能向审计链 {chain!r} 追加事件：原总链已于分链时封存")
    head = _locked_head(chain)
    event = AuditEvent(
        chain=chain,
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
    head.last_seq, head.last_hash = event.seq, event.hash
    _append(event, head)
    if from_state or to_state:  # a state change: counted once it is committed
        transaction.on_commit(lambda: transition_counted(action=action, outcome="done"))
    return event


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    event_id: int | None
    reason: str
    chain: str = MAIN_CHAIN

    def __str__(self):
        where = f"{chain_label(self.chain)}（{self.chain}）事件 #{self.seq}"
        where += f"（id={self.event_id}）" if self.event_id is not None else ""
        return f"{where}：{self.reason}"


def _events() -> Iterator[AuditEvent]:
    """Every event, chain by chain and in order within each (the (chain, seq) unique index)."""
    return AuditEvent.objects.order_by("chain", "seq").iterator(chunk_size=5000)


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
    return {name: (seq, last_hash) for name, seq, last_hash in AuditChainHead.objects.values_list("name", "last_seq", "last_hash")}


def audit_stored_hashes(*, chain: str, seqs: Iterable[int]) -> dict[int, str]:
    """The stored hash of each of these events of the chain that exists (seq 0 is the genesis)."""
    wanted = sorted(set(seqs))
    found = {0: GENESIS_HASH} if 0 in wanted else {}
    for start in range(0, len(wanted), 5000):
        found.update(AuditEvent.objects.filter(chain=chain, seq__in=wanted[start : start + 5000]).values_list("seq", "hash"))
    return found


def _head_break(chain: str, last_seq: int, last_hash: str, heads: dict[str, tuple[int, str]]) -> ChainBreak | None:
    """The chain's recomputed end against its head row."""
    if chain not in heads:
        return ChainBreak(last_seq, None, "链上有事件而链头记录不存在，链头被删除", chain)
    head_seq, head_hash = heads[chain]
    if head_seq != last_seq or head_hash != last_hash:
        return ChainBreak(last_seq + 1, None, f"链头记录到 #{head_seq}，末尾事件被删除或链头被改动", chain)
    return None


def audit_verify() -> tuple[int, ChainBreak | None]:
    """Recompute every chain against its head. Returns (events checked, the first break or None)."""
    heads = audit_heads()
    seen: set[str] = set()
    chain, expected_seq, previous_hash, checked = None, 1, GENESIS_HASH, 0
    for event in _events():
        if event.chain != chain:
            if chain is not None and (broken := _head_break(chain, expected_seq - 1, previous_hash, heads)):
                return checked, broken
            chain, expected_seq, previous_hash = event.chain, 1, GENESIS_HASH
            seen.add(chain)
        if event.seq != expected_seq:
            return checked, ChainBreak(expected_seq, None, f"缺失（下一条为 #{event.seq}），事件被删除", chain)
        if event.prev_hash != previous_hash:
            return checked, ChainBreak(event.seq, event.id, "前一事件哈希不符，链条被改动", chain)
        if event_hash(event) != event.hash:
            return checked, ChainBreak(event.seq, event.id, "内容与哈希不符，事件被修改", chain)
        previous_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    if chain is not None and (broken := _head_break(chain, expected_seq - 1, previous_hash, heads)):
        return checked, broken
    for name, (seq, last_hash) in sorted(heads.items()):  # a head whose every event is gone
        if name not in seen and (seq, last_hash) != (0, GENESIS_HASH):
            return checked, ChainBreak(1, None, f"链头记录到 #{seq}，而链上事件全部不见，事件被删除", name)
    return checked, None
