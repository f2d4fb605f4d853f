"""Indexes the statistics read (DESIGN §6, §12): each figure is a range over one timestamp of the case.

Plain SQL with no model state: the Application model's Meta is not this change's to edit, and the
autodetector must not try to drop them. Both PostgreSQL and SQLite understand these statements.
On a large production table, create them by hand with CREATE INDEX CONCURRENTLY before migrating;
IF NOT EXISTS then makes this migration a no-op.
"""

from django.db import migrations

INDEXES = {
    "app_submitted_at_idx": "(submitted_at)",
    "app_accepted_at_idx": "(accepted_at)",
    "app_decided_at_idx": "(decided_at)",
    "app_issued_at_idx": "(issued_at)",
    # Running cases past their due date (overdue_open): only the running ones are indexed.
    "app_running_due_idx": "(due_date) WHERE state IN ('accepted', 'in_review')",
}


class Migration(migrations.Migration):

    dependencies = [
        ("applications", "0004_service_quality"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON applications_application {definition}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, definition in INDEXES.items()
    ]
