"""The standardized item catalogue (DESIGN §4): items, their versions and material requirements.

Code values follow GB/T 39046-2020 (政务服务平台基础数据规范) appendix A. An `Item` is the stable identity
(实施编码); everything a citizen relies on lives in an `ItemVersion`. Catalogue admins edit one draft per item;
publishing freezes it, and a published version is never changed in place: applications pin its id.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from certificates.models import CertificateType
from portal.models import AdminLevel, Department, User

CODE_MAX_LENGTH = 36  # GB/T 39046: 实施编码 at most 36 characters


class ItemType(models.TextChoices):
    # GB/T 39046 A.1 事项类型.
    LICENSE = "01", "行政许可"
    PENALTY = "02", "行政处罚"
    COERCION = "03", "行政强制"
    LEVY = "04", "行政征收"
    BENEFIT = "05", "行政给付"
    INSPECTION = "06", "行政检查"
    CONFIRMATION = "07", "行政确认"
    REWARD = "08", "行政奖励"
    ADJUDICATION = "09", "行政裁决"
    OTHER_POWER = "10", "其他行政权力"
    PUBLIC_SERVICE = "20", "公共服务"


class Audience(models.TextChoices):
    # GB/T 39046 A.4 服务对象.
    NATURAL_PERSON = "1", "自然人"
    ENTERPRISE = "2", "企业法人"
    INSTITUTION = "3", "事业法人"
    SOCIAL_ORGANIZATION = "4", "社会组织法人"
    UNINCORPORATED_ENTERPRISE = "5", "非法人企业"
    GOVERNMENT_AGENCY = "6", "行政机关"
    OTHER_ORGANIZATION = "9", "其他组织"


class Handling(models.TextChoices):
    # GB/T 39046 A.6 办件类型.
    INSTANT = "instant", "即办件"
    PROMISED = "promised", "承诺件"


class Scope(models.TextChoices):
    # 通办范围: where else besides the competent department's own hall the item can be handled.
    LOCAL = "local", "属地办理"
    COUNTY = "county", "全区（县）通办"
    CITY = "city", "全市通办"
    PROVINCE = "province", "全省通办"
    NATIONAL = "national", "跨省通办"


class Theme(models.TextChoices):
    """Life-event tags citizens browse by (主题服务); not a national code table, so slugs."""

    HOUSING_FUND = "housing_fund", "公积金"
    MEDICAL_INSURANCE = "medical_insurance", "医保"
    SOCIAL_SECURITY = "social_security", "社保"
    EMPLOYMENT = "employment", "就业创业"
    MARRIAGE = "marriage", "婚姻"
    BIRTH = "birth", "生育"
    BUSINESS_STARTUP = "business_startup", "企业开办"
    MARKET_ACCESS = "market_access", "准营许可"
    FOOD_SAFETY = "food_safety", "食品安全"
    REAL_ESTATE = "real_estate", "不动产"
    EXIT_ENTRY = "exit_entry", "出入境"
    HOUSEHOLD = "household", "户籍证件"
    TRANSPORT = "transport", "交通运输"
    TAX = "tax", "纳税缴费"
    HEALTH = "health", "医疗卫生"
    SOCIAL_ASSISTANCE = "social_assistance", "社会救助"
    ELDERLY = "elderly", "养老服务"
    SOCIAL_ORGANIZATION = "social_organization", "社会组织"
    CONSTRUCTION = "construction", "工程建设"


class CertificateAction(models.TextChoices):
    """What a case of the item does to a licence (DESIGN §14): a new one, or the next version of one held."""

    ISSUE = "issue", "新办"
    RENEW = "renew", "延续"
    CHANGE = "change", "变更"
    REPLACE = "replace", "补证"
    CANCEL = "cancel", "注销"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    PUBLISHED = "published", "已发布"


class MaterialForm(models.TextChoices):
    ORIGINAL = "original", "原件"
    COPY = "copy", "复印件"
    ELECTRONIC = "electronic", "电子件"


class MaterialSource(models.TextChoices):
    APPLICANT = "applicant", "申请人自备"
    GOVERNMENT = "government", "政府部门核发"


class PublishedVersionError(ValidationError):
    """Raised on any attempt to change a published version or its materials (they are frozen)."""

    def __init__(self, message="已发布的事项版本不能修改，请新建草稿后再发布"):
        super().__init__(message, code="published_frozen")


class Item(models.Model):
    """The stable identity of a service item; its content is in versions."""

    code = models.CharField("实施编码", max_length=CODE_MAX_LENGTH, unique=True)
    basic_code = models.CharField("基本编码", max_length=36, blank=True)
    # Mirrors the department of the current version (set on publish), so lists filter without a join.
    department = models.ForeignKey(
        Department, verbose_name="实施主体", on_delete=models.PROTECT, related_name="items"
    )
    # Pointer to the latest published version: the one the guide, the API and new applications use.
    current_version = models.OneToOneField(
        "ItemVersion",
        verbose_name="当前版本",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="current_for",
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "事项"
        verbose_name_plural = "事项"
        ordering = ["code"]

    def __str__(self):
        name = self.current_version.name if self.current_version_id and self.current_version else ""
        return f"{self.code} {name}".strip()

    def clean(self):
        # max_length already caps it; the explicit message names the national rule.
        if self.code and len(self.code) > CODE_MAX_LENGTH:
            raise ValidationError({"code": f"实施编码不能超过 {CODE_MAX_LENGTH} 位"})


class ItemVersionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=VersionStatus.PUBLISHED)

    def drafts(self):
        return self.filter(status=VersionStatus.DRAFT)

    def update(self, **kwargs):
        # A bulk update would bypass save(): refuse it when it could touch a frozen version.
        if self.filter(status=VersionStatus.PUBLISHED).exists():
            raise PublishedVersionError()
        return super().update(**kwargs)

    def delete(self):
        if self.filter(status=VersionStatus.PUBLISHED).exists():
            raise PublishedVersionError("已发布的事项版本不能删除")
        return super().delete()


class ItemVersion(models.Model):
    """One version of an item's standard (办事指南要素). Drafts are editable; published ones are frozen."""

    item = models.ForeignKey(Item, verbose_name="事项", on_delete=models.PROTECT, related_name="versions")
    # Assigned on publish (N+1); a draft has none yet.
    number = models.PositiveIntegerField("版本号", null=True, blank=True)
    status = models.CharField(
        "状态", max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT, db_index=True
    )
    valid_from = models.DateField("生效日期", null=True, blank=True)
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    published_by = models.ForeignKey(
        User, verbose_name="发布人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    change_note = models.CharField("修订说明", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    # identity
    name = models.CharField("事项名称", max_length=200)
    item_type = models.CharField("事项类型", max_length=2, choices=ItemType.choices)
    level = models.CharField("行使层级", max_length=1, choices=AdminLevel.choices, default=AdminLevel.CITY)
    # who
    department = models.ForeignKey(
        Department, verbose_name="实施主体", on_delete=models.PROTECT, related_name="item_versions"
    )
    joint_departments = models.ManyToManyField(
        Department, verbose_name="联办部门", blank=True, related_name="joint_item_versions"
    )
    audience = models.JSONField("服务对象", default=list, help_text="GB/T 39046 A.4 代码列表")
    themes = models.JSONField("主题分类", default=list, blank=True)
    # time (working days)
    handling = models.CharField("办件类型", max_length=10, choices=Handling.choices, default=Handling.PROMISED)
    statutory_days = models.PositiveSmallIntegerField("法定办结时限（工作日）", default=0)
    promised_days = models.PositiveSmallIntegerField("承诺办结时限（工作日）", default=0)
    warning_days = models.PositiveSmallIntegerField(
        "预警时限（工作日）", null=True, blank=True, help_text="留空则为承诺时限的 20%，至少 1 个工作日"
    )
    # handling
    max_visits = models.PositiveSmallIntegerField("到办事现场次数", default=1)
    online = models.BooleanField("是否网办", default=False)
    express = models.BooleanField("是否支持物流快递", default=False)
    appointment = models.BooleanField("是否支持预约办理", default=False)
    scope = models.CharField("通办范围", max_length=10, choices=Scope.choices, default=Scope.LOCAL)
    onsite_inspection = models.BooleanField("是否需要现场勘验", default=False)
    conditions = models.TextField("受理条件", blank=True)
    procedure = models.JSONField("办理流程", default=list, blank=True, help_text="步骤名称列表")
    special_procedures = models.TextField("特别程序", blank=True)
    legal_basis = models.TextField("设定依据", blank=True)
    # result and fees
    result_name = models.CharField("办理结果名称", max_length=100, blank=True)
    certificate_type = models.ForeignKey(
        CertificateType,
        verbose_name="结果证照类型",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="item_versions",
    )
    # renew/change/replace/cancel name a certificate of `certificate_type` the applicant holds (DESIGN §14).
    certificate_action = models.CharField("证照办理类型", max_length=10, choices=CertificateAction.choices,
                                          default=CertificateAction.ISSUE)
    # 容缺受理: a deferrable material missing at acceptance is due this many working days after it.
    deferral_days = models.PositiveSmallIntegerField("容缺补齐期限（工作日）", default=5)
    # 告知承诺制: a case approved on a commitment is verified by the department within this many working days.
    verification_days = models.PositiveSmallIntegerField("承诺核查期限（工作日）", default=20)
    fee_charged = models.BooleanField("是否收费", default=False)
    fee_standard = models.TextField("收费标准", blank=True)
    fee_basis = models.TextField("收费依据", blank=True)
    # place and contact
    location = models.TextField("办理地点", blank=True)
    office_hours = models.CharField("办理时间", max_length=200, blank=True)
    hotline = models.CharField("咨询电话", max_length=100, blank=True)
    supervision_phone = models.CharField("监督投诉电话", max_length=100, blank=True)
    faq = models.TextField("常见问题", blank=True)
    # Denormalised at publish: name, codes, department, themes and material names, lower-cased, for `?search=`
    # (LIKE '%term%'; on PostgreSQL served by a GIN trigram index, migration 0004).
    search_text = models.TextField("检索文本", blank=True, editable=False)

    objects = ItemVersionQuerySet.as_manager()

    class Meta:
        verbose_name = "事项版本"
        verbose_name_plural = "事项版本"
        ordering = ["item__code", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="item_version_number_unique"),
            # One draft at a time: two admins editing two drafts would silently lose one's work.
            models.UniqueConstraint(
                fields=["item"], condition=models.Q(status="draft"), name="item_single_draft"
            ),
        ]

    def __str__(self):
        label = f"第 {self.number} 版" if self.number else "草稿"
        return f"{self.name}（{label}）"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remember what the row was when read: a version loaded as published must never be saved again.
        instance._loaded_status = instance.status if "status" in field_names else None
        return instance

    @property
    def is_published(self) -> bool:
        return self.status == VersionStatus.PUBLISHED

    @property
    def was_published(self) -> bool:
        return getattr(self, "_loaded_status", None) == VersionStatus.PUBLISHED

    def save(self, *args, **kwargs):
        if not self._state.adding and (
            self.was_published
            or ItemVersion.objects.filter(pk=self.pk, status=VersionStatus.PUBLISHED).exists()
        ):
            raise PublishedVersionError()
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    def delete(self, *args, **kwargs):
        if self.was_published or ItemVersion.objects.filter(pk=self.pk, status=VersionStatus.PUBLISHED).exists():
            raise PublishedVersionError("已发布的事项版本不能删除")
        return super().delete(*args, **kwargs)

    @staticmethod
    def warning_days_for(*, warning_days: int | None, promised_days: int) -> int:
        """DESIGN §5: yellow when remaining days ≤ this; default 20 % of the promised days, at least 1."""
        if warning_days is not None:
            return warning_days
        return max(1, promised_days * 20 // 100)

    @property
    def effective_warning_days(self) -> int:
        return self.warning_days_for(warning_days=self.warning_days, promised_days=self.promised_days)

    @property
    def fee_display(self) -> str:
        if not self.fee_charged:
            return "不收费"
        return self.fee_standard or "收费"

    @property
    def audience_labels(self) -> list[str]:
        return [Audience(code).label for code in self.audience if code in Audience.values]

    @property
    def theme_labels(self) -> list[str]:
        return [Theme(code).label for code in self.themes if code in Theme.values]

    def clean(self):
        errors: dict[str, list[str]] = {}
        errors_for = lambda field: errors.setdefault(field, [])  # noqa: E731
        if self.promised_days is not None and self.statutory_days is not None:
            # 行政许可法 第四十二条: the promise may shorten the statutory limit, never exceed it.
            if self.promised_days > self.statutory_days:
                errors_for("promised_days").append(
                    f"承诺时限（{self.promised_days}）不能大于法定时限（{self.statutory_days}）"
                )
        if self.handling == Handling.INSTANT and self.promised_days:
            errors_for("promised_days").append("即办件的承诺时限必须为 0")
        if not isinstance(self.audience, list) or not self.audience:
            errors_for("audience").append("至少选择一种服务对象")
        else:
            unknown = [code for code in self.audience if code not in Audience.values]
            if unknown:
                errors_for("audience").append(f"未知的服务对象代码：{'、'.join(map(str, unknown))}")
        if not isinstance(self.themes, list):
            errors_for("themes").append("主题分类必须是列表")
        else:
            unknown = [code for code in self.themes if code not in Theme.values]
            if unknown:
                errors_for("themes").append(f"未知的主题：{'、'.join(map(str, unknown))}")
        if not isinstance(self.procedure, list) or not all(isinstance(step, str) for step in self.procedure):
            errors_for("procedure").append("办理流程必须是步骤名称的列表")
        if self.fee_charged and not self.fee_standard.strip():
            errors_for("fee_standard").append("收费事项必须填写收费标准")
        if self.warning_days is not None and self.promised_days and self.warning_days > self.promised_days:
            errors_for("warning_days").append("预警时限不能大于承诺时限")
        if self.certificate_action != CertificateAction.ISSUE and not self.certificate_type_id:
            # A renew/change/replace/cancel case names a held certificate of this type (DESIGN §14).
            errors_for("certificate_type").append(
                f"证照办理类型为“{self.get_certificate_action_display()}”的事项必须指定证照类型"
            )
        if errors:
            raise ValidationError(errors)


class RequirementKind(models.TextChoices):
    ITEM = "", "事项材料"
    # Added to a case filed for another person (代办/委托, DESIGN §13), whatever the item: one shared row.
    ATTORNEY_LETTER = "attorney_letter", "授权委托书"


class MaterialRequirementQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if self.filter(version__status=VersionStatus.PUBLISHED).exists():
            raise PublishedVersionError()
        return super().update(**kwargs)

    def delete(self):
        if self.filter(version__status=VersionStatus.PUBLISHED).exists():
            raise PublishedVersionError()
        return super().delete()

    def attorney_letter(self) -> "MaterialRequirement":
        """The 授权委托书 every case filed for another person adds to its item's materials (DESIGN §13)."""
        requirement, _ = self.get_or_create(version=None, kind=RequirementKind.ATTORNEY_LETTER, defaults={
            "order": 999, "name": "授权委托书", "form": MaterialForm.ORIGINAL, "copies_original": 1, "required": True,
            "notes": "委托人签名的授权委托书，写明委托事项、权限和期限，并附委托人身份证复印件。",
        })
        return requirement


# Files are never overwritten or deleted: a new draft shares its predecessor's files, and older versions
# keep pointing at what they published. Storage appends a suffix when a name is taken.
MATERIAL_UPLOAD_TO = "items/forms/%Y/"


class MaterialRequirement(models.Model):
    """One material (申请材料) a version requires; frozen together with its version. A requirement without a
    version is one the case adds by its own circumstances (`kind`), not the catalogue's."""

    version = models.ForeignKey(
        ItemVersion, verbose_name="事项版本", null=True, blank=True, on_delete=models.CASCADE, related_name="materials"
    )
    kind = models.CharField("材料类别", max_length=20, choices=RequirementKind.choices, default=RequirementKind.ITEM,
                            blank=True)
    order = models.PositiveSmallIntegerField("排序", default=0)
    name = models.CharField("材料名称", max_length=200)
    form = models.CharField("材料形式", max_length=10, choices=MaterialForm.choices, default=MaterialForm.ORIGINAL)
    copies_original = models.PositiveSmallIntegerField("原件份数", default=1)
    copies_copy = models.PositiveSmallIntegerField("复印件份数", default=0)
    required = models.BooleanField("是否必要", default=True)
    deferrable = models.BooleanField("是否容缺", default=False, help_text="可在受理后补交")
    # 告知承诺制: the applicant may sign a commitment (承诺书) instead of handing this material in.
    commitment_allowed = models.BooleanField("可告知承诺", default=False, help_text="可签署承诺书代替该材料")
    source = models.CharField(
        "材料来源", max_length=10, choices=MaterialSource.choices, default=MaterialSource.APPLICANT
    )
    issuer = models.CharField("出具机构", max_length=100, blank=True)
    # Holding a valid e-certificate of this type satisfies the requirement: nothing to upload (免交免验).
    satisfied_by = models.ForeignKey(
        CertificateType,
        verbose_name="可由电子证照代替",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="satisfies_materials",
    )
    blank_form = models.FileField("空白表格", upload_to=MATERIAL_UPLOAD_TO, max_length=255, blank=True)
    sample = models.FileField("示例样表", upload_to=MATERIAL_UPLOAD_TO, max_length=255, blank=True)
    notes = models.TextField("填报须知", blank=True)

    objects = MaterialRequirementQuerySet.as_manager()

    class Meta:
        verbose_name = "申请材料"
        verbose_name_plural = "申请材料"
        ordering = ["version", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=models.Q(version__isnull=True),
                                    name="material_requirement_one_per_case_kind"),
        ]

    def __str__(self):
        return self.name

    def _version_frozen(self) -> bool:
        return ItemVersion.objects.filter(pk=self.version_id, status=VersionStatus.PUBLISHED).exists()

    def save(self, *args, **kwargs):
        if self._version_frozen():
            raise PublishedVersionError()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._version_frozen():
            raise PublishedVersionError()
        return super().delete(*args, **kwargs)


@receiver(m2m_changed, sender=ItemVersion.joint_departments.through)
def refuse_joint_department_change_on_published(sender, instance, action, reverse, **kwargs):
    # M2M writes bypass save(); the freeze must cover them too.
    if action.startswith("pre_") and not reverse and isinstance(instance, ItemVersion):
        if ItemVersion.objects.filter(pk=instance.pk, status=VersionStatus.PUBLISHED).exists():
            raise PublishedVersionError()


class CatalogueGeneration(models.Model):
    """One row whose token changes, inside the same transaction, whenever anything the public catalogue API
    shows changes (items.cache.catalogue_changed). Every web process keys its rendered responses by the
    token it last read, so a new token retires them all, in every process and on every host
    (docs/decisions/011-catalogue-cache.md)."""

    token = models.CharField("目录版本标记", max_length=32)
    changed_at = models.DateTimeField("变更时间")

    class Meta:
        verbose_name = "目录版本标记"
        verbose_name_plural = "目录版本标记"

    def __str__(self):
        return self.token


# =====================================================================================================
# 一件事一次办 (DESIGN §4 "Bundles"): several items behind one form and one set of shared materials.
# A bundle names items, never versions: a case made from it pins each member's current version, and a
# shared material maps to a requirement *name*, looked up in whichever version that is.
# =====================================================================================================


class Bundle(models.Model):
    code = models.CharField("一件事编码", max_length=CODE_MAX_LENGTH, unique=True)
    name = models.CharField("一件事名称", max_length=100)
    theme = models.CharField("主题", max_length=30, choices=Theme.choices, blank=True)
    description = models.TextField("说明", blank=True)
    # Like an item's version: only a published bundle is in the guide and can be applied for.
    status = models.CharField("状态", max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    class Meta:
        verbose_name = "一件事"
        verbose_name_plural = "一件事"
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class BundleMember(models.Model):
    """One item of a bundle, in the bundle's order (the first is the lead item: 牵头事项)."""

    bundle = models.ForeignKey(Bundle, verbose_name="一件事", on_delete=models.CASCADE, related_name="members")
    item = models.ForeignKey(Item, verbose_name="事项", on_delete=models.PROTECT, related_name="bundle_memberships")
    order = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        verbose_name = "包含事项"
        verbose_name_plural = "包含事项"
        ordering = ["bundle", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["bundle", "item"], name="bundle_member_unique")]

    def __str__(self):
        return str(self.item)


class BundleField(models.Model):
    """A field of the bundle's one form; `items` are the member item codes that receive it (empty: all)."""

    bundle = models.ForeignKey(Bundle, verbose_name="一件事", on_delete=models.CASCADE, related_name="fields")
    order = models.PositiveSmallIntegerField("排序", default=0)
    name = models.SlugField("字段名", max_length=50)
    label = models.CharField("标签", max_length=100)
    required = models.BooleanField("是否必填", default=True)
    items = models.JSONField("使用该字段的事项编码", default=list, blank=True, help_text="留空表示所有事项都使用")

    class Meta:
        verbose_name = "共享表单字段"
        verbose_name_plural = "共享表单字段"
        ordering = ["bundle", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["bundle", "name"], name="bundle_field_unique")]

    def __str__(self):
        return self.label


class BundleMaterial(models.Model):
    """A material the applicant uploads once; `maps` = {item code: requirement name} per member item."""

    bundle = models.ForeignKey(Bundle, verbose_name="一件事", on_delete=models.CASCADE, related_name="materials")
    order = models.PositiveSmallIntegerField("排序", default=0)
    name = models.CharField("材料名称", max_length=200)
    maps = models.JSONField("对应各事项的材料名称", default=dict, help_text='{"事项编码": "该事项的材料名称"}')

    class Meta:
        verbose_name = "共享材料"
        verbose_name_plural = "共享材料"
        ordering = ["bundle", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["bundle", "name"], name="bundle_material_unique")]

    def __str__(self):
        return self.name
