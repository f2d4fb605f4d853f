"""The case (办件) and what hangs off it: its states, materials, notices, suspensions, documents and
referrals. FSM transitions here only change the model; services do the rest."""


import uuid

from django.db import models
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
    COMMITTED = "committed", "告知承诺"
    DEFERRABLE = "deferrable", "容缺后补"
    MISSING = "missing", "未上传"
    OPTIONAL = "optional", "选交"

    @property
    def document_wording(self) -> str:
        """How the intake documents (受理通知书) say it: what was handed in, not how."""
        return {"uploaded": "已提交", "missing": "未提交", "committed": "以告知承诺代替"}.get(self.value, self.label)


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


def handed_in(case: "Application") -> bool:
    """The window holds the case's materials: any case once submitted, and a walk-in's draft (registered at the
    window). A citizen's online draft is theirs until they submit it: no notice, no referral."""
    return case.state != State.DRAFT or case.channel != Channel.ONLINE


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
    # Applying as an organisation (DESIGN §13): the applicant below is the organisation (id_type 001) and
    # `applicant` is the agent's account; every current agent of the organisation sees the case.
    organisation = models.ForeignKey("organisations.Organisation", verbose_name="申请单位", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="applications", db_index=False)
    # 代办/委托: the natural person the account applies for; the applicant below is this principal, who sees
    # the case once registered (the row is their walk-in identity until they claim it).
    principal = models.ForeignKey(User, verbose_name="委托人", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", db_index=False)
    # 帮办: the hall staff member who helped the applicant fill in and submit.
    assisted_by = models.ForeignKey(User, verbose_name="帮办人员", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", db_index=False)
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
    # 一件事一次办 (applications/services/bundles.py, docs/decisions/020-bundles.md): a bundle's parent case has
    # `bundle_code` and no parent; each member item's case points at it.
    parent = models.ForeignKey(
        "self", verbose_name="一件事主办件", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        db_index=False,  # app_parent_idx covers only the few cases that have a parent
    )
    bundle_code = models.CharField("一件事编码", max_length=36, blank=True)
    # Licence lifecycle (DESIGN §14): the certificate a renew/change/replace/cancel case is about.
    held_certificate = models.ForeignKey(
        "certificates.Certificate", verbose_name="所涉证照", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_index=False,  # app_held_certificate_idx covers only the cases that name one
    )
    # 容缺受理: the day the deferred materials are due (None when nothing was deferred or all came in), when
    # the applicant was reminded, and whether the day passed with something still missing.
    deferral_due = models.DateField("容缺材料补齐期限", null=True, blank=True)
    deferral_reminded_at = models.DateTimeField("容缺补齐提醒时间", null=True, blank=True)
    deferral_lapsed = models.BooleanField("容缺逾期未补", default=False)
    # Working days the clock stood still (第四十五条), summed at each resume: approval time leaves them out.
    suspended_days = models.PositiveSmallIntegerField("中止计时工作日数", default=0)

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
            models.Index(fields=["organisation", "-created_at"], name="app_organisation_idx",
                         condition=models.Q(organisation__isnull=False)),
            models.Index(fields=["principal", "-created_at"], name="app_principal_idx",
                         condition=models.Q(principal__isnull=False)),
            models.Index(fields=["state", "submitted_at"], name="app_state_submitted_idx"),
            models.Index(fields=["held_certificate"], name="app_held_certificate_idx",
                         condition=models.Q(held_certificate__isnull=False)),
            # the deferral sweep reads only cases with deferred materials still due
            models.Index(fields=["deferral_due"], name="app_deferral_due_idx", condition=models.Q(deferral_due__isnull=False)),
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

    # A walk-in's draft is in the window's hands (its materials handed in at the counter): it gets the
    # one-time notice and the referral as an online case gets them once submitted (DESIGN §14).
    @transition(field=state, source=[State.DRAFT, State.SUBMITTED], target=State.PENDING_MATERIALS, conditions=[handed_in])
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

    @transition(field=state, source=[State.DRAFT, State.SUBMITTED], target=State.REFERRED, conditions=[handed_in])
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
    # Of the sealed PDF (intake documents carry the center's 政务服务专用章, DESIGN §14).
    sha256 = models.CharField("文书 SHA-256", max_length=64, blank=True)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = "办件文书"
        verbose_name_plural = "办件文书"
        ordering = ["application_id", "created_at"]


class CommitmentOutcome(models.TextChoices):
    CONFIRMED = "confirmed", "核查属实"
    FALSE = "false", "承诺不实"


class Commitment(models.Model):
    """告知承诺制 (DESIGN §14): the applicant's signed 承诺书 in place of named materials, and the department's
    verification after approval, due `verification_due`."""

    application = models.OneToOneField(Application, verbose_name="办件", on_delete=models.PROTECT, related_name="commitment")
    # Denormalised from the case for the department's verification list.
    department = models.ForeignKey(Department, verbose_name="核查部门", on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    requirements = models.ManyToManyField(MaterialRequirement, verbose_name="承诺代替的材料", related_name="+")
    text = models.TextField("承诺内容")
    signed_by = models.ForeignKey(User, verbose_name="承诺人账号", on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField("承诺时间", auto_now_add=True)
    verification_due = models.DateField("核查期限", null=True, blank=True)
    outcome = models.CharField("核查结果", max_length=10, choices=CommitmentOutcome.choices, blank=True)
    note = models.CharField("核查说明", max_length=500, blank=True)
    verified_by = models.ForeignKey(User, verbose_name="核查人", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    verified_at = models.DateTimeField("核查时间", null=True, blank=True)

    class Meta:
        verbose_name = "告知承诺"
        verbose_name_plural = "告知承诺"
        indexes = [
            # the department's open verification tasks, soonest due first
            models.Index(fields=["department", "verification_due"], name="commitment_open_idx",
                         condition=models.Q(outcome="", verification_due__isnull=False)),
        ]


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


