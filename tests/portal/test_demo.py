"""`loaddemo` (what `make run` loads): the whole demo, idempotent."""

import pytest
from django.core.management import call_command

from applications.models import Application
from certificates.models import CertificateType
from items.models import Item
from organisations.models import Organisation
from portal.audit import audit_verify
from portal.identity import IdType, normalize_id_number
from portal.models import Department, Role, User
from seals.models import Seal, SealAuthority

pytestmark = pytest.mark.django_db


def counts():
    return (Department.objects.count(), User.objects.count(), Item.objects.count(), CertificateType.objects.count(),
            Seal.objects.count(), SealAuthority.objects.count(), Organisation.objects.count())


def test_loaddemo_loads_everything_once(capsys):
    call_command("loaddemo")
    first = counts()
    departments, users, items, types, seals, authorities, organisations = first
    assert departments >= 10 and items >= 40 and types >= 5 and authorities == 1
    # every department can have its decisions stamped, and the center its intake documents (DESIGN §14)
    assert seals == departments + 1
    assert Seal.objects.filter(seal_type="center", department__isnull=True, status="active").count() == 1
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    printed = capsys.readouterr().out
    assert "Demo@2026!" in printed
    # 法人 among the demo accounts (DESIGN §13; README lists them): an organisation with a valid credit code,
    # `legalrep` its legal representative and `agent`, `agent2` its current agents, all able to sign in.
    assert organisations == 1
    company = Organisation.objects.get()
    assert normalize_id_number(id_type=IdType.CREDIT_CODE, value=company.credit_code) == company.credit_code
    assert company.legal_rep.username == "legalrep" and company.legal_rep_id_number == company.legal_rep.id_number
    assert sorted(company.agents.filter(removed_at__isnull=True).values_list("user__username", flat=True)) == ["agent", "agent2"]
    for username in ("legalrep", "agent", "agent2"):
        assert User.objects.get(username=username).check_password("Demo@2026!"), username
    assert f"{company.name} {company.credit_code}" in printed
    call_command("loaddemo")
    assert counts() == first
    assert not Application.objects.exists()
    assert audit_verify()[1] is None
