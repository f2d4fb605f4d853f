"""Verification of a file: byte for byte the one issued (by SHA-256), and its signature.

The signature check goes through settings.PDF_SIGNATURE_VALIDATOR so certificates does not import seals.
Here it points at `has_signature_dictionary` below, which really looks at the bytes but only for the
marker of a signature; the real PAdES validation (pyHanko, a changed byte breaks it) is tested in
tests/seals.
"""

import pytest
import time_machine

from certificates.services import certificate_revoke, certificate_verify_file
from tests.certificates.factories import FOOD_FACE_DATA, CertificateTypeFactory, issue_certificate, marked_signature

pytestmark = pytest.mark.django_db

VALIDATOR = "tests.certificates.test_verification.has_signature_dictionary"


def has_signature_dictionary(data: bytes) -> bool:
    """Stand-in validator: a PDF carrying a /ByteRange (what every PDF signature dictionary has)."""
    if not data.startswith(b"%PDF-"):
        raise ValueError("not a PDF")  # the service must survive a validator that fails on garbage
    return b"/ByteRange" in data


@pytest.fixture(autouse=True)
def validator(settings):
    settings.PDF_SIGNATURE_VALIDATOR = VALIDATOR


@pytest.fixture
def signed(food_type, holder):
    return issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA, sign=marked_signature)


def test_the_issued_file_is_genuine(signed):
    data = signed.pdf.read()
    assert certificate_verify_file(data=data) == {
        "genuine": True, "signature_valid": True, "identifier": signed.identifier, "status": "valid",
    }


def test_one_changed_byte_is_not_genuine(signed):
    data = bytearray(signed.pdf.read())
    data[len(data) // 2] ^= 0x01
    result = certificate_verify_file(data=bytes(data))
    assert result["genuine"] is False
    assert result["identifier"] is None and result["status"] is None


def test_an_unsigned_pdf_has_no_valid_signature(food_type, holder):
    unsigned = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    assert certificate_verify_file(data=unsigned.pdf.read()) == {
        "genuine": True, "signature_valid": False, "identifier": unsigned.identifier, "status": "valid",
    }


def test_a_validator_that_fails_on_garbage_means_not_valid():
    assert certificate_verify_file(data=b"GIF89a not a pdf") == {
        "genuine": False, "signature_valid": False, "identifier": None, "status": None,
    }


def test_the_status_is_today_s(signed, head, ccsj, holder):
    certificate_revoke(actor=head, certificate=signed, reason="申请人申请注销")
    assert certificate_verify_file(data=signed.pdf.read())["status"] == "revoked"
    one_year = CertificateTypeFactory(code="ONE-YEAR", department=ccsj, validity_years=1)
    with time_machine.travel("2026-01-10 10:00 +0800"):
        short = issue_certificate(certificate_type=one_year, holder=holder, sign=marked_signature)
    with time_machine.travel("2027-01-10 10:00 +0800"):  # past its end date, before any sweep ran
        assert certificate_verify_file(data=short.pdf.read())["status"] == "expired"


def test_the_validator_must_be_configured(settings, signed):
    from django.core.exceptions import ImproperlyConfigured

    del settings.PDF_SIGNATURE_VALIDATOR
    with pytest.raises(ImproperlyConfigured):
        certificate_verify_file(data=signed.pdf.read())
