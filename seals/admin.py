from django.contrib import admin
from django.utils.html import format_html

from portal.admin import ReadOnlyAdmin
from seals.models import Issuance, Seal, SealAuthority, SealUse


@admin.register(SealAuthority)
class SealAuthorityAdmin(admin.ModelAdmin):
    """The key is never shown: only name and certificate."""

    fields = ["name", "certificate_pem", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Seal)
class SealAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "seal_type", "department", "status", "valid_until"]
    list_filter = ["status", "seal_type", "department"]
    fields = ["code", "name", "seal_type", "department", "impression", "certificate_pem", "valid_from", "valid_until",
              "status", "revoked_at", "revoke_reason"]
    readonly_fields = fields

    @admin.display(description="印模")
    def impression(self, seal):
        import base64

        return format_html('<img src="data:image/png;base64,{}" width="120" alt="印模">', base64.b64encode(bytes(seal.image)).decode())

    def has_add_permission(self, request):
        return False  # made by `create_seal`, so the key is generated and encrypted in one place

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SealUse)
class SealUseAdmin(ReadOnlyAdmin):
    list_display = ["used_at", "seal", "application", "decision", "document_kind", "custodian", "audit_chain", "audit_seq"]
    list_filter = ["seal__seal_type", "seal__department", "document_kind", "decision"]
    list_select_related = ["seal", "application", "custodian"]


@admin.register(Issuance)
class IssuanceAdmin(admin.ModelAdmin):
    list_display = ["application", "seal", "custodian", "status", "requested_at", "finished_at", "attempts", "last_error"]
    list_filter = ["status"]
    readonly_fields = ["application", "seal", "custodian", "status", "requested_at", "finished_at", "attempts", "last_error"]

    def has_add_permission(self, request):
        return False
