"""Certificates issued before Certificate.licence_number existed carry the number only in their face data:
copy it, so public verification finds them by licence number too. One pass per type that has a number field."""

from django.db import migrations

BATCH = 2000


def backfill(apps, schema_editor):
    CertificateType = apps.get_model("certificates", "CertificateType")
    Certificate = apps.get_model("certificates", "Certificate")
    for certificate_type in CertificateType.objects.exclude(number_field=""):
        field = certificate_type.number_field
        rows = Certificate.objects.filter(type=certificate_type, licence_number="").only("pk", "face_data")
        changed = []
        for certificate in rows.iterator(chunk_size=BATCH):
            number = str((certificate.face_data or {}).get(field) or "").strip()[:60]
            if number:
                certificate.licence_number = number
                changed.append(certificate)
            if len(changed) >= BATCH:
                Certificate.objects.bulk_update(changed, ["licence_number"])
                changed = []
        if changed:
            Certificate.objects.bulk_update(changed, ["licence_number"])


class Migration(migrations.Migration):
    dependencies = [("certificates", "0006_expiry_reminders")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
