"""E-certificate factories. `issue_certificate(...)` goes through certificates.services.certificate_issue, so a
certificate in a test is exactly what the service produces (rendered, "signed", stored, audited)."""

import factory
from django.db import transaction

from certificates.models import Certificate, CertificateType
from certificates.services import certificate_issue
from tests.factories import DepartmentFactory

PERSON_ID = "220102199003071235"
PERSON_ID_MASKED = "220102********1235"
COMPANY_CODE = "91220102MA17ABCD05"

FOOD_FACE_FIELDS = ["经营者名称", "法定代表人（负责人）", "经营场所", "主体业态", "经营项目"]
FOOD_FACE_DATA = {
    "经营者名称": "长春市南关区张伟餐馆",
    "法定代表人（负责人）": "张伟",
    "经营场所": "吉林省长春市南关区人民大街1号一层",
    "主体业态": "餐饮服务经营者（小型餐馆）",
    "经营项目": ["热食类食品制售", "冷食类食品制售"],
}


def unsigned(pdf: bytes) -> bytes:
    """The trivial signer of certificates' own tests: the PDF as rendered. Real PAdES is seals' business
    (tests/seals)."""
    return pdf


def marked_signature(pdf: bytes) -> bytes:
    """A stand-in signer whose output the stand-in validator (test_verification.has_signature_dictionary)
    recognises: an appended comment naming a /ByteRange, as an incremental signature update would."""
    return pdf + b"\n% /ByteRange [0 0 0 0] /Type /Sig (certificates test stand-in)\n%%EOF\n"


class CertificateTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CertificateType
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"CT-{n:03d}")
    name = factory.Sequence(lambda n: f"测试许可证{n}")
    department = factory.SubFactory(DepartmentFactory)
    validity_years = 5
    face_fields = factory.LazyFunction(list)


def issue_certificate(
    *, certificate_type: CertificateType, holder=None, holder_name: str = "张伟", holder_id_type: str = "111",
    holder_id_number: str = PERSON_ID, face_data: dict | None = None, application_number: str = "NET-20261124-000001",
    sign=unsigned, issuer=None, **kwargs,
) -> Certificate:
    with transaction.atomic():  # as seals calls it: inside its own transaction
        return certificate_issue(
            certificate_type=certificate_type, issuer=issuer or certificate_type.department, holder=holder,
            holder_name=holder_name, holder_id_type=holder_id_type, holder_id_number=holder_id_number,
            face_data=face_data if face_data is not None else {}, application_number=application_number, sign=sign,
            **kwargs,
        )
