"""How one cell of a catalogue file becomes a value (items.importing): a code given as its value or its label,
yes/no texts, and a certificate type's face fields — a name, or {name, type, public}, or in a spreadsheet
cell one field a line "名称:类型:公开" (DESIGN §14)."""

import re

from certificates.models import FaceFieldType
from items.catalogue_format import FACE_FIELD_PUBLIC_MARKS, Spec
from items.models import ItemType

TRUE_TEXTS = {"true", "1", "是", "y", "yes", "√"}
FALSE_TEXTS = {"false", "0", "否", "n", "no", ""}


class FieldError(Exception):
    """One cell's problem; the reader adds where it is."""


def choice(spec: Spec, value) -> str:
    value = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else value
    if not isinstance(value, str):
        raise FieldError("应为代码文本")
    if value in spec.choices.values:
        return value
    # A label (即办件, 行政许可 …) is accepted too: spreadsheets are filled in by people.
    for choice_value, label in spec.choices.choices:
        if value == label:
            return choice_value
    # Two-digit item types written as 1 in a spreadsheet cell.
    if value.isdigit() and value.zfill(2) in spec.choices.values and spec.choices is ItemType:
        return value.zfill(2)
    options = "、".join(f"{v}（{label}）" for v, label in spec.choices.choices)
    raise FieldError(f"无效的值 {value}，可选：{options}")


_FACE_FIELD_TYPE = Spec("choice", choices=FaceFieldType)
_FACE_FIELD_KEYS = {"name", "type", "public"}


def face_fields(value, lenient: bool) -> list[dict]:
    """A certificate type's face fields as [{"name", "type", "public"}]: each entry of the file a name or
    an object; in an xlsx cell one field a line, "名称", "名称:类型" or "名称:类型:公开"."""
    if lenient and isinstance(value, str):
        separators = r"\n" if "\n" in value else r"[,，;；]"
        value = [_face_field_from_text(part.strip()) for part in re.split(separators, value) if part.strip()]
    if not isinstance(value, list):
        raise FieldError("应为列表")
    fields = []
    for position, entry in enumerate(value, start=1):
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict):
            raise FieldError(f"第 {position} 个字段应为字段名或 {{name, type, public}} 对象")
        unknown = sorted(set(entry) - _FACE_FIELD_KEYS)
        if unknown:
            raise FieldError(f"第 {position} 个字段含未知的键 {'、'.join(map(str, unknown))}（可用：name、type、public）")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise FieldError(f"第 {position} 个字段缺少字段名 name")
        field_type = entry.get("type") or FaceFieldType.TEXT.value
        try:
            field_type = choice(_FACE_FIELD_TYPE, field_type)
        except FieldError as error:
            raise FieldError(f"字段 {name.strip()} 的类型：{error}") from error
        public = entry.get("public", False)
        if lenient and isinstance(public, str):
            public = public.strip().lower() in TRUE_TEXTS
        if not isinstance(public, bool):
            raise FieldError(f"字段 {name.strip()} 的 public 应为 true 或 false")
        fields.append({"name": name.strip(), "type": field_type, "public": public})
    return fields


def _face_field_from_text(text: str) -> dict:
    parts = [part.strip() for part in re.split(r"[:：]", text)]
    entry: dict = {"name": parts[0]}
    if len(parts) > 1 and parts[1]:
        entry["type"] = parts[1]
    if len(parts) > 2:
        if parts[2].lower() not in FACE_FIELD_PUBLIC_MARKS and parts[2] not in ("", "不公开"):
            raise FieldError(f"字段 {parts[0]} 的第三部分应为“公开”或留空（当前 {parts[2]}）")
        entry["public"] = parts[2].lower() in FACE_FIELD_PUBLIC_MARKS
    if len(parts) > 3:
        raise FieldError(f"无法识别的字段写法 {text}（应为 名称、名称:类型 或 名称:类型:公开）")
    return entry


def face_field_values(entries: list[dict]) -> dict:
    """The model fields of a type's face configuration from the file's entries."""
    return {
        "face_fields": [entry["name"] for entry in entries],
        "face_field_types": {entry["name"]: entry["type"] for entry in entries},
        "public_fields": [entry["name"] for entry in entries if entry["public"]],
    }
