"""Cases suspended before Application.suspended_days existed: sum their ended suspensions once, in one UPDATE."""

from django.db import migrations
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce


def backfill(apps, schema_editor):
    Application = apps.get_model("applications", "Application")
    Suspension = apps.get_model("applications", "Suspension")
    totals = (
        Suspension.objects.filter(application=OuterRef("pk"), ended_on__isnull=False)
        .values("application").annotate(total=Sum("working_days")).values("total")
    )
    Application.objects.filter(pk__in=Suspension.objects.filter(ended_on__isnull=False).values("application")).update(
        suspended_days=Coalesce(Subquery(totals), 0)
    )


class Migration(migrations.Migration):
    dependencies = [("applications", "0011_lifecycle")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
