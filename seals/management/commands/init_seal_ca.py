from django.core.management.base import BaseCommand

from seals.services import seal_ca_init


class Command(BaseCommand):
    help = "初始化政务服务中心电子印章 CA（可重复执行，已存在时不变）"

    def handle(self, *args, **options):
        authority, created = seal_ca_init()
        self.stdout.write(f"{'已创建' if created else '已存在'}：{authority.name}")
