"""The certificate identifier (GB/T 36904) and its ISO 7064 MOD 37,36 check character."""

import string

import pytest

from certificates.identifiers import certificate_identifier, identifier_is_valid, random_serial

ALPHABET = string.digits + string.ascii_uppercase
KNOWN = "1.2.156.3005.2.FOOD-BIZ.11220100MB1234567K.00000001.001.Q"


def reference_check_character(text: str) -> str:
    """ISO 7064 MOD 37,36 (hybrid system, M = 36) written out from the standard, independently of stdnum:
    P₀ = M; for each character a: S = (P + a) mod M, with 0 read as M; P = 2S mod (M + 1).
    The check character c makes (P + c) mod M = 1."""
    modulus = 36
    product = modulus
    for char in text:
        total = (product + ALPHABET.index(char)) % modulus or modulus
        product = (total * 2) % (modulus + 1)
    return ALPHABET[(1 - product) % modulus]


def test_a_known_identifier():
    identifier = certificate_identifier(
        type_code="FOOD-BIZ", issuer_credit_code="11220100MB1234567K", serial="00000001", version=1
    )
    assert identifier == KNOWN
    # Over the identifier before the check, without dots and hyphens, upper-cased.
    assert reference_check_character("121563005" "2" "FOODBIZ" "11220100MB1234567K" "00000001" "001") == "Q"
    assert identifier_is_valid(identifier)


def test_random_serials_fit_the_identifier_and_are_not_a_sequence():
    serials = [random_serial() for _ in range(2000)]
    assert all(len(serial) == 12 and serial.isdigit() for serial in serials)
    assert len(set(serials)) == 2000
    # Spread over the whole range, not clustered the way a counter is.
    numbers = sorted(int(serial) for serial in serials)
    assert numbers[0] < 10**11 and numbers[-1] > 9 * 10**11
    assert sum(1 for low, high in zip(numbers, numbers[1:]) if high - low == 1) == 0
    for serial in serials[:50]:
        identifier = certificate_identifier(
            type_code="FOOD-BIZ", issuer_credit_code="11220100MB1234567K", serial=serial, version=1
        )
        body, check = identifier.rsplit(".", 1)
        assert body == f"1.2.156.3005.2.FOOD-BIZ.11220100MB1234567K.{serial}.001"
        assert check == reference_check_character(body.replace(".", "").replace("-", ""))
        assert identifier_is_valid(identifier)


def test_the_reference_agrees_with_the_standards_example():
    # The worked example of ISO 7064 (also in python-stdnum's documentation).
    assert reference_check_character("A12425GABC1234002") == "M"


@pytest.mark.parametrize(("serial", "version"), [("00000002", 1), ("00000001", 2), ("12345678", 17)])
def test_every_part_feeds_the_check_character(serial, version):
    identifier = certificate_identifier(
        type_code="FOOD-BIZ", issuer_credit_code="11220100MB1234567K", serial=serial, version=version
    )
    body, check = identifier.rsplit(".", 1)
    assert body == f"1.2.156.3005.2.FOOD-BIZ.11220100MB1234567K.{serial}.{version:03d}"
    assert check == reference_check_character(body.replace(".", "").replace("-", ""))
    assert identifier_is_valid(identifier)


def test_changing_one_character_is_detected():
    assert not identifier_is_valid(KNOWN.replace("00000001", "00000007"))
    assert not identifier_is_valid(KNOWN.replace("MB1234567K", "MB1234568K"))
    assert not identifier_is_valid(KNOWN[:-1] + "R")


def test_every_single_substitution_is_detected():
    """MOD 37,36 catches every single-character substitution: try them all."""
    tried = 0
    for position, original in enumerate(KNOWN):
        if original not in ALPHABET:
            continue
        for replacement in ALPHABET:
            if replacement == original:
                continue
            mutated = KNOWN[:position] + replacement + KNOWN[position + 1:]
            assert not identifier_is_valid(mutated), mutated
            tried += 1
    assert tried > 1500


def test_swapping_neighbours_is_detected():
    mutated = KNOWN.replace("1234567K", "1234576K")
    assert not identifier_is_valid(mutated)


@pytest.mark.parametrize("text", [
    "", "1.2.156.3005.2", "2.2.156.3005.2.FOOD-BIZ.11220100MB1234567K.00000001.001.Q",
    "1.2.156.3005.2.FOOD-BIZ.11220100MB1234567K.00000001.1.Q",  # version not three digits
    "1.2.156.3005.2.FOOD-BIZ.11220100MB1234567.00000001.001.Q",  # credit code not 18 characters
    "1.2.156.3005.2.FOOD-BIZ.11220100MB1234567K.00000001.001",  # no check character
    KNOWN + " ", "../../etc/passwd",
])
def test_malformed_identifiers_are_invalid(text):
    assert not identifier_is_valid(text)


@pytest.mark.parametrize(("fields", "message"), [
    ({"type_code": "FOOD.BIZ"}, "类型编码"),
    ({"type_code": "食品"}, "类型编码"),
    ({"issuer_credit_code": "11220100mb1234567k"}, "信用代码"),
    ({"serial": "A1"}, "流水号"),
    ({"version": 0}, "版本号"),
    ({"version": 1000}, "版本号"),
])
def test_parts_that_cannot_appear_in_an_identifier_are_refused(fields, message):
    arguments = {"type_code": "FOOD-BIZ", "issuer_credit_code": "11220100MB1234567K", "serial": "00000001", "version": 1}
    with pytest.raises(ValueError, match=message):
        certificate_identifier(**{**arguments, **fields})


@pytest.mark.django_db
def test_a_type_code_must_fit_in_an_identifier():
    from django.core.exceptions import ValidationError

    from certificates.models import CertificateType
    from tests.factories import DepartmentFactory

    department = DepartmentFactory()
    CertificateType(code="FOOD-BIZ", name="食品经营许可证", department=department).full_clean()
    for code in ("FOOD_BIZ", "FOOD.BIZ", "-FOOD", "食品"):
        with pytest.raises(ValidationError) as error:
            CertificateType(code=code, name="食品经营许可证", department=department).full_clean()
        assert "code" in error.value.message_dict
