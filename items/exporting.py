"""Writing the catalogue dict (`items.selectors.catalogue_export`) as `.json` or `.xlsx` — the same
formats `import_catalogue` reads, so an export can be edited and imported back."""

import io
import json
from pathlib import Path

from items.catalogue_format import BUNDLE_SHEETS, MATERIAL_SPEC, NEWLINE_LISTS, SECTION_SPECS, SECTIONS


def catalogue_to_json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def _face_field_line(entry) -> str:
    """One face field as an xlsx line: "名称", "名称:类型" or "名称:类型:公开" (items.importing reads it)."""
    if isinstance(entry, str):
        return entry
    line = f"{entry['name']}:{entry['type']}"
    return f"{line}:公开" if entry.get("public") else line


def _cell_value(key: str, value):
    if key == "face_fields" and isinstance(value, list):
        return "\n".join(_face_field_line(entry) for entry in value)
    if isinstance(value, list):
        return ("\n" if key in NEWLINE_LISTS else ",").join(map(str, value))
    return value


def catalogue_to_xlsx(data: dict) -> bytes:
    """One sheet per section with the import columns; materials on their own sheet keyed by `item`."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)

    def write_sheet(name: str, columns: list[str], records: list[dict]):
        sheet = workbook.create_sheet(name)
        sheet.append(columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for record in records:
            sheet.append([_cell_value(column, record.get(column)) for column in columns])
            for cell in sheet[sheet.max_row]:
                # Text such as "=…" must stay text, never become a formula.
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"

    for section in SECTIONS:
        columns = [key for key in SECTION_SPECS[section] if key != "materials"]
        write_sheet(section, columns, data.get(section, []))
    material_columns = ["item", *MATERIAL_SPEC]
    materials = [
        {"item": item["code"], **material} for item in data.get("items", []) for material in item.get("materials", [])
    ]
    write_sheet("materials", material_columns, materials)
    if data.get("bundles"):
        for name, records in xlsx_bundle_records(data["bundles"]).items():
            write_sheet(name, list(BUNDLE_SHEETS[name]), records)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_bundle_records(bundles: list[dict]) -> dict[str, list[dict]]:
    """The bundles section as the three flat sheets of BUNDLE_SHEETS (one row per bundle, field, and
    material mapping); `items.importing.bundles_from_xlsx_sheets` puts them back together."""
    return {
        "bundles": [{key: b.get(key) for key in BUNDLE_SHEETS["bundles"]} for b in bundles],
        "bundle_fields": [{"bundle": b["code"], **f} for b in bundles for f in b.get("fields", [])],
        "bundle_materials": [
            {"bundle": b["code"], "name": m["name"], "item": code, "requirement": requirement}
            for b in bundles for m in b.get("materials", []) for code, requirement in m["maps"].items()
        ],
    }


def write_catalogue_file(data: dict, path: str | Path) -> None:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_bytes(catalogue_to_json(data))
    elif suffix == ".xlsx":
        path.write_bytes(catalogue_to_xlsx(data))
    else:
        raise ValueError(f"不支持的文件类型：{path.suffix or '（无扩展名）'}，请使用 .json 或 .xlsx")
