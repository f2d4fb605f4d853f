"""Reads of the catalogue: the public list and detail (published current versions only), history and
diffs, the 一件事 bundles of the guide, and the export. Every queryset that feeds a list does its joins here, once."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import StrIndex
from django.http import Http404

from certificates.models import CertificateType, FaceFieldType
from items.models import (
    Audience,
    Bundle,
    BundleMember,
    CertificateAction,
    Item,
    ItemVersion,
    MaterialRequirement,
    Theme,
    VersionStatus,
)
from portal.models import Department, Hall

# The elements of a version, in the order of the import format; `version_snapshot` and the importer both
# produce exactly these keys, so "did this item change?" is a plain dict comparison.
VERSION_FIELDS = [
    "name",
    "item_type",
    "level",
    "department",
    "joint_departments",
    "audience",
    "themes",
    "handling",
    "statutory_days",
    "promised_days",
    "warning_days",
    "max_visits",
    "online",
    "express",
    "appointment",
    "scope",
    "onsite_inspection",
    "fee_charged",
    "fee_standard",
    "fee_basis",
    "conditions",
    "procedure",
    "special_procedures",
    "legal_basis",
    "result_name",
    "certificate_type",
    "certificate_action",
    "deferral_days",
    "verification_days",
    "location",
    "office_hours",
    "hotline",
    "supervision_phone",
    "faq",
]
MATERIAL_FIELDS = [
    "name",
    "form",
    "copies_original",
    "copies_copy",
    "required",
    "deferrable",
    "commitment_allowed",
    "source",
    "issuer",
    "satisfied_by",
    "blank_form",
    "sample",
    "notes",
]


def _version_queryset() -> QuerySet[ItemVersion]:
    materials = MaterialRequirement.objects.select_related("satisfied_by").order_by("order", "id")
    return ItemVersion.objects.select_related("item", "department", "certificate_type").prefetch_related(
        Prefetch("materials", queryset=materials),
        Prefetch("joint_departments", queryset=Department.objects.order_by("code")),
    )


def material_snapshot(material: MaterialRequirement) -> dict:
    return {
        "name": material.name,
        "form": material.form,
        "copies_original": material.copies_original,
        "copies_copy": material.copies_copy,
        "required": material.required,
        "deferrable": material.deferrable,
        "commitment_allowed": material.commitment_allowed,
        "source": material.source,
        "issuer": material.issuer,
        "satisfied_by": material.satisfied_by.code if material.satisfied_by_id else None,
        "blank_form": material.blank_form.name or "",
        "sample": material.sample.name or "",
        "notes": material.notes,
    }


def version_snapshot(version: ItemVersion) -> dict:
    """The stored elements of a version with codes for references (the import format's values)."""
    values = {name: getattr(version, name) for name in VERSION_FIELDS}
    values["department"] = version.department.code
    values["joint_departments"] = sorted(department.code for department in version.joint_departments.all())
    values["certificate_type"] = version.certificate_type.code if version.certificate_type_id else None
    values["audience"] = list(version.audience)
    values["themes"] = list(version.themes)
    values["procedure"] = list(version.procedure)
    values["materials"] = [material_snapshot(material) for material in version.materials.all()]
    return values


# ---------------------------------------------------------------------------------------------- public reads


def _json_list_has(field_name: str, value: str) -> Q:
    """Membership in a JSON list: jsonb containment on PostgreSQL; on SQLite (no JSON `contains`) the
    quoted value in the JSON text, which is exact for our short code lists ("1" never matches "10")."""
    if connection.features.supports_json_field_contains:
        return Q(**{f"{field_name}__contains": [value]})
    return Q(**{f"{field_name}__icontains": f'"{value}"'})


# 个人办事 / 法人办事 (the home page's two doors, the guide's `audience=person|legal`): GB/T 39046 A.4 codes.
AUDIENCE_GROUPS = {
    "person": (Audience.NATURAL_PERSON,),
    "legal": tuple(code for code in Audience if code != Audience.NATURAL_PERSON),
}


def _audience_filter(audience: str) -> Q:
    """One A.4 code, or a group of them (any one matches)."""
    condition = Q()
    for code in AUDIENCE_GROUPS.get(audience, (audience,)):
        condition |= _json_list_has("audience", code)
    return condition


# What pg_trgm can index in a LIKE pattern: three letters or digits in a row (CJK characters are letters).
_TRIGRAM = re.compile(r"[^\W_]{3}")


def item_current_versions() -> QuerySet[ItemVersion]:
    """Published current versions only (drafts and superseded versions never reach the public)."""
    # search_text is only filtered on, never shown: do not ship it to Python.
    return (
        _version_queryset()
        .filter(current_for__isnull=False, status=VersionStatus.PUBLISHED)
        .defer("search_text")
    )


def item_list(
    *,
    search: str = "",
    department: str = "",
    item_type: str = "",
    audience: str = "",
    handling: str = "",
    online: bool | None = None,
    level: str = "",
    theme: str = "",
) -> QuerySet[ItemVersion]:
    """The catalogue search behind `GET /api/v1/items/` and the 办事指南 list.

    Search is a substring match on the denormalised, lower-cased `search_text` of current versions; every
    whitespace-separated term must match. On PostgreSQL a GIN trigram index serves `LIKE '%term%'` for every
    term with three or more letters or digits in a row, CJK included; shorter terms scan the ~2,500 rows
    with strpos() (see docs/decisions/010 and 011).
    """
    queryset = item_current_versions()
    for number, term in enumerate(search.lower().split()):  # search_text is stored lower-cased
        if _TRIGRAM.search(term):
            queryset = queryset.filter(search_text__contains=term)  # LIKE '%term%': the trigram index serves it
        else:
            # Too short for a trigram: the table is scanned whatever the operator, and strpos() scans CJK text
            # about twice as fast as LIKE's pattern matcher. Same meaning: plain containment.
            position = f"_search_position_{number}"
            queryset = queryset.alias(**{position: StrIndex("search_text", Value(term))}).filter(
                **{f"{position}__gt": 0}
            )
    if department:
        queryset = queryset.filter(department__code=department)
    if item_type:
        queryset = queryset.filter(item_type=item_type)
    if audience:
        queryset = queryset.filter(_audience_filter(audience))
    if handling:
        queryset = queryset.filter(handling=handling)
    if online is not None:
        queryset = queryset.filter(online=online)
    if level:
        queryset = queryset.filter(level=level)
    if theme:
        queryset = queryset.filter(_json_list_has("themes", theme))
    # By 实施编码: it starts with the department's credit code, so a department's items stay together, and
    # the unique index on items_item.code lets PostgreSQL stop after one page instead of sorting them all.
    if search.split():
        # DESIGN §13: a name that is the query, or starts with it, ranks above a match in other fields (a
        # material, the conditions); still one query, the rank is an ORDER BY expression (decision 047).
        phrase = " ".join(search.split())
        rank = Case(
            When(name__iexact=phrase, then=Value(0)),
            When(name__istartswith=phrase, then=Value(1)),
            When(name__icontains=phrase, then=Value(2)),
            default=Value(3),
            output_field=IntegerField(),
        )
        return queryset.alias(_name_rank=rank).order_by("_name_rank", "item__code")
    return queryset.order_by("item__code")


class MatchingVersions(Sequence):
    """The matches of a list query as their ordered ids, fetched once; slicing loads only that slice.

    For a paginator: instead of a COUNT and then the page (the same search run twice, and a term too short
    for the trigram index scans the table each time), one query returns the ids of every match (a few
    thousand integers at most: the catalogue is ~2,500 items), the count is their number, and the page is
    read by primary key. The page query keeps the list's filters, so a version superseded in between is
    left out rather than shown.
    """

    def __init__(self, queryset: QuerySet[ItemVersion]):
        self._queryset = queryset
        self._ids = list(queryset.values_list("id", flat=True))

    def __len__(self) -> int:
        return len(self._ids)

    def count(self) -> int:
        return len(self._ids)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            index = range(len(self._ids))[index]  # IndexError as a list raises it
            return self[index : index + 1][0]
        ids = self._ids[index]
        if not ids:
            return []
        by_id = {version.id: version for version in self._queryset.order_by().filter(id__in=ids)}
        return [by_id[version_id] for version_id in ids if version_id in by_id]


MATERIAL_ROW_FIELDS = [
    "id", "version_id", "name", "form", "copies_original", "copies_copy", "required", "deferrable", "commitment_allowed",
    "source", "issuer", "satisfied_by__code", "satisfied_by__name", "blank_form", "sample", "notes",
]


def attach_material_rows(versions: list[ItemVersion]) -> list[ItemVersion]:
    """Materials and joint departments of a page of versions as plain rows, one query each, on
    `version.material_rows` and `version.joint_department_rows`.

    For the API: building 20 × 8 model instances (with their certificate types and file descriptors) and
    the prefetch machinery were most of a list request's Python time; rows carry exactly what the JSON needs.
    """
    by_version: dict[int, list[dict]] = {version.id: [] for version in versions}
    rows = MaterialRequirement.objects.filter(version_id__in=by_version).order_by("version_id", "order", "id")
    for row in rows.values(*MATERIAL_ROW_FIELDS):
        by_version[row["version_id"]].append(row)
    joint: dict[int, list[dict]] = {version.id: [] for version in versions}
    links = ItemVersion.joint_departments.through.objects.filter(itemversion_id__in=joint)
    for link in links.order_by("department__code").values("itemversion_id", "department__code", "department__name"):
        joint[link["itemversion_id"]].append({"code": link["department__code"], "name": link["department__name"]})
    for version in versions:
        version.material_rows = by_version[version.id]
        version.joint_department_rows = joint[version.id]
    return versions


def materials_as_rows(queryset: QuerySet[ItemVersion]) -> QuerySet[ItemVersion]:
    """The same versions without prefetches: the API attaches plain rows per page instead."""
    return queryset.prefetch_related(None)


def item_get_current(*, code: str, queryset=None) -> ItemVersion:
    """The current published version of an item, or 404 (unknown code, or only a draft so far).

    `queryset` optionally adapts the base query (e.g. `materials_as_rows`)."""
    base = item_current_versions()
    version = (queryset(base) if queryset else base).filter(item__code=code).first()
    if version is None:
        raise Http404("事项不存在或尚未发布")
    return version


def item_get_version(*, code: str, number: int) -> ItemVersion:
    """A published version by number (older ones stay readable; applications pin them)."""
    version = _version_queryset().filter(item__code=code, number=number, status=VersionStatus.PUBLISHED).first()
    if version is None:
        raise Http404("事项版本不存在")
    return version


def material_get_published(*, material_id: int) -> MaterialRequirement:
    """A material of any published version (its blank form and sample are public); drafts are 404."""
    material = (
        MaterialRequirement.objects.select_related("version__item")
        .filter(pk=material_id, version__status=VersionStatus.PUBLISHED)
        .first()
    )
    if material is None:
        raise Http404("材料不存在")
    return material


def department_list() -> QuerySet[Department]:
    return Department.objects.select_related("parent").order_by("code")


def departments_with_items() -> QuerySet[Department]:
    """Departments that implement at least one published item, for the guide's filter."""
    return Department.objects.filter(items__current_version__isnull=False).distinct().order_by("level", "code")


@dataclass
class ThemeGroup:
    theme: str
    label: str
    count: int
    items: list[tuple[str, str]]  # (code, name) of the first few, by 实施编码


def home_catalogue(*, per_theme: int = 5) -> dict[str, list[ThemeGroup]]:
    """个人办事 / 法人办事 for the home page: per audience group, the themes that have published items, in
    Theme order, each with its count and the first `per_theme` items. One query of four columns, grouped
    here (the catalogue is ~2,500 rows; the page shows a few names per theme)."""
    rows = (
        ItemVersion.objects.filter(current_for__isnull=False, status=VersionStatus.PUBLISHED)
        .order_by("item__code")
        .values_list("item__code", "name", "audience", "themes")
    )
    groups: dict[str, dict[str, ThemeGroup]] = {name: {} for name in AUDIENCE_GROUPS}
    for code, name, audience, themes in rows:
        for group, codes in AUDIENCE_GROUPS.items():
            if not any(value in codes for value in audience):
                continue
            for theme in themes:
                if theme not in Theme.values:
                    continue
                entry = groups[group].setdefault(theme, ThemeGroup(theme, Theme(theme).label, 0, []))
                entry.count += 1
                if len(entry.items) < per_theme:
                    entry.items.append((code, name))
    order = {value: index for index, value in enumerate(Theme.values)}
    return {group: sorted(themes.values(), key=lambda entry: order[entry.theme]) for group, themes in groups.items()}


def item_first_published(*, limit: int) -> list[ItemVersion]:
    """The first published items by 实施编码 (the home page's 常用事项 before there are any cases)."""
    return list(item_current_versions().prefetch_related(None).select_related(None).select_related("item")
                .order_by("item__code")[:limit])


def item_current_for(*, item_ids: list[int]) -> dict[int, ItemVersion]:
    """The published current versions of these items, by item id (one query)."""
    versions = item_current_versions().prefetch_related(None).select_related(None).select_related("item")
    return {version.item_id: version for version in versions.filter(item_id__in=item_ids)}


# ---------------------------------------------------------------------------------------------- history


@dataclass
class FieldChange:
    field: str
    label: str
    old: object
    new: object


@dataclass
class MaterialChange:
    name: str
    kind: str  # "added" | "removed" | "changed"
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return {"added": "新增", "removed": "删除", "changed": "修改"}[self.kind]


@dataclass
class VersionDiff:
    fields: list[FieldChange]
    materials: list[MaterialChange]

    def __bool__(self):
        return bool(self.fields or self.materials)


def _display(model, name: str, value):
    """A value as a person reads it: choice labels, 是/否, lists joined."""
    if value is None or value == "" or value == []:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if name == "audience":
        return "、".join(Audience(code).label if code in Audience.values else code for code in value)
    if name == "themes":
        return "、".join(Theme(code).label if code in Theme.values else code for code in value)
    if isinstance(value, list):
        return " → ".join(map(str, value)) if name == "procedure" else "、".join(map(str, value))
    try:
        model_field = model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - keys such as "materials" are not model fields
        return str(value)
    if model_field.choices:
        return dict(model_field.flatchoices).get(value, value)
    return str(value)


def _label(model, name: str) -> str:
    return str(model._meta.get_field(name).verbose_name)


def _field_changes(model, old: dict, new: dict, names: list[str]) -> list[FieldChange]:
    return [
        FieldChange(name, _label(model, name), _display(model, name, old.get(name)), _display(model, name, new.get(name)))
        for name in names
        if old.get(name) != new.get(name)
    ]


def snapshot_diff(old: dict | None, new: dict) -> VersionDiff:
    """What changed between two snapshots: fields, and materials matched by name."""
    if old is None:
        return VersionDiff(fields=[], materials=[])
    fields = _field_changes(ItemVersion, old, new, VERSION_FIELDS)
    old_materials = {material["name"]: material for material in old["materials"]}
    new_materials = {material["name"]: material for material in new["materials"]}
    materials = []
    for name, material in new_materials.items():
        if name not in old_materials:
            materials.append(MaterialChange(name, "added"))
        elif material != old_materials[name]:
            changes = _field_changes(MaterialRequirement, old_materials[name], material, MATERIAL_FIELDS)
            materials.append(MaterialChange(name, "changed", changes))
    materials += [MaterialChange(name, "removed") for name in old_materials if name not in new_materials]
    return VersionDiff(fields=fields, materials=materials)


@dataclass
class HistoryEntry:
    version: ItemVersion
    diff: VersionDiff


def item_history(*, item: Item, include_draft: bool = False) -> list[HistoryEntry]:
    """Every published version, newest first, each with what changed since the one before it.

    The public page passes include_draft=False; the admin also sees the draft against the current version.
    """
    versions = list(_version_queryset().filter(item=item, status=VersionStatus.PUBLISHED).order_by("number"))
    snapshots = [version_snapshot(version) for version in versions]
    entries = [
        HistoryEntry(version, snapshot_diff(snapshots[index - 1] if index else None, snapshots[index]))
        for index, version in enumerate(versions)
    ]
    if include_draft:
        draft = _version_queryset().filter(item=item, status=VersionStatus.DRAFT).first()
        if draft is not None:
            entries.append(HistoryEntry(draft, snapshot_diff(snapshots[-1] if snapshots else None, version_snapshot(draft))))
    return list(reversed(entries))


def item_get_by_code(*, code: str) -> Item:
    item = Item.objects.select_related("current_version", "department").filter(code=code).first()
    if item is None or item.current_version_id is None:
        raise Http404("事项不存在或尚未发布")
    return item


# ---------------------------------------------------------------------------------------------- bundles


def bundle_queryset(members: QuerySet[BundleMember] | None = None) -> QuerySet[Bundle]:
    """Bundles with their ordered members (`members` may add joins), shared fields and materials."""
    return Bundle.objects.prefetch_related(
        Prefetch("members", queryset=members or BundleMember.objects.select_related("item").order_by("order", "id")),
        "fields",
        "materials",
    )


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


def bundle_export() -> list[dict]:
    """The `bundles` section of the export (every bundle, drafts included, as the import reads them)."""
    return [{"code": bundle.code, **bundle_snapshot(bundle)} for bundle in bundle_queryset().order_by("code")]


@dataclass
class BundleMemberView:
    item: Item
    version: ItemVersion


def bundle_list(*, search: str = "", item: Item | None = None) -> list[Bundle]:
    """Published bundles: all, those matching every search term in their name, description or a member
    item's current name (the guide lists them above the items), or those that include `item`."""
    bundles = Bundle.objects.filter(status=VersionStatus.PUBLISHED)
    for term in search.split():  # a few dozen bundles: plain icontains, no index needed
        bundles = bundles.filter(Q(name__icontains=term) | Q(description__icontains=term)
                                 | Q(members__item__current_version__name__icontains=term)).distinct()
    if item is not None:
        bundles = bundles.filter(members__item=item)
    return list(bundles.prefetch_related(Prefetch("members", queryset=BundleMember.objects.select_related(
        "item__current_version__department").order_by("order", "id"))).order_by("code"))


def bundle_get_published(*, code: str) -> Bundle:
    """A published bundle whose every member has a published current version, else 404."""
    members = BundleMember.objects.select_related("item__current_version__department").prefetch_related(
        "item__current_version__materials").order_by("order", "id")
    bundle = bundle_queryset(members).filter(code=code, status=VersionStatus.PUBLISHED).first()
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


# ---------------------------------------------------------------------------------------------- export


def face_field_entries(certificate_type: CertificateType) -> list:
    """A type's face fields in the import format: a plain name for a text field that is not public, else
    {"name", "type", "public"}."""
    entries: list = []
    types = certificate_type.face_field_types or {}
    public = set(certificate_type.public_fields or [])
    for name in certificate_type.face_fields or []:
        field_type = types.get(name, FaceFieldType.TEXT.value)
        if field_type == FaceFieldType.TEXT and name not in public:
            entries.append(name)
        else:
            entries.append({"name": name, "type": field_type, "public": name in public})
    return entries


def catalogue_export() -> dict:
    """The whole published catalogue in the import format: importing it back changes nothing."""
    departments = [
        {
            "code": department.code,
            "name": department.name,
            "credit_code": department.credit_code,
            "level": department.level,
            "parent": department.parent.code if department.parent_id else None,
            "hotline": department.hotline,
        }
        for department in department_list()
    ]
    halls = [
        {"code": hall.code, "name": hall.name, "level": hall.level, "windows": hall.windows, "address": hall.address}
        for hall in Hall.objects.order_by("code")
    ]
    certificate_types = [
        {
            "code": certificate_type.code,
            "name": certificate_type.name,
            "department": certificate_type.department.code,
            "validity_years": certificate_type.validity_years,
            "face_fields": face_field_entries(certificate_type),
            "number_field": certificate_type.number_field,
            "number_format": certificate_type.number_format,
            "renewal_grace_days": certificate_type.renewal_grace_days,
            "template": certificate_type.template,
        }
        for certificate_type in CertificateType.objects.select_related("department").order_by("code")
    ]
    items = []
    for version in item_current_versions().order_by("item__code"):
        snapshot = version_snapshot(version)
        record = {"code": version.item.code, "basic_code": version.item.basic_code}
        for name in VERSION_FIELDS:
            record[name] = snapshot[name]
        # The import format's `fee` is the citizen-facing text; fee_charged/fee_basis carry the rest.
        record["fee"] = version.fee_display
        del record["fee_standard"]
        record["materials"] = snapshot["materials"]
        items.append(record)
    return {"departments": departments, "halls": halls, "certificate_types": certificate_types, "items": items,
            "bundles": bundle_export()}


# ---------------------------------------------------------------------------------------------- licence lifecycle


def certificate_lifecycle_items(*, type_ids) -> dict[int, dict[str, dict]]:
    """{certificate type id: {action: {"code", "name"}}} of the current published items that renew, change,
    replace or cancel a held certificate of each type (DESIGN §14); read through the setting
    CERTIFICATE_LIFECYCLE_ITEMS by certificates (the wallet's actions, the expiry reminders)."""
    found: dict[int, dict[str, dict]] = {}
    rows = (
        ItemVersion.objects.filter(current_for__isnull=False, certificate_type_id__in=list(type_ids))
        .exclude(certificate_action=CertificateAction.ISSUE)
        .order_by("item__code").values("certificate_type_id", "certificate_action", "item__code", "name")
    )
    for row in rows:
        found.setdefault(row["certificate_type_id"], {}).setdefault(
            row["certificate_action"], {"code": row["item__code"], "name": row["name"]})
    return found
