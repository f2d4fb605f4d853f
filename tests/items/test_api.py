"""Catalogue API (DESIGN §10): published current versions only, the contract's JSON shape, search, filters."""

from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from items.models import MaterialRequirement
from items.services import item_draft_from_current, item_publish
from portal.security import FILE_POLICY
from tests.factories import DepartmentFactory
from tests.items.factories import CertificateTypeFactory, ItemFactory, ItemVersionFactory

pytestmark = pytest.mark.django_db

ITEM_KEYS = {
    "code", "basic_code", "name", "version", "item_type", "department", "audience", "handling", "statutory_days",
    "promised_days", "max_visits", "online", "fee", "location", "hotline", "certificate_type", "materials",
}
MATERIAL_KEYS = {"id", "name", "form", "required", "satisfied_by", "blank_form_url", "sample_url", "notes"}


@pytest.fixture
def catalogue(db):
    """A few published items across departments, audiences and types; one draft-only item."""
    ccsj = DepartmentFactory(code="CCSJ", name="长春市市场监督管理局")
    gjj = DepartmentFactory(code="CCGJJ", name="长春住房公积金管理中心")
    district = DepartmentFactory(code="NGSJ", name="南关区市场监督管理局", level="4")
    licence = CertificateTypeFactory(code="BIZ-LICENSE", name="营业执照", department=ccsj)
    food_type = CertificateTypeFactory(code="FOOD-BIZ", name="食品经营许可证", department=ccsj)
    food = ItemVersionFactory(
        publish=True, item=ItemFactory(code="FOOD-001", basic_code="0001170010", department=ccsj),
        name="食品经营许可（新办）", audience=["2", "5"], online=True, themes=["food_safety"],
        certificate_type=food_type, result_name="食品经营许可证",
        materials=[{"name": "食品经营许可申请书", "notes": "签字"}, {"name": "营业执照", "form": "copy", "satisfied_by": licence}],
    )
    fund = ItemVersionFactory(
        publish=True, item=ItemFactory(code="GJJ-001", department=gjj), name="住房公积金提取（租赁住房）",
        item_type="20", audience=["1"], instant=True, online=True, themes=["housing_fund"],
        materials=[{"name": "居民身份证"}],
    )
    shop = ItemVersionFactory(
        publish=True, item=ItemFactory(code="NG-001", department=district), name="个体工商户设立登记",
        audience=["1"], online=False, materials=[{"name": "经营场所使用证明"}],
    )
    draft_only = ItemVersionFactory(item=ItemFactory(code="DRAFT-001", department=ccsj), name="草稿里的新事项")
    return {"food": food, "fund": fund, "shop": shop, "draft_only": draft_only}


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(result["code"] for result in response.json()["results"])


def test_list_has_the_contract_shape(api, catalogue):
    response = api.get("/api/v1/items/")
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 3
    food = next(result for result in body["results"] if result["code"] == "FOOD-001")
    assert ITEM_KEYS <= set(food)
    assert food["department"] == {"code": "CCSJ", "name": "长春市市场监督管理局"}
    assert (food["version"], food["item_type"], food["audience"], food["handling"]) == (1, "01", ["2", "5"], "promised")
    assert (food["statutory_days"], food["promised_days"], food["fee"], food["certificate_type"]) == (20, 5, "不收费", "FOOD-BIZ")
    assert [set(material) >= MATERIAL_KEYS for material in food["materials"]] == [True, True]
    assert [(m["name"], m["form"], m["satisfied_by"]) for m in food["materials"]] == [
        ("食品经营许可申请书", "original", None), ("营业执照", "copy", "BIZ-LICENSE"),
    ]


def test_detail_by_code_and_404s(api, catalogue):
    response = api.get("/api/v1/items/FOOD-001/")
    assert response.status_code == 200 and response.json()["name"] == "食品经营许可（新办）"
    assert api.get("/api/v1/items/NOPE/").status_code == 404
    assert api.get("/api/v1/items/DRAFT-001/").status_code == 404


def test_drafts_never_appear(api, catalogue):
    food = catalogue["food"]
    draft = item_draft_from_current(item=food.item, actor=None)
    draft.name = "食品经营许可（草稿改名）"
    draft.save()
    MaterialRequirement.objects.create(version=draft, name="草稿才有的材料")

    assert "DRAFT-001" not in codes(api.get("/api/v1/items/"))
    assert api.get("/api/v1/items/FOOD-001/").json()["name"] == "食品经营许可（新办）"
    assert codes(api.get("/api/v1/items/", {"search": "草稿"})) == []
    assert codes(api.get("/api/v1/items/", {"search": "草稿才有的材料"})) == []

    item_publish(item=food.item, actor=None)
    detail = api.get("/api/v1/items/FOOD-001/").json()
    assert detail["name"] == "食品经营许可（草稿改名）" and detail["version"] == 2


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("食品", ["FOOD-001"]),
        ("公积金提取", ["GJJ-001"]),
        ("营业执照", ["FOOD-001"]),  # a material's name finds the items that need it
        ("居民身份证", ["GJJ-001"]),
        ("0001170010", ["FOOD-001"]),  # basic code
        ("ng-001", ["NG-001"]),  # code, case-insensitive
        ("市场监督管理局", ["FOOD-001", "NG-001"]),  # department name
        ("食品安全", ["FOOD-001"]),  # theme label
        ("经营 登记", ["NG-001"]),  # every term must match
        ("护照", []),
    ],
)
def test_search_finds_chinese_names_codes_and_materials(api, catalogue, search, expected):
    assert codes(api.get("/api/v1/items/", {"search": search})) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"department": "CCSJ"}, ["FOOD-001"]),
        ({"department": "NGSJ"}, ["NG-001"]),
        ({"item_type": "20"}, ["GJJ-001"]),
        ({"audience": "1"}, ["GJJ-001", "NG-001"]),
        ({"audience": "5"}, ["FOOD-001"]),
        ({"handling": "instant"}, ["GJJ-001"]),
        ({"online": "true"}, ["FOOD-001", "GJJ-001"]),
        ({"online": "false"}, ["NG-001"]),
        ({"level": "4"}, ["NG-001"]),
        ({"theme": "housing_fund"}, ["GJJ-001"]),
        ({"audience": "1", "online": "true"}, ["GJJ-001"]),
        ({"search": "登记", "department": "CCSJ"}, []),
    ],
)
def test_filters(api, catalogue, params, expected):
    assert codes(api.get("/api/v1/items/", params)) == expected


def test_invalid_filter_is_a_400_naming_the_field(api, catalogue):
    response = api.get("/api/v1/items/", {"handling": "later", "audience": "7"})
    assert response.status_code == 400
    assert set(response.json()) >= {"handling", "audience"}


def test_pagination(api, db):
    department = DepartmentFactory(code="CCSJ")
    for _ in range(23):
        ItemVersionFactory(publish=True, item=ItemFactory(department=department))
    first = api.get("/api/v1/items/").json()
    assert first["count"] == 23 and len(first["results"]) == 20 and first["next"] and first["previous"] is None
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 3 and second["next"] is None


def _publish_many(count: int):
    licence = CertificateTypeFactory(code="BIZ-LICENSE")
    joint = DepartmentFactory()
    for index in range(count):
        version = ItemVersionFactory(
            item=ItemFactory(department=DepartmentFactory()),
            certificate_type=licence,
            materials=[{"name": "申请书"}, {"name": "营业执照", "satisfied_by": licence}, {"name": "章程"}],
        )
        version.joint_departments.add(joint)
        item_publish(item=version.item, actor=None)


@pytest.mark.parametrize("count", [3, 20])
def test_list_query_count_does_not_grow_with_items(api, django_assert_num_queries, count):
    _publish_many(count)
    # count + page (version, item, department, certificate type) + materials (with satisfied_by) + joint departments
    with django_assert_num_queries(4):
        response = api.get("/api/v1/items/", {"search": "申请书"})
    assert response.json()["count"] == count


def test_detail_query_count(api, django_assert_max_num_queries):
    _publish_many(1)
    code = api.get("/api/v1/items/").json()["results"][0]["code"]
    with django_assert_max_num_queries(3):
        assert api.get(f"/api/v1/items/{code}/").status_code == 200


def test_blank_form_and_sample_urls_download_the_file(api, db):
    version = ItemVersionFactory(materials=[{"name": "申请书"}])
    material = version.materials.get()
    material.blank_form.save("申请书.xlsx", ContentFile(b"blank form"), save=False)
    material.save()
    item_publish(item=version.item, actor=None)

    data = api.get(f"/api/v1/items/{version.item.code}/").json()["materials"][0]
    assert data["sample_url"] is None and data["blank_form_url"].startswith("http://testserver/guide/files/")
    response = api.get(data["blank_form_url"])
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"blank form"
    assert "attachment" in response["Content-Disposition"]
    assert response["Content-Security-Policy"] == FILE_POLICY and response["X-Content-Type-Options"] == "nosniff"


def test_a_draft_materials_file_is_not_downloadable(api, db):
    draft = ItemVersionFactory(materials=[{"name": "申请书"}])
    material = draft.materials.get()
    material.blank_form.save("draft.xlsx", ContentFile(b"secret"), save=True)
    assert api.get(f"/guide/files/{material.pk}/blank_form/").status_code == 404
    assert api.get(f"/guide/files/{material.pk}/passwd/").status_code == 404


def test_departments_list(api, db):
    parent = DepartmentFactory(code="CCSJ", name="长春市市场监督管理局")
    DepartmentFactory(code="NGSJ", name="南关区市场监督管理局", level="4", parent=parent)
    body = api.get("/api/v1/departments/").json()
    assert body["count"] == 2
    assert {(d["code"], d["parent"]) for d in body["results"]} == {("CCSJ", None), ("NGSJ", "CCSJ")}


def test_openapi_schema_documents_the_catalogue(api, db, capsys):
    out = StringIO()
    call_command("spectacular", "--validate", stdout=out)
    # drf-spectacular prints its warnings and errors; none may concern the catalogue views.
    assert "items/apis.py" not in capsys.readouterr().err
    schema = out.getvalue()
    for path in ("/api/v1/items/", "/api/v1/items/{code}/", "/api/v1/departments/"):
        assert path in schema
    assert "blank_form_url" in schema
    assert api.get("/api/docs/").status_code == 200


def test_the_fast_representation_matches_the_documented_serializer(api, catalogue):
    from items.apis import ItemSerializer, MaterialSerializer

    food = api.get("/api/v1/items/FOOD-001/").json()
    assert set(food) == set(ItemSerializer().fields)
    assert set(food["materials"][0]) == set(MaterialSerializer().fields)
