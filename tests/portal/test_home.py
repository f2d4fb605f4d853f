"""The home page (DESIGN §13 "Home page", decision 047): search first, 个人办事 / 法人办事 by theme, the
published 一件事, the most-used items, 办件查询 and 证照核验, in a fixed number of queries; and the guide search
ranking a name match above a match in other fields."""

import re

import pytest
import time_machine

from items.models import Bundle, BundleMember
from tests.factories import ApplicationFactory, organisation_with_rep, published_item

pytestmark = pytest.mark.django_db


def text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def section(body: str, heading_id: str) -> str:
    """The HTML of the <section> labelled by `heading_id` (up to the next top-level section)."""
    start = body.index(f'aria-labelledby="{heading_id}"')
    end = body.find('<section class="home-section', start + 1)
    return body[start:end if end != -1 else len(body)]


def theme_card(body: str, audience: str, theme: str) -> str:
    start = body.index(f'aria-labelledby="theme-{audience}-{theme}"')
    return body[start:body.index("</section>", start)]


def code(n: int) -> str:
    return f"11220100MB1234567K4000{n:09d}"


@pytest.fixture
def catalogue(db):
    return {
        "fund": published_item(code=code(1), name="住房公积金提取（租赁住房）", audience=["1"], themes=["housing_fund"]),
        "food": published_item(code=code(2), name="食品经营许可（新办）", audience=["2"], themes=["food_safety"]),
        "club": published_item(code=code(3), name="社会团体成立登记", audience=["4"], themes=["social_organization"]),
        "both": published_item(code=code(4), name="不动产登记（首次）", audience=["1", "2"], themes=["real_estate"]),
    }


def test_search_box_comes_first_and_submits_to_the_guide(client, catalogue):
    body = text(client.get("/"))
    main = body[body.index("<main"):]
    form = re.search(r'<form method="get" action="([^"]+)"[^>]*role="search"', main)
    assert form and form.group(1) == "/guide/"
    assert main.index('role="search"') < main.index("<h2")  # before every section
    assert '<label for="home-q">' in main and 'name="q" id="home-q"' in main
    # Where it lands: the guide's results for that query.
    assert "住房公积金提取（租赁住房）" in text(client.get("/guide/", {"q": "公积金"}))


def test_items_are_grouped_by_theme_under_their_audience(client, catalogue):
    body = text(client.get("/"))
    person, legal = section(body, "home-person"), section(body, "home-legal")
    assert "住房公积金提取（租赁住房）" in theme_card(person, "person", "housing_fund")
    assert "住房公积金提取" not in legal
    assert "食品经营许可（新办）" in theme_card(legal, "legal", "food_safety")
    assert "食品经营许可" not in person
    # 法人办事 covers every legal-person type of GB/T 39046 A.4, not only 企业法人.
    assert "社会团体成立登记" in theme_card(legal, "legal", "social_organization")
    # An item for both is under both.
    assert "不动产登记（首次）" in theme_card(person, "person", "real_estate")
    assert "不动产登记（首次）" in theme_card(legal, "legal", "real_estate")
    # A theme with no items for that audience is not shown.
    assert 'theme-person-food_safety' not in person


def test_a_theme_links_to_the_guide_filtered_by_theme_and_audience(client, catalogue):
    body = text(client.get("/"))
    assert 'href="/guide/?audience=legal&amp;theme=real_estate"' in body
    legal = text(client.get("/guide/", {"audience": "legal", "theme": "real_estate"}))
    assert "不动产登记（首次）" in legal
    legal_all = text(client.get("/guide/", {"audience": "legal"}))
    assert "食品经营许可（新办）" in legal_all and "社会团体成立登记" in legal_all
    assert "住房公积金提取（租赁住房）" not in legal_all
    person = text(client.get("/guide/", {"audience": "person"}))
    assert "住房公积金提取（租赁住房）" in person and "食品经营许可（新办）" not in person


def test_a_theme_shows_its_first_items_and_a_link_to_all(client):
    for n in range(7):
        published_item(code=code(10 + n), name=f"公积金事项{n}", audience=["1"], themes=["housing_fund"])
    card = theme_card(text(client.get("/")), "person", "housing_fund")
    assert "（7 项）" in card
    assert [f"公积金事项{n}" in card for n in range(7)] == [True] * 5 + [False] * 2
    assert "全部 7 项" in card


def test_published_bundles_are_shown_and_drafts_are_not(client, catalogue):
    published = Bundle.objects.create(code="YJS-OPEN", name="开办餐馆一件事", status="published")
    BundleMember.objects.create(bundle=published, item=catalogue["food"], order=0)
    Bundle.objects.create(code="YJS-DRAFT", name="草稿一件事", status="draft")
    bundles = section(text(client.get("/")), "home-bundles")
    assert '<a href="/guide/bundles/YJS-OPEN/">开办餐馆一件事</a>' in bundles
    assert "草稿一件事" not in bundles


def test_most_used_items_follow_the_case_counts_of_the_last_90_days(client, catalogue):
    # Each item filed by whom its audience admits: a company for 食品经营许可, a society for 社会团体成立登记.
    company, company_rep = organisation_with_rep(kind="2", n=1)
    society, society_rep = organisation_with_rep(kind="4", n=2)
    as_company = {"applicant": company_rep, "organisation": company.credit_code}
    as_society = {"applicant": society_rep, "organisation": society.credit_code}
    with time_machine.travel("2026-06-01 10:00 +0800"):  # more than 90 days before: does not count
        for _ in range(4):
            ApplicationFactory(item=catalogue["club"], submitted=True, **as_society)
    with time_machine.travel("2026-11-20 10:00 +0800"):
        for _ in range(3):
            ApplicationFactory(item=catalogue["food"], submitted=True, **as_company)
        ApplicationFactory(item=catalogue["fund"], submitted=True)
        for _ in range(2):
            ApplicationFactory(item=catalogue["both"], submitted=True)
        for _ in range(4):
            ApplicationFactory(item=catalogue["club"], **as_society)  # drafts: no case yet
    with time_machine.travel("2026-12-01 10:00 +0800"):
        popular = section(text(client.get("/")), "home-popular")
    names = re.findall(r'<li><a href="/guide/[^"]+/">([^<]+)</a></li>', popular)
    assert names == ["食品经营许可（新办）", "不动产登记（首次）", "住房公积金提取（租赁住房）"]


def test_most_used_falls_back_to_the_first_published_items(client, catalogue):
    popular = section(text(client.get("/")), "home-popular")
    names = re.findall(r'<li><a href="/guide/[^"]+/">([^<]+)</a></li>', popular)
    assert names == ["住房公积金提取（租赁住房）", "食品经营许可（新办）", "社会团体成立登记", "不动产登记（首次）"]


def test_query_and_verification_are_linked(client, catalogue):
    body = text(client.get("/"))
    assert 'href="/query/"' in body and "办件查询" in body
    assert 'href="/verify/"' in body and "证照核验" in body


def test_home_query_count_does_not_grow_with_the_catalogue(client, django_assert_max_num_queries):
    def add(start, count):
        for n in range(start, start + count):
            item = published_item(code=code(100 + n), name=f"事项{n}", audience=["1", "2"],
                                  themes=["housing_fund", "tax"])
            if n % 3 == 0:
                ApplicationFactory(item=item)
        bundle = Bundle.objects.create(code=f"YJS-{start}", name=f"一件事{start}", status="published")
        BundleMember.objects.create(bundle=bundle, item=item, order=0)

    add(0, 5)
    with django_assert_max_num_queries(6) as baseline:
        text(client.get("/"))
    add(5, 25)
    with django_assert_max_num_queries(len(baseline.captured_queries)):
        body = text(client.get("/"))
    assert "（30 项）" in body


def test_search_ranks_a_name_match_above_a_match_in_other_fields(client):
    # Every published_item lists the material 营业执照; only the first has it nowhere in its name.
    published_item(code=code(1), name="餐饮服务备案")
    published_item(code=code(2), name="营业执照变更登记")  # the name starts with it
    published_item(code=code(3), name="补领营业执照")  # the name contains it
    published_item(code=code(4), name="营业执照")  # exactly the name
    body = text(client.get("/guide/", {"q": "营业执照"}))
    names = re.findall(r'class="item-name" href="[^"]+">([^<]+)</a>', body)
    assert names == ["营业执照", "营业执照变更登记", "补领营业执照", "餐饮服务备案"]
    api = client.get("/api/v1/items/", {"search": "营业执照"}).json()
    assert [item["name"] for item in api["results"]][:2] == ["营业执照", "营业执照变更登记"]
