"""The backup/restore drill (docs/deploy.md): back up a database holding an issued case, restore it into a new
empty database and an empty media folder, and check through a real server that the audit chain, the
e-certificate (by identifier and by file) and an uploaded material came back, with SEAL_MASTER_KEY never in
the backup. PostgreSQL only: the parts are pg_dump's."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from applications.models import Material
from bench.lib import gunicorn_server
from certificates.models import Certificate
from portal.models import AuditEvent
from tests.portal.test_audit import CHAIN, append
from tests.processes import environment

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def item(licence_item):
    """The issued case (tests/case_fixtures.py `issued`) is for a licence item: it has an e-certificate to restore."""
    return licence_item


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":  # as tests/items/test_search_index.py: CI runs it on PostgreSQL
        pytest.skip("pg_dump / pg_restore are PostgreSQL's: run the suite with DATABASE_URL=postgres://…")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads and certificate PDFs of this test go to a folder of its own, the one that is backed up."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def sql(database: str, statement: str) -> list[tuple]:
    """One statement on the named database of this server, outside any Django connection."""
    config = connection.settings_dict
    with psycopg.connect(dbname=database, host=config["HOST"], port=config["PORT"], user=config["USER"],
                         password=config["PASSWORD"] or None, autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


def tables(database: str) -> list[str]:
    return [name for (name,) in sql(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]


@pytest.fixture
def empty_database():
    """A database created just now, as `createdb` makes it for a restore; dropped at the end."""
    name = f"restore_drill_{uuid.uuid4().hex[:12]}"
    source = connection.settings_dict["NAME"]
    sql(source, f'CREATE DATABASE "{name}" TEMPLATE template0')
    yield name
    sql(source, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *map(str, args)], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def backup(folder: Path, media: Path) -> str:
    """`manage.py backup` of this test's own database and media folder; its output."""
    result = manage("backup", "--to", folder, env=environment(connection.settings_dict["NAME"], media))
    assert result.returncode == 0, result.stderr
    return result.stdout


def http(url: str, *, data: bytes | None = None, headers: dict | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, url
        return response.read()


def http_json(url: str, **kwargs) -> dict:
    return json.loads(http(url, **kwargs))


def multipart(field: str, filename: str, content: bytes) -> tuple[bytes, dict]:
    boundary = uuid.uuid4().hex
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n\r\n'
    return head.encode() + content + f"\r\n--{boundary}--\r\n".encode(), {
        "Content-Type": f"multipart/form-data; boundary={boundary}"}


def media_files(folder: Path) -> dict[str, str]:
    """Every file under the folder: its relative path and SHA-256."""
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in folder.rglob("*") if path.is_file()}


@pytest.mark.django_db(transaction=True)
def test_a_restored_backup_keeps_the_audit_chain_the_certificate_and_the_materials(
    issued, citizen, password, media_root, empty_database, tmp_path,
):
    certificate = Certificate.objects.get(application_number=issued)
    certificate_pdf = certificate.pdf.read()
    uploads = {material.pk: material.file.read() for material in Material.objects.filter(application__number=issued)}
    events = AuditEvent.objects.count()
    files = media_files(media_root)
    assert len(uploads) == 2 and events > 0 and certificate.pdf.name in files

    folder = tmp_path / "backup"
    assert "SEAL_MASTER_KEY 不在备份中" in backup(folder, media_root)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["media_files"] == len(files)
    # The master key is in no part: not in the manifest, the media files, or the database as SQL.
    assert sorted(path.name for path in folder.iterdir()) == ["database.dump", "manifest.json", "media.tar"]
    as_sql = subprocess.run(["pg_restore", "--file=-", folder / "database.dump"], capture_output=True, check=True).stdout
    with tarfile.open(folder / "media.tar") as archive:
        archived = b"".join(archive.extractfile(member).read() for member in archive.getmembers() if member.isfile())
    key = settings.SEAL_MASTER_KEY.encode()
    assert key not in (folder / "manifest.json").read_bytes() and key not in archived and key not in as_sql
    assert certificate.identifier.encode() in as_sql  # the SQL is the real dump, so the check above means something

    shutil.rmtree(media_root)  # from here on, only what the backup holds
    restored_media = tmp_path / "restored-media"
    restore = manage("restore", "--from", folder, env=environment(empty_database, restored_media))
    assert restore.returncode == 0, restore.stderr
    assert f"审计链完整：共 {events} 条事件" in restore.stdout
    assert media_files(restored_media) == files
    verify = manage("verify_audit", env=environment(empty_database, restored_media))
    assert verify.returncode == 0, verify.stderr
    assert f"审计链完整：共 {events} 条事件" in verify.stdout

    with gunicorn_server(workers=1, log_path=tmp_path / "gunicorn.log",
                         environment=environment(empty_database, restored_media)) as (port, _pid):
        base = f"http://127.0.0.1:{port}/api/v1"
        by_identifier = http_json(f"{base}/verify/{certificate.identifier}/")
        assert (by_identifier["identifier"], by_identifier["status"]) == (certificate.identifier, "valid")
        body, headers = multipart("file", "证照.pdf", certificate_pdf)
        by_file = http_json(f"{base}/verify/", data=body, headers=headers)
        assert by_file == {"genuine": True, "signature_valid": True, "identifier": certificate.identifier, "status": "valid"}

        credentials = json.dumps({"username": citizen.username, "password": password}).encode()
        token = http_json(f"{base}/auth/token/", data=credentials, headers={"Content-Type": "application/json"})["token"]
        authorised = {"Authorization": f"Token {token}"}
        for material_id, content in uploads.items():
            assert http(f"{base}/applications/{issued}/materials/{material_id}/", headers=authorised) == content
        assert http(f"{base}/certificates/{certificate.identifier}/pdf/", headers=authorised) == certificate_pdf


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_target_that_is_not_empty_and_changes_nothing(media_root, empty_database, tmp_path):
    folder = tmp_path / "backup"
    backup(folder, media_root)
    restored_media = tmp_path / "restored-media"

    sql(empty_database, "CREATE TABLE notes (body text)")
    refused = manage("restore", "--from", folder, env=environment(empty_database, restored_media))
    assert refused.returncode == 1
    assert f"目标数据库 {empty_database} 不是空库（已有表 public.notes" in refused.stderr
    assert tables(empty_database) == ["notes"] and not restored_media.exists()

    sql(empty_database, "DROP TABLE notes")
    restored_media.mkdir()
    (restored_media / "left-over.pdf").write_bytes(b"%PDF-1.4")
    refused = manage("restore", "--from", folder, env=environment(empty_database, restored_media))
    assert refused.returncode == 1
    assert f"媒体文件夹 {restored_media} 不为空" in refused.stderr
    assert tables(empty_database) == [] and [path.name for path in restored_media.iterdir()] == ["left-over.pdf"]


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_backup_whose_dump_was_altered_by_one_byte(media_root, empty_database, tmp_path):
    folder = tmp_path / "backup"
    backup(folder, media_root)
    dump = folder / "database.dump"
    damaged = bytearray(dump.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    dump.write_bytes(damaged)
    restored_media = tmp_path / "restored-media"

    refused = manage("restore", "--from", folder, env=environment(empty_database, restored_media))

    assert refused.returncode == 1
    assert "备份已损坏：database.dump（数据库（pg_dump 自定义格式））的大小或 SHA-256 与清单不符" in refused.stderr
    assert tables(empty_database) == [] and not restored_media.exists()


@pytest.mark.django_db
def test_backup_refuses_a_folder_that_is_not_empty_and_a_database_that_is_not_postgresql(media_root, tmp_path):
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "old.dump").write_bytes(b"old")
    here = environment(connection.settings_dict["NAME"], media_root)
    refused = manage("backup", "--to", folder, env=here)
    assert refused.returncode == 1
    assert f"备份目录 {folder} 已存在且不为空" in refused.stderr
    assert [path.name for path in folder.iterdir()] == ["old.dump"]

    on_sqlite = manage("backup", "--to", tmp_path / "sqlite-backup",
                       env={**here, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    assert on_sqlite.returncode == 1
    assert "默认数据库不是 PostgreSQL（当前为 sqlite）" in on_sqlite.stderr
    assert not (tmp_path / "sqlite-backup").exists()


@pytest.mark.django_db(transaction=True)
def test_a_restore_checks_the_anchors_taken_before_the_backup_and_records_the_events_after_it_as_lost(
    media_root, empty_database, tmp_path,
):
    """Anchors live outside the database and the backup (decision 042): the restored chain must match those
    taken before the backup; those taken after it name events the backup does not have, which the restore
    records as lost instead of failing, and the restored system anchors on from there."""
    before = append(3)
    call_command("verify_audit", stdout=io.StringIO())
    folder = tmp_path / "backup"
    backup(folder, media_root)
    after = append(2)  # committed after the backup: lost with it
    call_command("verify_audit", stdout=io.StringIO())

    restored = environment(empty_database, tmp_path / "restored-media")
    restore = manage("restore", "--from", folder, env=restored)
    assert restore.returncode == 0, restore.stderr
    assert "审计链完整：共 3 条事件" in restore.stdout and "与审计锚点相符：核对 1 处" in restore.stdout
    assert f"已记下恢复：链 {CHAIN} 回到 #3，锚点曾到 #{after[-1].seq}" in restore.stdout
    assert "#4–#5 共 2 条事件随恢复丢失" in restore.stdout and "恢复完成" in restore.stdout

    verify = manage("verify_audit", env=restored)
    assert verify.returncode == 0, verify.stderr
    assert f"链 {CHAIN} 回到 #3，此前已锚定到 #5，#4–#5 共 2 条事件随恢复丢失" in verify.stdout
    assert before[-1].hash in Path(settings.AUDIT_ANCHOR_PATH).read_text()
