"""Checks of a certificate type's face-field configuration (DESIGN §14): field types, public fields, the
licence number field and its format. Shared by the catalogue importer (items.importing) and the admin form,
so a type is held to the same rules however it is entered. Nothing here writes.
"""

import string

from certificates.models import FaceFieldType

# The placeholders a number format may use: {year} (year of issue) and {seq} / {seq:0N} (the type's sequence).
NUMBER_FORMAT_FIELDS = {"year", "seq"}
LICENCE_NUMBER_MAX_LENGTH = 60  # Certificate.licence_number


def number_format_error(number_format: str) -> str | None:
    """Why `number_format` cannot make licence numbers, or None when it can ("" means the type has none)."""
    if not number_format:
        return None
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(number_format) if name is not None]
    except ValueError as error:
        return f"证号格式 {number_format} 的花括号不配对（{error}）"
    unknown = sorted({name for name in names if name not in NUMBER_FORMAT_FIELDS})
    if unknown:
        shown = "、".join("{" + name + "}" for name in unknown)
        return f"证号格式 {number_format} 含未知占位符 {shown}，只能使用 {{year}} 和 {{seq}}（如 {{seq:08}}）"
    if "seq" not in names:
        return f"证号格式 {number_format} 必须包含流水号占位符 {{seq}}（如 {{seq:08}}）"
    try:
        sample = number_format.format(year=2026, seq=1)
    except (ValueError, IndexError, KeyError) as error:
        return f"证号格式 {number_format} 无法生成证号（{error}）"
    if len(sample) > LICENCE_NUMBER_MAX_LENGTH:
        return f"证号格式 {number_format} 生成的证号超过 {LICENCE_NUMBER_MAX_LENGTH} 个字符"
    return None


def face_config_errors(
    *, face_fields: list, face_field_types: dict, public_fields: list, number_field: str, number_format: str
) -> dict[str, list[str]]:
    """Every problem of a type's face configuration, by model field name (empty when it is consistent)."""
    errors: dict[str, list[str]] = {}
    names = [str(name) for name in face_fields or []]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        errors.setdefault("face_fields", []).append(f"照面信息字段重复：{'、'.join(duplicates)}")
    if not isinstance(face_field_types, dict):
        errors.setdefault("face_field_types", []).append("应为 {字段名: 类型} 对象")
    else:
        for name, field_type in face_field_types.items():
            if name not in names:
                errors.setdefault("face_field_types", []).append(f"字段 {name} 不是照面信息字段")
            elif field_type not in FaceFieldType.values:
                options = "、".join(f"{value}（{label}）" for value, label in FaceFieldType.choices)
                errors.setdefault("face_field_types", []).append(f"字段 {name} 的类型 {field_type} 无效，可选：{options}")
    if not isinstance(public_fields, list):
        errors.setdefault("public_fields", []).append("应为字段名列表")
    else:
        outside = [str(name) for name in public_fields if name not in names]
        if outside:
            errors.setdefault("public_fields", []).append(f"公开字段 {'、'.join(outside)} 不是照面信息字段")
        if isinstance(face_field_types, dict):
            # 个人信息保护法: an ID number is never shown to whoever verifies a certificate.
            private = [str(name) for name in public_fields if face_field_types.get(name) == FaceFieldType.ID_NUMBER]
            if private:
                errors.setdefault("public_fields", []).append(f"身份证件号码字段 {'、'.join(private)} 不能公开")
    if number_field and number_field not in names:
        errors.setdefault("number_field", []).append(f"证号字段 {number_field} 不是照面信息字段")
    if number_format and not number_field:
        errors.setdefault("number_field", []).append("设置了证号格式时必须指定证号字段")
    problem = number_format_error(number_format)
    if problem:
        errors.setdefault("number_format", []).append(problem)
    return errors
