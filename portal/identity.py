"""Identity numbers: 居民身份证 (GB 11643) and 统一社会信用代码 (GB 32100), validated by their check characters."""

from django.core.exceptions import ValidationError
from django.db import models
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc


class IdType(models.TextChoices):
    # Codes of GB/T 39046 (证件类型).
    RESIDENT_ID = "111", "居民身份证"
    CREDIT_CODE = "001", "统一社会信用代码"


_VALIDATORS = {IdType.RESIDENT_ID: ric, IdType.CREDIT_CODE: uscc}
_NUMBER_NAMES = {IdType.RESIDENT_ID: "居民身份证号码", IdType.CREDIT_CODE: "统一社会信用代码"}

_ERRORS = {
    stdnum_errors.InvalidChecksum: "校验位错误",
    stdnum_errors.InvalidLength: "长度应为 18 位",
    stdnum_errors.InvalidFormat: "格式错误",
    stdnum_errors.InvalidComponent: "包含无效的地区码、出生日期或机构类别",
}


def normalize_id_number(*, id_type: str, value: str) -> str:
    """Return the compact, validated number or raise ValidationError with a Chinese message."""
    module = _VALIDATORS.get(id_type)
    if module is None:
        raise ValidationError(f"不支持的证件类型：{id_type}", code="id_type")
    try:
        return module.validate(value)
    except stdnum_errors.ValidationError as error:
        reason = next((text for kind, text in _ERRORS.items() if isinstance(error, kind)), "无效")
        raise ValidationError(f"{_NUMBER_NAMES[id_type]}{reason}", code="invalid_id_number") from error


def mask_id_number(value: str) -> str:
    """220102199003071234 → 220102********1234: enough to recognise, not enough to misuse."""
    if not value:
        return ""
    if len(value) <= 10:
        return value[:2] + "*" * (len(value) - 2)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]
