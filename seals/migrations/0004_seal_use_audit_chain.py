"""A seal use names its audit event by chain and seq (decision 063): every use so far is in the main chain."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("seals", "0003_lifecycle"), ("portal", "0009_audit_chains")]

    operations = [
        migrations.AddField(
            model_name="sealuse", name="audit_chain",
            field=models.CharField(default="main", max_length=40, verbose_name="审计链"), preserve_default=False,
        ),
    ]
