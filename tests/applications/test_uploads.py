"""Uploads: PDF/JPEG/PNG by content, ≤ 20 MB; anything else is a 400 naming the field, and nothing is stored."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from applications.models import Material
from portal.models import AuditEvent
from tests.applications.conftest import pdf_bytes, png_bytes, upload

pytestmark = pytest.mark.django_db


def jpeg_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [("a.pdf", pdf_bytes(), "application/pdf"), ("b.png", png_bytes(), "image/png"), ("c.jpg", jpeg_bytes(), "image/jpeg"),
     # Recognised by content: a PNG named .pdf is still a PNG.
     ("renamed.pdf", png_bytes(), "image/png")],
)
def test_accepted_formats(as_user, citizen, draft, requirements, name, content, content_type):
    response = upload(as_user(citizen), draft, requirements["营业执照"], SimpleUploadedFile(name, content))
    assert response.status_code == 201, response.content
    material = Material.objects.get(pk=response.json()["id"])
    assert material.content_type == content_type and material.original_name == name
    assert material.file.read() == content
    # Stored under a random name, never the applicant's.
    assert name not in material.file.name


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("virus.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100, "文件格式不支持"),
        ("page.pdf", b"<html><body>not a pdf</body></html>", "文件格式不支持"),
        ("truncated.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n", "PDF 文件不完整"),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "图片文件已损坏"),
        ("empty.pdf", b"", "文件为空"),
    ],
)
def test_disguised_or_broken_files_are_refused(as_user, citizen, draft, requirements, name, content, message):
    events = AuditEvent.objects.count()
    response = upload(as_user(citizen), draft, requirements["营业执照"], SimpleUploadedFile(name, content))
    assert response.status_code == 400
    assert message in str(response.json()["file"])
    assert not Material.objects.exists()
    assert AuditEvent.objects.count() == events


def test_oversized_file_is_refused(as_user, citizen, draft, requirements):
    big = pdf_bytes() + b"0" * (20 * 1024 * 1024)
    response = upload(as_user(citizen), draft, requirements["营业执照"], SimpleUploadedFile("big.pdf", big))
    assert response.status_code == 400 and "20 MB" in str(response.json()["file"])
    assert not Material.objects.exists()


def test_requirement_of_another_item_is_refused(as_user, citizen, draft):
    response = upload(as_user(citizen), draft, 987654)
    assert response.status_code == 400 and "requirement" in response.json()


def test_missing_file_names_the_field(as_user, citizen, draft, requirements):
    response = as_user(citizen).post(f"/api/v1/applications/{draft}/materials/", {"requirement": requirements["营业执照"]}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()


def test_upload_after_submission_is_409(as_user, citizen, submitted, requirements):
    response = upload(as_user(citizen), submitted, requirements["营业执照"])
    assert response.status_code == 409
    assert Material.objects.filter(application__number=submitted).count() == 2


def test_replacement_keeps_earlier_versions(as_user, citizen, draft, requirements):
    client = as_user(citizen)
    first = upload(client, draft, requirements["营业执照"]).json()
    second = upload(client, draft, requirements["营业执照"], SimpleUploadedFile("v2.png", png_bytes())).json()
    assert (first["version"], second["version"]) == (1, 2)
    body = client.get(f"/api/v1/applications/{draft}/").json()
    row = next(m for m in body["materials"] if m["name"] == "营业执照")
    assert [f["version"] for f in row["files"]] == [2, 1]
    assert client.get(first["url"]).status_code == 200
