"""办事指南 pages (DESIGN §10 pages): list with search and filters, item guide, history; drafts never shown."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from items.services import item_draft_from_current, item_publish
from tests.factories import DepartmentFactory
from tests.items.factories import CertificateTypeFactory, ItemFactory, ItemVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def food(db):
    department = DepartmentFactory(code="CCSJ", name="长春市市场监督管理局")
    licence = CertificateTypeFactory(code="BIZ-LICENSE", name="营业执照", department=department)
    version = ItemVersionFactory(
        item=ItemFactory(code="FOOD-001", department=department),
        name="食品经营许可（新办）",
        statutory_days=10,
        promised_days=5,
        max_visits=1,
        online=True,
        audience=["2"],
        themes=["food_safety"],
        conditions="具有与经营的食品品种相适应的经营场所",
        procedure=["申请", "受理", "审查", "决定"],
        legal_basis="《中华人民共和国食品安全法》第三十五条",
        location="长春市政务服务中心二楼",
        office_hours="周一至周五 8:30—17:00",
        hotline="0431-88771234",
        supervision_phone="0431-12345",
        faq="问：需要现场核查吗？答：必要时核查。",
        fee_charged=True,
        fee_standard="每件 80 元",
        fee_basis="发改价格规〔2016〕2559号",
        result_name="食品经营许可证",
        materials=[
            {"name": "食品经营许可申请书", "notes": "法定代表人签字"},
            {"name": "营业执照", "form": "copy", "copies_original": 0, "copies_copy": 1, "satisfied_by": licence},
            {"name": "食品安全管理制度", "required": False, "deferrable": True},
        ],
    )
    material = version.materials.get(name="食品经营许可申请书")
    material.blank_form.save("food.xlsx", ContentFile(b"blank"), save=False)
    material.sample.save("food-sample.xlsx", ContentFile(b"sample"), save=False)
    material.save()
    item_publish(item=version.item, actor=None)
    return version


def test_guide_lists_published_items_and_never_drafts(client, food):
    ItemVersionFactory(name="草稿里的新事项")
    draft = item_draft_from_current(item=food.item, actor=None)
    draft.name = "草稿改名"
    draft.save()
    page = client.get(reverse("items:guide")).content.decode()
    assert "食品经营许可（新办）" in page and "共 <strong>1</strong> 个事项" in page
    assert "草稿" not in page
    assert client.get("/guide/FOOD-001/").content.decode().count("草稿改名") == 0


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ({"q": "食品"}, True),
        ({"q": "营业执照"}, True),
        ({"q": "公积金"}, False),
        ({"department": "CCSJ"}, True),
        ({"audience": "1"}, False),
        ({"audience": "2", "theme": "food_safety"}, True),
        ({"theme": "housing_fund"}, False),
        ({"handling": "instant"}, False),
        ({"online": "1"}, True),
        ({"online": "0"}, False),
    ],
)
def test_guide_search_and_filters(client, food, query, found):
    page = client.get("/guide/", query).content.decode()
    assert ("食品经营许可（新办）" in page) is found
    if not found:
        assert "没有找到符合条件的事项" in page


def test_guide_paginates(client, db):
    department = DepartmentFactory()
    for index in range(23):
        ItemVersionFactory(publish=True, name=f"事项{index:02d}", item=ItemFactory(department=department))
    first = client.get("/guide/", {"department": department.code}).content.decode()
    assert "共 <strong>23</strong> 个事项" in first and "下一页" in first
    second = client.get("/guide/", {"department": department.code, "page": 2})
    assert second.context["page"].number == 2 and len(second.context["page"].object_list) == 3


def test_guide_query_count_is_fixed(client, db, django_assert_max_num_queries):
    department = DepartmentFactory()
    for _ in range(10):
        ItemVersionFactory(publish=True, item=ItemFactory(department=department), materials=[{"name": "申请书"}, {"name": "身份证"}])
    with django_assert_max_num_queries(6):
        assert client.get("/guide/").status_code == 200


def test_detail_shows_every_element_a_citizen_needs(client, food):
    response = client.get(reverse("items:detail", args=["FOOD-001"]))
    page = response.content.decode()
    for text in [
        "食品经营许可（新办）", "长春市市场监督管理局", "10 个工作日", "5 个工作日", "到现场次数", "1 次",
        "具有与经营的食品品种相适应的经营场所", "食品经营许可申请书", "法定代表人签字", "复印件 1 份",
        "持有有效电子证照“营业执照”的免交", "可容缺", "非必要", "申请", "审查", "每件 80 元", "发改价格规〔2016〕2559号",
        "长春市政务服务中心二楼", "周一至周五 8:30—17:00", 'href="tel:0431-88771234"', "0431-12345",
        "《中华人民共和国食品安全法》第三十五条", "需要现场核查吗", "食品经营许可证", "企业法人", "第 1 版",
    ]:
        assert text in page, text
    assert 'href="/apply/FOOD-001/"' in page and "在线办理" in page
    material = food.materials.get(name="食品经营许可申请书")
    blank = reverse("items:material_file", args=[material.pk, "blank_form"])
    sample = reverse("items:material_file", args=[material.pk, "sample"])
    assert blank in page and sample in page
    assert b"".join(client.get(blank).streaming_content) == b"blank"
    assert b"".join(client.get(sample).streaming_content) == b"sample"


def test_no_online_button_for_a_counter_only_item(client, db):
    version = ItemVersionFactory(publish=True, online=False)
    page = client.get(f"/guide/{version.item.code}/").content.decode()
    assert "/apply/" not in page and "在线办理" not in page


def test_unknown_and_draft_only_codes_are_404(client, db):
    draft = ItemVersionFactory()
    assert client.get("/guide/NOPE/").status_code == 404
    assert client.get(f"/guide/{draft.item.code}/").status_code == 404
    assert client.get(f"/guide/{draft.item.code}/history/").status_code == 404
    assert client.get(f"/guide/{draft.item.code}/versions/1/").status_code == 404


def test_history_lists_versions_with_changes_and_old_versions_stay_readable(client, food):
    draft = item_draft_from_current(item=food.item, actor=None)
    draft.promised_days = 3
    draft.change_note = "压缩承诺时限"
    draft.save()
    draft.materials.filter(name="食品安全管理制度").delete()
    item_publish(item=food.item, actor=None)

    history = client.get("/guide/FOOD-001/history/").content.decode()
    assert "第 2 版" in history and "第 1 版" in history and "压缩承诺时限" in history
    assert "承诺办结时限（工作日）" in history and "删除材料" in history and "食品安全管理制度" in history
    assert "首次发布" in history

    old = client.get("/guide/FOOD-001/versions/1/").content.decode()
    assert "历史版本" in old and "5 个工作日" in old and "食品安全管理制度" in old
    assert "/apply/" not in old  # only the current version can be applied for
    current = client.get("/guide/FOOD-001/").content.decode()
    assert "3 个工作日" in current and "食品安全管理制度" not in current
    assert client.get("/guide/FOOD-001/versions/2/").status_code == 302
    assert client.get("/guide/FOOD-001/versions/9/").status_code == 404


def test_guide_is_linked_from_the_navigation(client, food):
    assert 'href="/guide/"' in client.get("/").content.decode()
