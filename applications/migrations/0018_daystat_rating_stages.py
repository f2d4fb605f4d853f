from django.db import migrations, models


def reroll_everything(apps, schema_editor):
    """Rolled-up days lack the intake stage's share of the ratings: forget them; until the nightly sweep rolls
    the history up again, every day counts from the records (as migration 0014)."""
    apps.get_model("applications", "StatDay").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("applications", "0017_complaints"),
    ]

    operations = [
        migrations.AddField(
            model_name="daystat",
            name="intake_ratings",
            field=models.PositiveIntegerField(default=0, verbose_name="受理环节评价"),
        ),
        migrations.AddField(
            model_name="daystat",
            name="intake_satisfied",
            field=models.PositiveIntegerField(default=0, verbose_name="受理环节满意评价"),
        ),
        migrations.RunPython(reroll_everything, migrations.RunPython.noop),
    ]
