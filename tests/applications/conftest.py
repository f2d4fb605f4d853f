import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.factories import HallFactory, UserFactory, published_item


def pdf_bytes(text: str = "材料") -> bytes:
    return b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n% " + text.encode() + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n"


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
