import uuid

from django.db import migrations, models
from django.utils import timezone


def seed(apps, schema_editor):
    # The single row items.cache reads; a flushed test database may lack it (the cache is then bypassed
    # until the next change creates it).
    CatalogueGeneration = apps.get_model("items", "CatalogueGeneration")
    CatalogueGeneration.objects.get_or_create(pk=1, defaults={"token": uuid.uuid4().hex, "changed_at": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [("items", "0002_lowercase_search_text")]

    operations = [
        migrations.CreateModel(
            name="CatalogueGeneration",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token", models.CharField(max_length=32, verbose_name="目录版本标记")),
                ("changed_at", models.DateTimeField(verbose_name="变更时间")),
            ],
            options={"verbose_name": "目录版本标记", "verbose_name_plural": "目录版本标记"},
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
