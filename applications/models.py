"""The case (办件) and what hangs off it. FSM transitions here only change the model; services do the rest."""

import uuid
from datetime import datetime

from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from items.models import ItemVersion, MaterialRequirement
from portal.models import Department, Hall, User


class State(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已提交待受理"
    PENDING_MATERIALS = "pending_materials", "待补正材料"
    ACCEPTED = "accepted", "已受理"
    REFERRED = "referred", "已转部门研判"
    NOT_ACCEPTED = "not_accepted", "不予受理"
    IN_REVIEW = "in_review", "审查中"
    SUSPENDED = "suspended", "已中止计时"
    APPROVED = "approved", "准予许可"
    REJECTED = "rejected", "不予许可"
    ISSUED = "issued", "已出证"
    DELIVERED = "delivered", "已送达"
    WITHDRAWN = "withdrawn", "已撤回"


# Before a decision the applicant may withdraw (DESIGN §5 "any state before a decision").
WITHDRAWABLE = [
    State.DRAFT,
    State.SUBMITTED,
    State.PENDING_MATERIALS,
    State.ACCEPTED,
    State.REFERRED,
    State.IN_REVIEW,
    State.SUSPENDED,
]
# The clock runs in these states (alert levels apply).
RUNNING = [State.ACCEPTED, State.IN_REVIEW]
# The department has decided (the center may issue; custodians see these).
DECIDED = [State.APPROVED, State.REJECTED, State.ISSUED, State.DELIVERED]
# Nothing more happens to the case; a bundle is done when every child is (DESIGN §4). A rejected case is
# finished once its decision letter is delivered.
FINISHED = {State.DELIVERED, State.NOT_ACCEPTED, State.WITHDRAWN}
# Still with the window (a bundle's children are accepted together from these).
INTAKE = {State.DRAFT, State.SUBMITTED, State.PENDING_MATERIALS, State.REFERRED}
# The applicant may rate the service once the result is out (好差评).
RATED = [State.ISSUED, State.DELIVERED]


class Channel(models.TextChoices):
    ONLINE = "online", "网上申请"
    WINDOW = "window", "窗口受理"
    MAIL = "mail", "邮寄申请"


class MaterialState(models.TextChoices):
    """Where a case stands on one material requirement: one vocabulary for the pages, the API and the documents."""

    UPLOADED = "uploaded", "已上传"
    SATISFIED = "satisfied", "免交（已有电子证照）"
    DEFERRABLE = "deferrable", "容缺后补"
    MISSING = "missing", "未上传"
    OPTIONAL = "optional", "选交"

    @property
    def document_wording(self) -> str:
        """How the intake documents (受理通知书) say it: what was handed in, not how."""
        return {"uploaded": "已提交", "missing": "未提交"}.get(self.value, self.label)


class Outcome(models.TextChoices):
    """The department's decision on a case."""

    APPROVED = "approved", "准予许可"
    REJECTED = "rejected", "不予许可"


class ReferralOutcome(models.TextChoices):
    """The department head's answer to a referral from the window."""

    RETURNED = "returned", "退回窗口受理"
    DECLINED = "declined", "不予受理"


class DeliveryMethod(models.TextChoices):
    PICKUP = "pickup", "窗口领取"
    MAIL = "mail", "邮寄送达"
    DOWNLOAD = "download", "网上下载"


class AlertLevel(models.TextChoices):
    GREEN = "green", "正常"
    YELLOW = "yellow", "预警"
    RED = "red", "今日到期"
    OVERDUE = "overdue", "已超期"


class ApplicationQuerySet(models.QuerySet):
    def update(self, **kwargs):
        # `state` is protected: only a transition in a service may change it.
        if "state" in kwargs:
            raise TypeError("办件状态只能通过业务服务变更")
        return super().update(**kwargs)


class Application(ConcurrentTransitionMixin, models.Model):
    # Unique by a constraint, not `unique=True`: that would add a second (LIKE pattern) index on PostgreSQL,
    # which nothing searches by and every insert would maintain.
    number = models.CharField("办件编号", max_length=40)
    # Indexed by app_version_worklist_idx (item_version, state, department, due_date), which also serves
    # item_version alone.
    item_version = models.ForeignKey(ItemVersion, verbose_name="事项版本", on_delete=models.PROTECT, related_name="+",
                                     db_index=False)
    # Denormalised from the pinned version for the lists that filter by them.
    # Indexed by app_dept_worklist_idx (department, state, due_date), which also serves department alone.
    department = models.ForeignKey(Department, verbose_name="实施部门", on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    hall = models.ForeignKey(Hall, verbose_name="受理大厅", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField("申请渠道", max_length=10, choices=Channel.choices)
    state = FSMField("状态", default=State.DRAFT, choices=State.choices, protected=True)

    # Indexed by app_applicant_idx (applicant, -created_at), which also serves applicant alone.
    applicant = models.ForeignKey(User, verbose_name="申请人账号", on_delete=models.PROTECT, related_name="applications",
                                  db_index=False)
    # A snapshot as declared on the application: the account's name may change later.
    applicant_name = models.CharField("申请人", max_length=100)
    applicant_id_type = models.CharField("证件类型", max_length=3)
    applicant_id_number = models.CharField("证件号码", max_length=18)
    # Contact data: the applicant and the window see it; reviewers never do (受审分离).
    contact_phone = models.CharField("联系电话", max_length=20, blank=True)
    contact_address = models.CharField("联系地址", max_length=200, blank=True)
    form_data = models.JSONField("申请表内容", default=dict, blank=True)

    # Not indexed (nor accepted_by, decided_by): nothing lists cases by them, and every write of this
    # 2-million-row table would maintain the index; deleting a user (PROTECT) scans instead, once.
    created_by = models.ForeignKey(User, verbose_name="登记人", on_delete=models.PROTECT, related_name="+", db_index=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    accepted_at = models.DateTimeField("受理时间", null=True, blank=True)
    accepted_by = models.ForeignKey(User, verbose_name="受理人", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                    db_index=False)
    deemed_accepted = models.BooleanField("视为受理", default=False)
    due_date = models.DateField("承诺办结日期", null=True, blank=True)
    due_date_provisional = models.BooleanField("办结日期为预计", default=False)
    alert_level = models.CharField("预警级别", max_length=10, choices=AlertLevel.choices, blank=True)
    # Indexed by app_reviewer_worklist_idx (reviewer, state, department, due_date), which also serves reviewer alone.
    reviewer = models.ForeignKey(User, verbose_name="审查人", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 db_index=False)
    decided_at = models.DateTimeField("决定时间", null=True, blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    visits = models.PositiveSmallIntegerField("跑动次数", default=0)
    # The day the alert level will next change; the deadline sweep reads only cases whose day has come.
    next_alert_on = models.DateField("预警级别下次变化日", null=True, blank=True)
    extended_days = models.PositiveSmallIntegerField("延长工作日数", default=0)
    extension_reason = models.CharField("延长理由", max_length=500, blank=True)
    decision_opinion = models.TextField("审查意见", blank=True)
    decision_legal_basis = models.TextField("决定依据", blank=True)
    # approved / rejected: kept after the case moves on to issued and delivered.
    outcome = models.CharField("办理结果", max_length=20, choices=Outcome.choices, blank=True)
    decided_by = models.ForeignKey(User, verbose_name="决定人", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    # 照面信息 the reviewer confirmed at approval: what the e-certificate will say.
    face_data = models.JSONField("照面信息", default=dict, blank=True)
    # Issuance runs in a task: the case shows 制证中 until the sealed PDF exists.
    issuing = models.BooleanField("制证中", default=False)
    issued_at = models.DateTimeField("出证时间", null=True, blank=True)
    certificate_identifier = models.CharField("电子证照标识", max_length=120, blank=True)
    delivery_method = models.CharField("送达方式", max_length=10, blank=True)
    tracking_number = models.CharField("快递单号", max_length=40, blank=True)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)
    # 一件事一次办 (applications/bundles.py, docs/decisions/020-bundles.md): a bundle's parent case has
    # `bundle_code` and no parent; each member item's case points at it.
    parent = models.ForeignKey(
        "self", verbose_name="一件事主办件", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        db_index=False,  # app_parent_idx covers only the few cases that have a parent
    )
    bundle_code = models.CharField("一件事编码", max_length=36, blank=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = "办件"
        verbose_name_plural = "办件"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["number"], name="application_number_unique")]
        indexes = [
            models.Index(fields=["applicant", "-created_at"], name="app_applicant_idx"),
            # The work list (applications.selectors.ByDueDate): each arm is one range of one of these.
            models.Index(fields=["department", "state", "due_date"], name="app_dept_worklist_idx"),
            models.Index(fields=["department", "state", "alert_level", "due_date"], name="app_dept_alert_idx"),
            # department too: the work list filters by it, and a count then reads the index alone.
            models.Index(fields=["reviewer", "state", "department", "due_date"], name="app_reviewer_worklist_idx"),
            models.Index(fields=["item_version", "state", "department", "due_date"], name="app_version_worklist_idx"),
            models.Index(fields=["parent"], name="app_parent_idx", condition=models.Q(parent__isnull=False)),
            models.Index(fields=["state", "submitted_at"], name="app_state_submitted_idx"),
            models.Index(
                fields=["next_alert_on"], name="app_alert_due_idx",
                condition=models.Q(state__in=["accepted", "in_review"]),
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def item(self):
        return self.item_version.item

    @property
    def is_bundle_parent(self) -> bool:
        return bool(self.bundle_code) and self.parent_id is None

    @property
    def suspended(self) -> bool:
        return self.state == State.SUSPENDED

    # --- intake (DESIGN §5) -------------------------------------------------------------------
    @transition(field=state, source=State.DRAFT, target=State.SUBMITTED)
    def submit(self):
        pass

    @transition(field=state, source=State.SUBMITTED, target=State.PENDING_MATERIALS)
    def request_materials(self):
        pass

    @transition(field=state, source=State.PENDING_MATERIALS, target=State.SUBMITTED)
    def resubmit(self):
        pass

    @transition(field=state, source=[State.DRAFT, State.SUBMITTED], target=State.ACCEPTED)
    def accept(self):
        pass

    @transition(field=state, source=State.SUBMITTED, target=State.ACCEPTED)
    def deem_accept(self):
        pass

    @transition(field=state, source=State.SUBMITTED, target=State.REFERRED)
    def refer(self):
        pass

    @transition(field=state, source=State.REFERRED, target=State.SUBMITTED)
    def return_to_window(self):
        pass

    @transition(field=state, source=State.REFERRED, target=State.NOT_ACCEPTED)
    def decline(self):
        pass

    @transition(field=state, source=WITHDRAWABLE, target=State.WITHDRAWN)
    def withdraw(self):
        pass

    # --- review ---------------------------------------------------------------------------------
    @transition(field=state, source=State.ACCEPTED, target=State.IN_REVIEW)
    def claim(self):
        pass

    @transition(field=state, source=State.IN_REVIEW, target=State.SUSPENDED)
    def suspend(self):
        pass

    @transition(field=state, source=State.SUSPENDED, target=State.IN_REVIEW)
    def resume(self):
        pass

    @transition(field=state, source=State.IN_REVIEW, target=State.APPROVED)
    def approve(self):
        pass

    @transition(field=state, source=State.IN_REVIEW, target=State.REJECTED)
    def reject(self):
        pass

    # --- issuance and delivery ------------------------------------------------------------------
    @transition(field=state, source=[State.APPROVED, State.REJECTED], target=State.ISSUED)
    def issue(self):
        pass

    @transition(field=state, source=State.ISSUED, target=State.DELIVERED)
    def deliver(self):
        pass


class SuspensionKind(models.TextChoices):
    # 行政许可法 第四十五条: time for these does not count toward the limit.
    SUPPLEMENT = "supplement", "补正材料"
    SITE_INSPECTION = "site_inspection", "现场勘验"
    HEARING = "hearing", "听证"
    EXPERT_REVIEW = "expert_review", "专家评审"
    TESTING = "testing", "检验检测"


class Suspension(models.Model):
    """A stop of the clock: from the suspend day (counted) to the resume day (not counted)."""

    application = models.ForeignKey(Application, verbose_name="办件", on_delete=models.PROTECT, related_name="suspensions")
    kind = models.CharField("中止类型", max_length=20, choices=SuspensionKind.choices)
    reason = models.CharField("中止理由", max_length=500)
    started_on = models.DateField("开始日")
    ended_on = models.DateField("结束日", null=True, blank=True)
    working_days = models.PositiveSmallIntegerField("中止工作日数", default=0)
    started_by = models.ForeignKey(User, verbose_name="中止人", on_delete=models.PROTECT, related_name="+")
    ended_by = models.ForeignKey(User, verbose_name="恢复人", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "中止计时"
        verbose_name_plural = "中止计时"
        ordering = ["application_id", "started_on", "id"]


def material_upload_to(instance, filename):
    # A random name: the applicant's file name never reaches the file system.
    return f"materials/{instance.application_id}/{uuid.uuid4().hex}"


class Material(models.Model):
    """One uploaded file for one requirement. Replacing adds a version; nothing is ever deleted."""

    application = models.ForeignKey(Application, verbose_name="办件", on_delete=models.PROTECT, related_name="materials")
    requirement = models.ForeignKey(MaterialRequirement, verbose_name="材料要求", on_delete=models.PROTECT, related_name="+")
    version = models.PositiveSmallIntegerField("版本", default=1)
    file = models.FileField("文件", upload_to=material_upload_to, max_length=200)
    original_name = models.CharField("原文件名", max_length=200)
    content_type = models.CharField("文件类型", max_length=50)
    size = models.PositiveIntegerField("大小（字节）")
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(User, verbose_name="上传人", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "申请材料"
        verbose_name_plural = "申请材料"
        ordering = ["requirement_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["application", "requirement", "version"], name="material_version_unique")
        ]

    def __str__(self):
        return f"{self.original_name} v{self.version}"


class Notice(models.Model):
    """A one-time notice (一次性告知) listing every deficiency at once."""

    application = models.ForeignKey(Application, verbose_name="办件", on_delete=models.PROTECT, related_name="notices")
    sequence = models.PositiveSmallIntegerField("第几次告知")
    issued_by = models.ForeignKey(User, verbose_name="告知人", on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField("告知时间", auto_now_add=True)
    resolved_at = models.DateTimeField("补正时间", null=True, blank=True)

    class Meta:
        verbose_name = "一次性告知"
        verbose_name_plural = "一次性告知"
        ordering = ["application_id", "sequence"]
        constraints = [models.UniqueConstraint(fields=["application", "sequence"], name="notice_sequence_unique")]


class Deficiency(models.Model):
    notice = models.ForeignKey(Notice, verbose_name="告知书", on_delete=models.PROTECT, related_name="deficiencies")
    requirement = models.ForeignKey(MaterialRequirement, verbose_name="材料要求", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("补正原因", max_length=300)

    class Meta:
        verbose_name = "补正事项"
        verbose_name_plural = "补正事项"
        ordering = ["notice_id", "id"]


class Document(models.Model):
    """An official document of the case (受理通知书 …): a frozen snapshot, rendered to PDF on demand."""

    application = models.ForeignKey(Application, verbose_name="办件", on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField("文书类型", max_length=30)
    serial = models.CharField("文书编号", max_length=60, unique=True)
    context = models.JSONField("文书内容")
    pdf = models.FileField("PDF", upload_to="documents/", max_length=200, blank=True)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = "办件文书"
        verbose_name_plural = "办件文书"
        ordering = ["application_id", "created_at"]


class Referral(models.Model):
    """A clerk's doubt sent to the department (the window has no veto) and the head's answer."""

    application = models.ForeignKey(Application, verbose_name="办件", on_delete=models.PROTECT, related_name="referrals")
    reason = models.CharField("转办原因", max_length=500)
    referred_by = models.ForeignKey(User, verbose_name="转办人", on_delete=models.PROTECT, related_name="+")
    referred_at = models.DateTimeField("转办时间", auto_now_add=True)
    outcome = models.CharField("研判结果", max_length=20, choices=ReferralOutcome.choices, blank=True)
    answer = models.CharField("研判意见", max_length=500, blank=True)
    legal_basis = models.CharField("法律依据", max_length=500, blank=True)
    answered_by = models.ForeignKey(User, verbose_name="研判人", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField("研判时间", null=True, blank=True)

    class Meta:
        verbose_name = "转部门研判"
        verbose_name_plural = "转部门研判"
        ordering = ["application_id", "referred_at"]


class NumberSequence(models.Model):
    """Daily sequence per hall (or NET): `{prefix}-{yyyymmdd}-{000001}`; the row lock hands out each number once."""

    prefix = models.CharField(max_length=32)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "day"], name="number_sequence_unique")]


# =====================================================================================================
# Service quality and the hall (DESIGN §6): 好差评 ratings and their rectification, the hall queue,
# appointments. Appended as one section; the case above is untouched.
# =====================================================================================================


class Score(models.IntegerChoices):
    # GB/T 39046-2020 A.8 评价等级: 1 is the best, 5 the worst.
    VERY_SATISFIED = 1, "非常满意"
    SATISFIED = 2, "满意"
    BASICALLY_SATISFIED = 3, "基本满意"
    DISSATISFIED = 4, "不满意"
    VERY_DISSATISFIED = 5, "非常不满意"


# 4 and 5 are 差评: each opens a rectification and needs a comment saying what went wrong.
POOR_SCORES = (Score.DISSATISFIED, Score.VERY_DISSATISFIED)


class RatingChannel(models.TextChoices):
    # The 好差评 channels of 国办发〔2019〕51号: web, app, hall device, hotline, SMS.
    PC = "pc", "政务服务网（PC端）"
    MOBILE = "mobile", "移动端"
    WINDOW = "window", "大厅窗口评价器"
    KIOSK = "kiosk", "自助终端"
    HOTLINE = "hotline", "12345热线"
    SMS = "sms", "短信"


class Rating(models.Model):
    """One 好差评 per case, by its applicant, after the result was issued."""

    application = models.OneToOneField(Application, verbose_name="办件", on_delete=models.PROTECT, related_name="rating")
    # Denormalised from the case for the statistics, which filter by them without a join.
    department = models.ForeignKey(Department, verbose_name="实施部门", on_delete=models.PROTECT, related_name="+")
    hall = models.ForeignKey(Hall, verbose_name="受理大厅", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField("评价等级", choices=Score.choices)
    comment = models.TextField("评价内容", blank=True)
    channel = models.CharField("评价渠道", max_length=10, choices=RatingChannel.choices, default=RatingChannel.PC)
    rated_by = models.ForeignKey(User, verbose_name="评价人", on_delete=models.PROTECT, related_name="+")
    rated_at = models.DateTimeField("评价时间")
    # A supervisor judged the 差评 invalid (恶意或与办件无关): it no longer counts in the satisfaction rate.
    invalid = models.BooleanField("无效评价", default=False)

    class Meta:
        verbose_name = "好差评"
        verbose_name_plural = "好差评"
        ordering = ["-rated_at"]
        indexes = [models.Index(fields=["rated_at"], name="rating_rated_at_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="rating_score_range"),
        ]

    def __str__(self):
        return f"{self.application_id} {self.get_score_display()}"


class RectificationState(models.TextChoices):
    PENDING = "pending", "待整改"
    IN_PROGRESS = "in_progress", "整改中"
    DONE = "done", "已整改"
    IMPOSSIBLE = "impossible", "无法整改"
    INVALID = "invalid", "无效评价"


OPEN_RECTIFICATION = [RectificationState.PENDING, RectificationState.IN_PROGRESS]


class Rectification(ConcurrentTransitionMixin, models.Model):
    """差评整改: the department answers a 4/5 rating within 10 working days, or a supervisor judges it invalid."""

    rating = models.OneToOneField(Rating, verbose_name="差评", on_delete=models.PROTECT, related_name="rectification")
    application = models.ForeignKey(Application, verbose_name="办件", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, verbose_name="整改部门", on_delete=models.PROTECT, related_name="+")
    state = FSMField("状态", default=RectificationState.PENDING, choices=RectificationState.choices, protected=True)
    opened_at = models.DateTimeField("立案时间")
    due_date = models.DateField("整改期限")
    due_date_provisional = models.BooleanField("期限为预计", default=False)
    started_at = models.DateTimeField("开始整改时间", null=True, blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    handled_by = models.ForeignKey(User, verbose_name="整改负责人", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.TextField("整改说明", blank=True)
    judged_by = models.ForeignKey(User, verbose_name="判定人", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    invalid_reason = models.CharField("无效理由", max_length=500, blank=True)
    # Set once by the timer when the due date passed with the rectification still open.
    overdue = models.BooleanField("已超期", default=False)
    flagged_at = models.DateTimeField("超期标记时间", null=True, blank=True)

    class Meta:
        verbose_name = "差评整改"
        verbose_name_plural = "差评整改"
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["department", "state", "due_date"], name="rectification_dept_idx"),
            # The overdue timer reads only open, not yet flagged rows.
            models.Index(fields=["due_date"], name="rectification_overdue_idx",
                         condition=models.Q(overdue=False, state__in=["pending", "in_progress"])),
        ]

    def __str__(self):
        return f"{self.application_id} {self.get_state_display()}"

    @transition(field=state, source=RectificationState.PENDING, target=RectificationState.IN_PROGRESS)
    def start(self):
        pass

    @transition(field=state, source=RectificationState.IN_PROGRESS, target=RectificationState.DONE)
    def complete(self):
        pass

    @transition(field=state, source=RectificationState.IN_PROGRESS, target=RectificationState.IMPOSSIBLE)
    def declare_impossible(self):
        pass

    @transition(field=state, source=OPEN_RECTIFICATION, target=RectificationState.INVALID)
    def invalidate(self):
        pass


class Ticket(models.Model):
    """A queue number of one hall on one day: A001, A002 …; called by a window, the wait is kept."""

    hall = models.ForeignKey(Hall, verbose_name="大厅", on_delete=models.PROTECT, related_name="+")
    day = models.DateField("日期")
    sequence = models.PositiveIntegerField("当日序号")
    number = models.CharField("号码", max_length=10)
    item = models.ForeignKey("items.Item", verbose_name="办理事项", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    taken_by = models.ForeignKey(User, verbose_name="取号人", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField("取号时间")
    called_at = models.DateTimeField("叫号时间", null=True, blank=True)
    window = models.PositiveSmallIntegerField("窗口号", null=True, blank=True)
    called_by = models.ForeignKey(User, verbose_name="叫号人", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # called_at − issued_at, kept so the statistics average a column instead of subtracting per row.
    wait_seconds = models.PositiveIntegerField("等候时长（秒）", null=True, blank=True)

    class Meta:
        verbose_name = "排队号"
        verbose_name_plural = "排队号"
        ordering = ["hall_id", "day", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["hall", "day", "number"], name="ticket_number_unique"),
        ]
        indexes = [
            # The next ticket to call: the oldest waiting one of the hall today.
            models.Index(fields=["hall", "day", "sequence"], name="ticket_waiting_idx", condition=models.Q(called_at__isnull=True)),
            models.Index(fields=["hall", "called_at"], name="ticket_called_idx"),
            models.Index(fields=["called_at"], name="ticket_called_at_idx"),
        ]

    def __str__(self):
        return f"{self.hall_id} {self.day} {self.number}"


class AppointmentSlot(models.Model):
    """A bookable period of one hall on one day; `booked` only changes under the row lock."""

    hall = models.ForeignKey(Hall, verbose_name="大厅", on_delete=models.PROTECT, related_name="+")
    date = models.DateField("日期")
    start = models.TimeField("开始时间")
    end = models.TimeField("结束时间")
    capacity = models.PositiveSmallIntegerField("可预约人数")
    booked = models.PositiveSmallIntegerField("已预约人数", default=0)

    class Meta:
        verbose_name = "预约时段"
        verbose_name_plural = "预约时段"
        ordering = ["hall_id", "date", "start"]
        constraints = [
            models.UniqueConstraint(fields=["hall", "date", "start"], name="slot_unique"),
            # The last line of defence against overbooking; the service checks under the lock first.
            models.CheckConstraint(condition=models.Q(booked__lte=models.F("capacity")), name="slot_not_overbooked"),
            models.CheckConstraint(condition=models.Q(start__lt=models.F("end")), name="slot_start_before_end"),
        ]

    def __str__(self):
        return f"{self.hall_id} {self.date} {self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)

    @property
    def starts_at(self) -> datetime:
        """The slot's start as a moment (the hall's local time, TIME_ZONE): what the API shows as RFC 3339."""
        return timezone.make_aware(datetime.combine(self.date, self.start))

    @property
    def ends_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.date, self.end))


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "已预约"
    CANCELLED = "cancelled", "已取消"
    ARRIVED = "arrived", "已到厅取号"


class Appointment(models.Model):
    slot = models.ForeignKey(AppointmentSlot, verbose_name="预约时段", on_delete=models.PROTECT, related_name="appointments")
    user = models.ForeignKey(User, verbose_name="预约人", on_delete=models.PROTECT, related_name="appointments")
    item = models.ForeignKey("items.Item", verbose_name="办理事项", on_delete=models.PROTECT, related_name="+")
    status = models.CharField("状态", max_length=10, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    booked_at = models.DateTimeField("预约时间")
    cancelled_at = models.DateTimeField("取消时间", null=True, blank=True)
    arrived_at = models.DateTimeField("到厅时间", null=True, blank=True)
    ticket = models.OneToOneField(Ticket, verbose_name="排队号", null=True, blank=True, on_delete=models.PROTECT, related_name="appointment")

    class Meta:
        verbose_name = "预约"
        verbose_name_plural = "预约"
        ordering = ["-booked_at"]
        indexes = [models.Index(fields=["user", "-booked_at"], name="appointment_user_idx")]
        constraints = [
            # One live booking per person and slot.
            models.UniqueConstraint(fields=["slot", "user"], condition=models.Q(status="booked"), name="appointment_one_per_slot"),
        ]

    def __str__(self):
        return f"{self.user_id} {self.slot}"


# --- statistics rolled up per day (DESIGN §6, §12; docs/decisions/030-statistics-rollup.md) -------------------


class StatDay(models.Model):
    """A day whose figures are rolled up: its DayStat/TicketDayStat rows are complete (or complete up to
    `until`). A day without this row (a day not yet rolled up, a past day a later change touched) is
    counted from the records."""

    day = models.DateField("日期", unique=True)
    built_at = models.DateTimeField("汇总时间")
    # Empty: the whole day is rolled up. Else only what happened before this moment (today, rolled up every
    # ten minutes; the rest of the day is counted from the records until the nightly rollup completes it).
    until = models.DateTimeField("汇总截至", null=True, blank=True)

    class Meta:
        verbose_name = "已汇总统计日"
        verbose_name_plural = "已汇总统计日"
        ordering = ["day"]

    def __str__(self):
        return f"{self.day}"


class DayStat(models.Model):
    """One day's case and rating counts of one department in one hall (hall empty: online, not at a window).

    Each measure counts by its own timestamp: received/online by submission, accepted by acceptance,
    decided/on_time/timed/working_days by decision, closed/one_visit/zero_visit by issue, ratings/satisfied
    by rating (valid ratings only)."""

    day = models.DateField("日期")
    department = models.ForeignKey(Department, verbose_name="部门", on_delete=models.CASCADE, related_name="+")
    hall = models.ForeignKey(Hall, verbose_name="大厅", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    received = models.PositiveIntegerField("收件", default=0)
    online = models.PositiveIntegerField("网上收件", default=0)
    accepted = models.PositiveIntegerField("受理", default=0)
    decided = models.PositiveIntegerField("办结决定", default=0)
    on_time = models.PositiveIntegerField("按时决定", default=0)
    timed = models.PositiveIntegerField("计时决定", default=0)
    working_days = models.PositiveIntegerField("决定用时（工作日合计）", default=0)
    closed = models.PositiveIntegerField("出证", default=0)
    one_visit = models.PositiveIntegerField("最多跑一次", default=0)
    zero_visit = models.PositiveIntegerField("零跑动", default=0)
    ratings = models.PositiveIntegerField("评价", default=0)
    satisfied = models.PositiveIntegerField("满意评价", default=0)

    class Meta:
        verbose_name = "日统计"
        verbose_name_plural = "日统计"
        indexes = [
            models.Index(fields=["day"], name="daystat_day_idx"),
            models.Index(fields=["department", "day"], name="daystat_department_idx"),
        ]


class TicketDayStat(models.Model):
    """One day's called queue tickets of one hall and their summed wait."""

    day = models.DateField("日期")
    hall = models.ForeignKey(Hall, verbose_name="大厅", on_delete=models.CASCADE, related_name="+")
    called = models.PositiveIntegerField("叫号数", default=0)
    wait_seconds = models.BigIntegerField("等候合计（秒）", default=0)

    class Meta:
        verbose_name = "日叫号统计"
        verbose_name_plural = "日叫号统计"
        indexes = [models.Index(fields=["day", "hall"], name="ticketdaystat_day_idx")]
