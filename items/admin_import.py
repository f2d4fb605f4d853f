"""导入目录 in the admin (decision 057): upload a catalogue file in the export's format, see what it would
change, then apply exactly that.

The preview runs the real importer as a dry run (`catalogue_import(dry_run=True)`: everything done, then
rolled back), so it shows the importer's own errors and its own idea of "unchanged". The uploaded file
stays in default storage under a random name; the apply form carries a signed token naming that file, its
sha256, the user and a digest of the previewed outcome. Apply refuses (409) a token that expired, a file
that is gone (already applied) or changed, a second click while the first runs, and an outcome that is no
longer the one previewed (the catalogue changed in between) — then nothing is written.
"""

import hashlib
import json
import secrets
from datetime import timedelta
from pathlib import Path

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from items.importing import CatalogueError, read_catalogue_bytes
from items.services import ImportSummary, catalogue_import
from portal.admin import is_catalogue_admin

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
PREVIEW_MINUTES = 30
PREVIEW_MAX_AGE = timedelta(minutes=PREVIEW_MINUTES)
STORAGE_DIR = "catalogue-imports"
TOKEN_SALT = "items.catalogue-import"
SECTION_LABELS = {"departments": "部门", "halls": "大厅", "certificate_types": "证照类型", "items": "事项",
                  "bundles": "一件事"}
OUTCOME_LABELS = {"created": "新增", "updated": "修改", "unchanged": "无变化"}


class CatalogueUploadForm(forms.Form):
    file = forms.FileField(
        label="目录文件",
        help_text="与「导出目录」格式相同的 .xlsx 或 .json 文件，不超过 10 MB",
        error_messages={"required": "请选择要导入的目录文件", "empty": "目录文件是空的", "invalid": "请选择要导入的目录文件"},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in (".xlsx", ".json"):
            raise forms.ValidationError("目录文件只能是 .xlsx 或 .json 文件")
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"目录文件不能超过 10 MB（当前 {upload.size / 1024 / 1024:.1f} MB）")
        return upload


class ImportRefused(Exception):
    """An apply that must not run; the message says why, in Chinese."""


def _plan_digest(summary: ImportSummary) -> str:
    plan = [[row.section, row.code, row.outcome, row.changes] for row in summary.rows]
    return hashlib.sha256(json.dumps(plan, ensure_ascii=False).encode()).hexdigest()


def _preview_groups(summary: ImportSummary) -> list[dict]:
    """Per section: the records that change (新增/修改 and which fields) and those that do not."""
    groups = []
    for section, label in SECTION_LABELS.items():
        rows = [row for row in summary.rows if row.section == section]
        if rows:
            groups.append({
                "label": label,
                "changed": [row for row in rows if row.outcome != "unchanged"],
                "unchanged": [row for row in rows if row.outcome == "unchanged"],
                "counts": {OUTCOME_LABELS[key]: sum(row.outcome == key for row in rows) for key in OUTCOME_LABELS},
            })
    return groups


def _sweep_old_uploads() -> None:
    """Files of previews nobody applied: gone after a day (a token lives 30 minutes). Listed, not tested
    with exists(): a bucket has no folders, so exists() of one is always false there."""
    try:
        names = default_storage.listdir(STORAGE_DIR)[1]
    except FileNotFoundError:  # on disk, before the first import
        return
    cutoff = timezone.now() - timedelta(days=1)
    for name in names:
        stored = f"{STORAGE_DIR}/{name}"
        if default_storage.get_modified_time(stored) < cutoff:
            default_storage.delete(stored)


class CatalogueImportAdmin:
    """Mixed into ItemAdmin: the 导入目录 page (upload → preview) and its apply."""

    def import_urls(self) -> list:
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="items_item_import"),
            path("import/apply/", self.admin_site.admin_view(self.import_apply_view), name="items_item_import_apply"),
        ]

    def _import_page(self, request, status=200, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "导入目录",
            "max_minutes": PREVIEW_MINUTES,
            **context,
        }
        return TemplateResponse(request, "items/admin/catalogue_import.html", context, status=status)

    def import_view(self, request):
        if not is_catalogue_admin(request.user):
            raise PermissionDenied
        if request.method == "GET":
            return self._import_page(request, form=CatalogueUploadForm())
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        form = CatalogueUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._import_page(request, status=400, form=form)
        upload = form.cleaned_data["file"]
        content = upload.read()
        try:
            summary = catalogue_import(data=read_catalogue_bytes(upload.name, content), actor=request.user, dry_run=True)
        except CatalogueError as error:
            return self._import_page(request, status=400, form=form, file_name=upload.name, errors=error.errors)
        _sweep_old_uploads()
        suffix = Path(upload.name).suffix.lower()
        stored = default_storage.save(f"{STORAGE_DIR}/{secrets.token_hex(16)}{suffix}", ContentFile(content))
        token = signing.dumps(
            {"file": stored, "name": upload.name, "sha256": hashlib.sha256(content).hexdigest(),
             "user": request.user.pk, "plan": _plan_digest(summary)},
            salt=TOKEN_SALT,
        )
        return self._import_page(
            request, form=CatalogueUploadForm(), file_name=upload.name, token=token, summary=summary,
            groups=_preview_groups(summary),
        )

    def import_apply_view(self, request):
        if not is_catalogue_admin(request.user):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            summary = self._apply(request)
        except ImportRefused as refusal:
            return self._import_page(request, status=409, form=CatalogueUploadForm(), refusal=str(refusal))
        except CatalogueError as error:
            return self._import_page(request, status=409, form=CatalogueUploadForm(), errors=error.errors)
        counts = [
            f"{group['label']}{'，'.join(f'{label} {count}' for label, count in group['counts'].items())}"
            for group in _preview_groups(summary)
        ]
        self.message_user(request, f"目录已导入：{'；'.join(counts)}；发布新版本 {len(summary.published)} 个",
                          messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:items_item_changelist"))

    def _apply(self, request) -> ImportSummary:
        try:
            ticket = signing.loads(request.POST.get("token", ""), salt=TOKEN_SALT,
                                   max_age=PREVIEW_MAX_AGE.total_seconds())
        except signing.SignatureExpired as error:
            raise ImportRefused(f"预览已超过 {PREVIEW_MINUTES} 分钟，已失效：请重新上传文件并预览") from error
        except signing.BadSignature as error:
            raise ImportRefused("导入凭据无效：请重新上传文件并预览") from error
        if ticket["user"] != request.user.pk:
            raise ImportRefused("该预览不是您上传的：请重新上传文件并预览")
        # One apply per preview: a second click (or a second tab) while the first runs is refused here, and
        # once the first is done its file is gone.
        if not cache.add(f"items:catalogue-import:{ticket['file']}", 1, timeout=int(PREVIEW_MAX_AGE.total_seconds())):
            raise ImportRefused("该文件正在导入或已经导入，请勿重复提交")
        if not default_storage.exists(ticket["file"]):
            raise ImportRefused("该文件已经导入或预览已失效：请重新上传文件并预览")
        with default_storage.open(ticket["file"], "rb") as handle:
            content = handle.read()
        if hashlib.sha256(content).hexdigest() != ticket["sha256"]:
            raise ImportRefused("文件在预览后已被改动：请重新上传文件并预览")
        data = read_catalogue_bytes(ticket["name"], content)
        with transaction.atomic():
            summary = catalogue_import(data=data, actor=request.user)
            if _plan_digest(summary) != ticket["plan"]:  # raising in the block rolls the import back
                raise ImportRefused("目录在预览后已有变化，导入结果将与预览不同，未导入：请重新上传文件并预览")
        default_storage.delete(ticket["file"])
        return summary
