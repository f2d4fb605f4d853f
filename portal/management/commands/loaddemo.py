from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from portal.demo import DEMO_PASSWORD


class Command(BaseCommand):
    help = "加载演示数据（部门、大厅、各角色账号，以及各应用的演示事项、印章等）；可重复执行"

    def handle(self, *args, **options):
        logins: list[str] = []
        # Each app may ship a `demo` module with load(); INSTALLED_APPS order respects the dependencies.
        for config in apps.get_app_configs():
            try:
                demo = import_module(f"{config.name}.demo")
            except ModuleNotFoundError as error:
                if error.name != f"{config.name}.demo":
                    raise
                continue
            with transaction.atomic():
                logins += demo.load() or []
            self.stdout.write(f"已加载 {config.verbose_name} 演示数据")
        self.stdout.write(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
        for line in logins:
            self.stdout.write(f"  {line}")
