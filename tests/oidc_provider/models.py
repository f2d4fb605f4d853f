from django.conf import settings
from django.db import models


class Person(models.Model):
    """What the provider has verified about one of its users (实名核验): the claims it gives relying parties.
    No migration: `migrate --run-syncdb` makes the table."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="person")
    real_name = models.CharField(max_length=50)
    id_number = models.CharField(max_length=40)
    phone = models.CharField(max_length=20, blank=True)
