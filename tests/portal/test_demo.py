"""`loaddemo` (what `make run` loads): the whole demo, idempotent."""

import pytest
from django.core.management import call_command

from applications.models import Application
from certificates.models import CertificateType
from items.models import Item
from portal.audit import audit_verify
from portal.models import Department, Role, User
from seals.models import Seal, SealAuthority

pytestmark = pytest.mark.django_db


def counts():
    return (Department.objects.count(), User.objects.count(), Item.objects.count(), CertificateType.objects.count(),
            Seal.objects.count(), SealAuthority.objects.count())


def test_loaddemo_loads_everything_once(capsys):
    call_command("loaddemo")
    first = counts()
    departments, users, items, types, seals, authorities = first
    assert departments >= 10 and items >= 40 and types >= 5 and authorities == 1
    # every department can have its decisions stamped, and the center its intake documents (DESIGN §14)
    assert seals == departments + 1
    assert Seal.objects.filter(seal_type="center", department__isnull=True, status="active").count() == 1
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert "Demo@2026!" in capsys.readouterr().out
    call_command("loaddemo")
    assert counts() == first
    assert not Application.objects.exists()
    assert audit_verify()[1] is None
