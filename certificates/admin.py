from django.contrib import admin

from certificates.models import CertificateType
from portal.models import Role


class CatalogueAdminAccess:
    """Catalogue administrators maintain certificate types along with the items that produce them."""

    def _allowed(self, request) -> bool:
        user = request.user
        return user.is_active and (user.is_superuser or (user.is_staff and user.role == Role.CATALOGUE_ADMIN))

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(CertificateType)
class CertificateTypeAdmin(CatalogueAdminAccess, admin.ModelAdmin):
    list_display = ["code", "name", "department", "validity_display"]
    list_filter = ["department"]
    search_fields = ["code", "name"]
    list_select_related = ["department"]

    @admin.display(description="有效期")
    def validity_display(self, obj):
        return obj.validity_display
