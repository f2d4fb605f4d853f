"""Audit anchors (decision 042): the chain heads signed outside the database.

Whoever can write the database can edit an event, recompute every later hash and the head, and the chain
still verifies on its own. An anchor is every chain's head (seq and hash), signed with AUDIT_ANCHOR_KEY — an
Ed25519 key from the environment, never in the database — and appended as one JSON line to
AUDIT_ANCHOR_PATH, a file shipped off the host. A recomputed chain differs at every anchored seq after the
edit, and the database writer cannot sign new anchors.

Anchors are written by `verify_audit` once the chain and the anchors agree, and by the `audit-anchor` timer.
`verify_audit --after-restore` (run by `restore`) writes a `restore` line instead when the database ends
before anchors taken after its backup: the events after the backup were lost with it, and those anchors
no longer apply.
"""

import base64
import hashlib
import json
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from portal.audit import ChainBreak, audit_heads, audit_snapshot, audit_stored_hashes, audit_verify, canonical_json

ANCHOR = "anchor"  # the heads at a moment
RESTORE = "restore"  # the heads just after a restore: earlier anchors beyond them were lost with the backup's tail


class AuditAnchorRefused(Exception):
    """The anchors and the database disagree: a new anchor would bless what is there now."""


# --- the key -------------------------------------------------------------------------------------------


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def signing_key() -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(settings.AUDIT_ANCHOR_KEY))
    except ValueError as error:
        raise ImproperlyConfigured("AUDIT_ANCHOR_KEY 须为 Ed25519 私钥：32 个随机字节，URL 安全 Base64") from error


def key_id(public_key: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw(public_key)).hexdigest()[:16]


def public_key_text(public_key: Ed25519PublicKey) -> str:
    return base64.urlsafe_b64encode(_raw(public_key)).decode()


def verifying_keys() -> dict[str, Ed25519PublicKey]:
    """By key id: this key's public half, and those of keys used before a rotation (their lines still count)."""
    keys = [signing_key().public_key()]
    for text in settings.AUDIT_ANCHOR_PREVIOUS_PUBLIC_KEYS:
        try:
            keys.append(Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(text)))
        except ValueError as error:
            raise ImproperlyConfigured(f"AUDIT_ANCHOR_PREVIOUS_PUBLIC_KEYS 中的 {text!r} 不是 Ed25519 公钥") from error
    return {key_id(key): key for key in keys}


# --- the file ------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # each line is itself: two alike lines are still two anchors
class Anchor:
    where: str  # file and line
    kind: str
    at: datetime
    chains: dict[str, tuple[int, str]]

    def __str__(self):
        return f"{self.where}（{timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}）"


def _signed(record: dict, key: Ed25519PrivateKey) -> str:
    signature = base64.b64encode(key.sign(canonical_json(record).encode())).decode()
    return canonical_json({**record, "signature": signature})


def anchor_parse(line: bytes, *, where: str, keys: dict[str, Ed25519PublicKey]) -> Anchor:
    """One line, its signature checked; ValueError saying why it does not count."""
    try:
        record = json.loads(line)
        signature = base64.b64decode(record.pop("signature"), validate=True)
        key = keys.get(record.get("key"))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError("无法解析，不是一条锚点") from None
    if key is None:
        raise ValueError(f"签名密钥 {record.get('key')} 不是本系统的锚点密钥")
    try:
        key.verify(signature, canonical_json(record).encode())
    except InvalidSignature:
        raise ValueError("签名不符：该行被改动或伪造") from None
    # Signed with our key, so written by anchor_append below: the shape is known.
    chains = {name: (head["seq"], head["hash"]) for name, head in record["chains"].items()}
    return Anchor(where=where, kind=record["kind"], at=datetime.fromisoformat(record["time"]), chains=chains)


@dataclass
class AnchorFile:
    anchors: list[Anchor] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # lines that are no valid anchor
    missing: list[Path] = field(default_factory=list)  # files absent or empty


def anchors_read(paths: list[Path]) -> AnchorFile:
    found, keys = AnchorFile(), verifying_keys()
    for path in paths:
        try:
            lines = path.read_bytes().split(b"\n")
        except FileNotFoundError:
            found.missing.append(path)
            continue
        if not any(line.strip() for line in lines):
            found.missing.append(path)
        for number, line in enumerate(lines, start=1):
            if line.strip():
                where = f"{path} 第 {number} 行"
                try:
                    found.anchors.append(anchor_parse(line, where=where, keys=keys))
                except ValueError as error:
                    found.damaged.append(f"{where}：{error}")
    return found


def anchor_append(*, kind: str, heads: dict[str, tuple[int, str]]) -> Path:
    """One signed line, appended and fsync'd. A single write on a descriptor opened O_APPEND: lines from
    several processes (web, worker) never interleave."""
    key = signing_key()
    record = {
        "kind": kind,
        "time": timezone.now().isoformat(timespec="microseconds"),
        "host": socket.gethostname(),
        "key": key_id(key.public_key()),
        "chains": {name: {"seq": seq, "hash": last_hash} for name, (seq, last_hash) in sorted(heads.items())},
    }
    line = (_signed(record, key) + "\n").encode()
    path = Path(settings.AUDIT_ANCHOR_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        if os.write(descriptor, line) != len(line):
            raise OSError(f"审计锚点未完整写入 {path}")
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if created:  # the new name itself must survive a crash
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return path


# --- the check -----------------------------------------------------------------------------------------


@dataclass
class AuditCheck:
    """The chain recomputed (or only its heads read) and compared with every anchor."""

    events: int | None  # events recomputed; None when only the heads were compared
    broken: ChainBreak | None
    heads: dict[str, tuple[int, str]]
    anchors: list[Anchor]
    damaged: list[str]
    missing: list[Path]
    compared: int = 0
    mismatches: list[str] = field(default_factory=list)
    # chain: (the anchor reaching furthest beyond the chain's end, its seq)
    beyond: dict[str, tuple[Anchor, int]] = field(default_factory=dict)
    # information: what restores recorded as lost
    lost: list[str] = field(default_factory=list)

    def beyond_messages(self) -> list[str]:
        return [
            f"{anchor}锚定了链 {chain} #{seq}，库中只到 #{self.heads[chain][0]}"
            for chain, (anchor, seq) in sorted(self.beyond.items())
        ]


def _superseded_by(anchor: Anchor, chain: str, seq: int, restores: list[Anchor]) -> Anchor | None:
    """The first restore after this anchor that went back before its seq: the anchored events were lost."""
    later = [r for r in restores if r.at > anchor.at and chain in r.chains and r.chains[chain][0] < seq]
    return min(later, key=lambda restore: restore.at, default=None)


def _compare(check: AuditCheck) -> None:
    restores = [anchor for anchor in check.anchors if anchor.kind == RESTORE]
    lost: dict[tuple[Anchor, str], int] = {}
    pending: list[tuple[int, Anchor, str, str]] = []
    for anchor in check.anchors:
        for chain, (seq, anchored_hash) in anchor.chains.items():
            if seq == 0:  # a chain anchored before its first event: nothing to compare
                continue
            restore = _superseded_by(anchor, chain, seq, restores)
            if restore is not None:
                lost[restore, chain] = max(lost.get((restore, chain), 0), seq)
            else:
                pending.append((seq, anchor, chain, anchored_hash))
    for (restore, chain), furthest in sorted(lost.items(), key=lambda item: item[0][0].at):
        back_to = restore.chains[chain][0]
        check.lost.append(
            f"信息：{restore}记有一次从备份恢复：链 {chain} 回到 #{back_to}，此前已锚定到 #{furthest}，"
            f"#{back_to + 1}–#{furthest} 共 {furthest - back_to} 条事件随恢复丢失"
        )
    stored = {
        chain: audit_stored_hashes(chain=chain, seqs=[seq for seq, _, name, _ in pending if name == chain])
        for chain in {name for _, _, name, _ in pending}
    }
    last_matching = {}
    for seq, anchor, chain, anchored_hash in sorted(pending, key=lambda item: (item[0], item[1].at)):
        if chain not in check.heads:
            check.mismatches.append(f"{anchor}锚定的链 {chain} 在库中不存在（链头被删除）")
            continue
        if seq > check.heads[chain][0]:
            check.beyond[chain] = (anchor, seq)
            continue
        check.compared += 1
        found = stored[chain].get(seq)
        if found == anchored_hash:
            last_matching[chain] = seq
            continue
        if found is None:
            check.mismatches.append(f"{anchor}锚定了链 {chain} #{seq}，库中没有这一事件")
            continue
        since = last_matching.get(chain, 0) + 1  # the last anchor that still matches bounds the edit
        where = f"#{seq} 在" if since == seq else f"#{since}–#{seq} 间有事件在"
        check.mismatches.append(
            f"{anchor}锚定链 {chain} #{seq} 的哈希为 {anchored_hash[:16]}…，库中 #{seq} 为 {found[:16]}…："
            f"{where}锚定之后被改写，其后的哈希被重算"
        )


def audit_check(*, anchor_paths: list[Path], recompute: bool = True) -> AuditCheck:
    """Compare the database with every anchor in these files; with `recompute`, the whole chain first.

    The files are read before the database: every head an anchor names was committed before the anchor was
    written, so the snapshot taken next holds it."""
    found = anchors_read(anchor_paths)
    with audit_snapshot():
        if recompute:
            events, broken = audit_verify()
        else:  # the timer: only that each head is the hash of the event it names
            events, broken = None, None
        heads = audit_heads()
        check = AuditCheck(events=events, broken=broken, heads=heads, anchors=found.anchors,
                           damaged=found.damaged, missing=found.missing)
        if not recompute:
            for chain, (seq, last_hash) in heads.items():
                if audit_stored_hashes(chain=chain, seqs=[seq]).get(seq) != last_hash:
                    check.broken = ChainBreak(seq, None, f"链 {chain} 的链头与 #{seq} 的哈希不符")
        if check.broken is None:
            _compare(check)
    return check


def audit_anchor_take() -> dict[str, int]:
    """The timer: every anchor compared with the stored hashes (the nightly verify_audit recomputes the whole
    chain), then the heads anchored. Refused when they disagree: an anchor now would bless a rewrite."""
    check = audit_check(anchor_paths=[Path(settings.AUDIT_ANCHOR_PATH)], recompute=False)
    problems = ([str(check.broken)] if check.broken else []) + check.mismatches + check.damaged + check.beyond_messages()
    if problems:
        raise AuditAnchorRefused("审计锚点与数据库不符，未写入新锚点：" + "；".join(problems))
    anchor_append(kind=ANCHOR, heads=check.heads)
    return {chain: seq for chain, (seq, _) in check.heads.items() if seq}
