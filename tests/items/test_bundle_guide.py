"""一件事一次办 in the 办事指南 (DESIGN §4 "Bundles", §13 home page; issue 18): the guide search lists matching
bundles above the items, the guide links the bundle list, and a member item's guide page names its bundle."""

import pytest

from items.models import Bundle, BundleMember
from tests.factories import DepartmentFactory, published_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def food():
    return published_item(code="11220100MB0000001Y0100040400001", name="食品经营许可（新办）",
                          department=DepartmentFactory(code="CCSJ", name="长春市市场监督管理局"))


@pytest.fixture
def tax():
    return published_item(code="11220100MB0000010W2000571700001", name="新办纳税人涉税事项套餐",
                          department=DepartmentFactory(code="CCSW", name="国家税务总局长春市税务局"))


@pytest.fixture
def birth():
    return published_item(code="11220100MB0000020X2000571700002", name="出生医学证明签发",
                          department=DepartmentFactory(code="CCWJ", name="长春市卫生健康委员会"))


def make_bundle(code, name, description, items, status="published"):
    bundle = Bundle.objects.create(code=code, name=name, description=description, status=status)
    for order, item in enumerate(items, start=1):
        BundleMember.objects.create(bundle=bundle, item=item, order=order)
    return bundle


@pytest.fixture
def restaurant(food, tax):
    return make_bundle("YJS-KBCYD", "开办餐饮店", "开店需要办理的食品经营许可和涉税事项，一次办成。", [food, tax])


@pytest.fixture
def newborn(birth, tax):
    return make_bundle("YJS-XSE", "新生儿出生一件事", "出生医学证明、户口登记、医保参保一次办。", [birth, tax])


def guide(client, query):
    response = client.get("/guide/", {"q": query})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(("query", "found"), [
    ("餐饮", "开办餐饮店"),  # the bundle's name
    ("新生儿", "新生儿出生一件事"),
    ("户口登记", "新生儿出生一件事"),  # its description
    ("出生医学证明签发", "新生儿出生一件事"),  # a member item's name
])
def test_the_guide_search_lists_matching_bundles_above_the_items(client, restaurant, newborn, query, found):
    body = guide(client, query)
    code = Bundle.objects.get(name=found).code
    assert f'href="/guide/bundles/{code}/"' in body and "相关“一件事”" in body
    other = ({"开办餐饮店", "新生儿出生一件事"} - {found}).pop()
    assert other not in body
    if "item-card\"" in body.split("bundle-results", 1)[1]:  # items found too: the bundles come first
        assert body.index(f"/guide/bundles/{code}/") < body.index('class="result-count"')


def test_a_bundle_matching_by_a_shared_member_and_by_name_terms_together(client, restaurant, newborn):
    # 新办纳税人涉税事项套餐 is in both bundles; every term must match (as for items).
    body = guide(client, "涉税")
    assert "/guide/bundles/YJS-KBCYD/" in body and "/guide/bundles/YJS-XSE/" in body
    body = guide(client, "涉税 餐饮")
    assert "/guide/bundles/YJS-KBCYD/" in body and "/guide/bundles/YJS-XSE/" not in body
    # The items list stays items only: the count does not include bundles.
    assert "共 <strong>0</strong> 个事项" in body


def test_draft_bundles_and_no_match_list_no_bundle(client, food, tax, restaurant):
    make_bundle("YJS-DRAFT", "餐饮外卖一件事", "草稿", [food, tax], status="draft")
    body = guide(client, "餐饮")
    assert "/guide/bundles/YJS-KBCYD/" in body and "YJS-DRAFT" not in body and "餐饮外卖一件事" not in body
    body = guide(client, "公积金")
    assert "相关“一件事”" not in body and "/guide/bundles/YJS-KBCYD/" not in body
    assert Bundle.objects.get(code="YJS-DRAFT").status == "draft"


def test_the_items_api_keeps_its_contract(client, restaurant):
    """DESIGN §10: GET /api/v1/items/ lists items only; bundles are the guide page's addition."""
    body = client.get("/api/v1/items/", {"search": "食品经营"}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert "食品经营许可（新办）" in [row["name"] for row in body["results"]]
    assert all(row["code"] and "version" in row for row in body["results"])
    assert client.get("/api/v1/items/", {"search": "开办餐饮店"}).json()["count"] == 0


def test_the_guide_links_the_bundle_list(client, restaurant):
    body = client.get("/guide/").content.decode()
    assert 'href="/guide/bundles/"' in body
    listing = client.get("/guide/bundles/").content.decode()
    assert 'href="/guide/bundles/YJS-KBCYD/"' in listing


def test_a_member_items_page_names_its_bundles(client, food, tax, restaurant, newborn):
    make_bundle("YJS-DRAFT", "餐饮外卖一件事", "草稿", [food, tax], status="draft")
    body = client.get(f"/guide/{tax.code}/").content.decode()
    assert "本事项可在一件事“<a href=\"/guide/bundles/YJS-KBCYD/\">开办餐饮店</a>”中一次办理" in body
    assert "本事项可在一件事“<a href=\"/guide/bundles/YJS-XSE/\">新生儿出生一件事</a>”中一次办理" in body
    assert "餐饮外卖一件事" not in body
    food_page = client.get(f"/guide/{food.code}/").content.decode()
    assert "开办餐饮店" in food_page and "新生儿出生一件事" not in food_page
    alone = published_item(name="单独事项")
    assert "本事项可在一件事" not in client.get(f"/guide/{alone.code}/").content.decode()


def test_the_guide_search_with_bundles_has_a_fixed_query_count(client, restaurant, newborn, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        assert "开办餐饮店" in guide(client, "涉税")
