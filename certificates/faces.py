"""Typed face fields (照面信息, DESIGN §14): what each type of field accepts, how it is stored, and what of it
public verification may show. Pure functions: nothing here reads or writes the database.

A field's type comes from its certificate type's `face_field_types` (a field not named there is text). At
approval every field is checked by its type (applications.services.faces); the values are stored as checked:
a credit code or ID number compact and upper-cased, a date as ISO 8601, a number without separators.
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from stdnum import exceptions as stdnum_errors

from certificates.models import Certificate, CertificateType, FaceFieldType
from portal.identity import IdType, mask_id_number, normalize_id_number

# Every face value is bounded: it is printed on an A4 face and stored in the case and the certificate.
MAX_FACE_VALUE_LENGTH = 200

# A type with a licence number field but no format of its own numbers by this one: its code, the year of
# issue and a six-digit sequence per year, e.g. FOOD-BIZ-2026-000001 (decision 053).
DEFAULT_NUMBER_FORMAT = "{code}-{{year}}-{{seq:06}}"

# How a reviewer is told what a field takes (the approval form's hint).
FIELD_HINTS = {
    FaceFieldType.PERSON_NAME: "",
    FaceFieldType.ID_NUMBER: "公民身份号码，18 位，按校验码核对",
    FaceFieldType.ORG_NAME: "",
    FaceFieldType.USCC: "统一社会信用代码，18 位，按校验码核对",
    FaceFieldType.DATE: "日期，例如 2026-01-02",
    FaceFieldType.TEXT: "",
    FaceFieldType.NUMBER: "数字，例如 100 或 12.5",
}

_ID_REASONS = {
    stdnum_errors.InvalidChecksum: "校验码不正确",
    stdnum_errors.InvalidLength: "应为 18 位",
    stdnum_errors.InvalidFormat: "格式不正确",
    stdnum_errors.InvalidComponent: "地区码、出生日期或机构类别无效",
}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_CHINESE_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def field_types(certificate_type: CertificateType) -> dict[str, str]:
    """Each face field of the type with its type, in the type's order; unknown or missing types are text."""
    declared = certificate_type.face_field_types if isinstance(certificate_type.face_field_types, dict) else {}
    types = {}
    for name in certificate_type.face_fields or []:
        kind = declared.get(str(name))
        types[str(name)] = kind if kind in FaceFieldType.values else FaceFieldType.TEXT
    return types


def numbered_field(certificate_type: CertificateType) -> str:
    """The face field the licence number goes in, or "" when the type has none (or names a field it does
    not print: nothing to number then)."""
    name = certificate_type.number_field or ""
    return name if name and name in [str(field) for field in certificate_type.face_fields or []] else ""


def number_format_for(certificate_type: CertificateType) -> str:
    """The type's own format, else the default: its code, the year and a six-digit sequence."""
    return certificate_type.number_format or DEFAULT_NUMBER_FORMAT.format(code=certificate_type.code)


def sequence_year(number_format: str, year: int) -> int:
    """Numbers restart each year when the format prints the year; otherwise one sequence (year 0)."""
    return year if "{year" in number_format else 0


def format_licence_number(number_format: str, *, year: int, seq: int) -> str:
    """"JY1{year}{seq:08}", 2026, 7 → JY12026000000007. Only {year} and {seq} exist; a format naming anything
    else is refused by the catalogue (certificates.type_config) and raises ValueError here."""
    try:
        return number_format.format(year=year, seq=seq)
    except (KeyError, IndexError, AttributeError, ValueError) as error:
        raise ValueError(f"证号格式 {number_format} 无法生成证号（{error}）") from error


def parse_face_date(value: str) -> date | None:
    """2026-01-02, 2026-1-2 or 2026年1月2日; None when it is neither or not a real day."""
    match = _ISO_DATE.match(value) or _CHINESE_DATE.match(value)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def display_value(value) -> str:
    """A stored face value as text: a list (经营项目 …) joined with 、."""
    if isinstance(value, list | tuple):
        return "、".join(str(part).strip() for part in value if str(part).strip())
    return "" if value is None else str(value).strip()


def clean_face_value(*, kind: str, value: str) -> str:
    """The value as stored, or ValidationError with the reason (without the field's name; the caller
    names the field). `value` is non-empty and stripped."""
    if len(value) > MAX_FACE_VALUE_LENGTH:
        raise ValidationError(f"不能超过 {MAX_FACE_VALUE_LENGTH} 个字")
    if kind in (FaceFieldType.USCC, FaceFieldType.ID_NUMBER):
        id_type = IdType.CREDIT_CODE if kind == FaceFieldType.USCC else IdType.RESIDENT_ID
        try:
            return normalize_id_number(id_type=id_type, value=value)
        except ValidationError as error:
            cause = error.__cause__
            reason = next((text for cls, text in _ID_REASONS.items() if isinstance(cause, cls)), "不正确")
            raise ValidationError(reason) from error
    if kind == FaceFieldType.DATE:
        day = parse_face_date(value)
        if day is None:
            raise ValidationError("应为日期，例如 2026-01-02 或 2026年1月2日")
        return day.isoformat()
    if kind == FaceFieldType.NUMBER:
        compact = value.replace(",", "").replace("，", "").replace(" ", "")
        if not _NUMBER.match(compact):
            raise ValidationError("应为数字，例如 100 或 12.5")
        try:
            Decimal(compact)
        except InvalidOperation as error:  # pragma: no cover - the pattern admits only decimals
            raise ValidationError("应为数字，例如 100 或 12.5") from error
        return compact
    return value


def public_face_data(certificate: Certificate) -> list[tuple[str, str]]:
    """(name, text) of the face fields the type makes public, in the type's order: what anyone who verifies
    the certificate may read. An ID number is never shown in full, even if a type marks it public."""
    certificate_type = certificate.type
    public = {str(name) for name in certificate_type.public_fields or []} if isinstance(
        certificate_type.public_fields, list) else set()
    rows = []
    for name, kind in field_types(certificate_type).items():
        if name not in public:
            continue
        text = display_value((certificate.face_data or {}).get(name))
        if not text:
            continue
        if kind == FaceFieldType.ID_NUMBER:
            text = mask_id_number(text)
        rows.append((name, text))
    return rows
