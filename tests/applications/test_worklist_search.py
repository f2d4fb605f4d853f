"""The work list's item-name search (`/review/?q=…`, DESIGN §12): the department's cases whose pinned item
version is named with the words, on current and superseded versions alike, with every other filter, soonest
due first, and never another department's case. Each page is checked against the plain reading of that rule
(a join on the version's name), so the way the selector finds them may change but the answer may not."""

import re
from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test import Client

from applications import services
from applications.models import Application, State
from applications.selectors import UNION_ARMS
from items.services import item_draft_from_current, item_publish
from tests.factories import DepartmentFactory, UserFactory, published_item, resident_id
from tests.files import pdf_file

pytestmark = pytest.mark.django_db

OPEN = [State.ACCEPTED, State.IN_REVIEW, State.SUSPENDED]
_applicants = iter(range(20_000, 30_000))


def at(day: str):
    """Beijing office hours on `day`."""
    return time_machine.travel(f"{day} 10:00 +0800")


def accepted_case(clerk, item, day: str) -> Application:
    """A walk-in registered, checked and accepted at the window on `day`, on the item's current version."""
    with at(day):
        case = services.application_create(
            actor=clerk, item_code=item.code, form_data={"经营场所": "人民大街 1 号"},
            applicant={"name": "王小明", "id_type": "111", "id_number": resident_id(next(_applicants), region="220104")},
        )
        for requirement in item.current_version.materials.filter(required=True, deferrable=False):
            services.application_material_upload(actor=clerk, application=case, requirement_id=requirement.pk, upload=pdf_file())
        services.application_accept(actor=clerk, application=case)
    return Application.objects.get(pk=case.pk)


def republish(item, *, name: str):
    """A new version of the item (the catalogue admin's draft and publish); the old one is superseded."""
    admin = UserFactory(catalogue_admin=True)
    draft = item_draft_from_current(item=item, actor=admin)
    draft.name = name
    draft.save()
    item_publish(item=item, actor=admin)
    item.refresh_from_db()
    return item


def listed(client, query: dict) -> list[str]:
    with at("2026-11-25"):
        body = client.get("/review/", query).content.decode()
    rows = re.findall(r'<tr class="alert-row[^"]*">.*?</tr>', body, flags=re.DOTALL)
    return re.findall(r'/review/cases/([^/]+)/"', "".join(rows))


def reference(user, *, q: str, states=OPEN, alert_levels=None, mine=False) -> list[str]:
    """The rule read plainly: the department's open cases whose version's name contains the words."""
    cases = Application.objects.filter(department_id=user.department_id, state__in=states,
                                       item_version__name__icontains=q)
    if alert_levels:
        cases = cases.filter(alert_level__in=alert_levels).exclude(state=State.SUSPENDED)
    if mine:
        cases = cases.filter(reviewer=user)
    return list(cases.order_by("due_date", "pk").values_list("number", flat=True))


@pytest.fixture
def desk(clerk, item, reviewer):
    """One department's cases of four items, seen on Wednesday 2026-11-25 after that morning's sweep:

    - 户外广告发布登记, version 1 (superseded by version 2 of the same name with 2026年版 added): cases on both;
    - 广告发布审查: a second item matching 广告发布, claimed by a colleague;
    - 印刷广告发布许可, renamed 印刷经营许可 in version 2: a case on each (only the first matches 广告发布);
    - the fixture's 食品经营许可（新办）: matches none of the words;
    and another department's 户外广告发布登记 with a case of its own, and a decided case that left the list.
    """
    department = item.department
    colleague = UserFactory(reviewer=True, department=department, real_name="赵磊")
    outdoor = published_item(code="11220100MB1234567K400011700AD0001", name="户外广告发布登记", department=department)
    review = published_item(code="11220100MB1234567K400011700AD0002", name="广告发布审查", department=department)
    printing = published_item(code="11220100MB1234567K400011700AD0003", name="印刷广告发布许可", department=department)
    stranger = published_item(code="11220100MB1234567K400011700AD0004", name="户外广告发布登记",
                              department=DepartmentFactory(name="长春市城市管理局"))
    cases = {
        "outdoor_v1_accepted": accepted_case(clerk, outdoor, "2026-11-16"),
        "outdoor_v1_claimed": accepted_case(clerk, outdoor, "2026-11-20"),
        "outdoor_v1_decided": accepted_case(clerk, outdoor, "2026-11-17"),
        "printing_v1": accepted_case(clerk, printing, "2026-11-18"),
        "review_colleague": accepted_case(clerk, review, "2026-11-19"),
        "food": accepted_case(clerk, item, "2026-11-18"),
        "stranger": accepted_case(clerk, stranger, "2026-11-16"),
    }
    republish(outdoor, name="户外广告发布登记（2026年版）")
    republish(printing, name="印刷经营许可")
    cases["outdoor_v2_accepted"] = accepted_case(clerk, outdoor, "2026-11-23")
    cases["outdoor_v2_suspended"] = accepted_case(clerk, outdoor, "2026-11-19")
    cases["printing_v2"] = accepted_case(clerk, printing, "2026-11-20")
    with at("2026-11-24"):
        for name in ("outdoor_v1_claimed", "outdoor_v2_suspended", "outdoor_v1_decided"):
            services.application_claim(actor=reviewer, application=cases[name])
        services.application_claim(actor=colleague, application=cases["review_colleague"])
        services.application_suspend(actor=reviewer, application=cases["outdoor_v2_suspended"], kind="testing", reason="送检")
        services.application_approve(actor=reviewer, application=cases["outdoor_v1_decided"], opinion="同意")
    services.application_alert_sweep(today=date(2026, 11, 25))
    return {name: Application.objects.get(pk=case.pk) for name, case in cases.items()}


@pytest.fixture
def reviewer_client(reviewer, settings):
    # The visits are on fixed days, some after the real today: a session made now must still be valid then.
    settings.SESSION_COOKIE_AGE = 5 * 365 * 24 * 3600
    client = Client()
    client.force_login(reviewer)
    return client


def test_the_desk_is_what_the_search_tests_assume(desk):
    outdoor_v1, outdoor_v2 = desk["outdoor_v1_accepted"].item_version, desk["outdoor_v2_accepted"].item_version
    assert outdoor_v1.item_id == outdoor_v2.item_id and outdoor_v1.number == 1 and outdoor_v2.number == 2
    assert outdoor_v1.item.current_version_id == outdoor_v2.pk
    assert desk["printing_v1"].item_version.name == "印刷广告发布许可" and desk["printing_v2"].item_version.name == "印刷经营许可"
    assert desk["outdoor_v1_decided"].state == State.APPROVED
    assert desk["stranger"].department_id != desk["food"].department_id


def test_search_finds_current_and_superseded_versions_of_several_items(reviewer, reviewer_client, desk):
    found = listed(reviewer_client, {"q": "广告发布"})
    names = ["outdoor_v1_accepted", "printing_v1", "outdoor_v2_suspended", "review_colleague", "outdoor_v1_claimed",
             "outdoor_v2_accepted"]
    assert sorted(found) == sorted(desk[name].number for name in names)
    assert found == reference(reviewer, q="广告发布")
    # Soonest due first, whichever item or version the case is on.
    due = [Application.objects.get(number=number).due_date for number in found]
    assert due == sorted(due)


@pytest.mark.parametrize("q, names", [
    # Only the superseded version carries the old name: its case is found, the renamed version's is not.
    ("印刷广告", ["printing_v1"]),
    ("印刷经营", ["printing_v2"]),
    # Only the current version carries the words.
    ("2026年版", ["outdoor_v2_suspended", "outdoor_v2_accepted"]),
    # One word, every item but the fixture's: four items, five versions.
    ("广告", ["outdoor_v1_accepted", "printing_v1", "outdoor_v2_suspended", "review_colleague", "outdoor_v1_claimed",
             "outdoor_v2_accepted"]),
    ("许可", ["printing_v1", "food", "printing_v2"]),
    ("不存在的事项", []),
])
def test_search_matches_by_the_pinned_versions_name(reviewer, reviewer_client, desk, q, names):
    found = listed(reviewer_client, {"q": q})
    assert sorted(found) == sorted(desk[name].number for name in names)
    assert found == reference(reviewer, q=q)


@pytest.mark.parametrize("query, names", [
    ({"state": "in_review"}, ["review_colleague", "outdoor_v1_claimed"]),
    ({"state": "accepted"}, ["outdoor_v1_accepted", "printing_v1", "outdoor_v2_accepted"]),
    ({"state": "suspended"}, ["outdoor_v2_suspended"]),
    ({"alert": "suspended"}, ["outdoor_v2_suspended"]),
    ({"mine": "on"}, ["outdoor_v2_suspended", "outdoor_v1_claimed"]),
    ({"mine": "on", "state": "in_review"}, ["outdoor_v1_claimed"]),
    ({"mine": "on", "state": "accepted"}, []),
    ({"alert": "overdue"}, ["outdoor_v1_accepted"]),
    ({"alert": "red"}, ["printing_v1"]),
    ({"alert": "yellow"}, ["review_colleague"]),
    ({"alert": "green"}, ["outdoor_v1_claimed", "outdoor_v2_accepted"]),
    ({"alert": "red", "state": "in_review"}, []),
    ({"alert": "green", "mine": "on"}, ["outdoor_v1_claimed"]),
])
def test_search_combines_with_the_other_filters(reviewer, reviewer_client, desk, query, names):
    found = listed(reviewer_client, {"q": "广告发布", **query})
    assert sorted(found) == sorted(desk[name].number for name in names)
    states = [query["state"]] if "state" in query else OPEN
    if query.get("alert") == "suspended":
        states = [state for state in states if state == State.SUSPENDED]
    alert_levels = [query["alert"]] if query.get("alert") not in (None, "suspended") else None
    assert found == reference(reviewer, q="广告发布", states=states, alert_levels=alert_levels, mine="mine" in query)


def test_search_never_shows_another_departments_cases(reviewer, reviewer_client, desk):
    stranger = desk["stranger"]
    for query in ({"q": "户外广告发布登记"}, {"q": "广告"}, {"q": "户外", "state": "accepted"}, {"q": "户外", "alert": "overdue"}):
        assert stranger.number not in listed(reviewer_client, query)
    # The other department's own reviewer finds it by the same words, and nothing of ours.
    theirs = UserFactory(reviewer=True, department=stranger.department)
    client = Client()
    client.force_login(theirs)
    assert listed(client, {"q": "户外广告发布登记"}) == [stranger.number]
    assert listed(client, {"q": "印刷"}) == []
    # Nor does a case leave the department's list by the search: decided cases stay out of it.
    assert desk["outdoor_v1_decided"].number not in listed(reviewer_client, {"q": "户外广告发布登记"})


def test_search_pages_through_the_same_cases(reviewer, reviewer_client, desk, monkeypatch):
    monkeypatch.setattr("applications.views.department.WORKLIST_PAGE_SIZE", 2)
    pages = [listed(reviewer_client, {"q": "广告", "page": page}) for page in (1, 2, 3)]
    assert [len(page) for page in pages] == [2, 2, 2]
    assert [number for page in pages for number in page] == reference(reviewer, q="广告")
    with at("2026-11-25"):
        body = reviewer_client.get("/review/", {"q": "广告"}).content.decode()
    assert "共 6 件（已筛选）" in body and "第 1 / 3 页" in body


# As tests/applications/test_review_pages.py pins the list (7), and the search's look-up of the matching versions.
SEARCH_QUERIES = 8


def test_a_search_over_many_versions_is_one_statement_for_the_count_and_one_for_the_page(reviewer_client, desk,
                                                                                       django_assert_num_queries):
    # 广告发布: four versions × three states, twelve arms; 2026年版: one version × three states.
    for q, arms in (("广告发布", 12), ("2026年版", 3)):
        with django_assert_num_queries(SEARCH_QUERIES) as context, at("2026-11-25"):
            reviewer_client.get("/review/", {"q": q})
        count, page = [query["sql"] for query in context.captured_queries if '"applications_application"' in query["sql"]]
        if connection.vendor == "postgresql":
            # Past a few arms, no UNION of one compiled and planned query per arm: the arms are rows of one.
            assert ("LATERAL" in count and "LATERAL" in page) == (arms > UNION_ARMS)
            assert ("UNION ALL" in count and "UNION ALL" in page) == (arms <= UNION_ARMS)


def test_the_heads_overdue_list_reads_the_same_selector_unchanged(desk, item):
    # No search there: the department's running cases due today or overdue, most overdue first.
    head = UserFactory(head=True, department=item.department)
    client = Client()
    client.force_login(head)
    with at("2026-11-25"):
        body = client.get("/dept/overdue/").content.decode()
    expected = reference(head, q="", states=[State.ACCEPTED, State.IN_REVIEW], alert_levels=["red", "overdue"])
    assert re.findall(r'/review/cases/([^/]+)/"', body) == expected and desk["stranger"].number not in body
