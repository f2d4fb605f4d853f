"""Infrastructure models: accounts and roles, departments, halls, the working-day calendar, the audit chain."""

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models

from portal.identity import IdType, mask_id_number, normalize_id_number


class AdminLevel(models.TextChoices):
    # GB/T 39046 A.2 行使层级.
    NATIONAL = "1", "国家级"
    PROVINCE = "2", "省级"
    CITY = "3", "市级"
    COUNTY = "4", "县级（区）"
    TOWNSHIP = "5", "乡镇（街道）级"
    VILLAGE = "6", "村（社区）级"


class Department(models.Model):
    code = models.CharField("部门编码", max_length=32, unique=True)
    name = models.CharField("部门名称", max_length=100)
    credit_code = models.CharField("统一社会信用代码", max_length=18, unique=True)
    level = models.CharField("层级", max_length=1, choices=AdminLevel.choices, default=AdminLevel.CITY)
    parent = models.ForeignKey(
        "self", verbose_name="上级部门", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    hotline = models.CharField("咨询电话", max_length=40, blank=True)

    class Meta:
        verbose_name = "部门"
        verbose_name_plural = "部门"
        ordering = ["code"]

    def __str__(self):
        return self.name

    def clean(self):
        if self.credit_code:
            try:
                self.credit_code = normalize_id_number(id_type=IdType.CREDIT_CODE, value=self.credit_code)
            except ValidationError as error:
                raise ValidationError({"credit_code": error.messages}) from error


def default_opening_hours() -> list[list[str]]:
    """09:00–12:00 and 13:00–17:00: a hall's usual day with its lunch break."""
    return [["09:00", "12:00"], ["13:00", "17:00"]]


class Hall(models.Model):
    code = models.CharField("大厅编码", max_length=32, unique=True)
    name = models.CharField("大厅名称", max_length=100)
    level = models.CharField("层级", max_length=1, choices=AdminLevel.choices, default=AdminLevel.CITY)
    windows = models.PositiveSmallIntegerField("综合窗口数", default=1)
    address = models.CharField("地址", max_length=200, blank=True)
    # Appointments (DESIGN §6): slots are made ahead from these on working days (applications timers).
    opening_hours = models.JSONField("开放时间", default=default_opening_hours, blank=True,
                                     help_text='各时间段 [["09:00", "12:00"], ["13:00", "17:00"]]')
    slot_minutes = models.PositiveSmallIntegerField("预约时段长度（分钟）", default=30)
    slot_capacity = models.PositiveSmallIntegerField("每时段可预约人数", null=True, blank=True, help_text="留空为综合窗口数")
    booking_days = models.PositiveSmallIntegerField("可提前预约工作日数", default=7)

    class Meta:
        verbose_name = "政务服务大厅"
        verbose_name_plural = "政务服务大厅"
        ordering = ["code"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    APPLICANT = "applicant", "申请人"
    CLERK = "clerk", "综合窗口人员"
    REVIEWER = "reviewer", "审查人员"
    HEAD = "head", "部门负责人"
    CUSTODIAN = "custodian", "印章管理员"
    CATALOGUE_ADMIN = "catalogue_admin", "事项管理员"
    SUPERVISOR = "supervisor", "监察人员"


DEPARTMENT_ROLES = {Role.REVIEWER, Role.HEAD}
HALL_ROLES = {Role.CLERK}


class User(AbstractUser):
    role = models.CharField("角色", max_length=20, choices=Role.choices, default=Role.APPLICANT, db_index=True)
    real_name = models.CharField("真实姓名", max_length=50, blank=True)
    id_type = models.CharField("证件类型", max_length=3, choices=IdType.choices, blank=True)
    # Stored once, compact; pages and APIs show id_masked.
    id_number = models.CharField("证件号码", max_length=18, unique=True, null=True, blank=True)
    phone = models.CharField("手机号码", max_length=20, blank=True)
    address = models.CharField("联系地址", max_length=200, blank=True)
    department = models.ForeignKey(
        Department, verbose_name="所属部门", null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    hall = models.ForeignKey(
        Hall, verbose_name="所在大厅", null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.real_name or self.username

    @property
    def id_masked(self) -> str:
        return mask_id_number(self.id_number or "")

    def clean(self):
        super().clean()
        errors = {}
        if self.role in DEPARTMENT_ROLES and not self.department_id:
            errors["department"] = f"{Role(self.role).label}必须指定所属部门"
        if self.role in HALL_ROLES and not self.hall_id:
            errors["hall"] = f"{Role(self.role).label}必须指定所在大厅"
        if self.id_number:
            if not self.id_type:
                errors["id_type"] = "填写证件号码时必须指定证件类型"
            else:
                try:
                    self.id_number = normalize_id_number(id_type=self.id_type, value=self.id_number)
                except ValidationError as error:
                    errors["id_number"] = error.messages
        else:
            self.id_number = None
        if errors:
            raise ValidationError(errors)


class CalendarDay(models.Model):
    """An admin's override of the national calendar for one day: a holiday, or a 调休 make-up workday."""

    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("是否工作日", help_text="勾选：调休上班；不勾选：放假休息")
    note = models.CharField("说明", max_length=100, blank=True)

    class Meta:
        verbose_name = "工作日历调整"
        verbose_name_plural = "工作日历调整"
        ordering = ["date"]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {'上班' if self.is_workday else '休息'}"


class CalendarYear(models.Model):
    """A year whose whole holiday arrangement the admins have entered: its dates are no longer provisional."""

    year = models.PositiveSmallIntegerField("年份", primary_key=True)
    note = models.CharField("依据", max_length=200, blank=True, help_text="例如：国务院办公厅关于2027年部分节假日安排的通知")

    class Meta:
        verbose_name = "已确认的年度工作日历"
        verbose_name_plural = "已确认的年度工作日历"
        ordering = ["year"]

    def __str__(self):
        return f"{self.year} 年"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("审计事件只能追加，不能修改")

    def delete(self):
        raise TypeError("审计事件只能追加，不能删除")


class AuditEvent(models.Model):
    """One link of the append-only audit chain (全程留痕); write it only through portal.audit.audit_record."""

    # Which chain (portal.audit: a department's, the center's, the system's, or the closed main one) and the
    # place in it: unique together (audit_chain_seq_uniq), which also orders verify_audit's walk.
    chain = models.CharField("审计链", max_length=40)
    seq = models.PositiveBigIntegerField("序号")
    at = models.DateTimeField("时间")
    actor = models.ForeignKey(User, verbose_name="操作人", null=True, blank=True, on_delete=models.PROTECT)
    actor_name = models.CharField("操作人姓名", max_length=150, blank=True)
    role = models.CharField("角色", max_length=20, blank=True)
    action = models.CharField("动作", max_length=50)
    object_type = models.CharField("对象类型", max_length=50, blank=True)
    object_id = models.CharField("对象标识", max_length=100, blank=True)
    from_state = models.CharField("原状态", max_length=30, blank=True)
    to_state = models.CharField("新状态", max_length=30, blank=True)
    payload = models.JSONField("内容", default=dict, blank=True)
    prev_hash = models.CharField("前一事件哈希", max_length=64)
    hash = models.CharField("哈希", max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = "审计事件"
        verbose_name_plural = "审计事件"
        ordering = ["id"]  # the order of appending; seq orders only within a chain
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_uniq")]
        # An object's events in the order they happened (a case's span the main chain and its department's).
        indexes = [models.Index(fields=["object_type", "object_id", "id"], name="audit_object_order_idx")]

    def __str__(self):
        return f"{self.chain} #{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("审计事件只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("审计事件只能追加，不能删除")


class AuditChainHead(models.Model):
    """One row per chain: its lock orders that chain's events, its hash catches a cut-off tail."""

    name = models.CharField("审计链", max_length=40, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "审计链头"
        verbose_name_plural = "审计链头"

    def __str__(self):
        return f"{self.name} #{self.last_seq}"


class TimerRun(models.Model):
    """A timer's last run, one row per beat entry (written by the worker, read by the metrics endpoint)."""

    name = models.CharField("定时任务", max_length=60, unique=True)
    runs = models.PositiveIntegerField("运行次数", default=0)
    last_finished_at = models.DateTimeField("最近结束时间")
    last_duration_seconds = models.FloatField("最近耗时（秒）")
    last_succeeded = models.BooleanField("最近一轮成功")
    last_success_at = models.DateTimeField("最近成功时间", null=True, blank=True)

    class Meta:
        verbose_name = "定时任务运行"
        verbose_name_plural = "定时任务运行"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Notification(models.Model):
    """A message to one user: a row first (the inbox), then sent by email/SMS from a task after commit.

    Unsent rows are the outbox: the retry sweep sends whatever a lost broker or a failing gateway left.
    """

    user = models.ForeignKey(User, verbose_name="接收人", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField("类型", max_length=40)
    # The case number, not a foreign key: the infrastructure knows no domain app.
    application = models.CharField("办件编号", max_length=40, blank=True)
    message = models.TextField("内容")
    # The case's contact phone (DESIGN §13): the SMS goes there as well as to the account's phone.
    contact_phone = models.CharField("联系电话", max_length=20, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("发送次数", default=0)
    next_attempt_at = models.DateTimeField("下次发送时间", null=True, blank=True)
    last_error = models.CharField("最近一次错误", max_length=300, blank=True)

    class Meta:
        verbose_name = "通知"
        verbose_name_plural = "通知"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_inbox_idx"),
            models.Index(fields=["next_attempt_at"], name="notification_outbox_idx", condition=models.Q(sent_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.user} {self.kind}"


class SmsPurpose(models.TextChoices):
    REGISTER = "register", "注册"
    LOGIN = "login", "登录"
    RESET = "reset", "找回密码"
    QUERY = "query", "办件查询"
    COMPLAINT = "complaint", "投诉"


class SmsCode(models.Model):
    """The one live SMS verification code of a phone for a purpose (decision 046): a new request replaces it.

    Only an HMAC of the code is stored (keyed with SECRET_KEY): six digits hashed without a secret would be
    read back from a copy of the table in a second.
    """

    phone = models.CharField("手机号码", max_length=11)
    purpose = models.CharField("用途", max_length=10, choices=SmsPurpose.choices)
    code_hash = models.CharField("验证码摘要", max_length=64)
    created_at = models.DateTimeField("发送时间")
    expires_at = models.DateTimeField("失效时间")
    attempts = models.PositiveSmallIntegerField("已尝试次数", default=0)
    used_at = models.DateTimeField("使用时间", null=True, blank=True)

    class Meta:
        verbose_name = "短信验证码"
        verbose_name_plural = "短信验证码"
        constraints = [models.UniqueConstraint(fields=["phone", "purpose"], name="sms_code_one_live_per_purpose")]

    def __str__(self):
        return f"{self.phone} {self.get_purpose_display()}"
