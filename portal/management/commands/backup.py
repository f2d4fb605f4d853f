from pathlib import Path

from django.core.management.base import BaseCommand

from portal.backups import (
    MANIFEST,
    MASTER_KEY_NOTE,
    backup_folder_prepare,
    database_dump,
    manifest_write,
    media_archive,
    postgres_database,
)


class Command(BaseCommand):
    help = "备份数据库（pg_dump）与存储的文件（媒体文件夹或 S3 存储桶）到一个新的空目录，附 manifest.json（大小与 SHA-256）；不含 SEAL_MASTER_KEY"

    # Only the settings are needed; a backup must run even when a half-deployed release fails its checks.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, type=Path, metavar="DIR", help="备份目录（不存在或为空）")

    def handle(self, *args, **options):
        folder = options["to"].resolve()
        postgres_database()  # refused before anything is written
        backup_folder_prepare(folder)
        database_dump(folder)
        media_files = media_archive(folder)
        manifest = manifest_write(folder, media_files=media_files)
        for name, part in manifest["parts"].items():
            self.stdout.write(f"{name}：{part['what']}，{part['bytes']} 字节，SHA-256 {part['sha256']}")
        self.stdout.write(f"媒体文件 {media_files} 个；清单 {folder / MANIFEST}")
        self.stdout.write(MASTER_KEY_NOTE)
        self.stdout.write(self.style.SUCCESS(f"备份完成：{folder}"))
