import pytest
import time_machine

from seals.services import seal_ca_init, seal_create
from tests.applications.conftest import *  # noqa: F403  (the case fixtures: item, clerk, submitted …)
from tests.factories import UserFactory


@pytest.fixture
def authority(db):
    return seal_ca_init()[0]


@pytest.fixture
def seal(authority, item):
    return seal_create(department_code=item.department.code)


@pytest.fixture
def custodian(db):
    return UserFactory(custodian=True, real_name="陈静")


@pytest.fixture
def decided(as_user, clerk, reviewer, submitted):
    """Accept, claim and decide the submitted case; returns a function taking the decision."""

    def decide(decision="approve"):
        with time_machine.travel("2026-11-24 10:00 +0800"):
            assert as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/").status_code == 200
            assert as_user(reviewer).post(f"/api/v1/applications/{submitted}/claim/").status_code == 200
            data = {"opinion": "材料齐全，符合法定条件"} if decision == "approve" else {
                "opinion": "经营场所不符合要求", "legal_basis": "《食品经营许可和备案管理办法》第十二条"}
            assert as_user(reviewer).post(f"/api/v1/applications/{submitted}/{decision}/", data, format="json").status_code == 200
        return submitted

    return decide


@pytest.fixture
def item(db):
    """A licence item whose approval yields an e-certificate (食品经营许可证)."""
    from certificates.models import CertificateType
    from tests.factories import DepartmentFactory, published_item

    department = DepartmentFactory(name="长春市市场监督管理局")
    certificate_type = CertificateType.objects.create(code="FOOD-BIZ", name="食品经营许可证", department=department, validity_years=5)
    return published_item(department=department, certificate_type=certificate_type)


@pytest.fixture
def issued(as_user, custodian, seal, decided):
    """A case approved and issued through the real path (custodian's 202, the issuance task); its number."""
    from applications.models import Application
    from seals.models import Issuance
    from seals.tasks import seal_issue_task

    number = decided("approve")
    assert as_user(custodian).post(f"/api/v1/applications/{number}/issue/").status_code == 202
    seal_issue_task.apply(args=[Issuance.objects.get(application__number=number).pk]).get()
    assert Application.objects.get(number=number).state == "issued"
    return number
