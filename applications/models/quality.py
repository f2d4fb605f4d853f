"""好差评: ratings of a finished case and the rectification (整改) of a 差评 (DESIGN §6)."""



from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from applications.models.case import RATED, Application, State
from portal.models import Department, Hall, User


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
    WINDOW = "window", "大厅窗口评价器"  # the pad at the counter (window_pad)
    KIOSK = "kiosk", "自助终端"
    HOTLINE = "hotline", "12345热线"
    SMS = "sms", "短信"


class RatingStage(models.TextChoices):
    """一次一评 (DESIGN §15): the applicant rates each stage of the case and the staff member who handled it."""

    INTAKE = "intake", "受理环节"
    ISSUANCE = "issuance", "出证环节"


def rating_stage_open(case: Application, stage: str) -> bool:
    """一次一评: the intake stage once the window answered (accepted, or not accepted after referral — a case
    withdrawn after acceptance too); the issuance stage once the result was issued."""
    if stage == RatingStage.INTAKE:
        return case.accepted_at is not None or case.state == State.NOT_ACCEPTED
    return case.state in RATED


class Rating(models.Model):
    """One 好差评 per case and stage, by its applicant (online, on the window's pad, or by an SMS link)."""

    application = models.ForeignKey(Application, verbose_name="办件", on_delete=models.PROTECT, related_name="ratings")
    stage = models.CharField("评价环节", max_length=10, choices=RatingStage.choices, default=RatingStage.ISSUANCE)
    # Who handled that stage: the clerk who accepted (or refused), the custodian who issued.
    staff = models.ForeignKey(User, verbose_name="被评价工作人员", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
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
            # A stage is rated once, whatever the channel: a second click, a second pad, a reused SMS link.
            models.UniqueConstraint(fields=["application", "stage"], name="rating_once_per_stage"),
        ]

    def __str__(self):
        return f"{self.application_id} {self.get_score_display()}"


class RectificationState(models.TextChoices):
    PENDING = "pending", "待整改"
    IN_PROGRESS = "in_progress", "整改中"
    # The department says it is done; it counts as closed only once a supervisor confirms it (复核, DESIGN §15).
    REVIEW = "review", "已整改待复核"
    DONE = "done", "已整改（复核通过）"
    IMPOSSIBLE = "impossible", "无法整改"
    INVALID = "invalid", "无效评价"


OPEN_RECTIFICATION = [RectificationState.PENDING, RectificationState.IN_PROGRESS, RectificationState.REVIEW]
# The rater may appeal (申诉) once against these outcomes; the rectification opens again.
APPEALABLE = [RectificationState.DONE, RectificationState.IMPOSSIBLE]


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
    # 回访: the department contacts the rater before rectifying (DESIGN §15).
    callback_note = models.CharField("回访情况", max_length=500, blank=True)
    callback_at = models.DateTimeField("回访时间", null=True, blank=True)
    # 复核: a supervisor confirms the rectification, or sends it back with why.
    reviewed_by = models.ForeignKey(User, verbose_name="复核人", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField("复核时间", null=True, blank=True)
    review_note = models.CharField("复核意见", max_length=500, blank=True)
    # 申诉: once, by the rater, against the outcome.
    appeal_reason = models.CharField("申诉理由", max_length=500, blank=True)
    appealed_at = models.DateTimeField("申诉时间", null=True, blank=True)

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

    @transition(field=state, source=RectificationState.IN_PROGRESS, target=RectificationState.REVIEW)
    def complete(self):
        pass

    @transition(field=state, source=RectificationState.REVIEW, target=RectificationState.DONE)
    def confirm(self):
        pass

    @transition(field=state, source=RectificationState.REVIEW, target=RectificationState.IN_PROGRESS)
    def send_back(self):
        pass

    @transition(field=state, source=APPEALABLE, target=RectificationState.IN_PROGRESS)
    def appeal(self):
        pass

    @transition(field=state, source=RectificationState.IN_PROGRESS, target=RectificationState.IMPOSSIBLE)
    def declare_impossible(self):
        pass

    @transition(field=state, source=OPEN_RECTIFICATION, target=RectificationState.INVALID)
    def invalidate(self):
        pass


