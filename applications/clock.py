"""The promise clock of a running case (DESIGN §5): due dates and alert levels in working days."""

from datetime import date, timedelta

from applications.models import AlertLevel
from portal.workdays import WorkCalendar

# 行政许可法 第三十二条: an online submission neither accepted nor noticed within five days is deemed accepted.
DEEMED_ACCEPTANCE_WORKING_DAYS = 5
# 行政许可法 第四十二条: a decision due in 20 days may, with the head's approval, take 10 days more, once.
MAX_EXTENSION_WORKING_DAYS = 10


def alert_state(*, calendar: WorkCalendar, today: date, due_date: date, warning_days: int) -> tuple[str, date | None]:
    """The level today and the first day it changes, so the sweep only looks at cases whose day came.

    Yellow starts on the `warning_days`-th working day before the due date: from then on at most that
    many working days remain after today.
    """
    if today > due_date:
        return AlertLevel.OVERDUE, None
    if today == due_date:
        return AlertLevel.RED, due_date + timedelta(days=1)
    yellow_from = calendar.subtract_working_days(due_date, warning_days)
    if today >= yellow_from:
        return AlertLevel.YELLOW, due_date
    return AlertLevel.GREEN, yellow_from
