"""Seal custody (DESIGN §7): the center's CA, the departments' approval seals, and every use of one."""

from django.db import models

from applications.models import Application
from portal.models import Department, User


class SealAuthority(models.Model):
    """The service center's CA: it certifies each department's seal key. One row."""

    name = models.CharField("名称", max_length=100)
    certificate_pem = models.TextField("CA 证书")
    # Fernet(SEAL_MASTER_KEY)-encrypted PKCS#8; never shown anywhere.
    encrypted_key = models.BinaryField("加密私钥", editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "电子印章 CA"
        verbose_name_plural = "电子印章 CA"

    def __str__(self):
        return self.name


class SealType(models.TextChoices):
    APPROVAL = "approval", "行政审批专用章"
    # The service center's own seal on the intake documents it issues (DESIGN §14); it has no department.
    CENTER = "center", "政务服务专用章"


class SealStatus(models.TextChoices):
    ACTIVE = "active", "启用"
    REVOKED = "revoked", "已注销"


class Seal(models.Model):
    code = models.CharField("印章编码", max_length=40, unique=True)
    name = models.CharField("印章名称", max_length=120)
    seal_type = models.CharField("印章类型", max_length=20, choices=SealType.choices, default=SealType.APPROVAL)
    department = models.ForeignKey(Department, verbose_name="所属部门", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="seals")
    image = models.BinaryField("印模（PNG）", editable=False)
    certificate_pem = models.TextField("印章证书")
    encrypted_key = models.BinaryField("加密私钥", editable=False)
    valid_from = models.DateTimeField("启用时间")
    valid_until = models.DateTimeField("有效期至")
    status = models.CharField("状态", max_length=10, choices=SealStatus.choices, default=SealStatus.ACTIVE, db_index=True)
    revoked_at = models.DateTimeField("注销时间", null=True, blank=True)
    revoke_reason = models.CharField("注销原因", max_length=300, blank=True)

    class Meta:
        verbose_name = "电子印章"
        verbose_name_plural = "电子印章"
        ordering = ["code"]
        constraints = [
            # One active approval seal per department: the center stamps with exactly that one.
            models.UniqueConstraint(
                fields=["department", "seal_type"], condition=models.Q(status="active"), name="one_active_seal_per_department"
            ),
            models.UniqueConstraint(
                fields=["seal_type"], condition=models.Q(status="active", seal_type="center"), name="one_active_center_seal"
            ),
            models.CheckConstraint(
                condition=models.Q(seal_type="center", department__isnull=True)
                | (~models.Q(seal_type="center") & models.Q(department__isnull=False)),
                name="seal_department_unless_center",
            ),
        ]

    def __str__(self):
        return self.name


class IssuanceStatus(models.TextChoices):
    PENDING = "pending", "制证中"
    DONE = "done", "已出证"
    FAILED = "failed", "失败"


class Issuance(models.Model):
    """A custodian's order to stamp a decided case; rendering and signing run in a task."""

    application = models.ForeignKey(Application, verbose_name="办件", on_delete=models.PROTECT, related_name="+")
    seal = models.ForeignKey(Seal, verbose_name="印章", on_delete=models.PROTECT, related_name="issuances")
    custodian = models.ForeignKey(User, verbose_name="印章管理员", on_delete=models.PROTECT, related_name="+")
    status = models.CharField("状态", max_length=10, choices=IssuanceStatus.choices, default=IssuanceStatus.PENDING)
    requested_at = models.DateTimeField("申请时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    last_error = models.CharField("错误", max_length=300, blank=True)

    class Meta:
        verbose_name = "签发任务"
        verbose_name_plural = "签发任务"
        constraints = [
            models.UniqueConstraint(fields=["application"], condition=models.Q(status="pending"), name="one_pending_issuance")
        ]
        # The metrics count failed issuances at every scrape: a few rows among millions of done ones.
        indexes = [models.Index(fields=["finished_at"], condition=models.Q(status="failed"), name="issuance_failed_idx")]


class SealUse(models.Model):
    """Every stamp: which seal, on which case's document (by hash), by whom, for which decision."""

    seal = models.ForeignKey(Seal, verbose_name="印章", on_delete=models.PROTECT, related_name="uses")
    application = models.ForeignKey(Application, verbose_name="办件", on_delete=models.PROTECT, related_name="+")
    document_sha256 = models.CharField("文书 SHA-256", max_length=64)
    document_kind = models.CharField("文书类型", max_length=30)
    decision = models.CharField("决定", max_length=20, blank=True)
    # None for the center seal on intake documents: the system stamps those as it issues them.
    custodian = models.ForeignKey(User, verbose_name="印章管理员", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    used_at = models.DateTimeField("用印时间", auto_now_add=True)
    # The seal_use audit event: its chain (portal.audit) and its place in it.
    audit_chain = models.CharField("审计链", max_length=40)
    audit_seq = models.PositiveBigIntegerField("审计事件序号")

    class Meta:
        verbose_name = "用印记录"
        verbose_name_plural = "用印记录"
        ordering = ["-used_at"]
