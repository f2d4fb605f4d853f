"""`manage.py import_catalogue` / `export_catalogue` (DESIGN §4): all-or-nothing, idempotent, versioned."""

import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from certificates.models import CertificateType
from items.models import Item, ItemVersion, MaterialRequirement, VersionStatus
from portal.models import AuditEvent, Department, Hall
from tests.items.factories import ItemVersionFactory

pytestmark = pytest.mark.django_db

FOOD = "11220100MB1234567K4000117001000"
FUND = "11220100MB1234567K2000200001000"


def counts() -> dict:
    return {
        "departments": Department.objects.count(),
        "halls": Hall.objects.count(),
        "certificate_types": CertificateType.objects.count(),
        "items": Item.objects.count(),
        "versions": ItemVersion.objects.count(),
        "materials": MaterialRequirement.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def import_file(path):
    call_command("import_catalogue", str(path), stdout=open("/dev/null", "w"))


def test_json_import_creates_everything_and_publishes_version_1(catalogue, write_json):
    import_file(write_json(catalogue))

    assert Department.objects.get(code="TSJ-NG").parent.code == "TSJ"
    assert Hall.objects.get(code="T-CITY").windows == 48
    food = Item.objects.get(code=FOOD)
    version = food.current_version
    assert (version.number, version.status, version.name) == (1, VersionStatus.PUBLISHED, "食品经营许可（新办）")
    assert version.valid_from is not None and version.published_at is not None
    assert version.certificate_type.code == "T-FOOD-BIZ"
    assert version.procedure == ["受理", "审查", "决定", "制证", "送达"]
    assert version.fee_charged is False and version.fee_display == "不收费"
    materials = list(version.materials.order_by("order"))
    assert [material.name for material in materials] == ["食品经营许可申请书", "营业执照"]
    assert materials[1].satisfied_by.code == "T-BIZ-LICENSE"
    assert materials[1].copies_copy == 1 and materials[1].source == "government"
    fund = Item.objects.get(code=FUND).current_version
    # The level defaults to the department's; the material's copies default from its form.
    assert fund.level == "4" and fund.handling == "instant" and fund.materials.get().copies_original == 1
    publishes = AuditEvent.objects.filter(action="item_publish").order_by("seq")
    assert [(event.object_id, event.payload) for event in publishes] == [(FOOD, {"version": 1}), (FUND, {"version": 1})]
    assert AuditEvent.objects.filter(action="catalogue_import").count() == 1


def test_importing_the_same_file_twice_creates_nothing(catalogue, write_json):
    path = write_json(catalogue)
    import_file(path)
    before = counts()
    import_file(path)
    assert counts() == before
    assert Item.objects.get(code=FOOD).current_version.number == 1


def test_a_changed_item_becomes_a_new_version_and_the_old_one_stays_readable(catalogue, write_json, client):
    import_file(write_json(catalogue))
    first = Item.objects.get(code=FOOD).current_version
    first_materials = list(first.materials.values_list("name", flat=True))

    food = catalogue["items"][0]
    food["promised_days"] = 3
    food["materials"][0]["notes"] = "新的填报须知"
    food["materials"].append({"name": "食品安全管理制度", "form": "original"})
    before = counts()
    import_file(write_json(catalogue, "changed.json"))

    item = Item.objects.get(code=FOOD)
    assert item.current_version.number == 2 and item.current_version.promised_days == 3
    after = counts()
    # One new version with its three materials; the unchanged item got nothing new.
    assert after["versions"] == before["versions"] + 1
    assert after["materials"] == before["materials"] + 3
    assert Item.objects.get(code=FUND).versions.count() == 1
    first.refresh_from_db()
    assert first.status == VersionStatus.PUBLISHED and first.promised_days == 5
    assert list(first.materials.values_list("name", flat=True)) == first_materials

    old_page = client.get(f"/guide/{FOOD}/versions/1/")
    assert old_page.status_code == 200
    assert "历史版本" in old_page.content.decode() and "5 个工作日" in old_page.content.decode()
    history = client.get(f"/guide/{FOOD}/history/").content.decode()
    assert "第 2 版" in history and "承诺办结时限（工作日）" in history and "食品安全管理制度" in history


def write_xlsx(path, sheets: dict[str, list[list]]):
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def xlsx_sheets(catalogue) -> dict[str, list[list]]:
    """The valid catalogue written by hand as a person would fill in the sheets."""
    food, fund = catalogue["items"]
    item_columns = ["code", "basic_code", "name", "item_type", "level", "department", "audience", "handling",
                    "statutory_days", "promised_days", "max_visits", "online", "express", "appointment",
                    "onsite_inspection", "fee", "conditions", "procedure", "legal_basis", "location",
                    "office_hours", "hotline", "supervision_phone", "result_name", "certificate_type", "themes"]

    def item_row(item):
        row = []
        for column in item_columns:
            value = item.get(column)
            if column == "procedure":
                value = "\n".join(value or [])
            elif isinstance(value, list):
                value = ",".join(value)
            row.append(value)
        return row

    material_columns = ["item", "name", "form", "copies_original", "copies_copy", "required", "source", "satisfied_by", "notes"]
    materials = [
        [item["code"], *[material.get(column) for column in material_columns[1:]]]
        for item in (food, fund)
        for material in item["materials"]
    ]
    return {
        "departments": [list(catalogue["departments"][0]), *[list(d.values()) for d in catalogue["departments"]]],
        "halls": [["code", "name", "level", "windows"], ["T-CITY", "测试市政务服务中心", 3, 48]],
        "certificate_types": [
            ["code", "name", "department", "validity_years"],
            *[[c["code"], c["name"], c["department"], c["validity_years"]] for c in catalogue["certificate_types"]],
        ],
        "items": [item_columns, item_row(food), item_row(fund)],
        "materials": [material_columns, *materials],
    }


def test_xlsx_import_matches_the_json_import(catalogue, tmp_path, write_json):
    sheets = xlsx_sheets(catalogue)
    # People type 是/否 and labels, and numbers become numbers in Excel.
    sheets["items"][2][sheets["items"][0].index("handling")] = "即办件"
    sheets["items"][2][sheets["items"][0].index("online")] = "否"
    import_file(write_xlsx(tmp_path / "catalogue.xlsx", sheets))

    version = Item.objects.get(code=FOOD).current_version
    assert version.audience == ["2"] and version.procedure == ["受理", "审查", "决定", "制证", "送达"]
    assert version.materials.get(name="营业执照").satisfied_by.code == "T-BIZ-LICENSE"
    fund = Item.objects.get(code=FUND).current_version
    assert fund.handling == "instant" and fund.online is False and fund.themes == ["housing_fund"]
    assert Hall.objects.get(code="T-CITY").level == "3"
    # The same catalogue as JSON is recognised as unchanged: nothing new.
    before = counts()
    import_file(write_json(catalogue))
    assert counts() == before


@pytest.mark.parametrize("suffix", ["json", "xlsx"])
def test_export_then_import_changes_nothing(catalogue, write_json, tmp_path, suffix):
    import_file(write_json(catalogue))
    ItemVersionFactory(publish=True, name="另一个事项", materials=[{"name": "身份证", "deferrable": True}])
    out = tmp_path / f"export.{suffix}"
    call_command("export_catalogue", str(out), stdout=open("/dev/null", "w"))
    if suffix == "json":
        exported = json.loads(out.read_text(encoding="utf-8"))
        food = next(item for item in exported["items"] if item["code"] == FOOD)
        assert food["materials"][1]["satisfied_by"] == "T-BIZ-LICENSE" and food["fee"] == "不收费"
    before = counts()
    import_file(out)
    assert counts() == before


# ---------------------------------------------------------------------------------------------- bad files


def _set(path: str, value):
    def mutate(data):
        target = data
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        last = keys[-1]
        if value is KeyError:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return mutate


def _duplicate_second_item(data):
    data["items"][1]["code"] = data["items"][0]["code"]


BAD_FILES = [
    pytest.param(_set("items.1.department", "NOPE"), ["items 第 2 行", FUND, "department", "未知的部门编码 NOPE"], id="unknown-department"),
    pytest.param(_set("items.0.certificate_type", "NOPE"), ["items 第 1 行", FOOD, "certificate_type", "未知的证照类型编码 NOPE"], id="unknown-certificate-type"),
    pytest.param(_set("items.0.materials.1.satisfied_by", "NOPE"), ["items 第 1 行", FOOD, "materials 第 2 行", "satisfied_by"], id="unknown-satisfied-by"),
    pytest.param(_duplicate_second_item, ["items 第 2 行", "code", "重复"], id="duplicate-item-code"),
    pytest.param(_set("certificate_types.1.code", "T-FOOD-BIZ"), ["certificate_types 第 2 行", "重复"], id="duplicate-type-code"),
    pytest.param(_set("items.0.promised_days", 25), ["items 第 1 行", FOOD, "promised_days", "承诺时限（25）不能大于法定时限（20）"], id="promised-over-statutory"),
    pytest.param(_set("items.1.promised_days", 2), ["items 第 2 行", FUND, "promised_days", "即办件的承诺时限必须为 0"], id="instant-with-days"),
    pytest.param(_set("departments.0.credit_code", "91220100MA00000010"), ["departments 第 1 行", "TSJ", "credit_code", "统一社会信用代码", "91220100MA00000010"], id="bad-credit-code"),
    pytest.param(_set("items.0.name", KeyError), ["items 第 1 行", FOOD, "name", "缺少必填项"], id="missing-name"),
    pytest.param(_set("items.1.statutory_days", "三"), ["items 第 2 行", "statutory_days", "应为整数"], id="wrong-type-int"),
    pytest.param(_set("items.0.online", "yes"), ["items 第 1 行", "online", "应为 true 或 false"], id="wrong-type-bool"),
    pytest.param(_set("items.0.audience", ["7"]), ["items 第 1 行", "audience", "无效的值 7"], id="unknown-audience"),
    pytest.param(_set("items.0.item_type", "99"), ["items 第 1 行", "item_type", "无效的值 99"], id="unknown-item-type"),
    pytest.param(_set("items.0.code", "1" * 37), ["items 第 1 行", "code", "长度不能超过 36 个字符"], id="code-too-long"),
    pytest.param(_set("items.0.colour", "红"), ["items 第 1 行", "colour", "未知字段"], id="unknown-key"),
    pytest.param(_set("items.0.materials.0.form", "scan"), ["materials 第 1 行", "form", "无效的值 scan"], id="bad-material-form"),
    pytest.param(_set("packages", []), ["未知的部分：packages"], id="unknown-section"),
    pytest.param(_set("items", {"code": "x"}), ["items：应为列表"], id="section-not-a-list"),
]


@pytest.mark.parametrize(("mutate", "expected"), BAD_FILES)
def test_bad_json_is_rejected_naming_row_and_field_and_nothing_is_written(catalogue, write_json, mutate, expected):
    mutate(catalogue)
    before = counts()
    with pytest.raises(CommandError) as error:
        import_file(write_json(catalogue))
    message = str(error.value)
    assert "未写入任何数据" in message
    for fragment in expected:
        assert fragment in message
    assert counts() == before


def test_an_error_in_the_last_item_leaves_even_valid_earlier_rows_unwritten(catalogue, write_json):
    catalogue["items"][1]["promised_days"] = 9  # an instant item: only this row is wrong
    before = counts()
    with pytest.raises(CommandError):
        import_file(write_json(catalogue))
    assert counts() == before
    assert not Department.objects.filter(code="TSJ").exists()


def test_a_bad_change_to_an_existing_catalogue_keeps_the_old_state(catalogue, write_json):
    import_file(write_json(catalogue))
    before = counts()
    catalogue["items"][0]["name"] = "食品经营许可（改名）"
    catalogue["items"][1]["department"] = "NOPE"
    with pytest.raises(CommandError):
        import_file(write_json(catalogue, "bad.json"))
    assert counts() == before
    assert Item.objects.get(code=FOOD).current_version.name == "食品经营许可（新办）"


def test_every_error_of_a_file_is_reported_at_once(catalogue, write_json):
    catalogue["items"][0]["promised_days"] = 30
    catalogue["items"][1]["department"] = "NOPE"
    with pytest.raises(CommandError) as error:
        import_file(write_json(catalogue))
    assert "items 第 1 行" in str(error.value) and "items 第 2 行" in str(error.value)


def test_malformed_json_is_rejected(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"items": [', encoding="utf-8")
    with pytest.raises(CommandError, match="JSON 格式错误：第 1 行"):
        import_file(path)
    assert Item.objects.count() == 0


def test_unsupported_file_type_and_missing_file(tmp_path):
    path = tmp_path / "catalogue.csv"
    path.write_text("code,name", encoding="utf-8")
    with pytest.raises(CommandError, match="不支持的文件类型"):
        import_file(path)
    with pytest.raises(CommandError, match="文件不存在"):
        import_file(tmp_path / "missing.json")


def test_xlsx_unknown_sheet_and_column_are_rejected(catalogue, tmp_path):
    sheets = xlsx_sheets(catalogue)
    sheets["bundle"] = [["code"], ["B1"]]  # a typo of the bundles sheet
    sheets["halls"][0].append("colour")
    with pytest.raises(CommandError) as error:
        import_file(write_xlsx(tmp_path / "bad.xlsx", sheets))
    assert "未知的工作表：bundle（" in str(error.value)
    assert "工作表 halls 第 1 行：未知的列 colour" in str(error.value)
    assert Item.objects.count() == 0


def test_xlsx_errors_name_the_spreadsheet_row_and_item(catalogue, tmp_path):
    sheets = xlsx_sheets(catalogue)
    columns = sheets["materials"][0]
    sheets["materials"][2][columns.index("satisfied_by")] = "NOPE"  # spreadsheet row 3
    sheets["items"][2][sheets["items"][0].index("promised_days")] = 4  # spreadsheet row 3, instant
    before = counts()
    with pytest.raises(CommandError) as error:
        import_file(write_xlsx(tmp_path / "bad.xlsx", sheets))
    message = str(error.value)
    assert f"工作表 materials 第 3 行（事项 {FOOD}） 字段 satisfied_by：未知的证照类型编码 NOPE" in message
    assert f"工作表 items 第 3 行（事项 {FUND}） 字段 promised_days" in message
    assert counts() == before


def test_xlsx_material_for_an_unknown_item_is_rejected(catalogue, tmp_path):
    sheets = xlsx_sheets(catalogue)
    sheets["materials"].append(["NO-SUCH-ITEM", "身份证", "original", 1, 0, True, "applicant", None, None])
    with pytest.raises(CommandError, match="事项 NO-SUCH-ITEM 不在 items 工作表中"):
        import_file(write_xlsx(tmp_path / "bad.xlsx", sheets))


def test_a_corrupt_xlsx_is_rejected(tmp_path):
    path = tmp_path / "corrupt.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="不是有效的 xlsx 文件"):
        import_file(path)


def test_a_changed_item_with_an_open_draft_is_refused(catalogue, write_json):
    from items.services import item_draft_from_current

    import_file(write_json(catalogue))
    item_draft_from_current(item=Item.objects.get(code=FOOD), actor=None)
    catalogue["items"][0]["promised_days"] = 4
    before = counts()
    with pytest.raises(CommandError, match="未发布的草稿"):
        import_file(write_json(catalogue, "changed.json"))
    assert counts() == before
