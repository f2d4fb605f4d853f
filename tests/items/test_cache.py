"""The public catalogue API's response cache (docs/decisions/011-catalogue-cache.md): a hit is the same JSON
without the queries; a committed change retires every cached body at once in the process that made it and
within CHECK_INTERVAL in the others; drafts and uncommitted changes never reach it."""

import pytest
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from certificates.models import CertificateType
from items import cache
from items.cache import CHECK_INTERVAL, MAX_AGE, CatalogueResponseCache, catalogue_changed, read_generation
from items.models import CatalogueGeneration, MaterialRequirement
from items.services import catalogue_import, item_draft_from_current, item_publish
from tests.factories import DepartmentFactory
from tests.items.factories import CertificateTypeFactory, ItemFactory, ItemVersionFactory

# Real commits: inside a transaction the cache is bypassed, so only these tests exercise it.
pytestmark = pytest.mark.django_db(transaction=True)

ITEMS, DETAIL, DEPARTMENTS = "/api/v1/items/", "/api/v1/items/FOOD-001/", "/api/v1/departments/"


class Clock:
    """time.monotonic for a cache, moved by the test."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def process(monkeypatch, clock):
    """`process()` installs a fresh per-process cache (its own bodies and idea of the generation) with the
    test's clock; `process(instance)` switches to another one, as a request landing in another worker would."""
    catalogue_changed()  # a flushed test database has no generation row; without one nothing is cached

    def install(instance=None):
        if instance is None:
            instance = CatalogueResponseCache(clock=clock)
        monkeypatch.setattr(cache, "response_cache", instance)
        return instance

    return install


@pytest.fixture
def food():
    ccsj = DepartmentFactory(code="CCSJ", name="长春市市场监督管理局")
    licence = CertificateTypeFactory(code="BIZ-LICENSE", name="营业执照", department=ccsj)
    return ItemVersionFactory(
        publish=True, item=ItemFactory(code="FOOD-001", department=ccsj), name="食品经营许可（新办）",
        materials=[{"name": "食品经营许可申请书"}, {"name": "营业执照", "form": "copy", "satisfied_by": licence}],
    )


def get(api, path, params=None, **extra):
    response = api.get(path, params, **extra)
    assert response.status_code == 200, response.content
    return response


def publish_new_name(version, name: str) -> None:
    """A new version, committed (no transaction around it: each service commits on return)."""
    draft = item_draft_from_current(item=version.item, actor=None)
    draft.name = name
    draft.save()
    item_publish(item=version.item, actor=None)


# ---------------------------------------------------------------------------------------------- hits


@pytest.mark.parametrize("path", [ITEMS + "?search=食品", DETAIL, DEPARTMENTS])
def test_a_hit_is_the_same_response_without_a_query(api, process, clock, food, path, django_assert_num_queries):
    process()
    first = get(api, path)
    with django_assert_num_queries(0):
        second = get(api, path)
    assert second.content == first.content
    assert (second["Content-Type"], second["Vary"], second["Allow"]) == (first["Content-Type"], first["Vary"], first["Allow"])
    clock.advance(CHECK_INTERVAL)
    # After the check interval one query reads the generation again; unchanged, so still a hit.
    with django_assert_num_queries(1):
        third = get(api, path)
    assert third.content == first.content


def test_the_same_query_in_another_order_is_a_hit(api, process, food, django_assert_num_queries):
    process()
    first = get(api, ITEMS + "?online=false&audience=2&search=%E9%A3%9F%E5%93%81")
    with django_assert_num_queries(0):
        second = get(api, ITEMS + "?search=%e9%a3%9f%e5%93%81&audience=2&online=false")
    assert second.content == first.content and first.json()["count"] == 1


def test_absolute_urls_follow_the_host_and_scheme_of_each_request(api, process):
    process()
    version = ItemVersionFactory(item=ItemFactory(code="FORM-001"), materials=[{"name": "申请书"}])
    material = version.materials.get()
    material.blank_form.save("申请书.xlsx", ContentFile(b"blank form"), save=False)
    material.save()
    item_publish(item=version.item, actor=None)

    def blank_form_url(**extra):
        return get(api, "/api/v1/items/FORM-001/", **extra).json()["materials"][0]["blank_form_url"]

    for _ in range(2):  # the second round comes from the cache
        assert blank_form_url().startswith("http://testserver/guide/files/")
        assert blank_form_url(HTTP_HOST="localhost").startswith("http://localhost/guide/files/")
        assert blank_form_url(secure=True).startswith("https://testserver/guide/files/")
    assert len(cache.response_cache) == 3


def test_only_json_is_stored_and_other_renderings_never_come_from_it(api, process, food):
    process()
    json_body = get(api, DETAIL).content
    html = get(api, DETAIL, HTTP_ACCEPT="text/html")  # DRF's browsable API: per user, CSRF token, never stored
    assert html["Content-Type"].startswith("text/html")
    assert len(cache.response_cache) == 1
    assert get(api, DETAIL, HTTP_ACCEPT="text/html")["Content-Type"].startswith("text/html")
    assert get(api, DETAIL).content == json_body


def test_errors_are_not_stored(api, process, food):
    process()
    assert api.get("/api/v1/items/NOPE/").status_code == 404
    assert api.get(ITEMS, {"handling": "later"}).status_code == 400
    assert api.get(ITEMS, {"page": 9}).status_code == 404
    assert len(cache.response_cache) == 0


# ---------------------------------------------------------------------------------------------- invalidation


def test_a_publication_shows_at_once_in_the_process_that_made_it(api, process, food):
    process()
    assert get(api, DETAIL).json()["version"] == 1
    assert [r["version"] for r in get(api, ITEMS, {"search": "食品"}).json()["results"]] == [1]

    publish_new_name(food, "食品经营许可（新办，修订）")  # the clock does not move

    detail = get(api, DETAIL).json()
    assert (detail["version"], detail["name"]) == (2, "食品经营许可（新办，修订）")
    assert [(r["code"], r["version"]) for r in get(api, ITEMS, {"search": "食品"}).json()["results"]] == [("FOOD-001", 2)]
    assert [r["name"] for r in get(api, ITEMS, {"search": "修订"}).json()["results"]] == ["食品经营许可（新办，修订）"]


def test_another_process_shows_a_publication_within_the_check_interval(api, process, clock, food):
    here = process()
    there = process()
    assert get(api, DETAIL).json()["version"] == 1  # cached by the other process

    process(here)
    publish_new_name(food, "食品经营许可（新办，修订）")
    assert get(api, DETAIL).json()["version"] == 2  # this process: at once

    process(there)
    clock.advance(CHECK_INTERVAL / 2)
    assert get(api, DETAIL).json()["version"] == 1  # the staleness bound, and no more:
    clock.advance(CHECK_INTERVAL / 2)
    assert get(api, DETAIL).json()["version"] == 2


def test_a_process_reads_the_generation_from_the_database(api, process, clock, food):
    """What another process (or host) does: nothing told this one about the change but the row."""
    process()
    get(api, DETAIL)
    CatalogueGeneration.objects.filter(pk=1).update(token="0" * 32)
    assert read_generation() == "0" * 32
    clock.advance(CHECK_INTERVAL)
    with CaptureQueriesContext(connection) as queries:
        get(api, DETAIL)
    assert len(queries) > 1  # generation, then the item rendered again


def test_department_and_certificate_type_changes_show_at_once(api, process, food):
    process()
    get(api, DEPARTMENTS)
    get(api, DETAIL)

    department = food.department
    department.name = "长春市市场监督管理局（新）"
    department.save()  # as the admin does: a plain save
    assert [d["name"] for d in get(api, DEPARTMENTS).json()["results"]] == ["长春市市场监督管理局（新）"]
    assert get(api, DETAIL).json()["department"]["name"] == "长春市市场监督管理局（新）"

    licence = CertificateType.objects.get(code="BIZ-LICENSE")
    licence.name = "营业执照（电子证照）"
    licence.save()
    assert get(api, DETAIL).json()["materials"][1]["satisfied_by_name"] == "营业执照（电子证照）"


def test_an_import_writes_the_generation_once_and_shows_at_once(api, process, catalogue):
    process()
    assert get(api, ITEMS).json()["count"] == 0

    with CaptureQueriesContext(connection) as queries:
        catalogue_import(data=catalogue, actor=None)
    # Two departments, two certificate types, two items, two publications: one write of the generation.
    assert len([query for query in queries if "items_cataloguegeneration" in query["sql"]]) == 1
    assert get(api, ITEMS).json()["count"] == 2

    catalogue["items"][1]["name"] = "住房公积金提取（租赁住房，修订）"
    catalogue_import(data=catalogue, actor=None)
    detail = get(api, "/api/v1/items/11220100MB1234567K2000200001000/").json()
    assert (detail["version"], detail["name"]) == (2, "住房公积金提取（租赁住房，修订）")


def test_without_a_generation_row_nothing_is_cached(api, process, food):
    process()
    CatalogueGeneration.objects.all().delete()  # a flushed test database
    get(api, DETAIL)
    assert len(cache.response_cache) == 0
    catalogue_changed()  # the next change creates it again
    get(api, DETAIL)
    assert len(cache.response_cache) == 1


def test_bodies_expire_after_max_age(api, process, clock, food):
    process()
    first = get(api, DETAIL).content
    clock.advance(MAX_AGE)
    with CaptureQueriesContext(connection) as queries:
        assert get(api, DETAIL).content == first
    assert len(queries) > 1  # rendered again (a write that bypassed services and signals shows by then)


# ---------------------------------------------------------------------------------------------- never cached


def test_a_draft_never_reaches_the_cache(api, process, clock, food):
    process()
    before = get(api, DETAIL).content
    assert get(api, ITEMS, {"search": "草稿才有的材料"}).json()["count"] == 0

    draft = item_draft_from_current(item=food.item, actor=None)
    draft.name = "食品经营许可（草稿改名）"
    draft.save()
    MaterialRequirement.objects.create(version=draft, name="草稿才有的材料")
    ItemVersionFactory(item=ItemFactory(code="DRAFT-001", department=food.department), name="草稿里的新事项")
    clock.advance(CHECK_INTERVAL)  # whatever the drafts wrote, the generation is read again

    assert get(api, DETAIL).content == before
    assert get(api, ITEMS, {"search": "草稿才有的材料"}).json()["count"] == 0
    assert "DRAFT-001" not in [r["code"] for r in get(api, ITEMS).json()["results"]]
    assert api.get("/api/v1/items/DRAFT-001/").status_code == 404


def test_an_uncommitted_publication_is_neither_served_nor_stored(api, process, food):
    process()
    before = get(api, DETAIL).content

    with pytest.raises(RuntimeError, match="roll back"), transaction.atomic():
        publish_new_name(food, "食品经营许可（未提交）")
        # This request runs on the same connection, inside the transaction: it sees the new version, so the
        # cache is bypassed both ways.
        assert get(api, DETAIL).json()["version"] == 2
        raise RuntimeError("roll back")

    assert get(api, DETAIL).content == before
    assert get(api, ITEMS, {"search": "未提交"}).json()["count"] == 0


def test_a_generation_written_in_a_rolled_back_savepoint_is_written_again():
    catalogue_changed()
    before = read_generation()
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            catalogue_changed()
            raise RuntimeError
        assert read_generation() == before
        catalogue_changed()  # not skipped as "already written in this transaction": that write was undone
    assert read_generation() != before


# ---------------------------------------------------------------------------------------------- bounds


def test_the_cache_is_bounded_least_recently_used_first(api, process, clock, django_assert_num_queries):
    small = process(CatalogueResponseCache(clock=clock, max_entries=2))
    department = DepartmentFactory()
    for code in ("A-001", "B-001", "C-001"):
        ItemVersionFactory(publish=True, item=ItemFactory(code=code, department=department))
    get(api, "/api/v1/items/A-001/")
    get(api, "/api/v1/items/B-001/")
    get(api, "/api/v1/items/A-001/")  # A is now the most recently used
    get(api, "/api/v1/items/C-001/")  # evicts B
    assert len(small) == 2
    with django_assert_num_queries(0):
        get(api, "/api/v1/items/A-001/")
        get(api, "/api/v1/items/C-001/")
    with CaptureQueriesContext(connection) as queries:
        get(api, "/api/v1/items/B-001/")
    assert len(queries) > 0


def test_the_cache_is_bounded_in_bytes(api, process, clock):
    department = DepartmentFactory()
    codes = [f"{letter}-001" for letter in "ABCDE"]
    for code in codes:
        ItemVersionFactory(publish=True, item=ItemFactory(code=code, department=department), name="同名事项")
    largest = max(len(get(api, f"/api/v1/items/{code}/").content) for code in codes)
    small = process(CatalogueResponseCache(clock=clock, max_bytes=4 * largest))
    for code in codes:
        get(api, f"/api/v1/items/{code}/")
    assert len(small) == 4 and small._bytes <= small.max_bytes
