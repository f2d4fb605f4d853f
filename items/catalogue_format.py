"""The catalogue file format (DESIGN §4 import format): its sections and the columns of each, with how a
column is read and what it defaults to. `items.importing` reads files against these columns and
`items.exporting` writes them, so an export can be edited and imported back.

The `bundles` section (一件事一次办, DESIGN §4 "Bundles"); in xlsx, the sheets of `BUNDLE_SHEETS`:

    {"code": "YJS-CYD", "name": "开办餐饮店", "theme": "business_startup", "description": "…",
     "items": ["<item code>", …],
     "fields": [{"name": "shop_name", "label": "店铺名称", "required": true, "items": ["<item code>"]}],
     "materials": [{"name": "身份证明", "maps": {"<item code>": "<that item's requirement name>"}}]}

A material maps to a requirement *name*: versions change, names are what stay stable between them.
"""

from dataclasses import dataclass
from typing import Any

from django.db import models

from items.models import CODE_MAX_LENGTH, Audience, Handling, ItemType, MaterialForm, MaterialSource, Scope, Theme, VersionStatus
from portal.models import AdminLevel

SECTIONS = ["departments", "halls", "certificate_types", "items"]
SECTION_LABELS = {
    "departments": "部门",
    "halls": "大厅",
    "certificate_types": "证照类型",
    "items": "事项",
    "materials": "材料",
    "bundles": "一件事",
}


@dataclass
class Spec:
    """One column of a section: how to read it and what it defaults to."""

    kind: str  # str | int | bool | choice | list | choice_list | dict_list
    required: bool = False
    default: Any = None
    max_length: int | None = None
    choices: type[models.TextChoices] | None = None
    nullable: bool = False


DEPARTMENT_SPEC = {
    "code": Spec("str", required=True, max_length=32),
    "name": Spec("str", required=True, max_length=100),
    "credit_code": Spec("str", required=True, max_length=18),
    "level": Spec("choice", default=AdminLevel.CITY.value, choices=AdminLevel),
    "parent": Spec("str", nullable=True),
    "hotline": Spec("str", default="", max_length=40),
}
HALL_SPEC = {
    "code": Spec("str", required=True, max_length=32),
    "name": Spec("str", required=True, max_length=100),
    "level": Spec("choice", default=AdminLevel.CITY.value, choices=AdminLevel),
    "windows": Spec("int", default=1),
    "address": Spec("str", default="", max_length=200),
}
CERTIFICATE_TYPE_SPEC = {
    "code": Spec("str", required=True, max_length=32),
    "name": Spec("str", required=True, max_length=100),
    "department": Spec("str", required=True),
    "validity_years": Spec("int", nullable=True),
    "face_fields": Spec("list", default=[]),
    "template": Spec("str", default=""),
}
ITEM_SPEC = {
    "code": Spec("str", required=True, max_length=CODE_MAX_LENGTH),
    "basic_code": Spec("str", default="", max_length=36),
    "name": Spec("str", required=True, max_length=200),
    "item_type": Spec("choice", required=True, choices=ItemType),
    # Defaults to the department's level.
    "level": Spec("choice", nullable=True, choices=AdminLevel),
    "department": Spec("str", required=True),
    "joint_departments": Spec("list", default=[]),
    "audience": Spec("choice_list", required=True, choices=Audience),
    "themes": Spec("choice_list", default=[], choices=Theme),
    "handling": Spec("choice", required=True, choices=Handling),
    "statutory_days": Spec("int", required=True),
    "promised_days": Spec("int", required=True),
    "warning_days": Spec("int", nullable=True),
    "max_visits": Spec("int", default=1),
    "online": Spec("bool", default=False),
    "express": Spec("bool", default=False),
    "appointment": Spec("bool", default=False),
    "scope": Spec("choice", default=Scope.LOCAL.value, choices=Scope),
    "onsite_inspection": Spec("bool", default=False),
    "fee": Spec("str", default="不收费"),
    "fee_charged": Spec("bool", nullable=True),
    "fee_basis": Spec("str", default=""),
    "conditions": Spec("str", default=""),
    "procedure": Spec("list", default=[]),
    "special_procedures": Spec("str", default=""),
    "legal_basis": Spec("str", default=""),
    "result_name": Spec("str", default="", max_length=100),
    "certificate_type": Spec("str", nullable=True),
    "location": Spec("str", default=""),
    "office_hours": Spec("str", default="", max_length=200),
    "hotline": Spec("str", default="", max_length=100),
    "supervision_phone": Spec("str", default="", max_length=100),
    "faq": Spec("str", default=""),
    "materials": Spec("dict_list", default=[]),
}
MATERIAL_SPEC = {
    "name": Spec("str", required=True, max_length=200),
    "form": Spec("choice", default=MaterialForm.ORIGINAL.value, choices=MaterialForm),
    # Default copies follow the form: 1 original, or 1 copy, or none for an electronic file.
    "copies_original": Spec("int", nullable=True),
    "copies_copy": Spec("int", nullable=True),
    "required": Spec("bool", default=True),
    "deferrable": Spec("bool", default=False),
    "source": Spec("choice", default=MaterialSource.APPLICANT.value, choices=MaterialSource),
    "issuer": Spec("str", default="", max_length=100),
    "satisfied_by": Spec("str", nullable=True),
    "blank_form": Spec("str", default="", max_length=255),
    "sample": Spec("str", default="", max_length=255),
    "notes": Spec("str", default=""),
}
SECTION_SPECS = {
    "departments": DEPARTMENT_SPEC,
    "halls": HALL_SPEC,
    "certificate_types": CERTIFICATE_TYPE_SPEC,
    "items": ITEM_SPEC,
}
# List columns whose xlsx cell is split on newlines only (steps contain commas); others also on commas.
NEWLINE_LISTS = {"procedure"}


# ---------------------------------------------------------------------------------------------- bundles


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
# `maps` ({item code: requirement name}) is read by items.importing on its own: the generic reader has no
# dict columns.
BUNDLE_MATERIAL_SPEC = {
    "name": Spec("str", required=True, max_length=200),
}
# The bundles section as xlsx sheets: one row per bundle, per shared field and per material mapping.
BUNDLE_SHEETS = {
    "bundles": ("code", "name", "theme", "description", "status", "items"),
    "bundle_fields": ("bundle", "name", "label", "required", "items"),
    "bundle_materials": ("bundle", "name", "item", "requirement"),
}
