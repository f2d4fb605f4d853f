"""一件事一次办 in the catalogue (DESIGN §4 "Bundles"): reading a bundle from the guide, the `bundles`
section of the import file (checked here, written by `bundle_import` inside `catalogue_import`'s
transaction) and the same section of the export.

File shape (JSON; xlsx: sheets `bundles`, `bundle_fields` and `bundle_materials`, see `read_xlsx_bundles`):

    {"code": "YJS-CYD", "name": "开办餐饮店", "theme": "business_startup", "description": "…",
     "items": ["<item code>", …],
     "fields": [{"name": "shop_name", "label": "店铺名称", "required": true, "items": ["<item code>"]}],
     "materials": [{"name": "身份证明", "maps": {"<item code>": "<that item's requirement name>"}}]}

A material maps to a requirement *name*: versions change, names are what stay stable between them.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404

from items.importing import ParsedCatalogue, Row, Spec, _read_record
from items.models import (
    CODE_MAX_LENGTH,
    Bundle,
    BundleField,
    BundleMaterial,
    BundleMember,
    Item,
    ItemVersion,
    MaterialRequirement,
    Theme,
    VersionStatus,
)

BUNDLE_SPEC = {
    "code": Spec("str", required=True, max_length=CODE_MAX_LENGTH),
    "name": Spec("str", required=True, max_length=100),
    "theme": Spec("choice", nullable=True, choices=Theme),
    "description": Spec("str", default=""),
    "status": Spec("choice", default=VersionStatus.PUBLISHED.value, choices=VersionStatus),
    "items": Spec("list", required=True),
    "fields": Spec("dict_list", default=[]),
    "materials": Spec("dict_list", default=[]),
}
BUNDLE_FIELD_SPEC = {
    "name": Spec("str", required=True, max_length=50),
    "label": Spec("str", required=True, max_length=100),
    "required": Spec("bool", default=True),
    "items": Spec("list", default=[]),
}
# `maps` ({item code: requirement name}) is read by `_read_maps`: the generic reader has no dict columns.
BUNDLE_MATERIAL_SPEC = {
    "name": Spec("str", required=True, max_length=200),
}


# ---------------------------------------------------------------------------------------------- read


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


# ---------------------------------------------------------------------------------------------- write


def _wanted(values: dict) -> dict:
    return {
        "name": values["name"],
        "theme": values["theme"],
        "description": values["description"],
        "status": values["status"],
        "items": list(values["items"]),
        "fields": [{"name": f["name"], "label": f["label"], "required": f["required"], "items": list(f["items"])}
                   for f in values["fields"]],
        "materials": [{"name": m["name"], "maps": dict(m["maps"])} for m in values["materials"]],
    }


def bundle_snapshot(bundle: Bundle) -> dict:
    """A bundle in the file's shape (without `code`); `bundle_import` compares it to decide "unchanged"."""
    return {
        "name": bundle.name,
        "theme": bundle.theme,
        "description": bundle.description,
        "status": bundle.status,
        "items": [member.item.code for member in bundle.members.all()],
        "fields": [{"name": f.name, "label": f.label, "required": f.required, "items": list(f.items)}
                   for f in bundle.fields.all()],
        "materials": [{"name": m.name, "maps": dict(m.maps)} for m in bundle.materials.all()],
    }


def _bundles_with_parts(members=None):
    return Bundle.objects.prefetch_related(
        Prefetch("members", queryset=members or BundleMember.objects.select_related("item").order_by("order", "id")),
        "fields",
        "materials",
    )


@transaction.atomic
def bundle_import(*, rows: list[Row]) -> dict[str, int]:
    """Create or replace the bundles of the file; an unchanged bundle is not written at all."""
    counts = {"created": 0, "updated": 0}
    existing = {bundle.code: bundle for bundle in _bundles_with_parts().filter(code__in=[r.values["code"] for r in rows])}
    items = {item.code: item for item in Item.objects.filter(code__in={c for r in rows for c in r.values["items"]})}
    for row in rows:
        wanted = _wanted(row.values)
        bundle = existing.get(row.values["code"])
        if bundle is not None and bundle_snapshot(bundle) == wanted:
            continue
        if bundle is None:
            bundle = Bundle(code=row.values["code"])
            counts["created"] += 1
        else:
            counts["updated"] += 1
            bundle.members.all().delete()
            bundle.fields.all().delete()
            bundle.materials.all().delete()
        for name in ("name", "theme", "description", "status"):
            setattr(bundle, name, wanted[name])
        bundle.save()
        BundleMember.objects.bulk_create(
            BundleMember(bundle=bundle, item=items[code], order=order) for order, code in enumerate(wanted["items"], start=1)
        )
        BundleField.objects.bulk_create(
            BundleField(bundle=bundle, order=order, **f) for order, f in enumerate(wanted["fields"], start=1)
        )
        BundleMaterial.objects.bulk_create(
            BundleMaterial(bundle=bundle, order=order, **m) for order, m in enumerate(wanted["materials"], start=1)
        )
    return counts


def bundle_export() -> list[dict]:
    return [{"code": bundle.code, **bundle_snapshot(bundle)} for bundle in _bundles_with_parts().order_by("code")]


# ---------------------------------------------------------------------------------------------- xlsx


def xlsx_bundle_records(bundles: list[dict]) -> dict[str, tuple[list[str], list[dict]]]:
    """The bundles section as three flat sheets (one row per bundle, field, and material mapping)."""
    return {
        "bundles": (
            ["code", "name", "theme", "description", "status", "items"],
            [{key: b.get(key) for key in ("code", "name", "theme", "description", "status", "items")} for b in bundles],
        ),
        "bundle_fields": (
            ["bundle", "name", "label", "required", "items"],
            [{"bundle": b["code"], **f} for b in bundles for f in b.get("fields", [])],
        ),
        "bundle_materials": (
            ["bundle", "name", "item", "requirement"],
            [{"bundle": b["code"], "name": m["name"], "item": code, "requirement": requirement}
             for b in bundles for m in b.get("materials", []) for code, requirement in m["maps"].items()],
        ),
    }


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


# ---------------------------------------------------------------------------------------------- read (guide)


@dataclass
class BundleMemberView:
    item: Item
    version: ItemVersion


def bundle_list() -> list[Bundle]:
    return list(
        Bundle.objects.filter(status=VersionStatus.PUBLISHED)
        .prefetch_related(Prefetch("members", queryset=BundleMember.objects.select_related(
            "item__current_version__department").order_by("order", "id")))
        .order_by("code")
    )


def bundle_get_published(*, code: str) -> Bundle:
    """A published bundle whose every member has a published current version, else 404."""
    members = BundleMember.objects.select_related("item__current_version__department").prefetch_related(
        "item__current_version__materials").order_by("order", "id")
    bundle = (
        _bundles_with_parts(members)
        .filter(code=code, status=VersionStatus.PUBLISHED)
        .first()
    )
    if bundle is None or any(member.item.current_version_id is None for member in bundle.members.all()):
        raise Http404("一件事不存在或尚未发布")
    return bundle


def bundle_members(bundle: Bundle) -> list[BundleMemberView]:
    return [BundleMemberView(item=m.item, version=m.item.current_version) for m in bundle.members.all()]


def bundle_promised_days(bundle: Bundle) -> int:
    """并联审批: the members run side by side, so the bundle takes as long as its longest member."""
    return max((m.item.current_version.promised_days for m in bundle.members.all()), default=0)


def shared_requirement_names(bundle: Bundle) -> dict[str, set[str]]:
    """Per item code, the requirement names the shared materials cover (shown once, not per item)."""
    covered: dict[str, set[str]] = {}
    for material in bundle.materials.all():
        for code, name in material.maps.items():
            covered.setdefault(code, set()).add(name)
    return covered
