from django.core.management.base import BaseCommand, CommandError

from portal.audit import audit_verify


class Command(BaseCommand):
    help = "重新计算审计链，发现第一处断裂时以非零状态退出"

    def handle(self, *args, **options):
        checked, broken = audit_verify()
        if broken is not None:
            raise CommandError(f"审计链断裂：{broken}（此前 {checked} 条事件完好）")
        self.stdout.write(f"审计链完整：共 {checked} 条事件")
