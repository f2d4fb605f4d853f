from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.audit_anchor import ANCHOR, RESTORE, anchor_append, audit_check, key_id, public_key_text, signing_key

# Exit codes: 0 intact and matching every anchor; 1 broken, rewritten or an anchor line damaged;
# 3 intact, but anchors name events the database does not have (restored from an older backup, or the tail
# deleted with its head) and no restore was recorded (decision 042). Django uses 2 for a bad command line.
LOST_TAIL = 3


class Command(BaseCommand):
    help = (
        "重新计算审计链，再与审计锚点（链外签名的链头）逐条核对，全部相符时写入一条新锚点。"
        "退出码：0 完好；1 链条断裂、与锚点不符或锚点行被改动；3 锚点所记事件库中没有（末尾丢失）"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchors", action="append", type=Path, metavar="FILE",
            help="与这些锚点文件核对（如从异地归档取回的副本，可重复）；默认 AUDIT_ANCHOR_PATH。新锚点总写入 AUDIT_ANCHOR_PATH",
        )
        parser.add_argument(
            "--after-restore", action="store_true",
            help="刚从备份恢复：锚点所记而库中没有的末尾事件随恢复丢失，写入一条签名的恢复记录（restore 会这样调用）",
        )
        parser.add_argument("--public-key", action="store_true", help="打印锚点签名的公钥后退出（交给审计方核对锚点文件）")

    def handle(self, *args, **options):
        if options["public_key"]:
            public_key = signing_key().public_key()
            self.stdout.write(f"{public_key_text(public_key)}  （密钥标识 {key_id(public_key)}）")
            return
        path = Path(settings.AUDIT_ANCHOR_PATH)
        check = audit_check(anchor_paths=options["anchors"] or [path])
        if check.broken is not None:
            raise CommandError(f"审计链断裂：{check.broken}（此前 {check.events} 条事件完好）")
        self.stdout.write(f"审计链完整：共 {check.events} 条事件")
        for missing in check.missing:
            self.stderr.write(self.style.WARNING(
                f"警告：尚无审计锚点（{missing} 不存在或为空）。新安装时正常；否则锚点文件被删除或截短，"
                "链条只能在库内自洽，整链重算无从发现：请用异地保存的副本核对（--anchors）"
            ))
        for message in check.lost:
            self.stdout.write(message)
        if check.mismatches or check.damaged:
            raise CommandError("\n".join(
                [f"审计锚点不符：{message}" for message in check.mismatches]
                + [f"审计锚点文件被改动：{message}" for message in check.damaged]
            ))
        if check.compared:
            latest = max(check.anchors, key=lambda anchor: anchor.at)
            self.stdout.write(f"与审计锚点相符：核对 {check.compared} 处（最近一条 {latest}）")
        if check.beyond and not options["after_restore"]:
            raise CommandError(
                "审计链比锚点短：" + "；".join(check.beyond_messages())
                + "。若刚从备份恢复，其间的事件随恢复丢失：运行 verify_audit --after-restore 记下这次恢复；"
                "若没有恢复，是末尾的事件连同链头被删除",
                returncode=LOST_TAIL,
            )
        anchor_append(kind=RESTORE if check.beyond else ANCHOR, heads=check.heads)
        for chain, (anchor, seq) in sorted(check.beyond.items()):
            end = check.heads[chain][0]
            self.stdout.write(self.style.WARNING(
                f"已记下恢复：链 {chain} 回到 #{end}，锚点曾到 #{seq}（{anchor}）："
                f"#{end + 1}–#{seq} 共 {seq - end} 条事件随恢复丢失，备份之后的办理须据其他记录核实补录"
            ))
        # Chains without events yet (the closed main chain of a new install) say nothing worth reading.
        heads = "、".join(f"链 {chain} #{seq}" for chain, (seq, _) in sorted(check.heads.items()) if seq) or "尚无事件"
        self.stdout.write(f"已写入审计锚点：{heads}（{path}）")
