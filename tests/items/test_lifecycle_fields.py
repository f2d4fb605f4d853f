"""The catalogue fields of issue 17 (DESIGN §14) through the import/export format, the admin, the guide and
the API: item certificate_action, deferral_days, verification_days; material commitment_allowed; a type's
typed and public face fields, licence number field and format, renewal grace days."""

import json

import pytest
from django.core.management import CommandError, call_command

import items.demo
import portal.demo
from certificates.models import CertificateType, FaceFieldType
from certificates.type_config import number_format_error
from items.models import CertificateAction, Item, VersionStatus
from tests.factories import UserFactory
from tests.items.test_import import FOOD, counts, import_file, write_xlsx, xlsx_sheets

pytestmark = pytest.mark.django_db

RENEW = "11220100MB1234567K4000117001002"
FACE_FIELDS = [
    {"name": "经营者名称", "type": "org_name", "public": True},
    {"name": "统一社会信用代码", "type": "uscc", "public": True},
    {"name": "法定代表人身份证号", "type": "id_number", "public": False},
    "经营场所",
    {"name": "经营项目", "public": True},
    {"name": "许可证编号", "type": "text", "public": True},
]


def lifecycle_catalogue(catalogue) -> dict:
    food_type = catalogue["certificate_types"][0]
    food_type.update(face_fields=FACE_FIELDS, number_field="许可证编号", number_format="JY1{year}{seq:06}",
                     renewal_grace_days=30)
    food = catalogue["items"][0]
    food["deferral_days"] = 7
    food["materials"][0]["commitment_allowed"] = True
    renew = json.loads(json.dumps(food))
    renew.update(code=RENEW, name="食品经营许可（延续）", certificate_action="renew", verification_days=30)
    renew["materials"] = [{"name": "食品经营许可延续申请书", "form": "original", "deferrable": True}]
    catalogue["items"].append(renew)
    return catalogue


def assert_stored():
    food_type = CertificateType.objects.get(code="T-FOOD-BIZ")
    assert food_type.face_fields == ["经营者名称", "统一社会信用代码", "法定代表人身份证号", "经营场所", "经营项目", "许可证编号"]
    assert food_type.face_field_types == {
        "经营者名称": "org_name", "统一社会信用代码": "uscc", "法定代表人身份证号": "id_number", "经营场所": "text",
        "经营项目": "text", "许可证编号": "text",
    }
    assert food_type.public_fields == ["经营者名称", "统一社会信用代码", "经营项目", "许可证编号"]
    assert (food_type.number_field, food_type.number_format, food_type.renewal_grace_days) == ("许可证编号", "JY1{year}{seq:06}", 30)
    food = Item.objects.get(code=FOOD).current_version
    assert (food.certificate_action, food.deferral_days, food.verification_days) == ("issue", 7, 20)
    assert food.materials.get(name="食品经营许可申请书").commitment_allowed is True
    assert food.materials.get(name="营业执照").commitment_allowed is False
    renew = Item.objects.get(code=RENEW).current_version
    assert (renew.certificate_action, renew.deferral_days, renew.verification_days) == ("renew", 7, 30)


@pytest.mark.parametrize("suffix", ["json", "xlsx"])
def test_every_new_field_imports_exports_and_imports_back_unchanged(catalogue, write_json, tmp_path, suffix):
    import_file(write_json(lifecycle_catalogue(catalogue)))
    assert_stored()

    out = tmp_path / f"export.{suffix}"
    call_command("export_catalogue", str(out), stdout=open("/dev/null", "w"))
    before = counts()
    import_file(out)
    assert counts() == before  # nothing new: no version, no row, no audit event
    assert_stored()
    # And the file says the same as a JSON export: typed fields as objects, plain text fields as names.
    again = tmp_path / "again.json"
    call_command("export_catalogue", str(again), stdout=open("/dev/null", "w"))
    exported = json.loads(again.read_text(encoding="utf-8"))
    food_type = next(entry for entry in exported["certificate_types"] if entry["code"] == "T-FOOD-BIZ")
    assert food_type["face_fields"] == [
        {"name": "经营者名称", "type": "org_name", "public": True},
        {"name": "统一社会信用代码", "type": "uscc", "public": True},
        {"name": "法定代表人身份证号", "type": "id_number", "public": False},
        "经营场所",
        {"name": "经营项目", "type": "text", "public": True},
        {"name": "许可证编号", "type": "text", "public": True},
    ]
    renew = next(entry for entry in exported["items"] if entry["code"] == RENEW)
    assert (renew["certificate_action"], renew["deferral_days"], renew["verification_days"]) == ("renew", 7, 30)
    assert renew["materials"][0]["deferrable"] is True and renew["materials"][0]["commitment_allowed"] is False


def test_a_spreadsheet_writes_face_fields_one_a_line_with_labels_accepted(catalogue, tmp_path):
    sheets = xlsx_sheets(catalogue)
    sheets["certificate_types"][0] += ["face_fields", "number_field", "number_format", "renewal_grace_days"]
    # Types by code or by their Chinese label, 公开 as the third part; full-width colons as people type them.
    sheets["certificate_types"][1] += ["经营者名称:org_name:公开\n统一社会信用代码：统一社会信用代码：公开\n经营场所\n许可证编号:text:公开",
                                       "许可证编号", "JY1{seq:08}", 15]
    columns = sheets["items"][0]
    columns += ["certificate_action", "deferral_days"]
    sheets["items"][1] += ["新办", 3]
    sheets["items"][2] += [None, None]
    import_file(write_xlsx(tmp_path / "catalogue.xlsx", sheets))
    food_type = CertificateType.objects.get(code="T-FOOD-BIZ")
    assert food_type.face_fields == ["经营者名称", "统一社会信用代码", "经营场所", "许可证编号"]
    assert food_type.face_field_types["统一社会信用代码"] == FaceFieldType.USCC
    assert food_type.public_fields == ["经营者名称", "统一社会信用代码", "许可证编号"]
    assert food_type.renewal_grace_days == 15
    assert Item.objects.get(code=FOOD).current_version.deferral_days == 3


def test_changing_a_new_field_publishes_a_new_version_and_the_history_names_it(catalogue, write_json, client):
    import_file(write_json(lifecycle_catalogue(catalogue)))
    catalogue["items"][2]["certificate_action"] = "change"
    catalogue["items"][2]["materials"][0]["commitment_allowed"] = True
    import_file(write_json(catalogue))
    item = Item.objects.get(code=RENEW)
    assert item.versions.filter(status=VersionStatus.PUBLISHED).count() == 2
    assert item.current_version.certificate_action == CertificateAction.CHANGE
    page = client.get(f"/guide/{RENEW}/history/").content.decode()
    assert "证照办理类型" in page and "延续" in page and "变更" in page and "可告知承诺" in page


def test_the_guide_and_the_api_show_the_action_and_the_material_marks(catalogue, write_json, client, api):
    import_file(write_json(lifecycle_catalogue(catalogue)))
    body = api.get(f"/api/v1/items/{RENEW}/").json()
    assert (body["certificate_action"], body["certificate_action_label"]) == ("renew", "延续")
    assert (body["deferral_days"], body["verification_days"]) == (7, 30)
    assert body["materials"][0]["deferrable"] is True and body["materials"][0]["commitment_allowed"] is False
    food = api.get(f"/api/v1/items/{FOOD}/").json()
    assert food["certificate_action"] == "issue"
    assert [m["commitment_allowed"] for m in food["materials"]] == [True, False]

    page = client.get(f"/guide/{RENEW}/").content.decode()
    assert "延续“食品经营许可证”" in page and "申请时须选择所持有的证照" in page and "可容缺" in page
    assert "7 个工作日内补交" in page
    assert "可告知承诺" in client.get(f"/guide/{FOOD}/").content.decode()


def _face(entries):
    def mutate(data):
        data["certificate_types"][0]["face_fields"] = entries
    return mutate


def _type(**values):
    def mutate(data):
        data["certificate_types"][0].update(face_fields=["经营者名称", "许可证编号"], **values)
    return mutate


def _item(**values):
    def mutate(data):
        data["items"][1].update(values)
    return mutate


BAD = [
    pytest.param(_face([{"name": "经营者名称", "type": "company"}]),
                 ["certificate_types 第 1 行", "T-FOOD-BIZ", "face_fields", "经营者名称 的类型", "无效的值 company", "org_name"],
                 id="unknown-face-field-type"),
    pytest.param(_face([{"name": "经营者名称", "public": "yes"}]), ["face_fields", "public 应为 true 或 false"], id="public-not-bool"),
    pytest.param(_face([{"label": "经营者名称"}]), ["face_fields", "未知的键 label"], id="unknown-key"),
    pytest.param(_face([42]), ["face_fields", "第 1 个字段应为字段名"], id="not-a-name"),
    pytest.param(_face(["名称", "名称"]), ["face_fields", "照面信息字段重复：名称"], id="duplicate"),
    pytest.param(_face([{"name": "身份证号", "type": "id_number", "public": True}]),
                 ["face_fields", "身份证件号码字段 身份证号 不能公开"], id="public-id-number"),
    pytest.param(_type(number_field="许可证编号", number_format="JY1{year}"),
                 ["certificate_types 第 1 行", "T-FOOD-BIZ", "number_format", "必须包含流水号占位符 {seq}"], id="format-without-seq"),
    pytest.param(_type(number_field="许可证编号", number_format="JY1{region}{seq:06}"),
                 ["number_format", "未知占位符 {region}"], id="format-unknown-placeholder"),
    pytest.param(_type(number_field="许可证编号", number_format="JY1{seq:06"), ["number_format", "花括号不配对"], id="format-unbalanced"),
    pytest.param(_type(number_field="许可证编号", number_format="JY1{seq:zz}"), ["number_format", "无法生成证号"], id="format-bad-spec"),
    pytest.param(_type(number_field="证号", number_format="JY1{seq:06}"), ["number_field", "证号字段 证号 不是照面信息字段"], id="number-field-unknown"),
    pytest.param(_type(number_format="JY1{seq:06}"), ["number_field", "必须指定证号字段"], id="format-without-field"),
    pytest.param(_type(renewal_grace_days=-1), ["renewal_grace_days", "不能为负数"], id="negative-grace"),
    pytest.param(_item(certificate_action="extend"), ["items 第 2 行", "certificate_action", "无效的值 extend"], id="unknown-action"),
    pytest.param(_item(certificate_action="renew"), ["items 第 2 行", "certificate_action", "延续类事项必须指定 certificate_type"],
                 id="renew-without-type"),
    pytest.param(_item(deferral_days="五"), ["items 第 2 行", "deferral_days", "应为整数"], id="deferral-days-not-int"),
]


@pytest.mark.parametrize(("mutate", "expected"), BAD)
def test_a_bad_face_configuration_or_action_is_refused_naming_row_and_column(catalogue, write_json, mutate, expected):
    mutate(catalogue)
    before = counts()
    with pytest.raises(CommandError) as error:
        import_file(write_json(catalogue))
    message = str(error.value)
    for fragment in expected:
        assert fragment in message, message
    assert counts() == before


def test_a_bad_face_field_type_in_a_spreadsheet_names_its_row(catalogue, tmp_path):
    sheets = xlsx_sheets(catalogue)
    sheets["certificate_types"][0] += ["face_fields"]
    sheets["certificate_types"][2] += ["名称:company"]  # spreadsheet row 3
    with pytest.raises(CommandError) as error:
        import_file(write_xlsx(tmp_path / "bad.xlsx", sheets))
    assert "工作表 certificate_types 第 3 行（证照类型 T-BIZ-LICENSE） 字段 face_fields：字段 名称 的类型：无效的值 company" in str(error.value)
    assert Item.objects.count() == 0


def test_the_admin_holds_a_type_to_the_same_rules(client, ccsj):
    admin_user = UserFactory(catalogue_admin=True)
    client.force_login(admin_user)
    data = {
        "code": "T-FOOD", "name": "食品经营许可证", "department": ccsj.pk, "validity_years": 5, "renewal_grace_days": 0,
        "face_fields": json.dumps(["经营者名称", "许可证编号"]), "face_field_types": json.dumps({"经营者名称": "company"}),
        "public_fields": json.dumps(["许可证编号"]), "number_field": "许可证编号", "number_format": "JY1{year}", "template": "",
    }
    response = client.post("/admin/certificates/certificatetype/add/", data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "无效" in errors["face_field_types"][0] and "{seq}" in errors["number_format"][0]
    assert not CertificateType.objects.filter(code="T-FOOD").exists()

    data.update(face_field_types=json.dumps({"经营者名称": "org_name"}), number_format="JY1{year}{seq:06}")
    response = client.post("/admin/certificates/certificatetype/add/", data)
    assert response.status_code == 302
    created = CertificateType.objects.get(code="T-FOOD")
    assert created.face_field_types == {"经营者名称": "org_name"} and created.number_format == "JY1{year}{seq:06}"


def test_the_demo_catalogue_has_typed_public_fields_and_the_licence_lifecycle_items():
    portal.demo.load()
    items.demo.load()
    types = {certificate_type.code: certificate_type for certificate_type in CertificateType.objects.all()}
    for certificate_type in types.values():
        assert set(certificate_type.face_field_types) == set(certificate_type.face_fields), certificate_type.code
        assert set(certificate_type.public_fields) <= set(certificate_type.face_fields)
        # Never an ID number in public verification.
        assert not [name for name in certificate_type.public_fields
                    if certificate_type.face_field_types[name] == FaceFieldType.ID_NUMBER], certificate_type.code
        assert number_format_error(certificate_type.number_format) is None
        if certificate_type.number_format:
            assert certificate_type.number_field in certificate_type.face_fields
    food = types["FOOD-BIZ"]
    assert {"经营者名称", "许可证编号", "经营项目"} <= set(food.public_fields)
    assert food.number_field == "许可证编号" and food.number_format
    assert food.face_field_types["统一社会信用代码"] == FaceFieldType.USCC

    current = Item.objects.filter(current_version__isnull=False).select_related("current_version__certificate_type")
    actions: dict[str, set[str]] = {}
    for item in current:
        version = item.current_version
        if version.certificate_type_id:
            actions.setdefault(version.certificate_type.code, set()).add(version.certificate_action)
    assert actions["FOOD-BIZ"] == {"issue", "renew", "change", "cancel", "replace"}
    assert {"issue", "renew", "change", "cancel"} <= actions["PUBLIC-HEALTH"]
