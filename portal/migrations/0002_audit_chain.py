"""Seed the audit chain head and make the audit table append-only in the database itself."""

from django.db import migrations

GENESIS_HASH = "0" * 64

POSTGRES_FORWARD = """
CREATE OR REPLACE FUNCTION portal_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '审计事件只能追加，不能修改或删除';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER portal_auditevent_append_only
    BEFORE UPDATE OR DELETE ON portal_auditevent
    FOR EACH ROW EXECUTE FUNCTION portal_auditevent_append_only();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS portal_auditevent_append_only ON portal_auditevent;
DROP FUNCTION IF EXISTS portal_auditevent_append_only();
"""
# SQLite (the embedded development default) blocks updates only: Django's test flush empties tables
# with DELETE there, while PostgreSQL's TRUNCATE skips row triggers. verify_audit catches deletions anyway.
SQLITE_FORWARD = [
    """CREATE TRIGGER portal_auditevent_no_update BEFORE UPDATE ON portal_auditevent
       BEGIN SELECT RAISE(ABORT, '审计事件只能追加，不能修改'); END;""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS portal_auditevent_no_update;"]


def seed_head(apps, schema_editor):
    apps.get_model("portal", "AuditChainHead").objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})


def install_triggers(apps, schema_editor):
    statements = {"postgresql": [POSTGRES_FORWARD], "sqlite": SQLITE_FORWARD}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def remove_triggers(apps, schema_editor):
    statements = {"postgresql": [POSTGRES_REVERSE], "sqlite": SQLITE_REVERSE}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]

    operations = [
        migrations.RunPython(seed_head, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
