"""Files on an S3-compatible bucket (DESIGN §16, decision 060), against a real S3-protocol server on a local
port (moto's ThreadedMotoServer, started here): uploads, the issuance's certificate PDF, downloads through the
permission-checked views, /healthz?full=1, and `move_files` both ways with every hash checked. moto is a dev
requirement: if it is missing this module fails to import — it is never skipped."""

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import uuid
from dataclasses import dataclass

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from moto.server import ThreadedMotoServer

from applications.models import Document, Material
from certificates.models import Certificate
from items.models import MaterialRequirement
from items.services import item_publish
from portal.models import AuditEvent
from portal.settings.base import s3_storage
from tests.factories import UserFactory
from tests.files import pdf_bytes, pdf_file, upload
from tests.items.factories import ItemVersionFactory
from tests.portal.test_backup_restore import manage
from tests.processes import environment

CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing", "region": "us-east-1"}


@dataclass
class Bucket:
    name: str
    client: object  # a plain boto3 client: what the test sees in the bucket, apart from the application

    def objects(self) -> dict[str, bytes]:
        listed = self.client.list_objects_v2(Bucket=self.name).get("Contents", [])
        return {entry["Key"]: self.client.get_object(Bucket=self.name, Key=entry["Key"])["Body"].read() for entry in listed}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_settings(bucket: str, endpoint: str) -> dict:
    return s3_storage(bucket=bucket, endpoint_url=endpoint, **CREDENTIALS)


@pytest.fixture
def bucket(s3_endpoint, settings, tmp_path):
    """A new empty bucket of this test's own; "s3" names it, the local disk is a folder of the test's own."""
    name = f"portal-{uuid.uuid4().hex[:16]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                          region_name="us-east-1")
    client.create_bucket(Bucket=name)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.STORAGES = {**settings.STORAGES, "s3": s3_settings(name, s3_endpoint)}
    return Bucket(name, client)


@pytest.fixture
def on_s3(bucket, settings):
    """The bucket is where files go (FILE_STORAGE=s3)."""
    settings.STORAGES = {**settings.STORAGES, "default": settings.STORAGES["s3"]}
    return bucket


@pytest.fixture
def on_disk(bucket, settings, tmp_path):
    """Files go to the local disk (FILE_STORAGE=local), the bucket configured beside it; the media folder."""
    settings.STORAGES = {**settings.STORAGES, "default": settings.STORAGES["local"]}
    return tmp_path / "media"


@pytest.fixture
def item(licence_item):
    """Issuance yields an e-certificate, whose PDF is one of the files."""
    return licence_item


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def disk_files(folder) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def referenced() -> dict[str, str]:
    """Every file the database names → the SHA-256 its row records ("" where it keeps none)."""
    files = {m.file.name: m.sha256 for m in Material.objects.all()}
    files |= {c.pdf.name: c.sha256 for c in Certificate.objects.all()}
    files |= {d.pdf.name: d.sha256 for d in Document.objects.exclude(pdf="")}
    files |= {r.blank_form.name: "" for r in MaterialRequirement.objects.exclude(blank_form="")}
    return files


def with_blank_form(content: bytes) -> MaterialRequirement:
    """An item's material with a blank form: a file whose row keeps no hash."""
    requirement = ItemVersionFactory(materials=[{"name": "申请书"}]).materials.get()
    requirement.blank_form.save("申请书.xlsx", ContentFile(content), save=True)
    return requirement


def move_files(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("move_files", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- the application's own paths on the bucket -------------------------------------------------------------


@pytest.mark.django_db
def test_an_upload_goes_to_the_bucket_and_only_the_applicant_downloads_it(as_user, citizen, draft, requirements, on_s3, tmp_path):
    content = pdf_bytes("营业执照扫描件")
    response = upload(as_user(citizen), draft, requirements["营业执照"], pdf_file("营业执照.pdf", "营业执照扫描件"))
    assert response.status_code == 201, response.content
    material = Material.objects.get(pk=response.json()["id"])
    assert on_s3.objects() == {material.file.name: content} and material.sha256 == sha256(content)
    assert not (tmp_path / "media").exists()  # nothing on the local disk

    download = as_user(citizen).get(f"/api/v1/applications/{draft}/materials/{material.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert download["Content-Disposition"].startswith("attachment") and download["Content-Type"] == "application/pdf"
    stranger = UserFactory(identified=True)
    assert as_user(stranger).get(f"/api/v1/applications/{draft}/materials/{material.pk}/").status_code == 404


@pytest.mark.django_db
def test_an_upload_when_the_bucket_is_unreachable_answers_503_and_keeps_nothing(as_user, citizen, draft, requirements, bucket, settings):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    settings.STORAGES = {**settings.STORAGES, "default": s3_settings(bucket.name, closed)}
    events = AuditEvent.objects.count()
    response = upload(as_user(citizen), draft, requirements["营业执照"])
    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable" and "未保存" in response.json()["detail"]
    assert not Material.objects.exists() and AuditEvent.objects.count() == events and bucket.objects() == {}


@pytest.mark.django_db
def test_issuance_writes_the_signed_certificate_to_the_bucket_and_the_holder_downloads_it(
    on_s3, as_user, client, citizen, issued,
):
    certificate = Certificate.objects.get(application_number=issued)
    stored = on_s3.objects()
    assert sha256(stored[certificate.pdf.name]) == certificate.sha256
    for material in Material.objects.filter(application__number=issued):
        assert sha256(stored[material.file.name]) == material.sha256

    response = as_user(citizen).get(f"/api/v1/certificates/{certificate.identifier}/pdf/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == stored[certificate.pdf.name]
    client.force_login(citizen)
    page = client.get(f"/certificates/{certificate.identifier}/pdf/")
    assert page.status_code == 200 and sha256(b"".join(page.streaming_content)) == certificate.sha256
    assert as_user(UserFactory(identified=True)).get(f"/api/v1/certificates/{certificate.identifier}/pdf/").status_code == 404


@pytest.mark.django_db
def test_a_published_blank_form_downloads_from_the_bucket_and_a_drafts_does_not(api, on_s3):
    version = ItemVersionFactory(materials=[{"name": "申请书"}])
    material = version.materials.get()
    material.blank_form.save("申请书.xlsx", ContentFile(b"blank form"), save=True)
    draft = ItemVersionFactory(materials=[{"name": "草稿申请书"}]).materials.get()
    draft.blank_form.save("draft.xlsx", ContentFile(b"not yet public"), save=True)
    item_publish(item=version.item, actor=None)
    assert on_s3.objects() == {material.blank_form.name: b"blank form", draft.blank_form.name: b"not yet public"}

    response = api.get(f"/guide/files/{material.pk}/blank_form/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"blank form"
    assert api.get(f"/guide/files/{draft.pk}/blank_form/").status_code == 404
    assert api.get(f"/guide/files/{material.pk}/sample/").status_code == 404


@pytest.mark.django_db
def test_full_healthz_checks_the_bucket(client, on_s3, settings):
    response = client.get("/healthz?full=1")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["storage"] == "ok"
    assert on_s3.objects() == {}  # the probe file is gone again

    settings.STORAGES = {**settings.STORAGES, "default": s3_settings("no-such-bucket", settings.STORAGES["s3"]["OPTIONS"]["endpoint_url"])}
    response = client.get("/healthz?full=1")
    assert response.status_code == 503 and response.json()["checks"]["storage"] == "fail"


# --- move_files ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_move_files_copies_every_file_to_the_bucket_and_back_checking_each_hash(
    on_disk, bucket, as_user, citizen, issued, settings,
):
    with_blank_form(b"blank form")
    files = referenced()
    on_disk_before = disk_files(on_disk)
    assert len(files) >= 4 and set(files) <= set(on_disk_before)

    out, _ = move_files("--to", "s3")
    assert f"数据库引用的文件 {len(files)} 个：复制 {len(files)} 个，目标中已有且校验一致 0 个，有问题 0 个" in out
    in_bucket = bucket.objects()
    assert set(in_bucket) == set(files)
    assert all(sha256(in_bucket[name]) == (digest or sha256(on_disk_before[name])) for name, digest in files.items())
    assert disk_files(on_disk) == on_disk_before  # the source is left as it was

    out, _ = move_files("--to", "s3")  # idempotent: a second run copies nothing
    assert f"复制 0 个，目标中已有且校验一致 {len(files)} 个，有问题 0 个" in out

    # Switched to the bucket, with the disk gone: the holder still downloads the certificate.
    settings.STORAGES = {**settings.STORAGES, "default": settings.STORAGES["s3"]}
    for path in sorted(on_disk.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    certificate = Certificate.objects.get(application_number=issued)
    response = as_user(citizen).get(f"/api/v1/certificates/{certificate.identifier}/pdf/")
    assert response.status_code == 200 and sha256(b"".join(response.streaming_content)) == certificate.sha256

    out, _ = move_files("--to", "local")  # and back to an empty media folder
    assert f"复制 {len(files)} 个，目标中已有且校验一致 0 个，有问题 0 个" in out
    assert disk_files(on_disk) == {name: in_bucket[name] for name in files}


@pytest.mark.django_db
def test_move_files_reports_a_tampered_copy_and_a_tampered_source_and_exits_non_zero(on_disk, bucket, issued):
    form = with_blank_form(b"blank form").blank_form.name
    move_files("--to", "s3")
    material, other = Material.objects.filter(application__number=issued).order_by("pk")[:2]
    bucket.client.put_object(Bucket=bucket.name, Key=material.file.name, Body=b"%PDF-1.4 altered in the bucket")
    (on_disk / other.file.name).write_bytes(b"%PDF-1.4 altered on disk")
    bucket.client.delete_object(Bucket=bucket.name, Key=other.file.name)
    bucket.client.put_object(Bucket=bucket.name, Key=form, Body=b"another form")  # no hash kept: the source decides

    with pytest.raises(CommandError, match="3 个文件未能复制或校验不一致"):
        move_files("--to", "s3")

    stored = bucket.objects()
    # The altered object is reported and left for a person to look at, never overwritten …
    assert stored[material.file.name] == b"%PDF-1.4 altered in the bucket"
    # … and a copy of the altered source does not stay behind to pass for the file at the next run.
    assert other.file.name not in stored
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("move_files", "--to", "s3", stdout=io.StringIO(), stderr=err)
    assert f"{material.file.name}：目标中已有同名文件，但 SHA-256 为 {sha256(b'%PDF-1.4 altered in the bucket')}，应为 {material.sha256}（未覆盖）" in err.getvalue()
    assert f"{other.file.name}：复制后的 SHA-256 为 {sha256(b'%PDF-1.4 altered on disk')}，应为 {other.sha256}" in err.getvalue()
    assert f"{form}：目标中已有同名文件，但 SHA-256 为 {sha256(b'another form')}，应为 {sha256(b'blank form')}（未覆盖）" in err.getvalue()


@pytest.mark.django_db
def test_move_files_refuses_a_storage_that_is_not_configured(settings, tmp_path):
    settings.STORAGES = {key: value for key, value in settings.STORAGES.items() if key != "s3"}
    with pytest.raises(CommandError, match="未配置存储「s3」：s3 需设置 S3_BUCKET"):
        move_files("--to", "s3")
    with pytest.raises(CommandError, match="源存储与目标存储相同"):
        move_files("--to", "local", "--from", "local")


def test_settings_choose_the_bucket_when_s3_bucket_is_set(s3_endpoint):
    """FILE_STORAGE follows S3_BUCKET, can be held at local while both are configured, and is refused when
    it names a storage that is not there."""
    probe = "from django.conf import settings; print(settings.STORAGES['default']['BACKEND'], sorted(settings.STORAGES))"

    def default_with(**env):
        return subprocess.run([sys.executable, "-c", f"import django; django.setup(); {probe}"],
                              env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test", **env},
                              capture_output=True, text=True, timeout=60)

    assert default_with().stdout.split()[0] == "django.core.files.storage.FileSystemStorage"
    on_bucket = default_with(S3_BUCKET="portal", S3_ENDPOINT_URL=s3_endpoint).stdout
    assert on_bucket.startswith("storages.backends.s3.S3Storage") and "'s3'" in on_bucket and "'local'" in on_bucket
    held = default_with(S3_BUCKET="portal", FILE_STORAGE="local").stdout
    assert held.startswith("django.core.files.storage.FileSystemStorage") and "'s3'" in held
    refused = default_with(FILE_STORAGE="s3")
    assert refused.returncode != 0 and "FILE_STORAGE='s3': local, or s3 with S3_BUCKET set" in refused.stderr


# --- backup and restore of the bucket ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_backup_of_the_bucket_restores_into_another_empty_bucket(on_s3, s3_endpoint, issued, empty_database, tmp_path):
    if connection.vendor != "postgresql":  # as tests/portal/test_backup_restore.py: CI runs it on PostgreSQL
        pytest.skip("pg_dump / pg_restore are PostgreSQL's: run the suite with DATABASE_URL=postgres://…")
    files = on_s3.objects()
    certificate = Certificate.objects.get(application_number=issued)
    assert sha256(files[certificate.pdf.name]) == certificate.sha256
    bucket_env = {"S3_ENDPOINT_URL": s3_endpoint, "S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing",
                  "S3_REGION": "us-east-1"}

    folder = tmp_path / "backup"
    backup = manage("backup", "--to", folder, env={**environment(connection.settings_dict["NAME"], tmp_path / "no-media"),
                                                  **bucket_env, "S3_BUCKET": on_s3.name})
    assert backup.returncode == 0, backup.stderr
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["media_files"] == len(files) and manifest["media_storage"] == f"对象存储桶 {on_s3.name}（{s3_endpoint}）"
    with tarfile.open(folder / "media.tar") as archive:
        assert {member.name: archive.extractfile(member).read() for member in archive} == files
    assert not (tmp_path / "no-media").exists()  # nothing read from, or written to, a local folder

    restored = f"restored-{uuid.uuid4().hex[:12]}"
    on_s3.client.create_bucket(Bucket=restored)
    restore = manage("restore", "--from", folder, env={**environment(empty_database, tmp_path / "no-media"),
                                                      **bucket_env, "S3_BUCKET": restored})
    assert restore.returncode == 0, restore.stderr
    assert f"媒体文件 {len(files)} 个已恢复到对象存储桶 {restored}" in restore.stdout
    assert Bucket(restored, on_s3.client).objects() == files
