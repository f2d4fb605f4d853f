"""Public catalogue API (DESIGN §10): departments and published current item versions; anyone may read."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny

from items.cache import CachedCatalogueMixin
from items.models import Audience, CertificateAction, Handling, ItemType, MaterialForm, Theme
from items.selectors import (
    MatchingVersions,
    attach_material_rows,
    department_list,
    item_get_current,
    item_list,
    materials_as_rows,
)
from portal.models import AdminLevel

# ---------------------------------------------------------------------------------------------- output


class DepartmentSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    credit_code = serializers.CharField()
    level = serializers.CharField()
    level_label = serializers.CharField(source="get_level_display")
    parent = serializers.CharField(source="parent.code", allow_null=True, default=None)
    hotline = serializers.CharField()


class DepartmentRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class MaterialSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    form = serializers.CharField()
    form_label = serializers.CharField(source="get_form_display")
    copies_original = serializers.IntegerField()
    copies_copy = serializers.IntegerField()
    required = serializers.BooleanField()
    deferrable = serializers.BooleanField()
    commitment_allowed = serializers.BooleanField(help_text="可签署告知承诺书代替该材料")
    source = serializers.CharField()
    issuer = serializers.CharField()
    satisfied_by = serializers.CharField(source="satisfied_by.code", allow_null=True, default=None)
    satisfied_by_name = serializers.CharField(source="satisfied_by.name", allow_null=True, default=None)
    blank_form_url = serializers.SerializerMethodField()
    sample_url = serializers.SerializerMethodField()
    notes = serializers.CharField()

    # Documentation only: ItemSerializer.to_representation renders materials from plain rows.
    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_blank_form_url(self, material) -> str | None:
        return None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_sample_url(self, material) -> str | None:
        return None


# Plain dicts: Model.get_FOO_display() flattens the choices on every call, 10 % of a list request.
FORM_LABELS = dict(MaterialForm.choices)
ITEM_TYPE_LABELS = dict(ItemType.choices)
CERTIFICATE_ACTION_LABELS = dict(CertificateAction.choices)


def _file_url(material_id: int, kind: str, name: str, request) -> str | None:
    if not name:
        return None
    path = reverse("items:material_file", kwargs={"material_id": material_id, "kind": kind})
    return request.build_absolute_uri(path) if request else path


def material_representation(row: dict, request) -> dict:
    """One material from a row of items.selectors.attach_material_rows."""
    return {
        "id": row["id"],
        "name": row["name"],
        "form": row["form"],
        "form_label": FORM_LABELS.get(row["form"], row["form"]),
        "copies_original": row["copies_original"],
        "copies_copy": row["copies_copy"],
        "required": row["required"],
        "deferrable": row["deferrable"],
        "commitment_allowed": row["commitment_allowed"],
        "source": row["source"],
        "issuer": row["issuer"],
        "satisfied_by": row["satisfied_by__code"],
        "satisfied_by_name": row["satisfied_by__name"],
        "blank_form_url": _file_url(row["id"], "blank_form", row["blank_form"], request),
        "sample_url": _file_url(row["id"], "sample", row["sample"], request),
        "notes": row["notes"],
    }


class ItemSerializer(serializers.Serializer):
    """An item as its current published version shows it; `version` is the number applications pin."""

    code = serializers.CharField(source="item.code")
    basic_code = serializers.CharField(source="item.basic_code")
    name = serializers.CharField()
    version = serializers.IntegerField(source="number")
    version_id = serializers.IntegerField(source="id")
    valid_from = serializers.DateField()
    item_type = serializers.CharField()
    item_type_label = serializers.CharField(source="get_item_type_display")
    level = serializers.CharField()
    department = DepartmentRefSerializer()
    joint_departments = DepartmentRefSerializer(many=True)
    audience = serializers.ListField(child=serializers.CharField())
    themes = serializers.ListField(child=serializers.CharField())
    handling = serializers.CharField()
    statutory_days = serializers.IntegerField()
    promised_days = serializers.IntegerField()
    warning_days = serializers.IntegerField(source="effective_warning_days")
    max_visits = serializers.IntegerField()
    online = serializers.BooleanField()
    express = serializers.BooleanField()
    appointment = serializers.BooleanField()
    scope = serializers.CharField()
    onsite_inspection = serializers.BooleanField()
    fee = serializers.CharField(source="fee_display")
    fee_charged = serializers.BooleanField()
    fee_basis = serializers.CharField()
    conditions = serializers.CharField()
    procedure = serializers.ListField(child=serializers.CharField())
    special_procedures = serializers.CharField()
    legal_basis = serializers.CharField()
    location = serializers.CharField()
    office_hours = serializers.CharField()
    hotline = serializers.CharField()
    supervision_phone = serializers.CharField()
    faq = serializers.CharField()
    result_name = serializers.CharField()
    certificate_type = serializers.CharField(source="certificate_type.code", allow_null=True, default=None)
    certificate_action = serializers.ChoiceField(choices=CertificateAction.choices,
                                                 help_text="新办，或对已持有证照的延续、变更、补证、注销")
    certificate_action_label = serializers.CharField(source="get_certificate_action_display")
    deferral_days = serializers.IntegerField(help_text="容缺材料受理后补齐的期限（工作日）")
    verification_days = serializers.IntegerField(help_text="告知承诺事项批准后核查的期限（工作日）")
    materials = MaterialSerializer(many=True)

    def to_representation(self, version):
        """Built by hand: DRF's per-field machinery cost ~1.5 ms per item with its materials, most of a
        search request's time (DESIGN §12: p95 < 30 ms). The declared fields above remain the documented
        schema; a test checks both list the same keys."""
        request = self.context.get("request")
        department = version.department
        certificate_type = version.certificate_type
        return {
            "code": version.item.code,
            "basic_code": version.item.basic_code,
            "name": version.name,
            "version": version.number,
            "version_id": version.id,
            "valid_from": version.valid_from.isoformat() if version.valid_from else None,
            "item_type": version.item_type,
            "item_type_label": ITEM_TYPE_LABELS.get(version.item_type, version.item_type),
            "level": version.level,
            "department": {"code": department.code, "name": department.name},
            "joint_departments": version.joint_department_rows,
            "audience": list(version.audience),
            "themes": list(version.themes),
            "handling": version.handling,
            "statutory_days": version.statutory_days,
            "promised_days": version.promised_days,
            "warning_days": version.effective_warning_days,
            "max_visits": version.max_visits,
            "online": version.online,
            "express": version.express,
            "appointment": version.appointment,
            "scope": version.scope,
            "onsite_inspection": version.onsite_inspection,
            "fee": version.fee_display,
            "fee_charged": version.fee_charged,
            "fee_basis": version.fee_basis,
            "conditions": version.conditions,
            "procedure": list(version.procedure),
            "special_procedures": version.special_procedures,
            "legal_basis": version.legal_basis,
            "location": version.location,
            "office_hours": version.office_hours,
            "hotline": version.hotline,
            "supervision_phone": version.supervision_phone,
            "faq": version.faq,
            "result_name": version.result_name,
            "certificate_type": certificate_type.code if certificate_type else None,
            "certificate_action": version.certificate_action,
            "certificate_action_label": CERTIFICATE_ACTION_LABELS.get(version.certificate_action, version.certificate_action),
            "deferral_days": version.deferral_days,
            "verification_days": version.verification_days,
            "materials": [material_representation(row, request) for row in version.material_rows],
        }


# ---------------------------------------------------------------------------------------------- input


def _choices(choices) -> list[tuple[str, str]]:
    return list(choices.choices)


class ItemQuerySerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=100, help_text="名称、编码、材料名称等，支持中文")
    department = serializers.CharField(required=False, allow_blank=True, help_text="部门编码")
    item_type = serializers.ChoiceField(choices=_choices(ItemType), required=False, allow_blank=True, help_text="事项类型（GB/T 39046 A.1）")
    audience = serializers.ChoiceField(choices=_choices(Audience), required=False, allow_blank=True, help_text="服务对象（A.4）")
    handling = serializers.ChoiceField(choices=_choices(Handling), required=False, allow_blank=True, help_text="办件类型（A.6）")
    online = serializers.BooleanField(required=False, allow_null=True, default=None, help_text="是否网办")
    level = serializers.ChoiceField(choices=_choices(AdminLevel), required=False, allow_blank=True, help_text="行使层级（A.2）")
    theme = serializers.ChoiceField(choices=_choices(Theme), required=False, allow_blank=True, help_text="主题")


# ---------------------------------------------------------------------------------------------- views


@extend_schema(tags=["事项目录"], summary="部门列表")
class DepartmentListApi(CachedCatalogueMixin, generics.ListAPIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = DepartmentSerializer
    filter_backends = []

    def get_queryset(self):
        return department_list()


@extend_schema(tags=["事项目录"], summary="事项列表（已发布的当前版本）", parameters=[ItemQuerySerializer])
class ItemListApi(CachedCatalogueMixin, generics.ListAPIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = ItemSerializer
    filter_backends = []

    def get_queryset(self):
        # A plain dict: with a QueryDict DRF reads a missing boolean as False (the HTML checkbox rule).
        query = ItemQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        self.searching = bool(query.validated_data.get("search", "").split())
        return materials_as_rows(item_list(**query.validated_data))

    def paginate_queryset(self, queryset):
        # A search reads the ids of its matches once instead of a COUNT and then the page: a term too short
        # for the trigram index would scan the table twice (see MatchingVersions). Without one, COUNT + page
        # is cheaper: the page walks the code index and stops after 20 rows.
        page = super().paginate_queryset(MatchingVersions(queryset) if self.searching else queryset)
        return attach_material_rows(page) if page is not None else None


@extend_schema(tags=["事项目录"], summary="事项详情（已发布的当前版本）")
class ItemDetailApi(CachedCatalogueMixin, generics.RetrieveAPIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = ItemSerializer
    filter_backends = []
    lookup_field = "code"

    def get_object(self):
        return attach_material_rows([item_get_current(code=self.kwargs["code"], queryset=materials_as_rows)])[0]
