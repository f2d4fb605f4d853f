"""The trigram index behind `?search=` (migration items 0004): applied on PostgreSQL, where the search can
use it; a no-op on SQLite, the embedded default, both ways."""

import importlib
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from items.models import Item, ItemVersion, VersionStatus
from items.selectors import item_list
from tests.factories import DepartmentFactory
from tests.items.factories import ItemFactory, ItemVersionFactory

INDEX_MIGRATION = ("items", "0004_search_text_trigram_index")
BEFORE = ("items", "0003_catalogue_generation")
migration = importlib.import_module("items.migrations.0004_search_text_trigram_index")


def index_definition() -> str | None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "items_itemversion")
    if migration.INDEX not in constraints:
        return None
    if connection.vendor != "postgresql":
        return "present"
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [migration.INDEX])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_migration_applies_and_reverses_on_this_database():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([BEFORE])
        assert index_definition() is None
        executor.loader.build_graph()
        executor.migrate([INDEX_MIGRATION])
        if connection.vendor == "postgresql":
            definition = index_definition()
            assert "USING gin (search_text gin_trgm_ops)" in definition
            assert "fastupdate=off" in definition and "WHERE ((status)::text = 'published'::text)" in definition
        else:
            assert index_definition() is None
    finally:
        executor.loader.build_graph()
        # Every app at its latest migration: the schema the rest of the suite expects (not only up to the
        # index's migration, which would leave later migrations of items, and what depends on them, reversed).
        executor.migrate(executor.loader.graph.leaf_nodes())


class SQLiteSchemaEditor:
    """What the migration's operations see of a schema editor on SQLite: records any SQL it is given."""

    def __init__(self):
        self.connection = SimpleNamespace(vendor="sqlite", alias="default")
        self.executed: list[str] = []

    def execute(self, sql, params=()):
        self.executed.append(sql)


def test_the_migration_is_a_no_op_on_sqlite_both_ways():
    editor = SQLiteSchemaEditor()
    extension = migration.TrigramExtensionOnPostgres()
    extension.database_forwards("items", editor, None, None)
    migration.create_index(None, editor)
    migration.drop_index(None, editor)
    extension.database_backwards("items", editor, None, None)
    assert editor.executed == []


@pytest.mark.django_db
def test_the_search_uses_the_index_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's; SQLite scans")
    with connection.cursor() as cursor:
        # pg_trgm indexes CJK only where the database's ctype classifies it as letters (C.UTF-8 does).
        cursor.execute("SELECT array_length(show_trgm('养犬登记证'), 1)")
        assert cursor.fetchone()[0] == 6, "this database's ctype gives CJK no trigrams: the index cannot help"
    # Enough rows for the planner to prefer the index to a scan: 400 current versions, 4 of them about 公积金.
    # Written in bulk (a planner test, not a publication test); search_text as build_search_text stores it.
    department = DepartmentFactory()
    items = Item.objects.bulk_create(
        Item(code=f"PLAN-{number:04d}", basic_code="", department=department) for number in range(400)
    )
    versions = ItemVersion.objects.bulk_create(
        ItemVersion(
            item=item, number=1, status=VersionStatus.PUBLISHED, name=name, item_type="01", department=department,
            audience=["1"], search_text=f"{name} {item.code.lower()} 居民身份证 申请表",
        )
        for item, name in zip(items, [f"住房公积金提取（情形{n}）" if n % 100 == 0 else f"测试事项{n}" for n in range(400)])
    )
    for item, version in zip(items, versions):
        item.current_version = version
    Item.objects.bulk_update(items, ["current_version"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE items_item")
        cursor.execute("ANALYZE items_itemversion")

    queryset = item_list(search="公积金")
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row for (row,) in cursor.fetchall())
    assert f"Bitmap Index Scan on {migration.INDEX}" in plan, plan
    assert len(queryset) == 4


@pytest.mark.django_db
def test_a_search_reads_its_matches_once_and_pages_in_code_order(api):
    """A 2-character term cannot use trigrams: the API reads the ids of every match in one query (no COUNT
    and then the same scan again for the page) and loads only the page's rows."""
    department = DepartmentFactory()
    for number in (5, 1, 4, 2, 3):  # created out of code order
        ItemVersionFactory(publish=True, item=ItemFactory(code=f"M-{number:03d}", department=department), name=f"婚姻登记{number}")
    ItemVersionFactory(publish=True, item=ItemFactory(code="M-000", department=department), name="收养登记")
    for number in range(6, 24):
        ItemVersionFactory(publish=True, item=ItemFactory(code=f"M-{number:03d}", department=department), name=f"婚姻登记{number}")

    with CaptureQueriesContext(connection) as queries:
        first = api.get("/api/v1/items/", {"search": "婚姻"}).json()
    assert not [query for query in queries if "COUNT(" in query["sql"]]
    # Too short for a trigram: strpos() (STRPOS on PostgreSQL, INSTR on SQLite), in one query over every row.
    assert len([query for query in queries if "search_text" in query["sql"] and " IN (" not in query["sql"]]) == 1
    second = api.get("/api/v1/items/", {"search": "婚姻", "page": 2}).json()
    assert first["count"] == second["count"] == 23
    codes = [result["code"] for result in first["results"] + second["results"]]
    assert codes == [f"M-{number:03d}" for number in range(1, 24)]
    assert "search=%E5%A9%9A%E5%A7%BB" in first["next"] and second["next"] is None
