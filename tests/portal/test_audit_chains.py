"""One audit chain per department, plus the center and the system (DESIGN §16, decision 063): each case's events
in its department's chain, verify_audit over every chain, and the split that keeps the old events verifying."""

import hashlib
import io
import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from applications.models import Application, State
from portal.audit import (
    CENTER_CHAIN,
    GENESIS_HASH,
    MAIN_CHAIN,
    SYSTEM_CHAIN,
    audit_heads,
    audit_record,
    audit_verify,
    canonical_json,
    department_chain,
)
from portal.audit_anchor import ANCHOR, anchor_append
from portal.models import AuditChainHead, AuditEvent
from tests.factories import ApplicationFactory, DepartmentFactory, UserFactory, published_item
from tests.portal.test_audit import append, tamper


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def verify_fails() -> CommandError:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", stdout=io.StringIO(), stderr=io.StringIO())
    return failure.value


@pytest.fixture
def two_departments_cases(citizen, clerk):
    """A case of each of two departments, accepted by the same window clerk: numbers by department id."""
    cases = {}
    for index, name in enumerate(("长春市市场监督管理局", "长春市卫生健康委员会")):
        department = DepartmentFactory(code=f"DEPT-{index}", name=name)
        item = published_item(department=department)
        reviewer = UserFactory(reviewer=True, department=department)
        case = ApplicationFactory(item=item, applicant=citizen)
        case = ApplicationFactory.advance(case, to=State.APPROVED, clerk=clerk, reviewer=reviewer)
        cases[department.pk] = case.number
    return cases


@pytest.mark.django_db
class TestWhereEventsGo:
    def test_a_case_is_in_its_departments_chain_whoever_acted(self, two_departments_cases, clerk):
        for department_id, number in two_departments_cases.items():
            events = list(AuditEvent.objects.filter(object_type="application", object_id=number).order_by("id"))
            assert {event.chain for event in events} == {department_chain(department_id)}
            # The chain of one department holds that case's transitions in order, seq after seq.
            assert [event.seq for event in events] == list(range(1, len(events) + 1))
            assert "application_accept" in [event.action for event in events]
            accept = next(event for event in events if event.action == "application_accept")
            assert accept.actor == clerk  # the window (center staff) acted, the department's chain holds it
        heads = audit_heads()
        for department_id, number in two_departments_cases.items():
            chain = department_chain(department_id)
            count = AuditEvent.objects.filter(chain=chain).count()
            assert heads[chain][0] == count > 0
        assert verify().startswith(f"审计链完整：共 {AuditEvent.objects.count()} 条事件")

    def test_the_center_and_the_system_have_chains_of_their_own(self, hall, clerk):
        from applications.services.hall import hall_day_close

        hall_day_close(actor=clerk, hall=hall, day=date.today() + timedelta(days=3), reason="设备检修")
        call_command("createuser", "window9", "--role=clerk", "--password=Aa1!aaaaaaaa",
                     "--real-name=赵敏", f"--hall={hall.code}", stdout=io.StringIO())
        assert AuditEvent.objects.get(action="hall_day_close").chain == CENTER_CHAIN
        assert AuditEvent.objects.get(action="user_create", object_type="user").chain == SYSTEM_CHAIN
        assert not AuditEvent.objects.filter(chain=MAIN_CHAIN).exists()  # closed at the split

    def test_nothing_is_appended_to_the_closed_main_chain(self):
        with transaction.atomic(), pytest.raises(ValueError, match="原总链已于分链时封存"):
            audit_record(chain=MAIN_CHAIN, action="application_accept")
        assert not AuditEvent.objects.filter(chain=MAIN_CHAIN).exists()


@pytest.mark.django_db
class TestVerifyEveryChain:
    @pytest.mark.parametrize("victim", [department_chain(7), department_chain(8), CENTER_CHAIN])
    def test_a_tampered_event_in_any_chain_is_found_and_named(self, victim):
        events = {chain: append(3, chain=chain) for chain in (department_chain(7), department_chain(8), CENTER_CHAIN)}
        assert "审计链完整：共 9 条事件" in verify()
        edited = events[victim][1]
        tamper("UPDATE portal_auditevent SET payload = %s WHERE id = %s", ['{"note": "改过了"}', edited.pk])
        message = str(verify_fails())
        assert f"（{victim}）事件 #2（id={edited.pk}）：内容与哈希不符" in message

    def test_a_deleted_chain_head_is_found_by_its_events(self):
        append(2, chain=department_chain(7))
        append(2, chain=department_chain(8))
        tamper("DELETE FROM portal_auditchainhead WHERE name = %s", [department_chain(8)])
        assert f"（{department_chain(8)}）事件 #2：链上有事件而链头记录不存在，链头被删除" in str(verify_fails())

    def test_a_chain_deleted_whole_is_found_by_the_anchor(self):
        append(2, chain=department_chain(7))
        append(3, chain=department_chain(8))
        verify()  # anchors both heads
        tamper("DELETE FROM portal_auditevent WHERE chain = %s", [department_chain(8)])
        tamper("DELETE FROM portal_auditchainhead WHERE name = %s", [department_chain(8)])
        assert audit_verify() == (2, None)  # what is left is consistent in itself
        assert f"锚定的链 {department_chain(8)} 在库中不存在（链头被删除）" in str(verify_fails())

    def test_a_head_left_behind_by_deleted_events_is_found(self):
        append(2, chain=department_chain(7))
        tamper("DELETE FROM portal_auditevent WHERE chain = %s", [department_chain(7)])
        assert "链头记录到 #2，而链上事件全部不见，事件被删除" in str(verify_fails())

    def test_an_event_moved_to_another_chain_breaks_both(self):
        append(2, chain=department_chain(7))
        moved = append(2, chain=department_chain(8))[1]
        tamper("UPDATE portal_auditevent SET chain = %s, seq = 3 WHERE id = %s", [department_chain(7), moved.pk])
        assert f"（{department_chain(7)}）事件 #3（id={moved.pk}）：前一事件哈希不符" in str(verify_fails())


@pytest.mark.django_db(transaction=True)
def test_departments_append_at_once_without_breaking_any_chain():
    """Four writers on two departments' chains at once: each chain gap-free, every event verifies."""
    errors = []

    def worker(chain):
        try:
            append(15, chain=chain)
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    chains = [department_chain(7), department_chain(8)] * 2
    threads = [threading.Thread(target=worker, args=(chain,)) for chain in chains]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for chain in set(chains):
        seqs = list(AuditEvent.objects.filter(chain=chain).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, 31))
    assert AuditChainHead.objects.filter(name__in=set(chains)).count() == 2  # the first events raced; one head each
    assert audit_verify() == (60, None)


def _pre_split_hash(body: dict) -> str:
    """The hash as portal.audit computed it before the split (decision 042): no chain in the body."""
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_the_split_keeps_the_old_chain_and_its_anchors_verifying():
    """Migrate back to before the split, write the single chain as the old code did and anchor it, migrate
    forward: the old events verify unchanged, the anchor still matches, new events go to department chains."""
    before = [("portal", "0008_sms_purpose_complaint")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    OldEvent, OldHead = old_apps.get_model("portal", "AuditEvent"), old_apps.get_model("portal", "AuditChainHead")
    head = OldHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})[0]
    previous = GENESIS_HASH
    for seq in range(1, 4):
        at = datetime(2026, 11, 24, 2, seq, tzinfo=UTC)
        body = {"seq": seq, "at": at.isoformat(timespec="microseconds"), "actor": None, "actor_name": "",
                "role": "system", "action": "application_accept", "object_type": "application",
                "object_id": f"CC-20261124-{seq:06d}", "from_state": "submitted", "to_state": "accepted",
                "payload": {"index": seq}, "prev_hash": previous}
        previous = _pre_split_hash(body)
        OldEvent.objects.create(seq=seq, at=at, role="system", action="application_accept", object_type="application",
                                object_id=body["object_id"], from_state="submitted", to_state="accepted",
                                payload={"index": seq}, prev_hash=body["prev_hash"], hash=previous)
    OldHead.objects.filter(pk=head.pk).update(last_seq=3, last_hash=previous)
    anchor_append(kind=ANCHOR, heads={MAIN_CHAIN: (3, previous)})  # taken before the split, as the timer did

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert list(AuditEvent.objects.values_list("chain", "seq").order_by("id")) == [(MAIN_CHAIN, 1), (MAIN_CHAIN, 2), (MAIN_CHAIN, 3)]
    assert audit_heads()[MAIN_CHAIN] == (3, previous)
    out = verify()
    assert "审计链完整：共 3 条事件" in out and "与审计锚点相符：核对 1 处" in out
    # Work goes on in the departments' chains; the main chain stays as it was and keeps verifying.
    department = DepartmentFactory(code="DEPT-AFTER")
    append(2, chain=department_chain(department.pk))
    assert audit_heads()[MAIN_CHAIN] == (3, previous)
    out = verify()
    assert "审计链完整：共 5 条事件" in out and "核对 2 处" in out
    # Tampering with an old event is still found, in the main chain.
    old = AuditEvent.objects.get(chain=MAIN_CHAIN, seq=2)
    tamper("UPDATE portal_auditevent SET payload = %s WHERE id = %s", [json.dumps({"index": 99}), old.pk])
    assert f"原总链（{MAIN_CHAIN}）事件 #2（id={old.pk}）：内容与哈希不符" in str(verify_fails())


@pytest.mark.django_db
def test_case_history_reads_in_order_across_the_split(submitted):
    """A case begun before the split has events in the main chain and later ones in its department's: its
    history reads in the order they were appended, not by seq (high in the main chain, 1 in the new one)."""
    from applications.selectors import application_events

    case = Application.objects.get(number=submitted)
    before = list(application_events(application=case).values_list("action", flat=True))
    old = AuditEvent(chain=MAIN_CHAIN, seq=900, at=datetime(2026, 1, 5, tzinfo=UTC), role="system",
                     action="material_read", object_type="application", object_id=case.number, prev_hash=GENESIS_HASH,
                     hash="e" * 64)
    old.save(force_insert=True)
    with transaction.atomic():
        audit_record(chain=department_chain(case.department_id), action="material_read", object_type="application",
                     object_id=case.number)
    after = list(application_events(application=case).values_list("chain", "action"))
    assert [action for _, action in after] == [*before, "material_read", "material_read"]
    assert after[-2][0] == MAIN_CHAIN and after[-1][0] == department_chain(case.department_id)
