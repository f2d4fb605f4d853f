"""`manage.py move_files --to s3` (or `--to local`): copy every file the database names from one storage to
the other, streamed, each copy checked by SHA-256 (decision 060).

The files are those of every FileField (materials, documents, certificates, an agent's attorney letter, an
item's blank form and sample). Where the row keeps the file's SHA-256 (`sha256`, or `<field>_sha256`), the
copy must match it; elsewhere the copy must match the source. A file already in the target with the right
hash is left alone, so a second run copies nothing; one there with another hash is reported, never
overwritten. The source is never changed: switch FILE_STORAGE, then remove the old copies when satisfied.
"""

from django.apps import apps
from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.management.base import BaseCommand, CommandError
from django.db import models

from portal.files import STORAGE_ERRORS, storage_discard, storage_label, storage_sha256

OTHER = {"s3": "local", "local": "s3"}


def stored_hash_field(model, field: models.FileField) -> str | None:
    """The field on the same row holding this file's SHA-256, if the model keeps one."""
    names = {f.name for f in model._meta.concrete_fields}
    if f"{field.name}_sha256" in names:
        return f"{field.name}_sha256"
    file_fields = [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
    return "sha256" if "sha256" in names and len(file_fields) == 1 else None


def referenced_files() -> dict[str, set[str]]:
    """Every stored name any row's FileField points at → the SHA-256 values rows record for it (empty where
    none is kept). A bundle's children share one stored file, so a name can come from several rows."""
    files: dict[str, set[str]] = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.FileField):
                continue
            rows = model._base_manager.exclude(**{field.attname: ""})  # every row, whatever the default manager hides
            hash_field = stored_hash_field(model, field)
            if hash_field is None:
                for name in rows.values_list(field.attname, flat=True).iterator():
                    files.setdefault(name, set())
                continue
            for name, digest in rows.values_list(field.attname, hash_field).iterator():
                files.setdefault(name, set()).update({digest} if digest else set())
    return files


class Command(BaseCommand):
    help = "把数据库引用的全部文件从一个存储复制到另一个（local ⇄ s3），逐个核对 SHA-256；可重复运行"

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, metavar="STORAGE", help="目标存储：s3 或 local（settings.STORAGES 的名称）")
        parser.add_argument("--from", dest="source", metavar="STORAGE", help="源存储；默认为另一个（local ⇄ s3）")

    def handle(self, *args, **options):
        target_alias = options["to"]
        source_alias = options["source"] or OTHER.get(target_alias, "")
        for alias in (source_alias, target_alias):
            if alias not in settings.STORAGES or alias == "staticfiles":
                raise CommandError(f"未配置存储「{alias}」：s3 需设置 S3_BUCKET 等环境变量（见 docs/decisions/060-file-storage.md）")
        if source_alias == target_alias:
            raise CommandError("源存储与目标存储相同")
        source, target = storages[source_alias], storages[target_alias]
        self.stdout.write(f"从 {source_alias}（{storage_label(source)}）复制到 {target_alias}（{storage_label(target)}）")

        copied = present = 0
        problems = []
        files = referenced_files()
        for name in sorted(files):
            recorded = files[name]
            if len(recorded) > 1:
                problems.append(f"{name}：数据库中记录了不同的 SHA-256（{'、'.join(sorted(recorded))}）")
                continue
            try:
                outcome = self.copy(name, source=source, target=target, expected=next(iter(recorded), None))
            except STORAGE_ERRORS as error:
                outcome = f"读写失败（{type(error).__name__}: {error}）"
            if outcome == "copied":
                copied += 1
            elif outcome == "present":
                present += 1
            else:
                problems.append(f"{name}：{outcome}")

        self.stdout.write(f"数据库引用的文件 {len(files)} 个：复制 {copied} 个，目标中已有且校验一致 {present} 个，"
                          f"有问题 {len(problems)} 个")
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(problems)} 个文件未能复制或校验不一致（见上）；源存储未改动，修复后可再次运行")
        self.stdout.write(self.style.SUCCESS(
            f"全部文件已在 {target_alias} 且 SHA-256 一致；源存储未改动。切换 FILE_STORAGE={target_alias} 后可再运行一次，补上切换前新写入的文件"))

    def copy(self, name: str, *, source: Storage, target: Storage, expected: str | None) -> str:
        """"copied", "present", or what is wrong with this file."""
        if target.exists(name):
            found = storage_sha256(target, name)
            wanted = expected or (storage_sha256(source, name) if source.exists(name) else found)
            return "present" if found == wanted else f"目标中已有同名文件，但 SHA-256 为 {found}，应为 {wanted}（未覆盖）"
        if not source.exists(name):
            return "源存储中没有这个文件"
        try:
            with source.open(name, "rb") as handle:
                stored = target.save(name, handle)
        except STORAGE_ERRORS:
            storage_discard(target, name)  # no partial copy stays behind
            raise
        if stored != name:  # written meanwhile by someone else: ours went elsewhere, take it away
            storage_discard(target, stored)
            return f"目标中出现了同名文件（本次存为 {stored}，已删除）"
        found = storage_sha256(target, name)
        wanted = expected or storage_sha256(source, name)
        if found != wanted:
            storage_discard(target, name)  # a bad copy must not pass for the file at the next run
            return f"复制后的 SHA-256 为 {found}，应为 {wanted}（源文件已损坏或被改动？副本已删除）"
        return "copied"
