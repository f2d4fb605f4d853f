from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from items.exporting import write_catalogue_file
from items.selectors import catalogue_export


class Command(BaseCommand):
    help = "导出已发布的事项目录（.json 或 .xlsx），格式与 import_catalogue 相同"

    def add_arguments(self, parser):
        parser.add_argument("file", help="输出文件路径（.json 或 .xlsx）")

    def handle(self, *args, file, **options):
        data = catalogue_export()
        try:
            write_catalogue_file(data, file)
        except (ValueError, OSError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(f"已导出 {len(data['items'])} 个事项到 {Path(file)}")
        )
