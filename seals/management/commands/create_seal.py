from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.errors import Refused
from seals.services import seal_create, seal_create_center


class Command(BaseCommand):
    help = "制作电子印章（印模、密钥与证书）：部门的行政审批专用章（--department），或政务服务中心的政务服务专用章（--center）"

    def add_arguments(self, parser):
        parser.add_argument("--department", help="部门编码：制作该部门的行政审批专用章")
        parser.add_argument("--center", action="store_true", help="制作政务服务中心的政务服务专用章（加盖于受理通知书等受理文书）")

    def handle(self, *args, **options):
        department, center = options["department"], options["center"]
        if bool(department) == bool(center):
            raise CommandError("请指定 --department 部门编码 或 --center，二者只能选其一")
        try:
            seal = seal_create_center() if center else seal_create(department_code=department)
        except ValidationError as error:
            raise CommandError("；".join(f"--{field}: {m}" for field, ms in error.message_dict.items() for m in ms)) from error
        except Refused as error:
            raise CommandError(error.detail) from error
        self.stdout.write(f"已制作：{seal.name}（{seal.code}），有效期至 {seal.valid_until:%Y-%m-%d}")
