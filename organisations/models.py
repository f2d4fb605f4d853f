"""法人 and their agents (DESIGN §13): an organisation applies through its 经办人, and holds its own cases
and certificates."""

import uuid

from django.db import models

from portal.models import User


class OrganisationKind(models.TextChoices):
    # The organisation kinds of GB/T 39046 A.4 服务对象 (an item's `audience` names them by the same codes).
    ENTERPRISE = "2", "企业法人"
    INSTITUTION = "3", "事业法人"
    SOCIAL_ORGANIZATION = "4", "社会组织法人"
    UNINCORPORATED_ENTERPRISE = "5", "非法人企业"
    GOVERNMENT_AGENCY = "6", "行政机关"
    OTHER_ORGANIZATION = "9", "其他组织"


class Organisation(models.Model):
    """法人 (DESIGN §13): applies through its agents; its cases and certificates are its own, not a person's."""

    name = models.CharField("单位名称", max_length=100)
    credit_code = models.CharField("统一社会信用代码", max_length=18, unique=True)
    kind = models.CharField("主体类型", max_length=2, choices=OrganisationKind.choices)
    legal_rep_name = models.CharField("法定代表人", max_length=50)
    legal_rep_id_number = models.CharField("法定代表人身份证号码", max_length=18)
    # The legal representative's person row (an account, or the identity a clerk registered at the window).
    legal_rep = models.ForeignKey(User, verbose_name="法定代表人账户", on_delete=models.PROTECT,
                                  related_name="represented_organisations")
    created_by = models.ForeignKey(User, verbose_name="登记人", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "法人"
        verbose_name_plural = "法人"
        ordering = ["name"]

    def __str__(self):
        return self.name


def attorney_letter_upload_to(instance, filename):
    # A random name: the uploader's file name never reaches the storage.
    return f"organisations/{instance.organisation_id}/{uuid.uuid4().hex}"


class OrganisationAgent(models.Model):
    """经办人: a person the legal representative (or a clerk, against a 授权委托书) lets act for the organisation.
    Removal ends it; the row stays as the record of who could act when."""

    organisation = models.ForeignKey(Organisation, verbose_name="法人", on_delete=models.PROTECT, related_name="agents")
    user = models.ForeignKey(User, verbose_name="经办人", on_delete=models.PROTECT, related_name="agencies")
    added_by = models.ForeignKey(User, verbose_name="授权人", on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField("授权时间", auto_now_add=True)
    # Registered at the window: the 授权委托书 the clerk checked, stored (a storage name, never read by path).
    attorney_letter = models.FileField("授权委托书", upload_to=attorney_letter_upload_to, max_length=255, blank=True)
    attorney_letter_sha256 = models.CharField("授权委托书摘要", max_length=64, blank=True)
    removed_at = models.DateTimeField("解除时间", null=True, blank=True)
    removed_by = models.ForeignKey(User, verbose_name="解除人", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = "经办人"
        verbose_name_plural = "经办人"
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], condition=models.Q(removed_at__isnull=True),
                                    name="organisation_agent_one_active"),
        ]
        indexes = [
            models.Index(fields=["user"], name="organisation_agent_user_idx", condition=models.Q(removed_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.organisation} · {self.user}"
