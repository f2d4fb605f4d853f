"""Catalogue administration (Django admin, Chinese): items, their draft, materials, publication, export,
and the 一件事 bundles.

Editing happens on the one draft of an item; 发布 goes through items.services.item_publish. Published
versions are shown read-only. A bundle's status is shown, never edited: 发布 goes through
items.services.bundle_publish. Access is by role (catalogue_admin or superuser), not by Django permissions,
so a catalogue admin account needs nothing but its role and is_staff.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone

from items.admin_import import CatalogueImportAdmin
from items.exporting import catalogue_to_json, catalogue_to_xlsx
from items.models import (
    Audience,
    Bundle,
    BundleField,
    BundleMaterial,
    BundleMember,
    Item,
    ItemVersion,
    MaterialRequirement,
    Theme,
    VersionStatus,
)
from items.selectors import catalogue_export, item_history
from items.services import bundle_publish, item_create, item_draft_discard, item_draft_from_current, item_publish
from portal.admin import CatalogueAdminAccess, is_catalogue_admin


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "；".join(f"{key}：{'，'.join(messages_)}" for key, messages_ in error.message_dict.items())
    return "；".join(error.messages)


class ItemAdminForm(forms.ModelForm):
    class Meta:
        model = Item
        fields = ["code", "basic_code", "department"]


@admin.register(Item)
class ItemAdmin(CatalogueImportAdmin, CatalogueAdminAccess, admin.ModelAdmin):
    form = ItemAdminForm
    list_display = ["code", "current_name", "department", "current_number", "draft_flag"]
    list_filter = ["department"]
    search_fields = ["code", "basic_code", "current_version__name"]
    list_select_related = ["department", "current_version"]
    actions = ["publish_drafts"]
    change_form_template = "items/admin/item_change_form.html"
    change_list_template = "items/admin/item_change_list.html"

    def get_queryset(self, request):
        drafts = ItemVersion.objects.filter(item=OuterRef("pk"), status=VersionStatus.DRAFT)
        return super().get_queryset(request).annotate(has_draft=Exists(drafts))

    def has_delete_permission(self, request, obj=None):
        return False  # items are referenced by applications; retire one by publishing, never delete

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["code", "department", "current_version", "history"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["code", "basic_code", "department"]
        return ["code", "basic_code", "department", "current_version", "history"]

    @admin.display(description="事项名称")
    def current_name(self, item):
        return item.current_version.name if item.current_version_id else "（未发布）"

    @admin.display(description="当前版本")
    def current_number(self, item):
        return f"第 {item.current_version.number} 版" if item.current_version_id else "—"

    @admin.display(description="草稿")
    def draft_flag(self, item):
        # Words, not the admin's boolean icon: its alt text is Django's untranslated "True"/"False".
        return "有草稿" if item.has_draft else "—"

    @admin.display(description="版本记录")
    def history(self, item):
        return render_to_string("items/admin/item_history.html", {"entries": item_history(item=item, include_draft=True)})

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)  # only basic_code is editable here
            return
        created = item_create(
            code=obj.code, basic_code=obj.basic_code, department=obj.department, actor=request.user
        )
        obj.pk = created.pk

    def response_add(self, request, obj, post_url_continue=None):
        # A new item is only an identity: go straight to its (empty) draft.
        draft = item_draft_from_current(item=obj, actor=request.user)
        self.message_user(request, "事项已创建，请填写草稿后发布", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:items_itemversion_change", args=[draft.pk]))

    def get_urls(self):
        urls = [
            path("<int:item_id>/draft/", self.admin_site.admin_view(self.draft_view), name="items_item_draft"),
            path("<int:item_id>/publish/", self.admin_site.admin_view(self.publish_view), name="items_item_publish"),
            path("<int:item_id>/discard/", self.admin_site.admin_view(self.discard_view), name="items_item_discard"),
            path("export/<str:fmt>/", self.admin_site.admin_view(self.export_view), name="items_item_export"),
            *self.import_urls(),
        ]
        return urls + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # 发布草稿 / 删除草稿 only when there is a draft; without one the page offers 编辑草稿 alone.
        draft = ItemVersion.objects.filter(item_id=object_id, status=VersionStatus.DRAFT).first() if str(
            object_id).isdigit() else None
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "draft": draft})

    def _post_item(self, request, item_id) -> Item:
        if not self.has_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(Item, pk=item_id)

    def draft_view(self, request, item_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        item = self._post_item(request, item_id)
        draft = item_draft_from_current(item=item, actor=request.user)
        return HttpResponseRedirect(reverse("admin:items_itemversion_change", args=[draft.pk]))

    def publish_view(self, request, item_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        item = self._post_item(request, item_id)
        try:
            version = item_publish(item=item, actor=request.user, change_note=request.POST.get("change_note", ""))
        except ValidationError as error:
            self.message_user(request, f"发布失败：{_error_text(error)}", messages.ERROR)
        else:
            self.message_user(request, f"已发布 {item.code} 第 {version.number} 版", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:items_item_change", args=[item.pk]))

    def discard_view(self, request, item_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        item = self._post_item(request, item_id)
        item_draft_discard(item=item, actor=request.user)
        self.message_user(request, "草稿已删除", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:items_item_change", args=[item.pk]))

    def export_view(self, request, fmt):
        if not self.has_view_permission(request):
            raise PermissionDenied
        data = catalogue_export()
        stamp = timezone.localdate().strftime("%Y%m%d")
        if fmt == "xlsx":
            response = HttpResponse(
                catalogue_to_xlsx(data), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
        elif fmt == "json":
            response = HttpResponse(catalogue_to_json(data), content_type="application/json; charset=utf-8")
        else:
            raise PermissionDenied
        response["Content-Disposition"] = f'attachment; filename="catalogue-{stamp}.{fmt}"'
        return response

    @admin.action(description="发布所选事项的草稿")
    def publish_drafts(self, request, queryset):
        published, failed = 0, []
        for item in queryset:
            try:
                item_publish(item=item, actor=request.user)
                published += 1
            except ValidationError as error:
                failed.append(f"{item.code}：{_error_text(error)}")
        if published:
            self.message_user(request, f"已发布 {published} 个事项", messages.SUCCESS)
        for line in failed:
            self.message_user(request, f"未发布 {line}", messages.ERROR)


class OneLineBreakForm(forms.ModelForm):
    """Browsers send a textarea's line breaks as CR LF; stored as LF, as the importer stores them, so a text
    nobody touched is not a change in the version history (issue 18)."""

    def clean(self):
        cleaned = super().clean()
        for name, value in cleaned.items():
            if isinstance(value, str):
                cleaned[name] = value.replace("\r\n", "\n").replace("\r", "\n")
        return cleaned


class ItemVersionAdminForm(OneLineBreakForm):
    """Lists as people edit them: audience and themes as checkboxes, the procedure one step per line."""

    audience = forms.MultipleChoiceField(
        label="服务对象", choices=Audience.choices, widget=forms.CheckboxSelectMultiple
    )
    themes = forms.MultipleChoiceField(
        label="主题分类", choices=Theme.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    procedure = forms.CharField(
        label="办理流程", required=False, widget=forms.Textarea(attrs={"rows": 5}), help_text="每行一个步骤"
    )

    class Meta:
        model = ItemVersion
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance and self.instance.pk:
            self.initial["procedure"] = "\n".join(self.instance.procedure or [])

    def clean_procedure(self):
        return [line.strip() for line in self.cleaned_data["procedure"].splitlines() if line.strip()]

    def clean_audience(self):
        return sorted(self.cleaned_data["audience"])

    def clean_themes(self):
        return sorted(self.cleaned_data["themes"])


class MaterialRequirementInline(admin.StackedInline):
    model = MaterialRequirement
    form = OneLineBreakForm
    extra = 0
    fields = [
        ("order", "name"),
        ("form", "copies_original", "copies_copy"),
        ("required", "deferrable", "commitment_allowed"),
        ("source", "issuer", "satisfied_by"),
        ("blank_form", "sample"),
        "notes",
    ]

    def _editable(self, request, obj):
        return obj is None or obj.status == VersionStatus.DRAFT

    def has_view_permission(self, request, obj=None):
        return is_catalogue_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return is_catalogue_admin(request.user) and self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return is_catalogue_admin(request.user) and self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_catalogue_admin(request.user) and self._editable(request, obj)


@admin.register(ItemVersion)
class ItemVersionAdmin(CatalogueAdminAccess, admin.ModelAdmin):
    form = ItemVersionAdminForm
    inlines = [MaterialRequirementInline]
    list_display = ["item_code", "name", "number_label", "status", "department", "valid_from", "published_by"]
    list_filter = ["status", "department", "item_type", "handling"]
    search_fields = ["item__code", "name"]
    list_select_related = ["item", "department", "published_by"]
    readonly_fields = ["item", "number", "status", "valid_from", "published_at", "published_by"]
    filter_horizontal = ["joint_departments"]
    change_form_template = "items/admin/itemversion_change_form.html"
    actions = ["publish_selected"]
    fieldsets = [
        ("版本", {"fields": ["item", "number", "status", "valid_from", "published_at", "published_by", "change_note"]}),
        ("基本信息", {"fields": ["name", "item_type", "level", "department", "joint_departments", "audience", "themes"]}),
        (
            "办理时限与方式",
            {
                "fields": [
                    "handling",
                    ("statutory_days", "promised_days", "warning_days"),
                    "max_visits",
                    ("online", "express", "appointment", "onsite_inspection"),
                    "scope",
                    ("deferral_days", "verification_days"),
                ]
            },
        ),
        ("受理条件与流程", {"fields": ["conditions", "procedure", "special_procedures", "legal_basis"]}),
        (
            "办理结果与收费",
            {"fields": ["result_name", ("certificate_type", "certificate_action"), "fee_charged", "fee_standard", "fee_basis"]},
        ),
        ("地点与咨询", {"fields": ["location", "office_hours", "hotline", "supervision_phone", "faq"]}),
    ]

    def has_add_permission(self, request):
        return False  # drafts start from an item (新建草稿), never free-standing

    def has_change_permission(self, request, obj=None):
        # A published version is frozen: the admin shows it read-only.
        return self._allowed(request) and (obj is None or obj.status == VersionStatus.DRAFT)

    def has_delete_permission(self, request, obj=None):
        return False  # a draft is discarded from its item (删除草稿), which is audited

    @admin.display(description="实施编码", ordering="item__code")
    def item_code(self, version):
        return version.item.code

    @admin.display(description="版本", ordering="number")
    def number_label(self, version):
        return f"第 {version.number} 版" if version.number else "草稿"

    def response_change(self, request, obj):
        if "_publish" in request.POST:
            try:
                version = item_publish(item=obj.item, actor=request.user, change_note=obj.change_note)
            except ValidationError as error:
                self.message_user(request, f"已保存草稿，但发布失败：{_error_text(error)}", messages.ERROR)
                return HttpResponseRedirect(request.path)
            self.message_user(request, f"已发布 {obj.item.code} 第 {version.number} 版", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:items_item_change", args=[obj.item_id]))
        if not {"_continue", "_addanother", "_saveasnew"} & set(request.POST):
            # 保存 leads back to the item, where the draft is published (发布草稿) or discarded.
            self.message_user(request, "草稿已保存，可在本页下方发布或删除草稿", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:items_item_change", args=[obj.item_id]))
        return super().response_change(request, obj)

    @admin.action(description="发布所选草稿")
    def publish_selected(self, request, queryset):
        for version in queryset.filter(status=VersionStatus.DRAFT).select_related("item"):
            try:
                published = item_publish(item=version.item, actor=request.user)
            except ValidationError as error:
                self.message_user(request, f"{version.item.code} 未发布：{_error_text(error)}", messages.ERROR)
            else:
                self.message_user(
                    request, f"已发布 {version.item.code} 第 {published.number} 版", messages.SUCCESS
                )


# --- 一件事一次办 (DESIGN §4 "Bundles") --------------------------------------------------------------


class BundleMemberInline(admin.TabularInline):
    model = BundleMember
    extra = 1
    autocomplete_fields = ["item"]
    verbose_name = "包含事项（按顺序，第一个为牵头事项）"


class BundleFieldInline(admin.TabularInline):
    model = BundleField
    extra = 1


class BundleMaterialInline(admin.TabularInline):
    model = BundleMaterial
    extra = 1


@admin.register(Bundle)
class BundleAdmin(CatalogueAdminAccess, admin.ModelAdmin):
    list_display = ["code", "name", "theme", "status"]
    list_filter = ["status", "theme"]
    search_fields = ["code", "name"]
    inlines = [BundleMemberInline, BundleFieldInline, BundleMaterialInline]
    # A new bundle is a draft; only bundle_publish (the 发布 button or the action) puts it in the guide.
    readonly_fields = ["status"]
    actions = ["publish_selected"]
    change_form_template = "items/admin/bundle_change_form.html"

    def get_urls(self):
        urls = [
            path("<int:bundle_id>/publish/", self.admin_site.admin_view(self.publish_view), name="items_bundle_publish"),
        ]
        return urls + super().get_urls()

    def _publish(self, request, bundle: Bundle) -> bool:
        try:
            bundle_publish(bundle=bundle, actor=request.user)
        except ValidationError as error:
            self.message_user(request, f"{bundle.code} 未发布：{_error_text(error)}", messages.ERROR)
            return False
        self.message_user(request, f"已发布一件事 {bundle.code}", messages.SUCCESS)
        return True

    def publish_view(self, request, bundle_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        bundle = get_object_or_404(Bundle, pk=bundle_id)
        self._publish(request, bundle)
        return HttpResponseRedirect(reverse("admin:items_bundle_change", args=[bundle.pk]))

    @admin.action(description="发布所选一件事")
    def publish_selected(self, request, queryset):
        for bundle in queryset.filter(status=VersionStatus.DRAFT):
            self._publish(request, bundle)
