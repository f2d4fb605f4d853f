from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from applications.services import appointment_slots_create
from portal.models import Hall
from portal.workdays import WorkCalendar


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"日期格式应为 YYYY-MM-DD：{value}") from error


def _time(value: str):
    try:
        return datetime.strptime(value, "%H:%M").time()
    except ValueError as error:
        raise CommandError(f"时间格式应为 HH:MM：{value}") from error


class Command(BaseCommand):
    help = "为大厅生成预约时段（默认 09:00–17:00 每 30 分钟，每段可约人数 = 综合窗口数；跳过非工作日；可重复执行）"

    def add_arguments(self, parser):
        parser.add_argument("--hall", required=True, help="大厅编码")
        parser.add_argument("--date", default="", help="起始日期 YYYY-MM-DD（默认明天）")
        parser.add_argument("--days", type=int, default=1, help="连续生成的自然日数（非工作日跳过）")
        parser.add_argument("--start", default="09:00")
        parser.add_argument("--end", default="17:00")
        parser.add_argument("--minutes", type=int, default=30, help="每个时段的分钟数")
        parser.add_argument("--capacity", type=int, default=None, help="每个时段可预约人数（默认为大厅综合窗口数）")

    def handle(self, *args, **options):
        hall = Hall.objects.filter(code=options["hall"]).first()
        if hall is None:
            raise CommandError(f"--hall: 大厅 {options['hall']} 不存在")
        first = _date(options["date"]) if options["date"] else timezone.localdate() + timedelta(days=1)
        start, end = _time(options["start"]), _time(options["end"])
        calendar, total = WorkCalendar.load(), 0
        for offset in range(max(options["days"], 1)):
            day = first + timedelta(days=offset)
            if not calendar.is_working_day(day):
                self.stdout.write(f"{day:%Y-%m-%d} 非工作日，跳过")
                continue
            try:
                created = appointment_slots_create(hall=hall, day=day, start=start, end=end,
                                                   minutes=options["minutes"], capacity=options["capacity"])
            except ValidationError as error:
                raise CommandError("；".join(f"--{field}: {'；'.join(messages)}" for field, messages in error.message_dict.items())) from error
            total += len(created)
            self.stdout.write(f"{day:%Y-%m-%d} 新增 {len(created)} 个时段")
        self.stdout.write(self.style.SUCCESS(f"{hall.name}：共新增 {total} 个预约时段"))
