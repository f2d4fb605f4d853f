"""Writes of the catalogue: drafts, publication and import, and the 一件事 bundles. Each function is one use
case: keyword-only, atomic, row-locked and audited (DESIGN §4, STYLE.md)."""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Prefetch
from django.utils import timezone

from certificates.models import CertificateType
from items.cache import catalogue_changed
from items.import_values import face_field_values
from items.importing import CatalogueError, ParsedCatalogue, Row, parse_catalogue
from items.models import Bundle, BundleField, BundleMaterial, BundleMember, Item, ItemVersion, MaterialRequirement, VersionStatus
from items.selectors import MATERIAL_FIELDS, VERSION_FIELDS, bundle_queryset, bundle_snapshot, snapshot_diff, version_snapshot
from portal.audit import SYSTEM_CHAIN, audit_record
from portal.models import Department, Hall, Role, User

# Copied field by field when a new draft starts from the current version (everything but bookkeeping).
_COPIED_VERSION_FIELDS = [name for name in VERSION_FIELDS if name not in ("department", "certificate_type", "joint_departments")]


def _check_catalogue_admin(actor: User | None) -> None:
    # actor None is the system itself (manage.py import_catalogue, loaddemo), run by whoever has the shell.
    if actor is None:
        return
    if not (actor.is_superuser or actor.role == Role.CATALOGUE_ADMIN):
        raise PermissionDenied("只有事项管理员可以维护事项目录")


def build_search_text(version: ItemVersion) -> str:
    """What `?search=` scans: name, codes, department, result, themes and every material's name."""
    parts = [
        version.name,
        version.item.code,
        version.item.basic_code,
        version.department.name,
        version.result_name,
        version.certificate_type.name if version.certificate_type_id else "",
        *version.theme_labels,
        *(material.name for material in version.materials.all()),
    ]
    # Stored lower-cased and searched with a plain LIKE: UPPER() on every row cost 3x the scan itself.
    return " ".join(part for part in parts if part).lower()


@transaction.atomic
def item_create(*, code: str, basic_code: str = "", department: Department, actor: User | None) -> Item:
    """A new item identity with an empty draft to fill in and publish."""
    _check_catalogue_admin(actor)
    item = Item(code=code.strip(), basic_code=basic_code.strip(), department=department)
    item.full_clean()
    item.save()
    audit_record(chain=SYSTEM_CHAIN, actor=actor, action="item_create", object_type="item", object_id=item.code)
    return item


@transaction.atomic
def item_draft_from_current(*, item: Item, actor: User | None) -> ItemVersion:
    """The item's draft: the existing one, or a new copy of the current version and its materials.

    A new item without any published version gets an empty draft on its own department.
    """
    _check_catalogue_admin(actor)
    item = Item.objects.select_for_update().get(pk=item.pk)
    draft = item.versions.filter(status=VersionStatus.DRAFT).first()
    if draft is not None:
        return draft
    current = item.current_version
    if current is None:
        draft = ItemVersion.objects.create(item=item, department=item.department, name="", item_type="", audience=[])
        audit_record(chain=SYSTEM_CHAIN, actor=actor, action="item_draft", object_type="item", object_id=item.code, payload={"from": None})
        return draft
    draft = ItemVersion(
        item=item,
        department_id=current.department_id,
        certificate_type_id=current.certificate_type_id,
        **{name: getattr(current, name) for name in _COPIED_VERSION_FIELDS},
    )
    draft.save()
    draft.joint_departments.set(current.joint_departments.all())
    # Files are shared by name, not duplicated: published versions never delete them.
    MaterialRequirement.objects.bulk_create(
        MaterialRequirement(
            version=draft,
            order=material.order,
            satisfied_by_id=material.satisfied_by_id,
            **{name: getattr(material, name) for name in MATERIAL_FIELDS if name != "satisfied_by"},
        )
        for material in current.materials.all()
    )
    audit_record(
        chain=SYSTEM_CHAIN,
        actor=actor, action="item_draft", object_type="item", object_id=item.code, payload={"from": current.number}
    )
    return draft


def validate_draft(draft: ItemVersion) -> None:
    """Publication checks: every model rule of the version and its materials; raises ValidationError."""
    errors: dict[str, list[str]] = {}
    try:
        draft.full_clean(exclude=["item", "number", "status", "search_text"])
    except ValidationError as error:
        errors.update({key: list(messages) for key, messages in error.message_dict.items()})
    for material in draft.materials.all():
        try:
            material.full_clean(exclude=["version"])
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                errors.setdefault("materials", []).extend(f"材料“{material.name}”{key}：{message}" for message in messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def item_publish(*, item: Item, actor: User | None, change_note: str = "") -> ItemVersion:
    """Validate the draft and freeze it as version N+1, effective today; it becomes the current version.

    The previous version stays readable (applications pin it); nothing about it changes.
    """
    _check_catalogue_admin(actor)
    # The item row lock serialises publishers: two at once would otherwise both take number N+1.
    item = Item.objects.select_for_update().get(pk=item.pk)
    draft = ItemVersion.objects.select_for_update().filter(item=item, status=VersionStatus.DRAFT).first()
    if draft is None:
        raise ValidationError("该事项没有待发布的草稿", code="no_draft")
    validate_draft(draft)
    last_number = item.versions.filter(status=VersionStatus.PUBLISHED).aggregate(last=Max("number"))["last"] or 0
    now = timezone.now()
    draft.number = last_number + 1
    draft.status = VersionStatus.PUBLISHED
    draft.valid_from = timezone.localdate(now)
    draft.published_at = now
    draft.published_by = actor if actor is not None and actor.pk else None
    if change_note:
        draft.change_note = change_note
    draft.item = item
    draft.search_text = build_search_text(draft)
    draft.save()
    item.current_version = draft
    item.department_id = draft.department_id
    item.save(update_fields=["current_version", "department"])
    # The public API's cached responses retire when this commits (docs/decisions/011).
    catalogue_changed()
    audit_record(
        chain=SYSTEM_CHAIN,
        actor=actor,
        action="item_publish",
        object_type="item",
        object_id=item.code,
        payload={"version": draft.number},
    )
    return draft


@transaction.atomic
def item_draft_discard(*, item: Item, actor: User | None) -> None:
    """Throw away the unpublished draft (published versions are untouched)."""
    _check_catalogue_admin(actor)
    item = Item.objects.select_for_update().get(pk=item.pk)
    draft = item.versions.filter(status=VersionStatus.DRAFT).first()
    if draft is None:
        return
    draft.delete()
    audit_record(chain=SYSTEM_CHAIN, actor=actor, action="item_draft_discard", object_type="item", object_id=item.code)


# ---------------------------------------------------------------------------------------------- import


@dataclass
class ImportRow:
    """What the import does to one record of the file: created, updated (which fields) or unchanged."""

    section: str  # departments | halls | certificate_types | items | bundles
    code: str
    name: str
    outcome: str  # created | updated | unchanged
    changes: list[str] = field(default_factory=list)


@dataclass
class ImportSummary:
    created: dict[str, int] = field(default_factory=lambda: {"departments": 0, "halls": 0, "certificate_types": 0, "items": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"departments": 0, "halls": 0, "certificate_types": 0, "items": 0})
    published: list[tuple[str, int]] = field(default_factory=list)
    unchanged_items: int = 0
    # Every record of the file in file order: the web import's preview shows them (items/admin_import.py).
    rows: list[ImportRow] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values()) or bool(self.published)

    def lines(self) -> list[str]:
        labels = {"departments": "部门", "halls": "大厅", "certificate_types": "证照类型", "items": "事项"}
        lines = [f"{label}：新增 {self.created[key]}，更新 {self.updated[key]}" for key, label in labels.items()]
        lines.append(f"发布新版本 {len(self.published)} 个，未变化事项 {self.unchanged_items} 个")
        return lines


def _upsert(model, code: str, values: dict, summary: ImportSummary, section: str) -> tuple[object, str]:
    """Create, update only what differs, or leave alone: re-importing a file must write nothing."""
    instance = model.objects.filter(code=code).first()
    changed = [] if instance is None else [name for name, value in values.items() if getattr(instance, name) != value]
    outcome = "created" if instance is None else "updated" if changed else "unchanged"
    summary.rows.append(ImportRow(section, code, str(values.get("name", "")), outcome,
                                  [str(model._meta.get_field(name).verbose_name) for name in changed]))
    if instance is None:
        instance = model(code=code, **values)
        instance.save()
    elif changed:
        for name in changed:
            setattr(instance, name, values[name])
        instance.save(update_fields=changed)
    return instance, outcome


def _write_version(*, draft: ItemVersion, values: dict, departments: dict, certificate_types: dict, materials) -> None:
    for name in VERSION_FIELDS:
        if name in ("department", "joint_departments", "certificate_type"):
            continue
        setattr(draft, name, values[name])
    draft.department = departments[values["department"]]
    draft.certificate_type = certificate_types.get(values["certificate_type"]) if values["certificate_type"] else None
    draft.save()
    draft.joint_departments.set([departments[code] for code in values["joint_departments"]])
    MaterialRequirement.objects.bulk_create(
        MaterialRequirement(
            version=draft,
            order=order,
            satisfied_by=certificate_types.get(material["satisfied_by"]) if material["satisfied_by"] else None,
            **{name: material[name] for name in MATERIAL_FIELDS if name != "satisfied_by"},
        )
        for order, material in enumerate(materials, start=1)
    )


class _DryRunDone(Exception):
    """Ends a dry run's transaction so that everything it wrote rolls back."""

    def __init__(self, summary: ImportSummary):
        self.summary = summary


def catalogue_import(*, data: dict, actor: User | None, dry_run: bool = False) -> ImportSummary:
    """Import a catalogue (DESIGN §4 format) all-or-nothing.

    Unchanged rows are left alone (no new versions, no new rows, no audit event); a changed item is
    published as a new version through `item_publish`, so the old one stays readable. Raises
    CatalogueError naming section, row, item code and field; then nothing has been written.

    `dry_run` does all of it, then rolls it back: the summary (and the errors) are exactly what the import
    would give now, and nothing is stored (the web import's preview, decision 057).
    """
    if not dry_run:
        return _catalogue_import(data=data, actor=actor)
    try:
        with transaction.atomic():
            raise _DryRunDone(_catalogue_import(data=data, actor=actor))
    except _DryRunDone as done:
        return done.summary


@transaction.atomic
def _catalogue_import(*, data: dict, actor: User | None) -> ImportSummary:
    _check_catalogue_admin(actor)
    catalogue: ParsedCatalogue = parse_catalogue(data)
    summary = ImportSummary()

    departments = {department.code: department for department in Department.objects.all()}
    outcomes: dict[str, str] = {}
    for row in catalogue.departments:
        values = {key: value for key, value in row.values.items() if key not in ("code", "parent")}
        department, outcomes[row.values["code"]] = _upsert(Department, row.values["code"], values, summary, "departments")
        departments[department.code] = department
    # Parents after every department exists, so a file may list a child before its parent.
    department_rows = {summary_row.code: summary_row for summary_row in summary.rows}
    for row in catalogue.departments:
        department, summary_row = departments[row.values["code"]], department_rows[row.values["code"]]
        parent = departments[row.values["parent"]] if row.values["parent"] else None
        if department.parent_id != (parent.pk if parent else None):
            department.parent = parent
            department.save(update_fields=["parent"])
            if outcomes[department.code] == "unchanged":
                outcomes[department.code] = summary_row.outcome = "updated"
            if summary_row.outcome == "updated":
                summary_row.changes.append("上级部门")
    for outcome in outcomes.values():
        if outcome != "unchanged":
            getattr(summary, outcome)["departments"] += 1

    for row in catalogue.halls:
        values = {key: value for key, value in row.values.items() if key != "code"}
        _, outcome = _upsert(Hall, row.values["code"], values, summary, "halls")
        if outcome != "unchanged":
            getattr(summary, outcome)["halls"] += 1

    certificate_types = {certificate_type.code: certificate_type for certificate_type in CertificateType.objects.all()}
    for row in catalogue.certificate_types:
        values = {key: value for key, value in row.values.items() if key not in ("code", "department", "face_fields")}
        values |= face_field_values(row.values["face_fields"])
        values["department"] = departments[row.values["department"]]
        certificate_type, outcome = _upsert(CertificateType, row.values["code"], values, summary, "certificate_types")
        certificate_types[certificate_type.code] = certificate_type
        if outcome != "unchanged":
            getattr(summary, outcome)["certificate_types"] += 1

    errors: list[str] = []
    # Everything the comparison needs, in a handful of queries rather than several per item: a re-import of
    # a big catalogue is mostly "unchanged".
    codes = [row.values["code"] for row in catalogue.items]
    existing = {
        item.code: item
        for item in Item.objects.filter(code__in=codes)
        .select_related("current_version__department", "current_version__certificate_type")
        .prefetch_related(
            Prefetch(
                "current_version__materials",
                queryset=MaterialRequirement.objects.select_related("satisfied_by").order_by("order", "id"),
            ),
            Prefetch("current_version__joint_departments", queryset=Department.objects.order_by("code")),
        )
    }
    with_drafts = set(
        ItemVersion.objects.filter(item__code__in=codes, status=VersionStatus.DRAFT).values_list("item__code", flat=True)
    )
    for row in catalogue.items:
        values = dict(row.values)
        code, basic_code = values.pop("code"), values.pop("basic_code")
        materials = [material.values for material in row.materials]
        wanted = {name: values[name] for name in VERSION_FIELDS} | {"materials": materials}
        item = existing.get(code)
        current = version_snapshot(item.current_version) if item is not None and item.current_version_id else None
        summary_row = ImportRow("items", code, values["name"], "created" if current is None else "unchanged")
        summary.rows.append(summary_row)
        if item is None:
            item = Item.objects.create(code=code, basic_code=basic_code, department=departments[values["department"]])
            summary.created["items"] += 1
        elif item.basic_code != basic_code:
            item.basic_code = basic_code
            item.save(update_fields=["basic_code"])
            summary.updated["items"] += 1
            summary_row.changes.append(str(Item._meta.get_field("basic_code").verbose_name))
        if current == wanted:
            summary_row.outcome = "updated" if summary_row.changes else "unchanged"
            summary.unchanged_items += 1
            continue
        if current is not None:
            summary_row.outcome = "updated"
            summary_row.changes += import_change_labels(snapshot_diff(current, wanted))
        if code in with_drafts:
            errors.append(f"{row.where}：该事项有未发布的草稿，请先在后台发布或删除草稿后再导入")
            continue
        draft = ItemVersion(item=item)
        _write_version(
            draft=draft, values=wanted, departments=departments, certificate_types=certificate_types, materials=materials
        )
        try:
            version = item_publish(item=item, actor=actor, change_note="目录导入")
        except ValidationError as error:
            by_field = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
            for key, messages in by_field.items():
                errors.extend(f"{row.where} 字段 {key}：{message}" for message in messages)
            continue
        summary.published.append((code, version.number))
    if not errors and catalogue.bundles:
        # 一件事一次办 after the items, so a bundle can name an item the same file creates.
        counts = bundle_import(rows=catalogue.bundles, summary=summary)
        summary.created["bundles"], summary.updated["bundles"] = counts["created"], counts["updated"]
    if errors:
        # Raising inside the atomic block rolls back everything written above.
        raise CatalogueError(errors)
    if summary.changed:
        catalogue_changed()
        audit_record(
            chain=SYSTEM_CHAIN,
            actor=actor,
            action="catalogue_import",
            object_type="catalogue",
            payload={"created": summary.created, "updated": summary.updated, "published": len(summary.published)},
        )
    return summary


# ---------------------------------------------------------------------------------------------- bundles


BUNDLE_LABELS = {"name": "一件事名称", "theme": "主题", "description": "说明", "status": "状态", "items": "包含事项",
                 "fields": "共享字段", "materials": "共享材料"}


def import_change_labels(diff) -> list[str]:
    """A version diff as the preview's short list: field labels, then 材料“…”（新增/删除/修改）."""
    return [change.label for change in diff.fields] + [
        f"材料“{material.name}”（{material.kind_label}）" for material in diff.materials
    ]


def _bundle_values(values: dict) -> dict:
    """A checked `bundles` row in `bundle_snapshot`'s shape."""
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


@transaction.atomic
def bundle_import(*, rows: list[Row], summary: ImportSummary | None = None) -> dict[str, int]:
    """Create or replace the bundles of the file (checked by `items.importing.read_bundle_rows`); an
    unchanged bundle is not written at all. Runs inside `catalogue_import`, which checks and audits."""
    counts = {"created": 0, "updated": 0}
    existing = {bundle.code: bundle for bundle in bundle_queryset().filter(code__in=[r.values["code"] for r in rows])}
    items = {item.code: item for item in Item.objects.filter(code__in={c for r in rows for c in r.values["items"]})}
    for row in rows:
        wanted = _bundle_values(row.values)
        bundle = existing.get(row.values["code"])
        current = bundle_snapshot(bundle) if bundle is not None else None
        if summary is not None:
            changed = [] if current is None else [key for key, value in wanted.items() if current[key] != value]
            summary.rows.append(ImportRow("bundles", row.values["code"], wanted["name"],
                                          "created" if current is None else "updated" if changed else "unchanged",
                                          [BUNDLE_LABELS[key] for key in changed]))
        if current == wanted:
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


def _bundle_problems(bundle: Bundle) -> list[str]:
    """What keeps a bundle out of the guide: the rules the import checks a `bundles` row against."""
    members = {member.item.code: member.item for member in bundle.members.select_related("item__current_version")}
    problems = []
    if len(members) < 2:
        problems.append("一件事至少包含两个事项")
    unpublished = [code for code, item in members.items() if item.current_version_id is None]
    if unpublished:
        problems.append(f"事项 {'、'.join(unpublished)} 尚未发布")
    for shared_field in bundle.fields.all():
        codes = shared_field.items if isinstance(shared_field.items, list) else [str(shared_field.items)]
        outside = [code for code in codes if code not in members]
        if outside:
            problems.append(f"共享字段「{shared_field.label}」：事项 {'、'.join(outside)} 不在本一件事中")
    for material in bundle.materials.all():
        if not isinstance(material.maps, dict) or not material.maps:
            problems.append(f"共享材料「{material.name}」：应对应至少一个事项的材料（{{事项编码: 材料名称}}）")
            continue
        for code, name in material.maps.items():
            item = members.get(code)
            if item is None:
                problems.append(f"共享材料「{material.name}」：事项 {code} 不在本一件事中")
            elif item.current_version_id and not item.current_version.materials.filter(name=name).exists():
                problems.append(f"共享材料「{material.name}」：事项 {code} 没有名为「{name}」的申请材料")
    return problems


@transaction.atomic
def bundle_publish(*, bundle: Bundle, actor: User | None) -> Bundle:
    """Put a draft bundle in the guide (一件事一次办): its members published, its shared fields and
    materials naming them. Raises ValidationError listing every problem; then nothing changes."""
    _check_catalogue_admin(actor)
    bundle = Bundle.objects.select_for_update().get(pk=bundle.pk)
    if bundle.status == VersionStatus.PUBLISHED:
        raise ValidationError("该一件事已发布", code="already_published")
    problems = _bundle_problems(bundle)
    if problems:
        raise ValidationError(problems)
    bundle.status = VersionStatus.PUBLISHED
    bundle.save(update_fields=["status", "updated_at"])
    audit_record(
        chain=SYSTEM_CHAIN,
        actor=actor, action="bundle_publish", object_type="bundle", object_id=bundle.code,
        from_state=VersionStatus.DRAFT.value, to_state=VersionStatus.PUBLISHED.value,
    )
    return bundle
