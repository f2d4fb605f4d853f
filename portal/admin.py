from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from portal.models import AuditEvent, CalendarDay, CalendarYear, Department, Hall, Role, TimerRun, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "real_name", "role", "department", "hall", "id_masked", "is_active"]
    list_filter = ["role", "department", "hall", "is_active"]
    search_fields = ["username", "real_name"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("政务服务", {"fields": ["role", "real_name", "id_type", "id_number", "phone", "address", "department", "hall"]}),
    ]

    @admin.display(description="证件号码")
    def id_masked(self, user):
        return user.id_masked


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "credit_code", "level", "parent", "hotline"]
    list_filter = ["level"]
    search_fields = ["code", "name", "credit_code"]


@admin.register(Hall)
class HallAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "windows"]
    search_fields = ["code", "name"]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_workday", "note"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "note"]


def is_catalogue_admin(user) -> bool:
    """Who maintains the catalogue (items, bundles, certificate types) in the admin."""
    return user.is_active and (user.is_superuser or (user.is_staff and user.role == Role.CATALOGUE_ADMIN))


class CatalogueAdminAccess:
    """Access to the catalogue's admin pages by role (catalogue_admin or superuser), not by Django
    permissions: a catalogue admin account needs nothing but its role and is_staff. Only superusers delete."""

    def _allowed(self, request) -> bool:
        return is_catalogue_admin(request.user)

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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the system writes and people only read."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the chain is appended by services, never edited by hand."""

    list_display = ["seq", "at", "actor_name", "role", "action", "object_type", "object_id", "from_state", "to_state"]
    list_filter = ["action", "object_type", "role"]
    search_fields = ["object_id", "actor_name"]
    list_select_related = ["actor"]
    show_full_result_count = False


@admin.register(TimerRun)
class TimerRunAdmin(ReadOnlyAdmin):
    """Read-only: the worker writes each timer's last run (docs/operations.md)."""

    list_display = ["name", "last_finished_at", "last_duration_seconds", "last_succeeded", "last_success_at", "runs"]
    list_filter = ["last_succeeded"]
    search_fields = ["name"]
