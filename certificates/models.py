"""E-certificate types and e-certificates (DESIGN §8).

This app must not import items, applications or seals: items point at certificate types, applications
record the identifier of what was issued, seals call certificates.services to issue. Never the reverse.
"""

from datetime import date

from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Upper
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from portal.identity import IdType, mask_id_number
from portal.models import Department, User


class FaceFieldType(models.TextChoices):
    """How a face field is checked at approval and printed (DESIGN §14)."""

    PERSON_NAME = "person_name", "姓名"
    ID_NUMBER = "id_number", "公民身份号码"
    ORG_NAME = "org_name", "单位名称"
    USCC = "uscc", "统一社会信用代码"
    DATE = "date", "日期"
    TEXT = "text", "文本"
    NUMBER = "number", "数字"


class CertificateType(models.Model):
    """A kind of licence or certificate a department issues (营业执照, 结婚证 …)."""

    # The code is part of every certificate identifier (GB/T 36904), whose check character covers only
    # letters, digits, and the hyphens it skips.
    code = models.CharField(
        "证照类型编码", max_length=32, unique=True,
        validators=[RegexValidator(r"^[0-9A-Za-z][0-9A-Za-z-]*$", "证照类型编码只能包含字母、数字和连字符")],
    )
    name = models.CharField("证照名称", max_length=100)
    department = models.ForeignKey(
        Department, verbose_name="发证部门", on_delete=models.PROTECT, related_name="certificate_types"
    )
    # Null means 长期有效 (no expiry), as for 不动产权证书 or 结婚证.
    validity_years = models.PositiveSmallIntegerField("有效期（年）", null=True, blank=True, help_text="留空表示长期有效")
    template = models.TextField("照面模板（HTML）", blank=True)
    face_fields = models.JSONField("照面信息字段", default=list, blank=True, help_text="字段名列表，例如 [\"名称\", \"法定代表人\"]")
    # {field name: FaceFieldType}; a field not named here is text.
    face_field_types = models.JSONField("照面信息字段类型", default=dict, blank=True)
    # What public verification shows besides type, issuer, validity and status (e.g. 经营者名称, 许可证编号).
    public_fields = models.JSONField("公开的照面信息字段", default=list, blank=True)
    # The face field that carries the licence number, and how numbers are made: "JY1{year}{seq:08}" takes
    # the year of issue and the type's own sequence (per year when {year} is in it).
    number_field = models.CharField("证号字段", max_length=50, blank=True)
    number_format = models.CharField("证号格式", max_length=60, blank=True, help_text="例如 JY1{year}{seq:08}")
    # A renew (延续) case may name a certificate expired at most this many days ago.
    renewal_grace_days = models.PositiveSmallIntegerField("到期后可申请延续天数", default=0)

    class Meta:
        verbose_name = "证照类型"
        verbose_name_plural = "证照类型"
        ordering = ["code"]

    def __str__(self):
        return self.name

    @property
    def validity_display(self) -> str:
        return f"{self.validity_years} 年" if self.validity_years else "长期有效"


class LicenceNumberSequence(models.Model):
    """The last licence number a type handed out in a year (year 0 when its format has no {year})."""

    type = models.ForeignKey(CertificateType, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["type", "year"], name="licence_number_sequence_unique")]


class CertificateStatus(models.TextChoices):
    VALID = "valid", "有效"
    REVOKED = "revoked", "已注销"
    EXPIRED = "expired", "已过期"
    SUPERSEDED = "superseded", "已换发"


class CertificateQuerySet(models.QuerySet):
    def update(self, **kwargs):
        # `status` is protected: only a transition in a service may change it.
        if "status" in kwargs:
            raise TypeError("证照状态只能通过业务服务变更")
        return super().update(**kwargs)

    def valid_on(self, day: date) -> "CertificateQuerySet":
        """Valid on that day: not revoked or replaced, and not past its end date even if the expiry sweep
        has not run yet."""
        return self.filter(status=CertificateStatus.VALID).filter(
            models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=day)
        )


def certificate_pdf_path(certificate: "Certificate", filename: str) -> str:
    return f"certificates/{certificate.issued_on:%Y/%m}/{certificate.identifier}.pdf"


class Certificate(ConcurrentTransitionMixin, models.Model):
    """One version of an e-certificate as issued: the signed PDF and the facts printed on it.

    A re-issue (换发) is a new row with the same serial and version + 1; the old row becomes superseded.
    """

    identifier = models.CharField("证照标识", max_length=100, unique=True)
    type = models.ForeignKey(CertificateType, verbose_name="证照类型", on_delete=models.PROTECT, related_name="certificates")
    issuer = models.ForeignKey(Department, verbose_name="发证机关", on_delete=models.PROTECT, related_name="issued_certificates")
    serial = models.CharField("流水号", max_length=12)
    version = models.PositiveSmallIntegerField("版本号", default=1)

    # The account, when the holder has one; the name and code are what the certificate says, kept even if
    # the account changes. Wallet and 免交 also match an account by its verified ID number.
    holder = models.ForeignKey(
        User, verbose_name="持证人账号", null=True, blank=True, on_delete=models.SET_NULL, related_name="certificates"
    )
    holder_name = models.CharField("持证主体", max_length=100)
    holder_id_type = models.CharField("持证主体代码类型", max_length=3, choices=IdType.choices)
    holder_id_number = models.CharField("持证主体代码", max_length=18)

    issued_on = models.DateField("签发日期")
    valid_from = models.DateField("有效期起")
    valid_until = models.DateField("有效期至", null=True, blank=True, help_text="留空表示长期有效")
    face_data = models.JSONField("照面信息", default=dict, blank=True)
    # The licence number printed on it (许可证编号), the same across its versions; "" for types without one.
    licence_number = models.CharField("证号", max_length=60, blank=True)
    status = FSMField("状态", max_length=12, choices=CertificateStatus.choices, default=CertificateStatus.VALID, protected=True)

    pdf = models.FileField("证照文件", upload_to=certificate_pdf_path, max_length=200)
    sha256 = models.CharField("文件 SHA-256", max_length=64, db_index=True)
    # The case number as text, not a foreign key: certificates may not import applications.
    application_number = models.CharField("办件编号", max_length=40, blank=True, db_index=True)

    revoked_at = models.DateTimeField("注销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, verbose_name="注销人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.CharField("注销原因", max_length=500, blank=True)
    expiry_reminded_at = models.DateTimeField("到期提醒时间", null=True, blank=True)
    # Expiry reminders sent (DESIGN §14: 90 and 30 days ahead, each once); expiry_reminded_at marks the last.
    expiry_reminders_sent = models.PositiveSmallIntegerField("到期提醒次数", default=0)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        verbose_name = "电子证照"
        verbose_name_plural = "电子证照"
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["type", "issuer", "serial", "version"], name="certificate_version_unique"),
            # A serial has at most one valid version: two concurrent re-issues cannot both succeed.
            models.UniqueConstraint(
                fields=["type", "issuer", "serial"], name="certificate_one_valid_version",
                condition=models.Q(status="valid"),
            ),
            models.CheckConstraint(condition=models.Q(version__gte=1, version__lte=999), name="certificate_version_range"),
        ]
        indexes = [
            # the wallet: by account, or by the verified ID number of an account
            models.Index(fields=["holder", "-issued_on"], name="certificate_holder_idx"),
            models.Index(fields=["holder_id_number", "holder_id_type"], name="certificate_holder_code_idx"),
            # the issuing department's list
            models.Index(fields=["issuer", "-issued_on"], name="certificate_issuer_idx"),
            # the expiry sweep reads only what is due
            models.Index(fields=["status", "valid_until"], name="certificate_expiry_idx"),
            # public verification finds a certificate by its licence number, case-insensitively
            models.Index(Upper("licence_number"), name="certificate_licence_number_idx",
                         condition=~models.Q(licence_number="")),
            models.Index(
                fields=["valid_until"], name="certificate_remind_idx",
                condition=models.Q(status="valid", expiry_reminded_at__isnull=True, valid_until__isnull=False),
            ),
            # the 90-day reminder reads only certificates not yet reminded at all
            models.Index(
                fields=["valid_until"], name="certificate_remind_first_idx",
                condition=models.Q(status="valid", expiry_reminders_sent=0, valid_until__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.type.name} {self.identifier}"

    @property
    def holder_id_masked(self) -> str:
        return mask_id_number(self.holder_id_number)

    @property
    def validity_display(self) -> str:
        if self.valid_until is None:
            return f"{self.valid_from:%Y-%m-%d} 起长期有效"
        return f"{self.valid_from:%Y-%m-%d} 至 {self.valid_until:%Y-%m-%d}"

    def status_on(self, day: date) -> str:
        """The status as of `day`: a valid certificate past its end date is expired even before the sweep
        has marked it (the sweep only writes it down and tells the holder)."""
        if self.status == CertificateStatus.VALID and self.valid_until is not None and self.valid_until < day:
            return CertificateStatus.EXPIRED
        return self.status

    # --- transitions: they only change the model; certificates.services does the rest -------------------

    @transition(field=status, source=CertificateStatus.VALID, target=CertificateStatus.REVOKED)
    def revoke(self, *, by: User, reason: str, at):
        self.revoked_by, self.revoke_reason, self.revoked_at = by, reason, at

    @transition(field=status, source=CertificateStatus.VALID, target=CertificateStatus.EXPIRED)
    def expire(self):
        pass

    # An expired certificate may be renewed (延续) as well as a valid one changed (变更/换发).
    @transition(field=status, source=[CertificateStatus.VALID, CertificateStatus.EXPIRED], target=CertificateStatus.SUPERSEDED)
    def supersede(self):
        pass
