"""The promise clock of a running case (DESIGN §5): due dates and alert levels in working days."""

from datetime import date

from applications.models import AlertLevel
from portal.workdays import WorkCalendar

# 行政许可法 第三十二条: an online submission neither accepted nor noticed within five days is deemed accepted.
DEEMED_ACCEPTANCE_WORKING_DAYS = 5


def alert_level_for(*, calendar: WorkCalendar, today: date, due_date: date, warning_days: int) -> str:
    """green; yellow when the working days left (after today, up to the due date) ≤ warning days; red on the
    due date; overdue after it."""
    if today > due_date:
        return AlertLevel.OVERDUE
    if today == due_date:
        return AlertLevel.RED
    if calendar.remaining_working_days(today, due_date) <= warning_days:
        return AlertLevel.YELLOW
    return AlertLevel.GREEN
