"""The case fixtures every app's tests share (a pytest plugin listed in tests/conftest.py): an item, the people
of DESIGN §5 and one case in each state, built by ApplicationFactory through the services. Each case fixture
returns the case's number; the later ones take the earlier case further, so `draft`, `submitted`, `decided()`
and `issued` are the same case. A folder may override `item` (tests/seals: a licence item)."""

import pytest
import time_machine

from applications.models import Application, State
from seals.services import seal_ca_init, seal_create, seal_create_center
from tests.factories import ApplicationFactory, DepartmentFactory, HallFactory, UserFactory, published_item


@pytest.fixture
def item(db):
    return published_item()


@pytest.fixture
def licence_item(db):
    """A licence item whose approval yields an e-certificate (食品经营许可证)."""
    from certificates.models import CertificateType

    department = DepartmentFactory(name="长春市市场监督管理局")
    certificate_type = CertificateType.objects.create(code="FOOD-BIZ", name="食品经营许可证", department=department, validity_years=5)
    return published_item(department=department, certificate_type=certificate_type)


@pytest.fixture
def requirements(item):
    """name → requirement id of the item's current version."""
    return {r.name: r.pk for r in item.current_version.materials.all()}


@pytest.fixture
def hall(db):
    return HallFactory(code="CC-CITY", name="长春市政务服务中心")


@pytest.fixture
def clerk(hall):
    return UserFactory(clerk=True, hall=hall, real_name="李娜")


@pytest.fixture
def clerk2(hall):
    return UserFactory(clerk=True, hall=hall, real_name="周杰")


@pytest.fixture
def head(item):
    return UserFactory(head=True, department=item.department, real_name="刘洋")


@pytest.fixture
def reviewer(item):
    return UserFactory(reviewer=True, department=item.department, real_name="王芳")


@pytest.fixture
def custodian(db):
    return UserFactory(custodian=True, real_name="陈静")


@pytest.fixture
def as_user(login_api):
    return login_api


@pytest.fixture
def draft(citizen, item):
    """The citizen's online draft of `item`."""
    return ApplicationFactory(item=item, applicant=citizen).number


@pytest.fixture
def submitted(draft):
    """The draft with its required materials uploaded, submitted."""
    return ApplicationFactory.advance(Application.objects.get(number=draft), to=State.SUBMITTED).number


@pytest.fixture
def decided(clerk, reviewer, submitted):
    """Accept, claim and decide the submitted case (on 2026-11-24); a function taking the decision
    ("approve" or "reject") and returning the number."""

    def decide(decision="approve"):
        outcome = State.APPROVED if decision == "approve" else State.REJECTED
        with time_machine.travel("2026-11-24 10:00 +0800"):
            ApplicationFactory.advance(Application.objects.get(number=submitted), to=outcome, clerk=clerk, reviewer=reviewer)
        return submitted

    return decide


@pytest.fixture
def authority(db):
    return seal_ca_init()[0]


@pytest.fixture
def seal(authority, item):
    return seal_create(department_code=item.department.code)


@pytest.fixture
def center_seal(authority):
    """The service center's 政务服务专用章: intake documents are served once sealed with it (DESIGN §14)."""
    return seal_create_center()


@pytest.fixture
def issued(custodian, seal, decided):
    """A case approved and issued through the real path (the custodian's order, the issuance task); its number."""
    number = decided("approve")
    case = ApplicationFactory.advance(Application.objects.get(number=number), to=State.ISSUED, custodian=custodian)
    assert case.state == State.ISSUED
    return number
