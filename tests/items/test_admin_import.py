"""导入目录 in the admin (decision 057): upload → preview (nothing stored) → apply exactly what was previewed,
once; bad files give a Chinese message naming the problem and store nothing; only catalogue admins."""

import io
import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from items.admin_import import STORAGE_DIR
from items.models import Bundle, Item, ItemVersion
from items.services import catalogue_import
from portal.models import AuditEvent, Department
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

IMPORT = "/admin/items/item/import/"
APPLY = "/admin/items/item/import/apply/"
FOOD = "11220100MB1234567K4000117001000"
FUND = "11220100MB1234567K2000200001000"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(catalogue_admin=True, real_name="赵敏"))
    return client


def upload(client, content: bytes, name="catalogue.json"):
    return client.post(IMPORT, {"file": SimpleUploadedFile(name, content)})


def as_json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def token_of(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def stored_uploads() -> list[str]:
    return default_storage.listdir(STORAGE_DIR)[1] if default_storage.exists(STORAGE_DIR) else []


def catalogue_state() -> tuple:
    return (Department.objects.count(), Item.objects.count(), ItemVersion.objects.count(), Bundle.objects.count(),
            AuditEvent.objects.count())


def test_the_change_list_links_to_the_import_page(admin_client):
    page = admin_client.get("/admin/items/item/").content.decode()
    assert f'href="{IMPORT}"' in page and "导入目录" in page
    form = admin_client.get(IMPORT)
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.content.decode() and "上传并预览" in form.content.decode()


def test_preview_shows_what_would_change_and_stores_nothing(admin_client, catalogue):
    before = catalogue_state()

    response = upload(admin_client, as_json(catalogue))

    assert response.status_code == 200
    page = response.content.decode()
    assert "预览：catalogue.json" in page and "尚未写入任何数据" in page
    assert "事项：新增 2，修改 0，无变化 0" in page and "部门：新增 2，修改 0，无变化 0" in page
    assert FOOD in page and "食品经营许可（新办）" in page
    assert catalogue_state() == before  # no department, item, version, bundle or audit event
    assert len(stored_uploads()) == 1  # the file itself, kept for the apply


def test_preview_names_the_changed_fields_of_each_item(admin_client, catalogue):
    catalogue_import(data=catalogue, actor=None)
    catalogue["items"][0]["promised_days"] = 3
    catalogue["items"][0]["materials"].append({"name": "场所平面图", "form": "copy"})
    versions = ItemVersion.objects.count()

    response = upload(admin_client, as_json(catalogue))

    page = response.content.decode()
    assert response.status_code == 200 and "事项：新增 0，修改 1，无变化 1" in page
    row = re.search(rf"<tr class=\"outcome-updated\"><td>{FOOD}</td>.*?</tr>", page, re.S).group(0)
    assert "承诺办结时限（工作日）" in row and "材料“场所平面图”（新增）" in row and "事项名称" not in row
    assert "无变化的事项（1 个）" in page and FUND in page
    assert ItemVersion.objects.count() == versions


def test_apply_stores_exactly_what_the_preview_showed_and_audits(admin_client, catalogue):
    preview = upload(admin_client, as_json(catalogue))

    response = admin_client.post(APPLY, {"token": token_of(preview)})

    assert response.status_code == 302 and response.url == "/admin/items/item/"
    assert set(Item.objects.values_list("code", flat=True)) == {FOOD, FUND}
    assert all(item.current_version.number == 1 for item in Item.objects.all())
    event = AuditEvent.objects.get(action="catalogue_import")
    assert event.actor.real_name == "赵敏" and event.payload["published"] == 2
    assert stored_uploads() == []  # applied: the kept file is gone
    message = admin_client.get("/admin/items/item/").content.decode()
    assert "目录已导入" in message and "发布新版本 2 个" in message


def test_a_second_apply_of_the_same_preview_is_refused(admin_client, catalogue):
    token = token_of(upload(admin_client, as_json(catalogue)))
    assert admin_client.post(APPLY, {"token": token}).status_code == 302
    after_first = catalogue_state()

    again = admin_client.post(APPLY, {"token": token})

    assert again.status_code == 409
    assert "该文件正在导入或已经导入，请勿重复提交" in again.content.decode()
    assert catalogue_state() == after_first


def test_apply_refuses_a_file_changed_after_the_preview(admin_client, catalogue):
    preview = upload(admin_client, as_json(catalogue))
    (name,) = stored_uploads()
    catalogue["items"][0]["name"] = "偷换的名称"
    default_storage.delete(f"{STORAGE_DIR}/{name}")
    default_storage.save(f"{STORAGE_DIR}/{name}", ContentFile(as_json(catalogue)))
    before = catalogue_state()

    response = admin_client.post(APPLY, {"token": token_of(preview)})

    assert response.status_code == 409 and "文件在预览后已被改动" in response.content.decode()
    assert catalogue_state() == before


def test_apply_refuses_when_the_catalogue_changed_since_the_preview(admin_client, catalogue):
    preview = upload(admin_client, as_json(catalogue))
    catalogue_import(data=catalogue, actor=None)  # someone else imported it meanwhile: the outcome differs now
    before = catalogue_state()

    response = admin_client.post(APPLY, {"token": token_of(preview)})

    assert response.status_code == 409 and "目录在预览后已有变化" in response.content.decode()
    assert catalogue_state() == before


def test_apply_refuses_an_expired_or_forged_preview(admin_client, catalogue):
    token = token_of(upload(admin_client, as_json(catalogue)))
    before = catalogue_state()
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        expired = admin_client.post(APPLY, {"token": token})
    assert expired.status_code == 409 and "预览已超过 30 分钟，已失效" in expired.content.decode()

    forged = admin_client.post(APPLY, {"token": token[:-2] + "xx"})
    assert forged.status_code == 409 and "导入凭据无效" in forged.content.decode()
    assert catalogue_state() == before


def test_a_preview_is_applied_only_by_who_uploaded_it(client, catalogue):
    client.force_login(UserFactory(catalogue_admin=True))
    token = token_of(upload(client, as_json(catalogue)))
    client.force_login(UserFactory(catalogue_admin=True))

    response = client.post(APPLY, {"token": token})

    assert response.status_code == 409 and "该预览不是您上传的" in response.content.decode()
    assert not Item.objects.exists()


def _xlsx(sheets: dict[str, list[list]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("catalogue.xlsx", b"this is not a spreadsheet", "不是有效的 xlsx 文件（请用 Excel 或 WPS 另存为 .xlsx）"),
        ("catalogue.json", b'{"items": [', "JSON 格式错误：第 1 行第 12 列"),
        ("catalogue.json", b'{"a": "\xff\xfe"}', "文件 catalogue.json 不是 UTF-8 编码的文本"),
        ("catalogue.csv", b"code,name\n", "目录文件只能是 .xlsx 或 .json 文件"),
        ("catalogue.xlsx", _xlsx({"items": [["code", "name", "colour"], ["X1", "某事项", "红"]]}),
         "工作表 items 第 1 行：未知的列 colour"),
        ("catalogue.xlsx", _xlsx({"things": [["code"]]}), "未知的工作表：things"),
        ("catalogue.json", b"[1, 2]", "文件内容应为一个对象"),
    ],
)
def test_a_malformed_file_is_refused_with_a_clear_message_and_nothing_is_stored(admin_client, name, content, message):
    before = catalogue_state()

    response = upload(admin_client, content, name)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert catalogue_state() == before and stored_uploads() == []
    assert 'name="token"' not in response.content.decode()


def test_row_errors_name_sheet_row_and_field_and_nothing_is_stored(admin_client, catalogue):
    catalogue["items"][0]["promised_days"] = 30
    catalogue["items"][1]["department"] = "NOPE"
    before = catalogue_state()

    response = upload(admin_client, as_json(catalogue))

    page = response.content.decode()
    assert response.status_code == 400 and "有 2 处错误，未导入任何数据" in page
    assert f"items 第 1 行（事项 {FOOD}） 字段 promised_days：承诺时限（30）不能大于法定时限（20）" in page
    assert f"items 第 2 行（事项 {FUND}） 字段 department：未知的部门编码 NOPE" in page
    assert catalogue_state() == before and stored_uploads() == []


def test_a_file_over_10_mb_is_refused(admin_client):
    response = upload(admin_client, b" " * (10 * 1024 * 1024 + 1))

    assert response.status_code == 400
    assert "目录文件不能超过 10 MB（当前 10.0 MB）" in response.content.decode()
    assert stored_uploads() == []


def test_no_file_is_refused(admin_client):
    response = admin_client.post(IMPORT, {})
    assert response.status_code == 400 and "请选择要导入的目录文件" in response.content.decode()
    empty = upload(admin_client, b"")
    assert empty.status_code == 400 and "目录文件是空的" in empty.content.decode()


def test_the_export_imports_back_as_no_change(admin_client, catalogue):
    catalogue_import(data=catalogue, actor=None)
    exported = admin_client.get("/admin/items/item/export/xlsx/").content

    response = upload(admin_client, exported, "catalogue.xlsx")

    page = response.content.decode()
    assert response.status_code == 200 and "事项：新增 0，修改 0，无变化 2" in page
    assert "文件与现有目录相同，没有需要导入的内容" in page and 'value="确认导入" disabled' in page


def test_only_catalogue_admins_import(client, catalogue):
    assert client.get(IMPORT).status_code == 302  # anonymous: to the admin's sign-in
    assert client.get(IMPORT).url.startswith("/admin/login/")
    client.force_login(UserFactory())  # an applicant is not staff: also to the sign-in
    assert client.post(IMPORT, {"file": SimpleUploadedFile("c.json", as_json(catalogue))}).status_code == 302
    client.force_login(UserFactory(clerk=True, is_staff=True))  # staff without the catalogue role
    assert client.get(IMPORT).status_code == 403
    assert client.post(IMPORT, {"file": SimpleUploadedFile("c.json", as_json(catalogue))}).status_code == 403
    assert client.post(APPLY, {"token": "x"}).status_code == 403
    assert stored_uploads() == [] and not Item.objects.exists()

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    preview = upload(client, as_json(catalogue))
    assert preview.status_code == 200
    assert client.post(APPLY, {"token": token_of(preview)}).status_code == 302
    assert Item.objects.count() == 2
