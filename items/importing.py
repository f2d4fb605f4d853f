"""Reading and validating a catalogue file (DESIGN §4 import format, its columns in items.catalogue_format):
`.json`, or `.xlsx` with one sheet per key and the same columns. Nothing here writes;
`items.services.catalogue_import` does, in one transaction.

Every error names where it is (section, 1-based row — for xlsx the spreadsheet's own row number — and the
item code) and the field, in Chinese. All errors of a file are collected and reported together, so a
catalogue administrator fixes the file once rather than once per error.
"""

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from certificates.models import CertificateType
from certificates.type_config import face_config_errors
from items.catalogue_format import (
    BUNDLE_FIELD_SPEC,
    BUNDLE_MATERIAL_SPEC,
    BUNDLE_SHEETS,
    BUNDLE_SPEC,
    MATERIAL_SPEC,
    NEWLINE_LISTS,
    SECTION_LABELS,
    SECTION_SPECS,
    SECTIONS,
    Spec,
)
from items.import_values import FALSE_TEXTS, TRUE_TEXTS, FieldError, choice, face_fields
from items.models import CertificateAction, Handling, Item, MaterialForm, MaterialRequirement
from portal.identity import IdType, normalize_id_number
from portal.models import Department

# `fee` values meaning 不收费 when the file does not say fee_charged explicitly.
FREE_FEE_TEXTS = {"", "不收费", "免费", "无", "否", "0"}


class CatalogueError(Exception):
    """A catalogue file that cannot be imported; `errors` lists every problem found."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class Row:
    """One record of the file with where it came from, for error messages."""

    values: dict
    where: str
    materials: list["Row"] = field(default_factory=list)


@dataclass
class ParsedCatalogue:
    departments: list[Row]
    halls: list[Row]
    certificate_types: list[Row]
    items: list[Row]
    # 一件事一次办: its own section of the file, read by `read_bundle_rows`.
    bundles: list[Row] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- files


def read_catalogue_file(path: str | Path) -> dict:
    """Load a `.json` or `.xlsx` catalogue into the JSON-shaped dict (raises CatalogueError)."""
    path = Path(path)
    if not path.exists():
        raise CatalogueError([f"文件不存在：{path}"])
    return read_catalogue_bytes(path.name, path.read_bytes())


def read_catalogue_bytes(name: str, content: bytes) -> dict:
    """The same for a file's name and content (the web import's upload); raises CatalogueError."""
    suffix = Path(name).suffix.lower()
    if suffix == ".json":
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise CatalogueError([f"文件 {name} 不是 UTF-8 编码的文本"]) from error
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise CatalogueError([f"JSON 格式错误：第 {error.lineno} 行第 {error.colno} 列：{error.msg}"]) from error
        except RecursionError as error:
            raise CatalogueError(["JSON 格式错误：嵌套层数过多"]) from error
    if suffix == ".xlsx":
        return read_xlsx(io.BytesIO(content))
    raise CatalogueError([f"不支持的文件类型：{Path(name).suffix or '（无扩展名）'}，请使用 .json 或 .xlsx"])


def _cell(value):
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def read_xlsx(path_or_file) -> dict:
    """Sheets departments/halls/certificate_types/items/materials, header row 1, one record per row.

    Materials are a separate sheet with an `item` column naming the item code. Each record keeps its
    spreadsheet row so errors point at the cell a person can find.
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return _read_workbook(load_workbook(path_or_file, read_only=True, data_only=True))
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, SyntaxError) as error:
        # A damaged or foreign file fails inside openpyxl's zip and XML reading with any of these (an XML
        # parse error is a SyntaxError); read lazily, so the sheets' rows can fail too, not only the open.
        raise CatalogueError(["不是有效的 xlsx 文件（请用 Excel 或 WPS 另存为 .xlsx）"]) from error


def _read_workbook(workbook) -> dict:
    errors: list[str] = []
    data: dict[str, list] = {}
    material_rows: list[dict] = []
    allowed = {**SECTION_SPECS, "materials": {**MATERIAL_SPEC, "item": Spec("str", required=True)}}
    # 一件事一次办: three sheets, reassembled by `bundles_from_xlsx_sheets` and checked with the rest.
    bundle_sheets: dict[str, list[dict]] = {name: [] for name in BUNDLE_SHEETS}
    for sheet in workbook.worksheets:
        name = sheet.title.strip()
        if name not in allowed and name not in BUNDLE_SHEETS:
            errors.append(f"未知的工作表：{name}（可用：{'、'.join([*allowed, *BUNDLE_SHEETS])}）")
            continue
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            continue  # an empty sheet: nothing of that section
        columns = [(_cell(title) if title is not None else None) for title in header]
        columns = [str(title) if title is not None else None for title in columns]
        known = allowed.get(name) or BUNDLE_SHEETS[name]
        for title in columns:
            if title is not None and (title not in known or title == "materials"):
                errors.append(f"工作表 {name} 第 1 行：未知的列 {title}")
        for row_number, row in enumerate(rows, start=2):
            record = {
                title: _cell(value)
                for title, value in zip(columns, row, strict=False)
                if title is not None and _cell(value) is not None
            }
            if not record:
                continue  # blank rows are common at the end of a sheet
            record["_row"] = row_number
            if name == "materials":
                material_rows.append(record)
            elif name in BUNDLE_SHEETS:
                bundle_sheets[name].append(record)
            else:
                data.setdefault(name, []).append(record)
    workbook.close()
    items_by_code = {}
    for record in data.get("items", []):
        items_by_code.setdefault(str(record.get("code", "")), record)
        record["materials"] = []
    for record in material_rows:
        code = str(record.pop("item", "") or "")
        if not code:
            errors.append(f"工作表 materials 第 {record['_row']} 行 字段 item：缺少所属事项编码")
        elif code not in items_by_code:
            errors.append(f"工作表 materials 第 {record['_row']} 行 字段 item：事项 {code} 不在 items 工作表中")
        else:
            record["_item"] = code
            items_by_code[code]["materials"].append(record)
    if any(bundle_sheets.values()):
        data["bundles"] = bundles_from_xlsx_sheets(bundle_sheets, errors)
    if errors:
        raise CatalogueError(errors)
    data["_xlsx"] = True
    return data


# ---------------------------------------------------------------------------------------------- values


def _convert(key: str, spec: Spec, value, lenient: bool):
    """One value, checked and converted; `lenient` for spreadsheet cells (numbers as text, 是/否 …)."""
    if spec.kind == "str":
        if lenient and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(int(value)) if float(value).is_integer() else str(value)
        if not isinstance(value, str):
            raise FieldError("应为文本")
        value = value.strip()
        if spec.max_length and len(value) > spec.max_length:
            raise FieldError(f"长度不能超过 {spec.max_length} 个字符（当前 {len(value)} 个）")
        return value
    if spec.kind == "int":
        if lenient and isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if lenient and isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError("应为整数")
        if value < 0:
            raise FieldError("不能为负数")
        if value > 32767:
            raise FieldError("数值过大")
        return value
    if spec.kind == "bool":
        if lenient and isinstance(value, (str, int)) and not isinstance(value, bool):
            text = str(value).strip().lower()
            if text in TRUE_TEXTS:
                return True
            if text in FALSE_TEXTS:
                return False
        if not isinstance(value, bool):
            raise FieldError("应为 true 或 false")
        return value
    if spec.kind == "choice":
        return choice(spec, value)
    if spec.kind in ("list", "choice_list"):
        if lenient and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            separators = r"\n" if key in NEWLINE_LISTS or "\n" in text else r"[\n,，;；]"
            value = [part.strip() for part in re.split(separators, text) if part.strip()]
        if not isinstance(value, list):
            raise FieldError("应为列表")
        if spec.kind == "list":
            if not all(isinstance(entry, str) for entry in value):
                raise FieldError("列表中的每一项都应为文本")
            return [entry.strip() for entry in value if entry.strip()]
        converted = []
        for entry in value:
            if isinstance(entry, bool) or not isinstance(entry, (str, int)):
                raise FieldError("列表中的每一项都应为代码文本")
            code = choice(spec, entry)
            if code not in converted:
                converted.append(code)
        # Order carries no meaning for these codes: sort, so a reordered file is not a change.
        return sorted(converted)
    if spec.kind == "dict_list":
        if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
            raise FieldError("应为对象列表")
        return value
    if spec.kind == "face_fields":
        return face_fields(value, lenient)
    raise AssertionError(spec.kind)


def _read_record(raw, spec: dict, where: str, lenient: bool, errors: list[str]) -> dict | None:
    if not isinstance(raw, dict):
        errors.append(f"{where}：应为对象（键值对），实际为 {type(raw).__name__}")
        return None
    values: dict = {}
    for key in raw:
        if key.startswith("_"):
            continue
        if key not in spec:
            errors.append(f"{where} 字段 {key}：未知字段")
    for key, key_spec in spec.items():
        value = raw.get(key)
        if value is None or (lenient and value == ""):
            if key_spec.required:
                errors.append(f"{where} 字段 {key}：缺少必填项")
                continue
            values[key] = list(key_spec.default) if isinstance(key_spec.default, list) else key_spec.default
            continue
        try:
            values[key] = _convert(key, key_spec, value, lenient)
        except FieldError as error:
            errors.append(f"{where} 字段 {key}：{error}")
            continue
        if key_spec.required and values[key] in ("", []):
            errors.append(f"{where} 字段 {key}：缺少必填项")
    return values


def _where(section: str, raw, index: int, lenient: bool, label_code: str | None) -> str:
    row = raw.get("_row", index) if isinstance(raw, dict) else index
    prefix = f"工作表 {section}" if lenient else section
    code = f"（{SECTION_LABELS[section]} {label_code}）" if label_code else ""
    return f"{prefix} 第 {row} 行{code}"


def _code_of(raw) -> str | None:
    if isinstance(raw, dict) and raw.get("code") is not None:
        return str(raw["code"]).strip()
    return None


# ---------------------------------------------------------------------------------------------- parse


def parse_catalogue(data) -> ParsedCatalogue:
    """Check the whole file against the format and the database; raise CatalogueError listing everything."""
    errors: list[str] = []
    if not isinstance(data, dict):
        raise CatalogueError(["文件内容应为一个对象，包含 departments、halls、certificate_types、items"])
    lenient = bool(data.get("_xlsx"))
    for key in data:
        if key not in SECTIONS and key not in ("_xlsx", "bundles"):
            errors.append(f"未知的部分：{key}（可用：{'、'.join(SECTIONS)}）")
    sections: dict[str, list[Row]] = {}
    for section in SECTIONS:
        raw_rows = data.get(section, [])
        if raw_rows is None:
            raw_rows = []
        if not isinstance(raw_rows, list):
            errors.append(f"{section}：应为列表")
            sections[section] = []
            continue
        rows, seen = [], {}
        for index, raw in enumerate(raw_rows, start=1):
            where = _where(section, raw, index, lenient, _code_of(raw))
            values = _read_record(raw, SECTION_SPECS[section], where, lenient, errors)
            if values is None:
                continue
            code = values.get("code")
            if code:
                if code in seen:
                    errors.append(f"{where} 字段 code：编码 {code} 重复（与第 {seen[code]} 行相同）")
                    continue
                seen[code] = raw.get("_row", index)
            row = Row(values=values, where=where)
            if section == "items" and isinstance(values.get("materials"), list):
                row.materials = _read_materials(raw, values.pop("materials"), where, lenient, errors)
            rows.append(row)
        sections[section] = rows
    catalogue = ParsedCatalogue(**sections)
    _check_references(catalogue, errors)
    catalogue.bundles = read_bundle_rows(data.get("bundles"), catalogue=catalogue, lenient=lenient, errors=errors)
    if errors:
        raise CatalogueError(errors)
    return catalogue


def _read_materials(raw_item, raw_materials, item_where, lenient, errors) -> list[Row]:
    rows, seen = [], set()
    for index, raw in enumerate(raw_materials, start=1):
        if lenient and isinstance(raw, dict) and "_row" in raw:
            where = f"工作表 materials 第 {raw['_row']} 行（事项 {raw.get('_item', '')}）"
        else:
            where = f"{item_where} materials 第 {index} 行"
        values = _read_record(raw, MATERIAL_SPEC, where, lenient, errors)
        if values is None:
            continue
        if values.get("name") in seen:
            errors.append(f"{where} 字段 name：同一事项中材料名称 {values['name']} 重复")
            continue
        seen.add(values.get("name"))
        if values["copies_original"] is None:
            values["copies_original"] = 1 if values["form"] == MaterialForm.ORIGINAL else 0
        if values["copies_copy"] is None:
            values["copies_copy"] = 1 if values["form"] == MaterialForm.COPY else 0
        rows.append(Row(values=values, where=where))
    return rows


def _check_references(catalogue: ParsedCatalogue, errors: list[str]) -> None:
    """Codes named in the file must exist in the file or the database; invariants of DESIGN §4."""
    file_departments = {row.values["code"]: row for row in catalogue.departments}
    db_departments = {
        code: (level, credit_code)
        for code, level, credit_code in Department.objects.values_list("code", "level", "credit_code")
    }
    department_levels = {code: level for code, (level, _) in db_departments.items()}
    credit_owner = {credit_code: code for code, (_, credit_code) in db_departments.items()}
    for code, row in file_departments.items():
        department_levels[code] = row.values["level"]
    known_departments = set(department_levels)

    seen_credit: dict[str, str] = {}
    for row in catalogue.departments:
        values = row.values
        if values.get("credit_code"):
            try:
                values["credit_code"] = normalize_id_number(id_type=IdType.CREDIT_CODE, value=values["credit_code"])
            except ValidationError as error:
                errors.append(f"{row.where} 字段 credit_code：{error.messages[0]}（{values['credit_code']}）")
            else:
                owner = credit_owner.get(values["credit_code"])
                if owner and owner != values["code"] and owner not in file_departments:
                    errors.append(f"{row.where} 字段 credit_code：统一社会信用代码已属于部门 {owner}")
                if values["credit_code"] in seen_credit:
                    errors.append(
                        f"{row.where} 字段 credit_code：与部门 {seen_credit[values['credit_code']]} 的统一社会信用代码重复"
                    )
                seen_credit[values["credit_code"]] = values["code"]
        parent = values.get("parent")
        if parent and parent not in known_departments:
            errors.append(f"{row.where} 字段 parent：未知的部门编码 {parent}")
        if parent and parent == values["code"]:
            errors.append(f"{row.where} 字段 parent：上级部门不能是自身")

    known_types = set(CertificateType.objects.values_list("code", flat=True))
    for row in catalogue.certificate_types:
        known_types.add(row.values["code"])
        if row.values.get("department") and row.values["department"] not in known_departments:
            errors.append(f"{row.where} 字段 department：未知的部门编码 {row.values['department']}")
        _check_face_config(row, errors)

    for row in catalogue.items:
        values = row.values
        department = values.get("department")
        if department and department not in known_departments:
            errors.append(f"{row.where} 字段 department：未知的部门编码 {department}")
        elif department and values.get("level") is None:
            values["level"] = department_levels[department]
        unknown = [code for code in values.get("joint_departments", []) if code not in known_departments]
        if unknown:
            errors.append(f"{row.where} 字段 joint_departments：未知的部门编码 {'、'.join(unknown)}")
        values["joint_departments"] = sorted(set(values.get("joint_departments", [])))
        if values.get("certificate_type") and values["certificate_type"] not in known_types:
            errors.append(f"{row.where} 字段 certificate_type：未知的证照类型编码 {values['certificate_type']}")
        action = values.get("certificate_action")
        if action and action != CertificateAction.ISSUE and not values.get("certificate_type"):
            errors.append(
                f"{row.where} 字段 certificate_action：{CertificateAction(action).label}类事项必须指定 certificate_type"
            )
        statutory, promised = values.get("statutory_days"), values.get("promised_days")
        if isinstance(statutory, int) and isinstance(promised, int) and promised > statutory:
            errors.append(f"{row.where} 字段 promised_days：承诺时限（{promised}）不能大于法定时限（{statutory}）")
        if values.get("handling") == Handling.INSTANT and isinstance(promised, int) and promised > 0:
            errors.append(f"{row.where} 字段 promised_days：即办件的承诺时限必须为 0（当前 {promised}）")
        warning = values.get("warning_days")
        if isinstance(warning, int) and isinstance(promised, int) and promised and warning > promised:
            errors.append(f"{row.where} 字段 warning_days：预警时限（{warning}）不能大于承诺时限（{promised}）")
        _fee_values(values)
        for material in row.materials:
            satisfied_by = material.values.get("satisfied_by")
            if satisfied_by and satisfied_by not in known_types:
                errors.append(f"{material.where} 字段 satisfied_by：未知的证照类型编码 {satisfied_by}")
            for key in ("blank_form", "sample"):
                name = material.values.get(key)
                if name and not default_storage.exists(name):
                    errors.append(f"{material.where} 字段 {key}：文件 {name} 不存在")


def _check_face_config(row: Row, errors: list[str]) -> None:
    """Typed and public face fields, the number field and format (DESIGN §14): the rules of
    certificates.type_config; face_field_types and public_fields are written in the face_fields column."""
    entries = row.values.get("face_fields")
    if not isinstance(entries, list):
        return  # already reported
    problems = face_config_errors(
        face_fields=[entry["name"] for entry in entries],
        face_field_types={entry["name"]: entry["type"] for entry in entries},
        public_fields=[entry["name"] for entry in entries if entry["public"]],
        number_field=row.values.get("number_field") or "",
        number_format=row.values.get("number_format") or "",
    )
    for key, messages in problems.items():
        column = "face_fields" if key in ("face_field_types", "public_fields") else key
        errors.extend(f"{row.where} 字段 {column}：{message}" for message in messages)


def _fee_values(values: dict) -> None:
    """`fee` is the citizen-facing text; stored as 是否收费 + 收费标准 (+ 收费依据)."""
    text = (values.pop("fee", None) or "").strip()
    charged = values.pop("fee_charged", None)
    if charged is None:
        charged = text not in FREE_FEE_TEXTS
    values["fee_charged"] = charged
    values["fee_standard"] = text if charged else ""


# ---------------------------------------------------------------------------------------------- bundles


def _read_maps(value, where: str, errors: list[str]) -> dict | None:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        errors.append(f"{where} 字段 maps：应为 {{事项编码: 材料名称}} 对象")
        return None
    return {code.strip(): name.strip() for code, name in value.items()}


def _requirement_names(catalogue: ParsedCatalogue, codes: set[str]) -> dict[str, set[str]]:
    """Each item's material names as they will be after this import: the file's, else the database's."""
    names = {
        row.values["code"]: {material.values["name"] for material in row.materials}
        for row in catalogue.items
        if row.values.get("code") in codes
    }
    missing = codes - set(names)
    for code, name in MaterialRequirement.objects.filter(
        version__current_for__code__in=missing
    ).values_list("version__item__code", "name"):
        names.setdefault(code, set()).add(name)
    known = set(Item.objects.filter(code__in=missing, current_version__isnull=False).values_list("code", flat=True))
    for code in known:
        names.setdefault(code, set())
    return names


def read_bundle_rows(raw_rows, *, catalogue: ParsedCatalogue, lenient: bool, errors: list[str]) -> list[Row]:
    """The `bundles` section, checked against the file's items and the database; errors name the row."""
    if raw_rows is None:
        return []
    if not isinstance(raw_rows, list):
        errors.append("bundles：应为列表")
        return []
    prefix = "工作表 bundles" if lenient else "bundles"
    parsed: list[tuple[Row, list, list]] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_rows, start=1):
        code = str(raw.get("code", "")).strip() if isinstance(raw, dict) else ""
        row_number = raw.get("_row", index) if isinstance(raw, dict) else index
        where = f"{prefix} 第 {row_number} 行" + (f"（一件事 {code}）" if code else "")
        values = _read_record(raw, BUNDLE_SPEC, where, lenient, errors)
        if values is None:
            continue
        if code and code in seen:
            errors.append(f"{where} 字段 code：编码 {code} 重复（与第 {seen[code]} 行相同）")
            continue
        seen[code] = row_number
        fields = [
            (f"{where} fields 第 {i} 行", _read_record(f, BUNDLE_FIELD_SPEC, f"{where} fields 第 {i} 行", lenient, errors))
            for i, f in enumerate(values.pop("fields") or [], start=1)
        ]
        materials = []
        for i, m in enumerate(values.pop("materials") or [], start=1):  # dict_list: each one is a dict
            m_where = f"{where} materials 第 {i} 行"
            record = _read_record({k: v for k, v in m.items() if k != "maps"}, BUNDLE_MATERIAL_SPEC, m_where, lenient, errors)
            if m.get("maps") is None:
                errors.append(f"{m_where} 字段 maps：缺少必填项")
                maps = None
            else:
                maps = _read_maps(m["maps"], m_where, errors)
            materials.append((m_where, record, maps))
        parsed.append((Row(values=values, where=where), fields, materials))

    item_codes = {code for row, _, _ in parsed for code in row.values.get("items") or []}
    names = _requirement_names(catalogue, item_codes)
    rows = []
    for row, fields, materials in parsed:
        values, where = row.values, row.where
        members = values.get("items") or []
        unknown = [code for code in members if code not in names]
        if unknown:
            errors.append(f"{where} 字段 items：未知或未发布的事项编码 {'、'.join(unknown)}")
        duplicates = sorted({code for code in members if members.count(code) > 1})
        if duplicates:
            errors.append(f"{where} 字段 items：事项 {'、'.join(duplicates)} 重复")
        if len(set(members)) < 2:
            errors.append(f"{where} 字段 items：一件事至少包含两个事项")
        field_values, field_names = [], set()
        for f_where, record in fields:
            if record is None:
                continue
            if record["name"] in field_names:
                errors.append(f"{f_where} 字段 name：字段名 {record['name']} 重复")
            field_names.add(record["name"])
            outside = [code for code in record["items"] if code not in members]
            if outside:
                errors.append(f"{f_where} 字段 items：事项 {'、'.join(outside)} 不在本一件事中")
            field_values.append(record)
        material_values, material_names = [], set()
        for m_where, record, maps in materials:
            if record is None or maps is None:
                continue
            if record["name"] in material_names:
                errors.append(f"{m_where} 字段 name：共享材料 {record['name']} 重复")
            material_names.add(record["name"])
            if not maps:
                errors.append(f"{m_where} 字段 maps：至少对应一个事项的材料")
            for code, requirement in maps.items():
                if code not in members:
                    errors.append(f"{m_where} 字段 maps：事项 {code} 不在本一件事中")
                elif code in names and requirement not in names[code]:
                    errors.append(f"{m_where} 字段 maps：事项 {code} 没有名为「{requirement}」的申请材料")
            material_values.append({**record, "maps": maps})
        values["fields"], values["materials"] = field_values, material_values
        values["theme"] = values.get("theme") or ""
        rows.append(row)
    return rows



def bundles_from_xlsx_sheets(sheets: dict[str, list[dict]], errors: list[str]) -> list[dict]:
    """Reassemble the JSON shape from the three sheets; rows keep `_row` for error messages."""
    bundles = {}
    result = []
    for record in sheets.get("bundles", []):
        record = {**record, "fields": [], "materials": []}
        bundles.setdefault(str(record.get("code", "")), record)
        result.append(record)
    for record in sheets.get("bundle_fields", []):
        code = str(record.pop("bundle", "") or "")
        if code not in bundles:
            errors.append(f"工作表 bundle_fields 第 {record['_row']} 行 字段 bundle：一件事 {code} 不在 bundles 工作表中")
            continue
        bundles[code]["fields"].append(record)
    by_name: dict[tuple[str, str], dict] = {}
    for record in sheets.get("bundle_materials", []):
        code = str(record.get("bundle", "") or "")
        if code not in bundles:
            errors.append(f"工作表 bundle_materials 第 {record['_row']} 行 字段 bundle：一件事 {code} 不在 bundles 工作表中")
            continue
        name, item, requirement = record.get("name"), record.get("item"), record.get("requirement")
        if not (name and item and requirement):
            errors.append(f"工作表 bundle_materials 第 {record['_row']} 行：name、item、requirement 均为必填")
            continue
        material = by_name.get((code, str(name)))
        if material is None:
            material = by_name[(code, str(name))] = {"name": str(name), "maps": {}}
            bundles[code]["materials"].append(material)
        material["maps"][str(item)] = str(requirement)
    return result
