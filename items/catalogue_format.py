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

from items.models import (
    CODE_MAX_LENGTH,
    Audience,
    CertificateAction,
    Handling,
    ItemType,
    MaterialForm,
    MaterialSource,
    Scope,
    Theme,
    VersionStatus,
)
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

    kind: str  # str | int | bool | choice | list | choice_list | dict_list | face_fields
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
    # Each entry a name (a text field, not public) or {"name": "许可证编号", "type": "text", "public": true};
    # read into face_fields (names, in order), face_field_types and public_fields. In xlsx one field a line,
    # "名称" or "名称:类型" or "名称:类型:公开" (see FACE_FIELD_CELL).
    "face_fields": Spec("face_fields", default=[]),
    # The face field carrying the licence number and how numbers are made ("JY1{year}{seq:08}").
    "number_field": Spec("str", default="", max_length=50),
    "number_format": Spec("str", default="", max_length=60),
    # A renew (延续) case may name a certificate expired at most this many days ago.
    "renewal_grace_days": Spec("int", default=0),
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
    # What a case does to the licence of certificate_type: issue a new one, or renew/change/replace/cancel
    # one the applicant holds (DESIGN §14).
    "certificate_action": Spec("choice", default=CertificateAction.ISSUE.value, choices=CertificateAction),
    # 容缺受理 and 告知承诺制 deadlines, in working days.
    "deferral_days": Spec("int", default=5),
    "verification_days": Spec("int", default=20),
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
    "commitment_allowed": Spec("bool", default=False),
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
# One face field in an xlsx cell line: "名称", "名称:类型" or "名称:类型:公开" (full-width colons too).
FACE_FIELD_PUBLIC_MARKS = {"公开", "public"}


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
