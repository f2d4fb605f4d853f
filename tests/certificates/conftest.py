import pytest

from tests.certificates.factories import FOOD_FACE_FIELDS, PERSON_ID, CertificateTypeFactory
from tests.factories import DepartmentFactory, UserFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Certificate PDFs go to a per-test folder, never into var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def ccsj(db):
    return DepartmentFactory(code="CCSJ", name="长春市市场监督管理局", credit_code="11220100MB1234567K")


@pytest.fixture
def food_type(ccsj):
    return CertificateTypeFactory(code="FOOD-BIZ", name="食品经营许可证", department=ccsj, validity_years=5,
                                  face_fields=FOOD_FACE_FIELDS)


@pytest.fixture
def licence_type(ccsj):
    return CertificateTypeFactory(code="BIZ-LICENSE", name="营业执照", department=ccsj, validity_years=None)


@pytest.fixture
def holder(db):
    """A citizen whose verified ID number is the one the certificates name."""
    return UserFactory(real_name="张伟", id_type="111", id_number=PERSON_ID)


@pytest.fixture
def head(ccsj):
    return UserFactory(head=True, department=ccsj, real_name="刘洋")


@pytest.fixture
def reviewer(ccsj):
    return UserFactory(reviewer=True, department=ccsj, real_name="王芳")


@pytest.fixture
def other_head(db):
    return UserFactory(head=True, department=DepartmentFactory(name="长春市交通运输局"), real_name="赵强")


@pytest.fixture(autouse=True)
def certificate_urls(settings):
    """portal.urls plus certificates' API and pages where portal/urls.py does not mount them yet."""
    settings.ROOT_URLCONF = "tests.certificates.urls"
