"""ID numbers and credit codes are validated by their real check characters (GB 11643, GB 32100)."""

import pytest
from django.core.exceptions import ValidationError

from portal.identity import IdType, mask_id_number, normalize_id_number
from portal.models import Department


@pytest.mark.parametrize(
    "number",
    ["11010519491231002X", "220102199003071235", "220104199206157891", "11010519491231002x"],
)
def test_valid_resident_ids(number):
    assert normalize_id_number(id_type=IdType.RESIDENT_ID, value=number) == number.upper()


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "校验位错误"),  # last digit changed
        ("220102199003071234", "校验位错误"),
        ("2201021990030712", "长度应为 18 位"),
        ("220102199002301238", "包含无效的地区码、出生日期或机构类别"),  # 30 February
        ("2201021990030712AB", "格式错误"),
    ],
)
def test_invalid_resident_ids(number, reason):
    with pytest.raises(ValidationError) as error:
        normalize_id_number(id_type=IdType.RESIDENT_ID, value=number)
    assert error.value.messages == [f"居民身份证号码{reason}"]


@pytest.mark.parametrize("code", ["11220100MB1234567K", "91220100MA0000001L", "91110000802100433B"])
def test_valid_credit_codes(code):
    assert normalize_id_number(id_type=IdType.CREDIT_CODE, value=code) == code


@pytest.mark.parametrize("code", ["11220100MB1234567J", "91220100MA0000001K", "9122010"])
def test_invalid_credit_codes(code):
    with pytest.raises(ValidationError, match="统一社会信用代码"):
        normalize_id_number(id_type=IdType.CREDIT_CODE, value=code)


def test_mask():
    assert mask_id_number("220102199003071235") == "220102********1235"
    assert mask_id_number("11220100MB1234567K") == "112201********567K"
    assert mask_id_number("") == ""


@pytest.mark.django_db
def test_department_credit_code_is_checked():
    with pytest.raises(ValidationError) as error:
        Department(code="X", name="某局", credit_code="11220100MB1234567J").full_clean()
    assert "credit_code" in error.value.message_dict
