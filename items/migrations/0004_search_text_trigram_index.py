"""A GIN trigram index for `?search=` (PostgreSQL only; SQLite, the embedded default, keeps the scan).

pg_trgm extracts trigrams from CJK text on a UTF-8 database whose ctype classifies CJK as letters
(C.UTF-8 does: show_trgm('养犬登记证') has 6), so `search_text LIKE '%term%'` (lower-cased column, plain
LIKE) can use the index for every term with 3 or more letters or digits in a row. Partial on published
versions: the search only ever looks at current published ones, drafts carry no search text.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX = "items_version_search_trgm"


class TrigramExtensionOnPostgres(TrigramExtension):
    """Django's operation skips other databases going forwards but not backwards (it would query
    pg_extension on SQLite): skip both ways."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # fastupdate off: with it, new entries wait in the GIN pending list until a vacuum, every search reads
    # that whole list, and the planner, pricing it in, falls back to a sequential scan (seen after the
    # benchmark's bulk load: 476 pending pages, 公积金 scanned in 6 ms instead of 0.1 ms). Publications
    # are rare; each one updates the index directly.
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON items_itemversion USING gin (search_text gin_trgm_ops) "
        "WITH (fastupdate = off) WHERE status = 'published'"
    )
    # Fresh statistics, or the planner may keep scanning (see 010: stale statistics chose nested loops).
    schema_editor.execute("ANALYZE items_itemversion")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("items", "0003_catalogue_generation")]

    operations = [
        TrigramExtensionOnPostgres(),
        migrations.RunPython(create_index, drop_index),
    ]
