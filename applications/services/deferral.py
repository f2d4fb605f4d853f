"""容缺受理 (DESIGN §14): a deferrable material missing at acceptance is due the item's `deferral_days` working
days later; approval and issuance wait for it; the last one in clears the deadline. The timers' sweep is
in services.deadlines. Decisions: docs/decisions/051-deferral-and-commitment.md."""

from datetime import date

from applications.models import Application
from applications.selectors import MaterialStatus, deferred_outstanding, version_requirements
from portal.audit import audit_record, department_chain
from portal.errors import Refused
from portal.models import User
from portal.workdays import WorkCalendar


def deferral_open(case: Application, *, start: date, calendar: WorkCalendar, status: MaterialStatus) -> list[str]:
    """At acceptance: the deadline for what was deferred, counted from `start`; the fields it set."""
    if not deferred_outstanding(case, status=status):
        return []
    case.deferral_due = calendar.add_working_days(start, case.item_version.deferral_days).date
    return ["deferral_due"]


def refuse_deferred(case: Application, action: str) -> None:
    """Approval and issuance wait for every deferred material (a rejection does not). A case with nothing
    deferred has no deadline (`deferral_due` is set at acceptance only when something was deferred, and
    cleared by the upload that completes it): nothing to read then. Otherwise the version's requirements (held
    in memory, decision 065) say whether anything can be deferred before the case's materials are read."""
    if case.deferral_due is None:
        return
    if not any(r.required and r.deferrable for r in version_requirements(case.item_version)):
        return
    outstanding = deferred_outstanding(case)
    if outstanding:
        names = "、".join(requirement.name for requirement in outstanding)
        due = f"（补齐期限 {case.deferral_due:%Y年%m月%d日}）" if case.deferral_due else ""
        raise Refused(f"容缺材料尚未补齐，不能{action}：缺少{names}{due}", code="deferred_materials_outstanding")


def deferral_close_if_complete(case: Application, *, actor: User) -> None:
    """After an upload: the last outstanding deferred material clears the deadline (`deferral_lapsed` stays,
    the record that it came late). The caller holds the case's row lock."""
    if case.deferral_due is None or deferred_outstanding(case):
        return
    due, case.deferral_due = case.deferral_due, None
    case.save(update_fields=["deferral_due"])
    audit_record(
        chain=department_chain(case.department_id),
        actor=actor, action="application_deferral_complete", object_type="application", object_id=case.number,
        from_state=case.state, to_state=case.state,
        payload={"deferral_due": due.isoformat(), "late": case.deferral_lapsed},
    )
