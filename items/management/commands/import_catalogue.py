from django.core.management.base import BaseCommand, CommandError

from items.importing import CatalogueError, read_catalogue_file
from items.services import catalogue_import


class Command(BaseCommand):
    help = "导入事项目录（.json 或 .xlsx，格式见 DESIGN §4）；全部成功才写入，重复导入不产生新数据"

    def add_arguments(self, parser):
        parser.add_argument("file", help="目录文件路径（.json 或 .xlsx）")

    def handle(self, *args, file, **options):
        try:
            data = read_catalogue_file(file)
            summary = catalogue_import(data=data, actor=None)
        except CatalogueError as error:
            raise CommandError("导入失败，未写入任何数据：\n" + "\n".join(error.errors)) from error
        for line in summary.lines():
            self.stdout.write(line)
        for code, number in summary.published:
            self.stdout.write(f"  已发布 {code} 第 {number} 版")
        self.stdout.write(self.style.SUCCESS("导入完成" if summary.changed else "导入完成：没有变化"))
