from django.contrib import admin

from certificates.models import Certificate, CertificateType
from portal.admin import CatalogueAdminAccess, ReadOnlyAdmin
from portal.models import Role


@admin.register(CertificateType)
class CertificateTypeAdmin(CatalogueAdminAccess, admin.ModelAdmin):
    """Catalogue administrators maintain certificate types along with the items that produce them."""

    list_display = ["code", "name", "department", "validity_display"]
    list_filter = ["department"]
    search_fields = ["code", "name"]
    list_select_related = ["department"]

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
