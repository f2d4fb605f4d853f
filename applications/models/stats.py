"""Statistics rolled up per day (docs/decisions/030-statistics-rollup.md) and per month
(docs/decisions/064-statistics-month-rollup.md)."""

from django.db import models

from portal.models import Department, Hall


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


class DayMeasures(models.Model):
    """The counts a day (DayStat) or a month (MonthStat) holds. Each measure counts by its own timestamp:
    received/online by submission, accepted by acceptance, decided/on_time/timed/working_days by decision,
    closed/one_visit/zero_visit by issue, ratings/satisfied (and the intake stage's share of them) by rating
    (valid ratings only)."""

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
    # visits to a hall of the cases closed (by issue); promised working days of the timed decisions (by decision)
    visits = models.PositiveIntegerField("办结件跑动次数合计", default=0)
    promised_days = models.PositiveIntegerField("计时决定承诺时限合计（工作日）", default=0)
    # of `ratings` / `satisfied`, those of the 受理 stage (the rest rate the 出证 stage, DESIGN §15)
    intake_ratings = models.PositiveIntegerField("受理环节评价", default=0)
    intake_satisfied = models.PositiveIntegerField("受理环节满意评价", default=0)

    class Meta:
        abstract = True


class DayStat(DayMeasures):
    """One day's case and rating counts of one department in one hall (hall empty: online, not at a window)."""

    day = models.DateField("日期")
    department = models.ForeignKey(Department, verbose_name="部门", on_delete=models.CASCADE, related_name="+")
    hall = models.ForeignKey(Hall, verbose_name="大厅", null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "日统计"
        verbose_name_plural = "日统计"
        indexes = [
            models.Index(fields=["day"], name="daystat_day_idx"),
            models.Index(fields=["department", "day"], name="daystat_department_idx"),
        ]


class StatMonth(models.Model):
    """A month whose MonthStat rows exist; its row is the lock under which they are rebuilt (two rollups of
    days of the same month take turns on it, as two rollups of the same day do on StatDay)."""

    month = models.DateField("月份", unique=True)  # the first day of the month
    built_at = models.DateTimeField("汇总时间")

    class Meta:
        verbose_name = "已汇总统计月"
        verbose_name_plural = "已汇总统计月"
        ordering = ["month"]

    def __str__(self):
        return f"{self.month:%Y-%m}"


class MonthStat(DayMeasures):
    """One month's counts of one department over all halls: always the sum of that month's DayStat rows of
    the department (rebuilt with every rollup of one of its days; docs/decisions/064-statistics-month-rollup.md).
    Read for a whole month of a period without a hall whose every day is rolled up (StatDay without `until`);
    the days of any other month are read from DayStat or counted from the records."""

    month = models.DateField("月份")  # the first day of the month
    department = models.ForeignKey(Department, verbose_name="部门", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "月统计"
        verbose_name_plural = "月统计"
        constraints = [models.UniqueConstraint(fields=["month", "department"], name="monthstat_month_department")]


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
