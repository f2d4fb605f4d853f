"""One audit chain per department, plus the center and the system (decision 063).

Every event so far stays where it is, in the chain named "main" (head row pk=1): its hashes, seqs and the
anchors taken over them keep verifying unchanged, and no event is ever appended to it again. New events go
to the chain of their department, the center or the system, each with its own head row created by its first
event, so a department's transitions no longer wait for another's.
"""

from django.core.management.color import no_style
from django.db import migrations, models

SQLITE_NO_UPDATE = """CREATE TRIGGER IF NOT EXISTS portal_auditevent_no_update BEFORE UPDATE ON portal_auditevent
   BEGIN SELECT RAISE(ABORT, '审计事件只能追加，不能修改'); END;"""


def sqlite_trigger_again(apps, schema_editor):
    """SQLite alters a table by copying it into a new one, which drops its triggers: put 0002's back.
    PostgreSQL alters in place and keeps them."""
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_NO_UPDATE)


def head_ids_after_main(apps, schema_editor):
    """0002 created the main head with pk=1 explicitly, which leaves PostgreSQL's id sequence at 1: move it past
    the rows there are, or the first new chain's head would collide with it."""
    head = apps.get_model("portal", "AuditChainHead")
    for statement in schema_editor.connection.ops.sequence_reset_sql(no_style(), [head]):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("portal", "0008_sms_purpose_complaint")]

    operations = [
        # The one head row there was is the main chain's.
        migrations.AddField(
            model_name="auditchainhead", name="name",
            field=models.CharField(default="main", max_length=40, verbose_name="审计链"), preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditchainhead", name="name",
            field=models.CharField(max_length=40, unique=True, verbose_name="审计链"),
        ),
        # Every event there was is the main chain's (a constant default: PostgreSQL rewrites no row).
        migrations.AddField(
            model_name="auditevent", name="chain",
            field=models.CharField(default="main", max_length=40, verbose_name="审计链"), preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditevent", name="seq", field=models.PositiveBigIntegerField(verbose_name="序号"),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("chain", "seq"), name="audit_chain_seq_uniq"),
        ),
        migrations.RemoveIndex(model_name="auditevent", name="audit_object_idx"),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["object_type", "object_id", "id"], name="audit_object_order_idx"),
        ),
        migrations.AlterModelOptions(
            name="auditevent",
            options={"ordering": ["id"], "verbose_name": "审计事件", "verbose_name_plural": "审计事件"},
        ),
        migrations.RunPython(head_ids_after_main, migrations.RunPython.noop),
        migrations.RunPython(sqlite_trigger_again, migrations.RunPython.noop),
    ]
