"""Audit anchors (issue 14, decision 042): the chain heads signed with a key held outside the database and
appended to a file, so that a rewrite recomputed by whoever can write the database is still found."""

import base64
import io
import json
from pathlib import Path

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import CommandError, call_command

from applications.models import Application
from portal.audit import audit_heads, audit_verify, canonical_json, department_chain, event_hash
from portal.audit_anchor import AuditAnchorRefused, key_id
from portal.models import AuditEvent
from portal.tasks import audit_anchor_task
from tests.concurrency import race
from tests.portal.test_audit import CHAIN, append, tamper

OPINION = "材料齐全，符合法定条件"


def verify(*args, **options) -> tuple[str, str]:
    """`manage.py verify_audit`; its output and warnings."""
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_audit", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def verify_fails(*args, **options) -> CommandError:
    with pytest.raises(CommandError) as failure:
        verify(*args, **options)
    return failure.value


def anchor_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def head_seq(chain: str = CHAIN) -> int:
    return audit_heads()[chain][0]


def rewrite_and_recompute(event: AuditEvent, payload: dict) -> None:
    """The attack (issue 14): edit one event's payload in the database, then recompute every later hash and
    the head with the project's own hash function, as whoever can write the database can."""
    events = list(AuditEvent.objects.filter(chain=event.chain, seq__gte=event.seq).order_by("seq"))
    events[0].payload = payload
    previous = events[0].prev_hash
    for each in events:
        each.prev_hash = previous
        each.hash = previous = event_hash(each)
    for each in events:
        tamper("UPDATE portal_auditevent SET payload = %s, prev_hash = %s, hash = %s WHERE id = %s",
               [json.dumps(each.payload, ensure_ascii=False), each.prev_hash, each.hash, each.pk])
    tamper("UPDATE portal_auditchainhead SET last_hash = %s WHERE name = %s", [previous, event.chain])


@pytest.fixture
def anchors(settings) -> Path:
    return Path(settings.AUDIT_ANCHOR_PATH)


@pytest.fixture
def decided(as_user, clerk, reviewer, submitted):
    """A case accepted, claimed and approved through the API, anchored after each step: the seqs anchored."""
    anchored, chain = [], department_chain(Application.objects.get(number=submitted).department_id)
    with time_machine.travel("2026-11-24 10:00 +0800"):
        for who, action, data in ((clerk, "accept", {}), (reviewer, "claim", {}), (reviewer, "approve", {"opinion": OPINION})):
            response = as_user(who).post(f"/api/v1/applications/{submitted}/{action}/", data, format="json")
            assert response.status_code == 200, response.content
            verify()
            anchored.append(head_seq(chain))
    return anchored


@pytest.mark.django_db
class TestAnchors:
    def test_verify_audit_appends_the_head_signed_with_a_key_a_verifier_needs_only_the_public_half_of(self, anchors):
        events = append(3)
        out, err = verify()
        assert "审计链完整：共 3 条事件" in out and f"已写入审计锚点：链 {CHAIN} #3（{anchors}）" in out
        assert "尚无审计锚点" in err  # the first run: nothing to compare with yet
        [line] = anchor_lines(anchors)
        assert line["kind"] == "anchor" and line["chains"][CHAIN] == {"seq": 3, "hash": events[-1].hash}

        # What an auditor or the log collector does with the public key alone.
        public_text = verify(public_key=True)[0].split()[0]
        public_key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(public_text))
        signature = base64.b64decode(line.pop("signature"))
        public_key.verify(signature, canonical_json(line).encode())  # raises if it does not verify

        out, err = verify()
        assert "与审计锚点相符：核对 1 处" in out and err == ""
        assert [line["chains"][CHAIN]["seq"] for line in anchor_lines(anchors)] == [3, 3]

    def test_a_rewritten_and_recomputed_chain_is_found_at_the_first_anchor_after_the_edit(
        self, decided, anchors, settings, tmp_path,
    ):
        _, claimed, approved = decided
        append(2)  # later work on other cases
        verify()
        approval = AuditEvent.objects.get(action="application_approve")
        assert approval.payload["opinion"] == OPINION and approval.seq == approved == claimed + 1

        rewrite_and_recompute(approval, {**approval.payload, "opinion": "材料不全，但予以通过"})

        # The chain alone cannot tell: it verifies, and verify_audit without the anchors passes.
        assert audit_verify() == (AuditEvent.objects.count(), None)
        settings.AUDIT_ANCHOR_PATH = str(tmp_path / "no-anchors-yet.jsonl")
        assert "审计链完整" in verify()[0]
        settings.AUDIT_ANCHOR_PATH = str(anchors)

        failure = verify_fails()
        assert failure.returncode == 1
        message = str(failure)
        first = message.splitlines()[0]
        # The anchor after the approval (line 3) is the first not to match; the one after the claim still does.
        assert first.startswith(f"审计锚点不符：{anchors} 第 3 行（2026-11-24 10:00:")
        assert f"）锚定链 {approval.chain} #{approved} 的哈希为" in first
        assert f"#{approved} 在锚定之后被改写，其后的哈希被重算" in first
        assert "第 1 行" not in message and "第 2 行" not in message
        assert "第 4 行" in message  # the anchor taken later does not match either
        assert len(anchor_lines(anchors)) == 4  # nothing anchored over a failure

    def test_an_edited_or_forged_anchor_line_fails_its_signature(self, anchors):
        append(3)
        verify()
        line = anchor_lines(anchors)[0]
        # Re-anchoring a recomputed chain by editing the line keeps the old signature: it no longer matches.
        edited = {**line, "chains": {CHAIN: {"seq": 3, "hash": "a" * 64}}}
        # Signing it with a key of one's own: not this system's key.
        intruder = Ed25519PrivateKey.generate()
        forged = {key: value for key, value in edited.items() if key != "signature"}
        forged["key"] = key_id(intruder.public_key())
        forged["signature"] = base64.b64encode(intruder.sign(canonical_json(forged).encode())).decode()
        anchors.write_text("\n".join([canonical_json(line), canonical_json(edited), canonical_json(forged), "{not json"]) + "\n")

        failure = verify_fails()
        assert failure.returncode == 1
        assert str(failure).splitlines() == [
            f"审计锚点文件被改动：{anchors} 第 2 行：签名不符：该行被改动或伪造",
            f"审计锚点文件被改动：{anchors} 第 3 行：签名密钥 {forged['key']} 不是本系统的锚点密钥",
            f"审计锚点文件被改动：{anchors} 第 4 行：无法解析，不是一条锚点",
        ]

    def test_the_timer_appends_an_anchor_and_refuses_to_bless_a_rewrite(self, anchors):
        events = append(2)
        out = io.StringIO()
        call_command("run_timers", stdout=out)
        assert f"audit-anchor: {{'{CHAIN}': 2}}" in out.getvalue()
        assert anchor_lines(anchors)[-1]["chains"][CHAIN] == {"seq": 2, "hash": events[-1].hash}

        append(1)
        assert audit_anchor_task.apply().get() == {CHAIN: 3}
        rewrite_and_recompute(events[0], {"note": "改过了"})
        result = audit_anchor_task.apply()
        assert result.failed() and isinstance(result.result, AuditAnchorRefused)
        assert f"锚定链 {CHAIN} #2 的哈希为" in str(result.result)
        assert [line["chains"][CHAIN]["seq"] for line in anchor_lines(anchors)] == [2, 3]

    def test_a_missing_or_emptied_file_is_a_warning_not_a_failure(self, anchors):
        append(2)
        out, err = verify()
        assert f"警告：尚无审计锚点（{anchors} 不存在或为空）" in err and f"已写入审计锚点：链 {CHAIN} #2" in out
        anchors.write_text("")
        out, err = verify()
        assert f"警告：尚无审计锚点（{anchors} 不存在或为空）" in err and len(anchor_lines(anchors)) == 1

    def test_a_torn_line_stops_anchoring_until_someone_looks(self, anchors):
        append(1)
        verify()
        with anchors.open("a") as file:
            file.write('{"kind":"anchor","chai')  # a crash mid-write, or an edit by hand
        assert f"{anchors} 第 2 行：无法解析" in str(verify_fails())
        assert audit_anchor_task.apply().failed()
        assert len(anchors.read_text().splitlines()) == 2

    def test_anchors_of_another_key_verify_once_its_public_key_is_listed(self, settings, anchors):
        append(2)
        old = Ed25519PrivateKey.generate()
        old_raw = old.private_bytes_raw()
        settings.AUDIT_ANCHOR_KEY = base64.urlsafe_b64encode(old_raw).decode()
        verify()
        settings.AUDIT_ANCHOR_KEY = base64.urlsafe_b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
        assert "不是本系统的锚点密钥" in str(verify_fails())
        public = old.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        settings.AUDIT_ANCHOR_PREVIOUS_PUBLIC_KEYS = [base64.urlsafe_b64encode(public).decode()]
        assert "与审计锚点相符：核对 1 处" in verify()[0]


@pytest.mark.django_db
class TestLostTail:
    """What a restore from an older backup looks like to the anchors: the database ends before seqs they name."""

    def cut_tail(self, keep: int) -> None:
        kept = AuditEvent.objects.get(chain=CHAIN, seq=keep)
        tamper("DELETE FROM portal_auditevent WHERE chain = %s AND seq > %s", [CHAIN, keep])
        tamper("UPDATE portal_auditchainhead SET last_seq = %s, last_hash = %s WHERE name = %s", [keep, kept.hash, CHAIN])

    def test_unrecorded_it_exits_3_and_after_restore_it_is_recorded_as_lost(self, anchors):
        append(3)
        verify()
        append(2)
        verify()
        self.cut_tail(3)

        failure = verify_fails()
        assert failure.returncode == 3
        assert f"审计链比锚点短：{anchors} 第 2 行" in str(failure) and f"）锚定了链 {CHAIN} #5，库中只到 #3" in str(failure)
        assert "verify_audit --after-restore" in str(failure)
        assert audit_anchor_task.apply().failed()

        out, _ = verify(after_restore=True)
        assert f"已记下恢复：链 {CHAIN} 回到 #3，锚点曾到 #5" in out and "#4–#5 共 2 条事件随恢复丢失" in out
        assert [line["kind"] for line in anchor_lines(anchors)] == ["anchor", "anchor", "restore"]

        # Work goes on from #4 with other events than the lost ones; the old anchor of #5 no longer applies.
        append(3)
        out, err = verify()
        assert f"信息：{anchors} 第 3 行" in out and f"链 {CHAIN} 回到 #3，此前已锚定到 #5，#4–#5 共 2 条事件随恢复丢失" in out
        assert f"已写入审计锚点：链 {CHAIN} #6" in out and err == ""
        assert audit_anchor_task.apply().get() == {CHAIN: 6}

    def test_after_a_restore_the_anchors_before_it_still_catch_a_rewrite(self, anchors):
        events = append(3)
        verify()
        append(2)
        verify()
        self.cut_tail(3)
        verify(after_restore=True)
        rewrite_and_recompute(events[1], {"note": "改过了"})
        failure = verify_fails()
        assert failure.returncode == 1 and f"{anchors} 第 1 行" in str(failure) and "#1–#3 间有事件在锚定之后被改写" in str(failure)


@pytest.mark.django_db(transaction=True)
def test_verify_audit_while_events_are_appended_anchors_what_it_verified(anchors):
    """One snapshot for the events and the head: appends committed meanwhile never look like a broken chain."""

    def appender():
        append(40)
        return "appended"

    def verifier():
        return [verify()[0] for _ in range(6)]

    *appended, outputs = race([appender, appender, appender, verifier])
    assert appended == ["appended"] * 3
    assert len(outputs) == 6 and all("审计链完整" in out and "已写入审计锚点" in out for out in outputs)
    seqs = [line["chains"].get(CHAIN, {"seq": 0})["seq"] for line in anchor_lines(anchors)]
    assert seqs == sorted(seqs) and len(seqs) == 6
    # Each anchor taken after the chain's first event is compared (one taken before has nothing to compare).
    assert f"与审计锚点相符：核对 {sum(1 for seq in seqs if seq)} 处" in verify()[0]
