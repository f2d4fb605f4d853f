"""投诉 (DESIGN §15): a complaint about a case or a department, answered by the department within working days
on the same timer and review machinery as a 差评's rectification (decision 059)."""

from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from applications.models.case import Application
from items.models import Item
from portal.models import Department, User

CONTENT_MAX_LENGTH = 2000
NOTE_MAX_LENGTH = 500


class ComplaintCategory(models.TextChoices):
    ATTITUDE = "attitude", "服务态度"
    EFFICIENCY = "efficiency", "办事效率"
    MATERIALS = "materials", "材料要求"
    POLICY = "policy", "政策执行"
    OTHER = "other", "其他"


class ComplaintState(models.TextChoices):
    OPEN = "open", "待处理"
    IN_PROGRESS = "in_progress", "处理中"
    ANSWERED = "answered", "已答复"
    # 不满意 with the answer: once, a supervisor looks again (复核) before it closes.
    REVIEW = "review", "复核中"
    CLOSED = "closed", "已办结"


class ComplaintVerdict(models.TextChoices):
    """The complainant's word on the answer."""

    SATISFIED = "satisfied", "满意"
    BASICALLY_SATISFIED = "basic", "基本满意"
    DISSATISFIED = "dissatisfied", "不满意"


# Waiting on the department: what the overdue timer watches.
AWAITING_DEPARTMENT = [ComplaintState.OPEN, ComplaintState.IN_PROGRESS]


class Complaint(ConcurrentTransitionMixin, models.Model):
    """One complaint: from a case's page (linked to the case, by its party) or anonymously with a phone proven by
    an SMS code; routed to a department, answered there, rated by the complainant."""

    number = models.CharField("投诉编号", max_length=32, unique=True)
    department = models.ForeignKey(Department, verbose_name="承办部门", on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(Application, verbose_name="相关办件", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="complaints")
    item = models.ForeignKey(Item, verbose_name="相关事项", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    # An account (a party to the case, or a signed-in person) or nobody: then the name and phone say who.
    complainant = models.ForeignKey(User, verbose_name="投诉人账户", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="complaints")
    name = models.CharField("投诉人姓名", max_length=50, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    category = models.CharField("投诉类别", max_length=12, choices=ComplaintCategory.choices)
    content = models.TextField("投诉内容", max_length=CONTENT_MAX_LENGTH)
    state = FSMField("状态", default=ComplaintState.OPEN, choices=ComplaintState.choices, protected=True)
    received_at = models.DateTimeField("受理时间")
    due_date = models.DateField("答复期限")
    due_date_provisional = models.BooleanField("期限为预计", default=False)
    # Set once by the timer when the due date passed with the department still to answer.
    overdue = models.BooleanField("已超期", default=False)
    flagged_at = models.DateTimeField("超期标记时间", null=True, blank=True)
    # 回访: the department contacts the complainant before answering.
    callback_note = models.CharField("回访情况", max_length=NOTE_MAX_LENGTH, blank=True)
    callback_at = models.DateTimeField("回访时间", null=True, blank=True)
    callback_by = models.ForeignKey(User, verbose_name="回访人", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    answer = models.TextField("答复内容", max_length=CONTENT_MAX_LENGTH, blank=True)
    answered_at = models.DateTimeField("答复时间", null=True, blank=True)
    answered_by = models.ForeignKey(User, verbose_name="答复人", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    # The first answer's time, for the on-time share: a later answer after a 复核 does not move it.
    first_answered_at = models.DateTimeField("首次答复时间", null=True, blank=True)
    verdict = models.CharField("评价", max_length=12, choices=ComplaintVerdict.choices, blank=True)
    verdict_comment = models.CharField("评价意见", max_length=NOTE_MAX_LENGTH, blank=True)
    rated_at = models.DateTimeField("评价时间", null=True, blank=True)
    # 复核: once, after a 不满意; the supervisor confirms the answer or sends it back with why.
    reviewed_by = models.ForeignKey(User, verbose_name="复核人", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reviewed_at = models.DateTimeField("复核时间", null=True, blank=True)
    review_note = models.CharField("复核意见", max_length=NOTE_MAX_LENGTH, blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)

    class Meta:
        verbose_name = "投诉"
        verbose_name_plural = "投诉"
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["department", "state", "due_date"], name="complaint_dept_idx"),
            # The overdue timer reads only rows awaiting the department, not yet flagged.
            models.Index(fields=["due_date"], name="complaint_overdue_idx",
                         condition=models.Q(overdue=False, state__in=["open", "in_progress"])),
        ]
        constraints = [
            # Someone to answer: an account or a phone.
            models.CheckConstraint(condition=models.Q(complainant__isnull=False) | ~models.Q(phone=""),
                                   name="complaint_has_complainant"),
        ]

    def __str__(self):
        return f"{self.number} {self.get_state_display()}"

    @property
    def anonymous(self) -> bool:
        return self.complainant_id is None

    @property
    def answered_on_time(self) -> bool | None:
        if self.first_answered_at is None:
            return None
        return timezone.localdate(self.first_answered_at) <= self.due_date

    @transition(field=state, source=ComplaintState.OPEN, target=ComplaintState.IN_PROGRESS)
    def start(self):
        pass

    @transition(field=state, source=ComplaintState.IN_PROGRESS, target=ComplaintState.ANSWERED)
    def respond(self):
        pass

    @transition(field=state, source=ComplaintState.ANSWERED, target=ComplaintState.CLOSED)
    def accept_answer(self):
        pass

    @transition(field=state, source=ComplaintState.ANSWERED, target=ComplaintState.REVIEW)
    def escalate(self):
        pass

    @transition(field=state, source=ComplaintState.REVIEW, target=ComplaintState.CLOSED)
    def confirm(self):
        pass

    @transition(field=state, source=ComplaintState.REVIEW, target=ComplaintState.IN_PROGRESS)
    def send_back(self):
        pass
