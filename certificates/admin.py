from django import forms
from django.contrib import admin

from certificates.models import Certificate, CertificateType, FaceFieldType
from certificates.type_config import face_config_errors
from portal.admin import CatalogueAdminAccess, ReadOnlyAdmin
from portal.models import Role

FACE_FIELD_TYPE_HELP = "{字段名: 类型}，类型可选：" + "、".join(f"{value}（{label}）" for value, label in FaceFieldType.choices)


class CertificateTypeAdminForm(forms.ModelForm):
    """The face configuration held to the importer's rules (certificates.type_config)."""

    class Meta:
        model = CertificateType
        fields = "__all__"
        help_texts = {
            "face_field_types": FACE_FIELD_TYPE_HELP + "；未列出的字段为文本",
            "public_fields": "公开核验时展示的字段名列表，例如 [\"经营者名称\", \"许可证编号\"]；身份证件号码不得公开",
            "number_field": "照面信息中记载证号的字段，例如 许可证编号",
        }

    def clean(self):
        cleaned = super().clean()
        problems = face_config_errors(
            face_fields=cleaned.get("face_fields") or [],
            face_field_types=cleaned.get("face_field_types") or {},
            public_fields=cleaned.get("public_fields") or [],
            number_field=cleaned.get("number_field") or "",
            number_format=cleaned.get("number_format") or "",
        )
        for field, messages in problems.items():
            for message in messages:
                self.add_error(field, message)
        return cleaned


@admin.register(CertificateType)
class CertificateTypeAdmin(CatalogueAdminAccess, admin.ModelAdmin):
    """Catalogue administrators maintain certificate types along with the items that produce them."""

    form = CertificateTypeAdminForm
    list_display = ["code", "name", "department", "validity_display", "number_format", "renewal_grace_days"]
    list_filter = ["department"]
    search_fields = ["code", "name"]
    list_select_related = ["department"]
    fieldsets = [
        (None, {"fields": ["code", "name", "department", ("validity_years", "renewal_grace_days")]}),
        ("照面信息", {"fields": ["face_fields", "face_field_types", "public_fields", ("number_field", "number_format")]}),
        ("照面模板", {"fields": ["template"], "classes": ["collapse"]}),
    ]

    @admin.display(description="有效期")
    def validity_display(self, obj):
        return obj.validity_display


class SupervisorReadOnly(ReadOnlyAdmin):
    """Certificates are written only by certificates.services (issue, revoke, the sweep): the admin shows
    them to superusers and staff supervisors and changes nothing, the PDF included."""

    def _allowed(self, request) -> bool:
        user = request.user
        return user.is_active and (user.is_superuser or (user.is_staff and user.role == Role.SUPERVISOR))

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)


@admin.register(Certificate)
class CertificateAdmin(SupervisorReadOnly):
    list_display = ["identifier", "type", "holder_name", "holder_id_masked", "issuer", "issued_on", "valid_until", "status"]
    list_filter = ["status", "type", "issuer"]
    search_fields = ["identifier", "holder_name", "application_number"]
    list_select_related = ["type", "issuer"]
    date_hierarchy = "issued_on"
    # Shown, never edited; the full ID number and the file itself stay out of the admin.
    fields = [
        "identifier", "type", "issuer", "serial", "version", "status", "holder", "holder_name", "holder_id_type",
        "holder_id_masked", "issued_on", "valid_from", "valid_until", "face_data", "application_number", "sha256",
        "revoked_at", "revoked_by", "revoke_reason", "expiry_reminded_at", "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="持证主体代码")
    def holder_id_masked(self, obj):
        return obj.holder_id_masked
