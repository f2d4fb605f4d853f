"""E-certificate types (DESIGN §8). Certificates themselves come with the issuance work.

This app must not import items or applications: items point at certificate types, never the reverse.
"""

from django.db import models

from portal.models import Department


class CertificateType(models.Model):
    """A kind of licence or certificate a department issues (营业执照, 结婚证 …)."""

    code = models.CharField("证照类型编码", max_length=32, unique=True)
    name = models.CharField("证照名称", max_length=100)
    department = models.ForeignKey(
        Department, verbose_name="发证部门", on_delete=models.PROTECT, related_name="certificate_types"
    )
    # Null means 长期有效 (no expiry), as for 不动产权证书 or 结婚证.
    validity_years = models.PositiveSmallIntegerField("有效期（年）", null=True, blank=True, help_text="留空表示长期有效")
    template = models.TextField("照面模板（HTML）", blank=True)
    face_fields = models.JSONField("照面信息字段", default=list, blank=True, help_text="字段名列表，例如 [\"名称\", \"法定代表人\"]")

    class Meta:
        verbose_name = "证照类型"
        verbose_name_plural = "证照类型"
        ordering = ["code"]

    def __str__(self):
        return self.name

    @property
    def validity_display(self) -> str:
        return f"{self.validity_years} 年" if self.validity_years else "长期有效"
