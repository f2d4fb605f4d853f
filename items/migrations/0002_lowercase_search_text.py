from django.db import migrations
from django.db.models.functions import Lower


def lowercase(apps, schema_editor):
    # search_text is derived (never shown), so lower-casing it does not change what a version says; the
    # historical manager has no freeze guard, which is what this one-off needs.
    ItemVersion = apps.get_model("items", "ItemVersion")
    ItemVersion.objects.update(search_text=Lower("search_text"))


class Migration(migrations.Migration):
    dependencies = [("items", "0001_initial")]

    operations = [migrations.RunPython(lowercase, migrations.RunPython.noop)]
