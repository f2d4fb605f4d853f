from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.errors import Refused
from seals.services import seal_create


class Command(BaseCommand):
    help = "为部门制作行政审批专用章（印模、密钥与证书）"

    def add_arguments(self, parser):
        parser.add_argument("--department", required=True, help="部门编码")

    def handle(self, *args, **options):
        try:
            seal = seal_create(department_code=options["department"])
        except ValidationError as error:
            raise CommandError("；".join(f"--{field}: {m}" for field, ms in error.message_dict.items() for m in ms)) from error
        except Refused as error:
            raise CommandError(error.detail) from error
        self.stdout.write(f"已制作：{seal.name}（{seal.code}），有效期至 {seal.valid_until:%Y-%m-%d}")
