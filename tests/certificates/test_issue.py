"""Issuing and re-issuing e-certificates through the service, as seals calls it."""

import hashlib
import re
from datetime import date

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction

from certificates.identifiers import certificate_identifier, identifier_is_valid
from certificates.models import Certificate, CertificateStatus
from certificates.selectors import held_valid_certificate_types
from certificates.services import certificate_revoke, valid_until_for
from portal.audit import audit_verify
from portal.errors import InvalidTransition
from portal.models import AuditEvent, Notification
from tests.assertions import unchanged
from tests.certificates.factories import (
    COMPANY_CODE,
    FOOD_FACE_DATA,
    PERSON_ID,
    PERSON_ID_MASKED,
    CertificateTypeFactory,
    issue_certificate,
)
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_issue_stores_the_signed_pdf_its_hash_and_the_facts(food_type, holder):
    seen = []

    def sign(pdf: bytes) -> bytes:
        seen.append(pdf)
        return pdf + b"%signed\n"

    with time_machine.travel("2026-11-24 10:00 +0800"):
        certificate = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA, sign=sign,
                                        application_number="CC-CITY-20261124-000001")
    certificate.refresh_from_db()
    assert re.fullmatch(r"1\.2\.156\.3005\.2\.FOOD-BIZ\.11220100MB1234567K\.[0-9]{12}\.001\.[0-9A-Z]", certificate.identifier)
    assert identifier_is_valid(certificate.identifier)
    assert certificate.identifier.split(".")[-3] == certificate.serial
    assert (len(certificate.serial), certificate.version, certificate.status) == (12, 1, CertificateStatus.VALID)
    assert certificate.issuer == food_type.department and certificate.type == food_type
    assert (certificate.holder, certificate.holder_name, certificate.holder_id_type, certificate.holder_id_number) == (
        holder, "张伟", "111", PERSON_ID)
    assert (certificate.issued_on, certificate.valid_from, certificate.valid_until) == (
        date(2026, 11, 24), date(2026, 11, 24), date(2031, 11, 23))
    assert certificate.face_data == FOOD_FACE_DATA
    assert certificate.application_number == "CC-CITY-20261124-000001"
    # What is stored is what sign() returned, and the hash is of those bytes.
    assert len(seen) == 1 and seen[0].startswith(b"%PDF-")
    stored = certificate.pdf.read()
    assert stored == seen[0] + b"%signed\n"
    assert certificate.sha256 == hashlib.sha256(stored).hexdigest()
    assert certificate.pdf.name.endswith(f"{certificate.identifier}.pdf")


def test_issue_is_audited_without_the_full_id_number_and_the_holder_is_told(food_type, holder):
    certificate = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    event = AuditEvent.objects.get(action="certificate_issue")
    assert (event.object_type, event.object_id, event.to_state) == ("certificate", certificate.identifier, "valid")
    assert event.payload["sha256"] == certificate.sha256
    assert event.payload["holder_id_masked"] == PERSON_ID_MASKED
    assert PERSON_ID not in str(event.payload)
    assert event.payload["application_number"] == "NET-20261124-000001"
    assert audit_verify()[1] is None
    notification = Notification.objects.get(user=holder)
    assert notification.kind == "certificate_issued"
    assert "食品经营许可证" in notification.message and certificate.identifier in notification.message
    assert notification.application == "NET-20261124-000001"


def test_a_holder_without_account_link_is_told_through_their_verified_id_number(licence_type, holder):
    issue_certificate(certificate_type=licence_type, holder=None)
    assert Notification.objects.filter(user=holder, kind="certificate_issued").count() == 1


def test_serials_are_random_and_unique(food_type, licence_type, ccsj):
    """The verification page shows the holder: one identifier must not give away the next (issue 14)."""
    district = DepartmentFactory(name="长春市南关区市场监督管理局")
    certificates = [issue_certificate(certificate_type=food_type, face_data=FOOD_FACE_DATA) for _ in range(6)]
    other_type = issue_certificate(certificate_type=licence_type)
    other_issuer = issue_certificate(certificate_type=food_type, issuer=district, face_data=FOOD_FACE_DATA)
    serials = [int(c.serial) for c in certificates]
    assert len(set(serials)) == 6
    # Not a counter: consecutive issues are not neighbours (a chance of about 10⁻¹¹ that this fails).
    assert all(abs(later - earlier) > 1 for earlier, later in zip(serials, serials[1:]))
    assert all(re.fullmatch(r"[0-9]{12}", c.serial) for c in [*certificates, other_type, other_issuer])
    assert all(identifier_is_valid(c.identifier) for c in [*certificates, other_type, other_issuer])
    assert len({c.identifier for c in [*certificates, other_type, other_issuer]}) == 8
    assert district.credit_code in other_issuer.identifier


def test_a_serial_already_taken_is_drawn_again(food_type, monkeypatch):
    """Uniqueness does not rest on chance: a drawn serial the type and issuer already have is not used."""
    from certificates import identifiers

    first = issue_certificate(certificate_type=food_type, face_data=FOOD_FACE_DATA)
    draws = iter([first.serial, first.serial, "000000000042"])
    monkeypatch.setattr(identifiers.secrets, "randbelow", lambda _bound: int(next(draws)))
    second = issue_certificate(certificate_type=food_type, face_data=FOOD_FACE_DATA)
    assert second.serial == "000000000042" and second.identifier != first.identifier


def test_certificates_issued_with_sequential_serials_still_verify(api, food_type):
    """Certificates issued before serials were random keep their 8-digit serial, and verify."""
    old = issue_certificate(certificate_type=food_type, face_data=FOOD_FACE_DATA)
    identifier = certificate_identifier(type_code=food_type.code, issuer_credit_code=food_type.department.credit_code,
                                        serial="00000001", version=1)
    Certificate.objects.filter(pk=old.pk).update(serial="00000001", identifier=identifier)
    response = api.get(f"/api/v1/verify/{identifier}/")
    assert response.status_code == 200 and response.json()["identifier"] == identifier


def test_a_failure_inside_the_callers_transaction_leaves_nothing(food_type, holder):
    class SealRefused(Exception):
        pass

    # seals: certificate + seal use + case transition, all or nothing
    with pytest.raises(SealRefused), transaction.atomic():
        issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
        raise SealRefused
    assert not Certificate.objects.exists()
    assert not AuditEvent.objects.filter(action="certificate_issue").exists()
    assert not Notification.objects.exists()


def test_a_failing_signer_leaves_nothing(food_type):
    def broken_sign(pdf):
        raise RuntimeError("HSM unavailable")

    with pytest.raises(RuntimeError):
        issue_certificate(certificate_type=food_type, face_data=FOOD_FACE_DATA, sign=broken_sign)
    assert not Certificate.objects.exists()


def test_a_signer_must_return_a_pdf(food_type):
    with pytest.raises(TypeError):
        issue_certificate(certificate_type=food_type, face_data=FOOD_FACE_DATA, sign=lambda pdf: "not bytes")
    assert not Certificate.objects.exists()


@pytest.mark.parametrize(("fields", "field"), [
    ({"holder_name": "  "}, "holder_name"),
    ({"holder_id_number": "220102199003071236"}, "holder_id_number"),  # wrong check digit
    ({"holder_id_type": "999"}, "holder_id_type"),
    ({"holder_id_type": "001", "holder_id_number": "91220102MA17ABCD06"}, "holder_id_number"),
    ({"face_data": {"经营者名称": "张伟餐馆"}}, "face_data"),  # the type's other face fields are missing
])
def test_bad_input_is_refused_by_field(food_type, fields, field):
    arguments = {"face_data": FOOD_FACE_DATA, **fields}
    with pytest.raises(ValidationError) as error:
        issue_certificate(certificate_type=food_type, **arguments)
    assert field in error.value.message_dict
    assert not Certificate.objects.exists()


def test_an_enterprise_holder(licence_type):
    certificate = issue_certificate(certificate_type=licence_type, holder_name="长春市南关区张伟餐馆有限公司",
                                    holder_id_type="001", holder_id_number=COMPANY_CODE.lower())
    assert certificate.holder_id_number == COMPANY_CODE  # stored compact and upper-cased
    assert certificate.valid_until is None  # 长期有效


@pytest.mark.parametrize(("valid_from", "years", "until"), [
    (date(2026, 11, 24), 5, date(2031, 11, 23)),
    (date(2028, 2, 29), 5, date(2033, 2, 28)),
    (date(2028, 2, 29), 4, date(2032, 2, 28)),
    (date(2026, 1, 1), 1, date(2026, 12, 31)),
    (date(2026, 1, 1), None, None),
])
def test_validity_ends_the_day_before_the_anniversary(valid_from, years, until):
    assert valid_until_for(valid_from=valid_from, years=years) == until


# --- re-issue (换发) ----------------------------------------------------------------------------------


def test_reissue_keeps_the_serial_and_supersedes_the_old_version(food_type, holder):
    with time_machine.travel("2026-11-24 10:00 +0800"):
        old = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    changed = {**FOOD_FACE_DATA, "经营场所": "吉林省长春市南关区人民大街2号"}
    with time_machine.travel("2027-03-01 10:00 +0800"):
        new = issue_certificate(certificate_type=food_type, holder=holder, face_data=changed, previous=old,
                                application_number="NET-20270301-000004")
    old.refresh_from_db()
    assert old.status == CertificateStatus.SUPERSEDED
    assert (new.serial, new.version, new.status) == (old.serial, 2, CertificateStatus.VALID)
    assert new.identifier == old.identifier.rsplit(".", 2)[0] + ".002." + new.identifier[-1]
    assert identifier_is_valid(new.identifier) and new.identifier != old.identifier
    assert (new.issued_on, new.valid_until) == (date(2027, 3, 1), date(2032, 2, 29))
    supersede = AuditEvent.objects.get(action="certificate_supersede")
    assert (supersede.object_id, supersede.from_state, supersede.to_state) == (old.identifier, "valid", "superseded")
    assert AuditEvent.objects.get(action="certificate_issue", object_id=new.identifier).payload["previous"] == old.identifier
    # A new certificate gets a serial of its own.
    assert issue_certificate(certificate_type=food_type, face_data=FOOD_FACE_DATA).serial != old.serial


def test_an_expired_certificate_can_be_renewed(food_type, holder):
    with time_machine.travel("2020-01-10 10:00 +0800"):
        old = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    from certificates.services import certificate_expiry_sweep
    certificate_expiry_sweep(today=date(2025, 1, 10))
    old.refresh_from_db()
    assert old.status == CertificateStatus.EXPIRED
    new = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA, previous=old)
    old.refresh_from_db()
    assert old.status == CertificateStatus.SUPERSEDED and new.version == 2


def test_only_the_current_version_can_be_reissued(food_type, holder, head):
    old = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA, previous=old)
    with unchanged(old), pytest.raises(InvalidTransition, match="已换发"):
        issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA, previous=old)
    revoked = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    certificate_revoke(actor=head, certificate=revoked, reason="以欺骗手段取得许可")
    with unchanged(revoked), pytest.raises(InvalidTransition, match="已注销"):
        issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA, previous=revoked)
    assert Certificate.objects.filter(status=CertificateStatus.VALID).count() == 1


def test_reissue_keeps_type_issuer_and_holder_code(food_type, licence_type, holder):
    old = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    with unchanged(old), pytest.raises(ValidationError) as error:
        issue_certificate(certificate_type=licence_type, holder=holder, previous=old)
    assert "previous" in error.value.message_dict
    with unchanged(old), pytest.raises(ValidationError) as error:
        issue_certificate(certificate_type=food_type, face_data=FOOD_FACE_DATA, previous=old,
                          holder_id_type="001", holder_id_number=COMPANY_CODE)
    assert "holder_id_number" in error.value.message_dict
    old.refresh_from_db()
    assert old.status == CertificateStatus.VALID


# --- 免交: what a user holds ----------------------------------------------------------------------------


def test_held_valid_certificate_types(food_type, licence_type, holder, head):
    stranger = UserFactory(identified=True)
    assert held_valid_certificate_types(user=holder) == set()
    food = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    # Issued to the ID number only (a walk-in case): held all the same.
    issue_certificate(certificate_type=licence_type, holder=None)
    assert held_valid_certificate_types(user=holder) == {"FOOD-BIZ", "BIZ-LICENSE"}
    assert held_valid_certificate_types(user=stranger) == set()
    # A re-issued one is still held (the new version is valid); a revoked one is not.
    food = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA, previous=food)
    assert "FOOD-BIZ" in held_valid_certificate_types(user=holder)
    certificate_revoke(actor=head, certificate=food, reason="申请人申请注销")
    assert held_valid_certificate_types(user=holder) == {"BIZ-LICENSE"}


def test_a_certificate_past_its_end_date_is_not_held_even_before_the_sweep(holder, ccsj):
    one_year = CertificateTypeFactory(code="ONE-YEAR", department=ccsj, validity_years=1)
    with time_machine.travel("2026-01-10 10:00 +0800"):
        issue_certificate(certificate_type=one_year, holder=holder)
    with time_machine.travel("2027-01-09 10:00 +0800"):
        assert held_valid_certificate_types(user=holder) == {"ONE-YEAR"}
    with time_machine.travel("2027-01-10 10:00 +0800"):
        assert held_valid_certificate_types(user=holder) == set()
