"""Where a case stands, as the applicant reads it (DESIGN §14): the steps from application to result, the
current one, and the working days left on whichever clock is running. Pure: the caller passes today and
the working-day calendar, so the page, the public query and the tests get the same answer.

    progress = case_progress(case, today=local_today(), calendar=WorkCalendar.load())
"""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from applications.models import Application, Outcome, ReferralOutcome, State
from applications.services.deadlines import deemed_acceptance_due
from applications.services.review import RECONSIDERATION_RIGHTS
from portal.workdays import WorkCalendar

# (key, label): the steps every case goes through, in order.
STEPS = [
    ("apply", "提交申请"),
    ("accept", "窗口受理"),
    ("review", "部门审查"),
    ("decide", "作出决定"),
    ("issue", "用印出证"),
    ("deliver", "送达办结"),
]
# The step a case in each state is at (the one not finished yet); a finished case is past the last.
CURRENT_STEP = {
    State.DRAFT: 0,
    State.SUBMITTED: 1,
    State.PENDING_MATERIALS: 1,
    State.REFERRED: 1,
    State.NOT_ACCEPTED: 1,
    State.ACCEPTED: 2,
    State.IN_REVIEW: 2,
    State.SUSPENDED: 2,
    State.APPROVED: 4,
    State.REJECTED: 4,
    State.ISSUED: 5,
    State.DELIVERED: len(STEPS),
}
# What the current step says while it waits.
WAITING_NOTE = {
    State.DRAFT: "请填写申请并上传材料后提交",
    State.SUBMITTED: "等待窗口预审",
    State.PENDING_MATERIALS: "请按一次性告知补正材料后重新提交",
    State.REFERRED: "窗口已转部门研判是否受理",
    State.ACCEPTED: "等待部门审查",
    State.IN_REVIEW: "部门审查中",
    State.SUSPENDED: "中止计时（补正、现场勘验、听证等期间不计入办理时限）",
    State.APPROVED: "服务中心用印、制作电子证照",
    State.REJECTED: "服务中心用印、制作不予许可决定书",
    State.ISSUED: "等待领取或送达",
}


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    status: str  # done | current | todo | stopped
    note: str = ""


@dataclass(frozen=True)
class Progress:
    steps: list[Step]
    # The running clock, if any: what it counts to, the day, and the working days left (negative: overdue).
    clock_label: str = ""
    clock_due: date | None = None
    days_left: int | None = None

    @property
    def days_overdue(self) -> int:
        return -self.days_left if self.days_left and self.days_left < 0 else 0

    @property
    def current(self) -> Step | None:
        return next((step for step in self.steps if step.status in ("current", "stopped")), None)


def case_progress(case: Application, *, today: date, calendar: WorkCalendar) -> Progress:
    state = State(case.state)
    if state == State.WITHDRAWN:
        reached = 2 if case.accepted_at else 1 if case.submitted_at else 0
        return Progress(steps=_steps(reached, stopped_note="申请人已撤回"))
    at = CURRENT_STEP[state]
    if state == State.NOT_ACCEPTED:
        return Progress(steps=_steps(at, stopped_note="不予受理"))
    note = WAITING_NOTE.get(state, "")
    if state == State.ISSUED and not case.certificate_identifier and case.outcome == Outcome.REJECTED:
        note = "不予许可决定书已出具"
    steps = _steps(at, note=note, decided=case.outcome)
    if state in (State.ACCEPTED, State.IN_REVIEW, State.SUSPENDED) and case.due_date:
        label = "承诺办结日期" + ("（预计）" if case.due_date_provisional else "")
        return Progress(steps=steps, clock_label=label, clock_due=case.due_date,
                        days_left=calendar.remaining_working_days(today, case.due_date))
    if state == State.SUBMITTED and case.submitted_at:
        due = deemed_acceptance_due(submitted_on=timezone.localdate(case.submitted_at), calendar=calendar)
        return Progress(steps=steps, clock_label="窗口预审期限（逾期视为受理）", clock_due=due,
                        days_left=calendar.remaining_working_days(today, due))
    return Progress(steps=steps)


def _steps(at: int, *, note: str = "", stopped_note: str = "", decided: str = "") -> list[Step]:
    steps = []
    for index, (key, label) in enumerate(STEPS):
        if key == "decide" and decided:
            label = Outcome(decided).label
        if index < at:
            steps.append(Step(key, label, "done"))
        elif index == at:
            steps.append(Step(key, label, "stopped" if stopped_note else "current", stopped_note or note))
        else:
            steps.append(Step(key, label, "todo"))
    return steps


@dataclass(frozen=True)
class Refusal:
    title: str
    reason: str
    legal_basis: str
    decided_by: str
    decided_at: object
    remedy: str


def case_refusal(case: Application) -> Refusal | None:
    """Why the case was refused, as the 不予受理通知书 or the 不予许可决定书 says it, for the page."""
    if case.state == State.NOT_ACCEPTED:
        referral = next((r for r in reversed(list(case.referrals.all())) if r.outcome == ReferralOutcome.DECLINED), None)
        if referral is None:
            return None
        return Refusal(title="不予受理", reason=referral.answer, legal_basis=referral.legal_basis,
                       decided_by=referral.answered_by.display_name if referral.answered_by_id else "",
                       decided_at=referral.answered_at, remedy="如不服本决定，可依法申请行政复议或者提起行政诉讼。")
    if case.outcome == Outcome.REJECTED:
        return Refusal(title="不予许可", reason=case.decision_opinion, legal_basis=case.decision_legal_basis,
                       decided_by=case.decided_by.display_name if case.decided_by_id else "",
                       decided_at=case.decided_at, remedy=RECONSIDERATION_RIGHTS)
    return None
