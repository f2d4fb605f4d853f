"""The hall: queue tickets and appointment slots (DESIGN §6)."""


from datetime import datetime

from django.db import models
from django.utils import timezone

from portal.models import Hall, User


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
    # 重呼: the window called it again (the screen shows it again); 过号: nobody came when called.
    recalled_at = models.DateTimeField("重呼时间", null=True, blank=True)
    recalls = models.PositiveSmallIntegerField("重呼次数", default=0)
    skipped_at = models.DateTimeField("过号时间", null=True, blank=True)
    # The case the window registered for the person who held this ticket (叫号 → 受理).
    application = models.ForeignKey("applications.Application", verbose_name="办件", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+", db_index=False)

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


class HallClosure(models.Model):
    """A day the hall does not open (maintenance, an emergency): no slots are made, bookings are cancelled."""

    hall = models.ForeignKey(Hall, verbose_name="大厅", on_delete=models.PROTECT, related_name="+")
    date = models.DateField("日期")
    reason = models.CharField("原因", max_length=200)
    closed_by = models.ForeignKey(User, verbose_name="操作人", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField("操作时间", auto_now_add=True)

    class Meta:
        verbose_name = "大厅闭厅日"
        verbose_name_plural = "大厅闭厅日"
        ordering = ["hall_id", "date"]
        constraints = [models.UniqueConstraint(fields=["hall", "date"], name="hall_closure_unique")]


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


