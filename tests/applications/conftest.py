import errno
import io
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.factories import HallFactory, UserFactory, published_item


def build_pdf(*objects: bytes, catalog: bytes = b"", page: bytes = b"", comment: str = "") -> bytes:
    """A small, well-formed one-page PDF (real xref offsets), as a scanner would write it: object 1 is the
    catalog, 2 the page tree, 3 the page; `objects` are numbered from 4 on. `catalog` and `page` add entries."""
    bodies = [b"<</Type/Catalog/Pages 2 0 R" + catalog + b">>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
              b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]" + page + b">>", *objects]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n% " + comment.encode() + b"\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)


def pdf_bytes(text: str = "材料") -> bytes:
    return build_pdf(comment=text)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_file(name="申请书.pdf", text="材料"):
    return SimpleUploadedFile(name, pdf_bytes(text), content_type="application/pdf")


@pytest.fixture
def item(db):
    return published_item()


@pytest.fixture
def requirements(item):
    """name → requirement id of the item's current version."""
    return {r.name: r.pk for r in item.current_version.materials.all()}


@pytest.fixture
def hall(db):
    return HallFactory(code="CC-CITY", name="长春市政务服务中心")


@pytest.fixture
def clerk(hall):
    return UserFactory(clerk=True, hall=hall, real_name="李娜")


@pytest.fixture
def clerk2(hall):
    return UserFactory(clerk=True, hall=hall, real_name="周杰")


@pytest.fixture
def head(item):
    return UserFactory(head=True, department=item.department, real_name="刘洋")


@pytest.fixture
def reviewer(item):
    return UserFactory(reviewer=True, department=item.department, real_name="王芳")


@pytest.fixture
def as_user(login_api):
    return login_api


@pytest.fixture
def draft(as_user, citizen, item):
    response = as_user(citizen).post("/api/v1/applications/", {"item": item.code, "form_data": {"经营场所": "人民大街 1 号"}}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["number"]


def upload(client, number, requirement, file=None):
    return client.post(f"/api/v1/applications/{number}/materials/", {"requirement": requirement, "file": file or pdf_file()}, format="multipart")


@pytest.fixture
def submitted(as_user, citizen, draft, requirements):
    client = as_user(citizen)
    for name in ("食品经营许可申请书", "营业执照"):
        assert upload(client, draft, requirements[name]).status_code == 201
    response = client.post(f"/api/v1/applications/{draft}/submit/")
    assert response.status_code == 200, response.content
    return draft


@pytest.fixture
def media(settings, tmp_path):
    """Uploads go to a folder of the test's own, so a test can see every file that was (not) kept."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def stored_files(media) -> list:
    return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []


class DiskFullStorage(FileSystemStorage):
    """The outside world with a full disk: the first bytes land, then the write fails with ENOSPC."""

    def _save(self, name, content):
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.write(next(iter(content.chunks()))[:100])
            raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def full_disk(settings, media):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": f"{__name__}.DiskFullStorage", "OPTIONS": {"location": str(media)}}}
    return media
