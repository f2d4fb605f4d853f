"""The audit chain (DESIGN §9): append-only, hash-linked; verify_audit names the first broken event."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from portal.audit import GENESIS_HASH, audit_record, audit_verify, department_chain
from portal.models import AuditEvent
from tests.factories import UserFactory

CHAIN = department_chain(1)  # a department's chain (no department row needed: chains are named)


def append(count, actor=None, chain=CHAIN):
    events = []
    for index in range(count):
        with transaction.atomic():
            events.append(
                audit_record(
                    chain=chain,
                    actor=actor,
                    action="application_accept",
                    object_type="application",
                    object_id=f"CC-20261124-{index:06d}",
                    from_state="submitted",
                    to_state="accepted",
                    payload={"due_date": "2026-12-01", "note": "材料齐全，予以受理", "index": index},
                )
            )
    return events


def tamper(sql, params=()):
    """What a DBA with direct access could do: switch the append-only trigger off and edit rows."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS portal_auditevent_no_update")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def verify_audit_fails(match):
    with pytest.raises(CommandError, match=match):
        call_command("verify_audit")


@pytest.mark.django_db
class TestChain:
    def test_events_link_and_verify(self, capsys):
        actor = UserFactory(clerk=True, real_name="李娜")
        first, second, third = append(3, actor=actor)
        assert (first.seq + 1, first.seq + 2) == (second.seq, third.seq)
        assert second.prev_hash == first.hash and third.prev_hash == second.hash
        assert (third.actor, third.actor_name, third.role) == (actor, "李娜", "clerk")
        stored = AuditEvent.objects.get(pk=third.pk)
        assert stored.payload == {"due_date": "2026-12-01", "note": "材料齐全，予以受理", "index": 2}
        call_command("verify_audit")
        assert "审计链完整" in capsys.readouterr().out

    def test_first_event_links_to_genesis(self):
        assert not AuditEvent.objects.exists()
        (event,) = append(1)
        assert (event.seq, event.prev_hash, event.role) == (1, GENESIS_HASH, "system")

    def test_edited_payload_is_detected(self):
        events = append(4)
        tamper("UPDATE portal_auditevent SET payload = %s WHERE id = %s", ['{"note": "改过了"}', events[1].pk])
        verify_audit_fails(rf"事件 #{events[1].seq}（id={events[1].pk}）：内容与哈希不符")

    def test_edited_state_is_detected(self):
        events = append(3)
        tamper("UPDATE portal_auditevent SET to_state = 'approved' WHERE id = %s", [events[2].pk])
        verify_audit_fails(rf"事件 #{events[2].seq}")

    def test_recomputed_hash_breaks_the_next_link(self):
        events = append(3)
        tamper("UPDATE portal_auditevent SET hash = %s WHERE id = %s", ["f" * 64, events[0].pk])
        verify_audit_fails(rf"事件 #{events[0].seq}（id={events[0].pk}）")

    def test_deleted_event_is_detected(self):
        events = append(4)
        tamper("DELETE FROM portal_auditevent WHERE id = %s", [events[2].pk])
        verify_audit_fails(rf"事件 #{events[2].seq}：缺失")

    def test_deleted_tail_is_detected(self):
        events = append(3)
        tamper("DELETE FROM portal_auditevent WHERE id = %s", [events[2].pk])
        verify_audit_fails(rf"事件 #{events[2].seq}：链头记录到 #{events[2].seq}")

    def test_orm_refuses_updates_and_deletes(self):
        (event,) = append(1)
        with pytest.raises(TypeError):
            AuditEvent.objects.filter(pk=event.pk).update(action="x")
        with pytest.raises(TypeError):
            AuditEvent.objects.filter(pk=event.pk).delete()
        event.action = "x"
        with pytest.raises(TypeError):
            event.save()
        with pytest.raises(TypeError):
            event.delete()
        assert AuditEvent.objects.get(pk=event.pk).action == "application_accept"

    def test_database_trigger_refuses_raw_update(self):
        (event,) = append(1)
        with pytest.raises(DatabaseError, match="审计事件只能追加"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("UPDATE portal_auditevent SET action = 'x' WHERE id = %s", [event.pk])
        assert audit_verify() == (1, None)


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused():
    # An event must commit or roll back with the change it records.
    with pytest.raises(RuntimeError):
        audit_record(chain=CHAIN, action="application_accept")
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_unbroken_chain():
    errors = []

    def worker():
        try:
            append(15)
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 61))
    assert audit_verify() == (60, None)
