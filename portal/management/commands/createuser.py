from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.identity import IdType
from portal.models import Role
from portal.services import user_create

OPTION_OF_FIELD = {
    "username": "NAME",
    "password": "--password",
    "role": "--role",
    "department": "--department",
    "hall": "--hall",
    "real_name": "--real-name",
    "id_type": "--id-type",
    "id_number": "--id-number",
    "phone": "--phone",
    "email": "--email",
}


class Command(BaseCommand):
    help = "创建用户并分配角色（DESIGN §9）"

    def add_arguments(self, parser):
        parser.add_argument("username", metavar="NAME")
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, help="、".join(f"{value}（{label}）" for value, label in Role.choices))
        parser.add_argument("--department", default="", help="部门编码（审查人员、部门负责人必填）")
        parser.add_argument("--hall", default="", help="大厅编码（综合窗口人员必填）")
        parser.add_argument("--real-name", default="")
        parser.add_argument("--id-number", default="", help="居民身份证号码或统一社会信用代码")
        parser.add_argument("--id-type", default="", choices=["", *IdType.values], help="111 居民身份证（默认）/ 001 统一社会信用代码")
        parser.add_argument("--phone", default="")
        parser.add_argument("--email", default="")

    def handle(self, *args, **options):
        try:
            user = user_create(
                username=options["username"],
                password=options["password"],
                role=options["role"],
                department_code=options["department"],
                hall_code=options["hall"],
                real_name=options["real_name"],
                id_type=options["id_type"],
                id_number=options["id_number"],
                phone=options["phone"],
                email=options["email"],
            )
        except ValidationError as error:
            lines = [
                f"{OPTION_OF_FIELD.get(field, field)}: {message}"
                for field, messages in error.message_dict.items()
                for message in messages
            ]
            raise CommandError("无法创建用户：\n" + "\n".join(lines)) from error
        self.stdout.write(f"已创建用户 {user.username}（{user.get_role_display()}）")
