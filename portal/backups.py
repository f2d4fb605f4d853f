"""Backup and restore (docs/deploy.md): the database by pg_dump, the stored files as a tar, and a manifest
with each part's size and SHA-256. Used by `manage.py backup` and `manage.py restore`.

The files are read and written through the default storage (decision 060), so the same commands back up and
restore the media folder on disk or an S3-compatible bucket: a backup taken from one restores into the other.

SEAL_MASTER_KEY is never part of a backup: it stays in the secret store and is backed up there, apart, so a
stolen backup cannot unlock the seals' private keys (DESIGN §7).
"""

import hashlib
import json
import os
import subprocess
import tarfile
import time
from pathlib import Path

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.core.management.base import CommandError
from django.db import connection
from django.db.backends.postgresql.client import DatabaseClient
from django.utils import timezone

from portal.files import storage_is_empty, storage_label, storage_walk

DUMP = "database.dump"
MEDIA = "media.tar"
MANIFEST = "manifest.json"
PARTS = {DUMP: "数据库（pg_dump 自定义格式）", MEDIA: "存储的文件（上传材料、生成的 PDF）"}
MASTER_KEY_NOTE = "SEAL_MASTER_KEY 不在备份中：它保存在密钥库，须在那里单独备份；恢复后的系统须使用同一把密钥"


# --- shared --------------------------------------------------------------------------------------------


def postgres_database() -> dict:
    """The default database's settings; refused unless it is PostgreSQL (the parts are pg_dump's)."""
    if connection.vendor != "postgresql":
        raise CommandError(f"默认数据库不是 PostgreSQL（当前为 {connection.vendor}）：备份与恢复使用 pg_dump / pg_restore")
    return settings.DATABASES["default"]


def libpq_options(database: dict) -> tuple[list[str], dict[str, str]]:
    """Host, port, user and database name as options, built as Django's dbshell builds them for psql; the
    password (and TLS files) go in the environment (PGPASSWORD …), never on the command line."""
    # The extra parameters come just before the database name, so ending them with --dbname names it.
    args, env = DatabaseClient.settings_to_cmd_args_env(database, ["--dbname"])
    return args[1:], {**os.environ, **(env or {})}


def run_tool(program: str, args: list[str], env: dict[str, str]) -> None:
    try:
        result = subprocess.run([program, *args], env=env, capture_output=True, text=True)
    except FileNotFoundError as error:
        raise CommandError(f"找不到 {program}：请安装 PostgreSQL 客户端（Debian：postgresql-client）") from error
    if result.returncode != 0:
        raise CommandError(f"{program} 失败（退出码 {result.returncode}）：{result.stderr.strip()}")


def file_sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def folder_is_empty(path: Path) -> bool:
    """Absent, or a folder with nothing in it."""
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


# --- backup --------------------------------------------------------------------------------------------


def backup_folder_prepare(folder: Path) -> None:
    if not folder_is_empty(folder):
        raise CommandError(f"备份目录 {folder} 已存在且不为空：请指定一个新的空目录，以免覆盖或混入旧的备份")
    folder.mkdir(parents=True, exist_ok=True)


def database_dump(folder: Path) -> None:
    args, env = libpq_options(postgres_database())
    run_tool("pg_dump", ["--format=custom", f"--file={folder / DUMP}", *args], env)


def media_archive(folder: Path) -> int:
    """Tar every file of the default storage, each streamed from it; returns the number of files. Taken
    after the dump: every file a dumped row names was written before that row committed, so the archive
    holds it (newer files are harmless)."""
    taken = time.time()
    count = 0
    with tarfile.open(folder / MEDIA, "w") as archive:
        for name in storage_walk(default_storage):
            with default_storage.open(name, "rb") as handle:
                member = tarfile.TarInfo(name)
                member.size, member.mtime, member.mode = handle.size, taken, 0o640
                archive.addfile(member, handle)
            count += 1
    return count


def manifest_write(folder: Path, *, media_files: int) -> dict:
    """Written last: a backup that stopped half-way has no manifest, and restore refuses it."""
    database = settings.DATABASES["default"]
    manifest = {
        "created_at": timezone.localtime().isoformat(timespec="seconds"),
        "database": {"name": database["NAME"], "host": database.get("HOST") or "", "port": str(database.get("PORT") or "")},
        "media_storage": storage_label(default_storage),
        "media_files": media_files,
        "parts": {
            name: {"what": what, "bytes": (folder / name).stat().st_size, "sha256": file_sha256(folder / name)}
            for name, what in PARTS.items()
        },
        "seal_master_key": MASTER_KEY_NOTE,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


# --- restore -------------------------------------------------------------------------------------------


def manifest_check(folder: Path) -> dict:
    """Every part present, with the size and SHA-256 the manifest recorded; else refused, naming the part."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        recorded = manifest["parts"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CommandError(f"{folder / MANIFEST} 缺失或无法读取：不是一份完整的备份（{error}）") from error
    for name, what in PARTS.items():
        part = folder / name
        if name not in recorded or not part.is_file():
            raise CommandError(f"备份不完整：缺少 {name}（{what}）")
        if part.stat().st_size != recorded[name]["bytes"] or file_sha256(part) != recorded[name]["sha256"]:
            raise CommandError(f"备份已损坏：{name}（{what}）的大小或 SHA-256 与清单不符，拒绝恢复")
    return manifest


def database_empty_check() -> str:
    """Refused unless the target database has no tables (a freshly created one); returns its name."""
    name = postgres_database()["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname || '.' || tablename FROM pg_catalog.pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 LIMIT 3"
        )
        tables = [row[0] for row in cursor.fetchall()]
    if tables:
        raise CommandError(f"目标数据库 {name} 不是空库（已有表 {'、'.join(tables)} 等）：请恢复到新建的空数据库")
    return name


def media_empty_check() -> Storage:
    """The default storage, refused unless it holds no file (an empty or absent folder, an empty bucket)."""
    if not storage_is_empty(default_storage):
        raise CommandError(f"{storage_label(default_storage)} 不为空：请恢复到空的（或尚不存在的）文件夹或存储桶")
    return default_storage


def database_restore(folder: Path) -> None:
    args, env = libpq_options(postgres_database())
    # One transaction: a restore that fails leaves the database empty, so it can simply be run again.
    run_tool("pg_restore", ["--no-owner", "--exit-on-error", "--single-transaction", *args, str(folder / DUMP)], env)


def media_unpack(folder: Path, storage: Storage) -> int:
    """Write every file of the archive into the (empty) storage under its own name, streamed; returns the
    number of files. Folders are implied by the names; a link or device is refused."""
    count = 0
    with tarfile.open(folder / MEDIA) as archive:
        for member in archive:
            if member.isdir():
                continue
            try:  # the "data" filter refuses absolute names and `..`; a storage holds regular files only
                tarfile.data_filter(member, "/restore")
            except tarfile.FilterError as error:
                raise CommandError(f"备份中的 {member.name} 不能恢复：{error}") from error
            if not member.isfile():
                raise CommandError(f"备份中的 {member.name} 不是普通文件，拒绝恢复")
            stored = storage.save(member.name, archive.extractfile(member))
            if stored != member.name:
                raise CommandError(f"{member.name} 在{storage_label(storage)}中已存在（存为 {stored}）：恢复目标须为空")
            count += 1
    return count
