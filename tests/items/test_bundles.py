"""一件事一次办 in the catalogue (DESIGN §4 "Bundles"): models, the `bundles` import/export section, the guide."""

import json

import pytest

from items.importing import CatalogueError
from items.models import Bundle, BundleField, BundleMaterial
from items.selectors import bundle_export, catalogue_export
from items.services import catalogue_import

pytestmark = pytest.mark.django_db

FOOD = "11220100MB1234567K4000117001000"
FUND = "11220100MB1234567K2000200001000"


def with_bundle(catalogue, **changes):
    bundle = {
        "code": "YJS-TEST", "name": "开办餐饮店", "theme": "business_startup", "description": "一次办",
        "items": [FOOD, FUND],
        "fields": [{"name": "shop_name", "label": "店铺名称", "required": True, "items": []},
                   {"name": "food_items", "label": "经营项目", "items": [FOOD]}],
        "materials": [{"name": "身份证明", "maps": {FOOD: "营业执照", FUND: "居民身份证"}}],
        **changes,
    }
    catalogue["bundles"] = [bundle]
    return catalogue


def test_import_creates_the_bundle_with_ordered_members_fields_and_materials(catalogue):
    catalogue_import(data=with_bundle(catalogue), actor=None)

    bundle = Bundle.objects.get(code="YJS-TEST")
    assert bundle.status == "published" and bundle.theme == "business_startup"
    assert [m.item.code for m in bundle.members.all()] == [FOOD, FUND]
    assert list(bundle.fields.values_list("name", "items")) == [("shop_name", []), ("food_items", [FOOD])]
    assert BundleMaterial.objects.get(bundle=bundle).maps == {FOOD: "营业执照", FUND: "居民身份证"}


def test_reimport_is_idempotent_and_a_change_replaces_the_parts(catalogue):
    catalogue_import(data=with_bundle(catalogue), actor=None)
    ids = list(BundleField.objects.values_list("pk", flat=True))
    summary = catalogue_import(data=with_bundle(catalogue), actor=None)
    assert not summary.changed
    assert list(BundleField.objects.values_list("pk", flat=True)) == ids

    summary = catalogue_import(data=with_bundle(catalogue, items=[FUND, FOOD]), actor=None)
    assert summary.updated["bundles"] == 1
    assert [m.item.code for m in Bundle.objects.get().members.all()] == [FUND, FOOD]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"items": [FOOD, "NO-SUCH-ITEM"]}, "bundles 第 1 行（一件事 YJS-TEST） 字段 items：未知或未发布的事项编码 NO-SUCH-ITEM"),
        ({"items": [FOOD]}, "一件事至少包含两个事项"),
        ({"materials": [{"name": "身份证明", "maps": {FOOD: "不存在的材料"}}]}, "materials 第 1 行 字段 maps：事项 " + FOOD + " 没有名为「不存在的材料」的申请材料"),
        ({"materials": [{"name": "身份证明"}]}, "materials 第 1 行 字段 maps：缺少必填项"),
        ({"fields": [{"name": "x", "label": "X", "items": ["OTHER"]}]}, "fields 第 1 行 字段 items：事项 OTHER 不在本一件事中"),
        ({"theme": "nope"}, "字段 theme：无效的值 nope"),
    ],
)
def test_bad_rows_are_named_and_nothing_is_imported(catalogue, changes, message):
    with pytest.raises(CatalogueError) as error:
        catalogue_import(data=with_bundle(catalogue, **changes), actor=None)
    assert any(message in line for line in error.value.errors), error.value.errors
    assert not Bundle.objects.exists()


def test_duplicate_bundle_codes_are_refused(catalogue):
    data = with_bundle(catalogue)
    data["bundles"].append(dict(data["bundles"][0]))
    with pytest.raises(CatalogueError) as error:
        catalogue_import(data=data, actor=None)
    assert "bundles 第 2 行（一件事 YJS-TEST） 字段 code：编码 YJS-TEST 重复（与第 1 行相同）" in error.value.errors


def test_export_round_trips(catalogue):
    catalogue_import(data=with_bundle(catalogue), actor=None)
    exported = catalogue_export()
    assert exported["bundles"] == bundle_export()
    assert exported["bundles"][0]["materials"] == [{"name": "身份证明", "maps": {FOOD: "营业执照", FUND: "居民身份证"}}]
    summary = catalogue_import(data=json.loads(json.dumps(exported)), actor=None)
    assert not summary.changed


def test_guide_lists_published_bundles_and_shows_one(client, catalogue):
    catalogue_import(data=with_bundle(catalogue), actor=None)
    Bundle.objects.create(code="YJS-DRAFT", name="草稿一件事", status="draft")

    listing = client.get("/guide/bundles/")
    assert listing.status_code == 200
    assert "开办餐饮店" in listing.content.decode() and "草稿一件事" not in listing.content.decode()

    page = client.get("/guide/bundles/YJS-TEST/").content.decode()
    assert "食品经营许可（新办）" in page and "测试市市场监督管理局" in page and "测试市南关区市场监督管理局" in page
    assert "5 个工作日" in page  # the longest member: 5 and 0 (instant)
    assert page.count("身份证明") == 1
    assert 'href="/apply/bundle/YJS-TEST/"' in page
    assert client.get("/guide/bundles/YJS-DRAFT/").status_code == 404


def test_demo_catalogue_has_three_bundles():
    from items.demo import load
    from tests.factories import DepartmentFactory

    for code in ("CCSJ", "NGSJ", "CCGJJ", "CCYB", "NGMZ", "CCMZ", "CCWJ", "HQJD", "NLJD", "CCGA", "CCJT", "CCZR",
                 "CCRS", "CYRS", "CCSW"):
        DepartmentFactory(code=code)
    load()
    assert set(Bundle.objects.values_list("code", flat=True)) >= {"YJS-KBCYD", "YJS-XSECS", "YJS-YGLY"}
    assert all(bundle.members.count() >= 3 for bundle in Bundle.objects.all())


def test_xlsx_export_and_import_carry_the_bundles(catalogue, tmp_path):
    """The three bundle sheets (bundles, bundle_fields, bundle_materials) round-trip through the commands."""
    from django.core.management import call_command
    from openpyxl import load_workbook

    catalogue_import(data=with_bundle(catalogue), actor=None)
    path = tmp_path / "catalogue.xlsx"
    call_command("export_catalogue", str(path))
    sheets = load_workbook(path).sheetnames
    assert {"bundles", "bundle_fields", "bundle_materials"} <= set(sheets)
    call_command("import_catalogue", str(path))  # the same file again: nothing new
    assert Bundle.objects.count() == 1 and BundleField.objects.count() == 2
    assert BundleMaterial.objects.get().maps == {FOOD: "营业执照", FUND: "居民身份证"}

    Bundle.objects.all().delete()
    call_command("import_catalogue", str(path))  # and it recreates the bundle
    bundle = Bundle.objects.get(code="YJS-TEST")
    assert [m.item.code for m in bundle.members.all()] == [FOOD, FUND]
    assert list(bundle.fields.values_list("name", "items")) == [("shop_name", []), ("food_items", [FOOD])]


def test_xlsx_bundle_rows_with_errors_are_named(catalogue, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from openpyxl import load_workbook

    catalogue_import(data=with_bundle(catalogue), actor=None)
    path = tmp_path / "catalogue.xlsx"
    call_command("export_catalogue", str(path))
    workbook = load_workbook(path)
    workbook["bundle_materials"].append(["NO-SUCH-BUNDLE", "户口簿", FOOD, "营业执照"])  # row 4, after two mappings
    workbook.save(path)
    Bundle.objects.all().delete()
    with pytest.raises(CommandError) as error:
        call_command("import_catalogue", str(path))
    assert "工作表 bundle_materials 第 4 行 字段 bundle：一件事 NO-SUCH-BUNDLE 不在 bundles 工作表中" in str(error.value)
    assert not Bundle.objects.exists()
