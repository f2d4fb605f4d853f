"""The service center's 政务服务专用章 (DESIGN §14): made once by `create_seal --center` (and by loaddemo), it has
no department, and it never stands in for a department's approval seal."""

import pytest
from cryptography.x509.oid import NameOID
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from seals import demo
from seals.keys import load_certificate
from seals.models import Seal, SealType
from seals.services import seal_create, seal_create_center
from tests.assertions import unchanged

pytestmark = pytest.mark.django_db

CENTER = "长春市政务服务中心"


def test_create_seal_center_makes_the_centers_seal_once(authority, capsys):
    call_command("create_seal", "--center")
    seal = Seal.objects.get()
    assert (seal.seal_type, seal.department, seal.status) == (SealType.CENTER, None, "active")
    assert seal.name == f"{CENTER}政务服务专用章" and "政务服务专用章" in capsys.readouterr().out
    assert bytes(seal.image).startswith(b"\x89PNG") and b"PRIVATE KEY" not in bytes(seal.encrypted_key)
    subject = load_certificate(seal.certificate_pem).subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == CENTER
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == seal.name
    with pytest.raises(CommandError, match="已有启用中的政务服务专用章"):
        call_command("create_seal", "--center")
    assert Seal.objects.count() == 1


def test_center_name_and_credit_code_come_from_the_settings(authority, settings):
    settings.SERVICE_CENTER_NAME = "吉林市政务服务中心"
    settings.SERVICE_CENTER_CREDIT_CODE = "11220200MB0099001T"
    seal = seal_create_center()
    subject = load_certificate(seal.certificate_pem).subject
    assert seal.name == "吉林市政务服务中心政务服务专用章"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value == "11220200MB0099001T"


@pytest.mark.parametrize("arguments", [[], ["--center", "--department", "X"]])
def test_create_seal_takes_a_department_or_the_center(authority, arguments):
    with pytest.raises(CommandError, match="--department 部门编码 或 --center，二者只能选其一"):
        call_command("create_seal", *arguments)
    assert not Seal.objects.exists()


def test_without_the_ca_the_command_says_so(db):
    with pytest.raises(CommandError, match="init_seal_ca"):
        call_command("create_seal", "--center")


def test_the_database_allows_one_active_center_seal_and_no_department_on_it(authority, item):
    seal = seal_create_center()
    with pytest.raises(IntegrityError), transaction.atomic():
        Seal.objects.create(code="X", name="X", seal_type=SealType.CENTER, image=b"", certificate_pem="", encrypted_key=b"",
                            valid_from=seal.valid_from, valid_until=seal.valid_until, status="revoked",
                            department=item.department)
    with pytest.raises(IntegrityError), transaction.atomic():
        Seal.objects.create(code="Y", name="Y", seal_type=SealType.CENTER, image=b"", certificate_pem="", encrypted_key=b"",
                            valid_from=seal.valid_from, valid_until=seal.valid_until)


def test_loaddemo_makes_it_once(authority, item):
    demo.load()
    demo.load()
    assert Seal.objects.filter(seal_type=SealType.CENTER).count() == 1
    assert Seal.objects.get(department=item.department).seal_type == SealType.APPROVAL


def test_a_department_seal_is_made_beside_it(authority, item):
    seal_create_center()
    seal = seal_create(department_code=item.department.code)
    assert seal.seal_type == SealType.APPROVAL and seal.department == item.department


def test_the_center_seal_never_stamps_a_department_decision(as_user, authority, custodian, decided):
    """一章审批: the decision letters are the department's; with only the center's seal, issuance is refused."""
    seal_create_center()
    number = decided("approve")
    with unchanged(number):
        response = as_user(custodian).post(f"/api/v1/applications/{number}/issue/")
    assert response.status_code == 409 and response.json()["code"] == "no_seal"


def test_seal_admin_lists_the_center_seal(client, authority, item):
    from tests.factories import UserFactory

    seal_create_center()
    seal_create(department_code=item.department.code)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.get("/admin/seals/seal/")
    assert response.status_code == 200
    assert f"{CENTER}政务服务专用章" in response.text and "政务服务专用章" in response.text
    center = Seal.objects.get(seal_type=SealType.CENTER)
    assert client.get(f"/admin/seals/seal/{center.pk}/change/").status_code == 200
