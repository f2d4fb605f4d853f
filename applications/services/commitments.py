"""告知承诺制 (DESIGN §14): the applicant signs a commitment (承诺书) in place of named materials while the case is
a draft; approval opens a verification task due in the item's `verification_days`; the department records the
outcome once, and a commitment found false has the head revoke the certificate with that reason.
Decisions: docs/decisions/051-deferral-and-commitment.md."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from applications.models import Application, Commitment, CommitmentOutcome, State
from applications.permissions import check_actor, is_department_head
from applications.selectors import case_requirements, commitment_of, version_requirements
from applications.services.case import local_today, lock_case, state_refusal, tell_applicant
from certificates.models import Certificate
from certificates.services import certificate_revoke
from portal.audit import audit_record, department_chain
from portal.errors import Forbidden, Refused
from portal.identity import IdType, mask_id_number
from portal.models import User
from portal.workdays import WorkCalendar

NOTE_MAX_LENGTH = 500


def commitment_text(case: Application, requirements: list, *, signed_on: date) -> str:
    """The 承诺书 as signed and frozen: what is promised, that it is true, and what follows if it is not."""
    who = "本单位" if case.applicant_id_type == IdType.CREDIT_CODE else "本人"
    id_shown = case.applicant_id_number if case.applicant_id_type == IdType.CREDIT_CODE else mask_id_number(case.applicant_id_number)
    version = case.item_version
    lines = [
        "告知承诺书",
        f"{who}（{case.applicant_name}，证件号码 {id_shown}）申请办理「{version.name}」（办件编号 {case.number}），"
        f"已知悉{case.department.name}告知的许可条件和所需材料，现以承诺代替提交下列材料：",
        *(f"{index}. {requirement.name}" for index, requirement in enumerate(requirements, start=1)),
        f"{who}承诺：所填报的信息真实、准确、完整，{who}已具备上述材料所证明的条件，愿意接受行政机关的核查。",
        f"行政机关将在作出许可决定后 {version.verification_days} 个工作日内对承诺内容进行核查。"
        f"如承诺不实，{who}愿意承担相应法律责任：行政机关依法撤销行政许可，并将失信行为记入信用记录，依法实施信用惩戒。",
        f"承诺人：{case.applicant_name}    承诺日期：{signed_on:%Y年%m月%d日}",
    ]
    return "\n".join(lines)


@transaction.atomic
def application_commit(*, actor: User, application: Application, requirements: list) -> Commitment:
    """Sign the 承诺书 for the listed requirements of the pinned version that allow it: on the applicant's own
    draft, or a walk-in's draft at the window. Once per case; a committed requirement counts as handed in."""
    case = lock_case(application)
    check_actor(actor, case, "commit")
    if case.state != State.DRAFT:
        raise state_refusal(case, "commit")
    if commitment_of(case) is not None:
        raise Refused("本办件已签署告知承诺书，不能重复签署", code="already_committed")
    available = {requirement.pk: requirement for requirement in case_requirements(case)}
    errors, chosen = [], []
    for value in requirements or []:
        try:
            requirement = available[int(value)]
        except (KeyError, TypeError, ValueError):
            errors.append(f"材料 {value} 不属于本办件所办理的事项")
            continue
        if not requirement.commitment_allowed:
            errors.append(f"「{requirement.name}」不适用告知承诺制，须提交材料")
        elif requirement not in chosen:
            chosen.append(requirement)
    if not requirements:
        errors.append("请选择以承诺代替的材料")
    if errors:
        raise ValidationError({"requirements": errors})
    chosen.sort(key=lambda requirement: requirement.order)
    commitment = Commitment.objects.create(
        application=case, department_id=case.department_id, signed_by=actor,
        text=commitment_text(case, chosen, signed_on=local_today()),
    )
    commitment.requirements.set(chosen)
    audit_record(
        chain=department_chain(case.department_id),
        actor=actor, action="application_commit", object_type="application", object_id=case.number,
        from_state=case.state, to_state=case.state,
        payload={"requirements": [{"requirement": r.pk, "name": r.name} for r in chosen]},
    )
    return commitment


def commitment_verification_open(case: Application, *, decided_on: date) -> dict:
    """At approval (inside its transaction): a case approved on a commitment gets its verification task, due
    `verification_days` working days after the decision. The approval event's payload addition. No query
    when the version has no requirement a commitment may stand in for (most items): there is none then."""
    if not any(requirement.commitment_allowed for requirement in version_requirements(case.item_version)):
        return {}
    commitment = commitment_of(case)
    if commitment is None:
        return {}
    commitment.verification_due = WorkCalendar.load().add_working_days(
        decided_on, case.item_version.verification_days).date
    commitment.save(update_fields=["verification_due"])
    return {"verification_due": commitment.verification_due.isoformat()}


def refuse_false_commitment(case: Application) -> None:
    """A licence is not issued on a commitment already found false."""
    commitment = commitment_of(case)
    if commitment is not None and commitment.outcome == CommitmentOutcome.FALSE:
        raise Refused("告知承诺经核查不实，不予签发", code="commitment_false")


@transaction.atomic
def commitment_verify(*, actor: User, application: Application, outcome: str, note: str = "") -> Commitment:
    """核查: a reviewer or the head of the case's department records the outcome, once. 承诺不实 is the head's
    to find (it revokes the licence): the certificate issued on the case is revoked with that reason."""
    case = lock_case(application)
    check_actor(actor, case, "verify_commitment")
    commitment = Commitment.objects.select_for_update().filter(application=case).first()
    if commitment is None:
        raise Refused("该办件没有告知承诺，无需核查", code="no_commitment")
    if commitment.outcome:
        raise Refused(f"该告知承诺已于 {timezone.localtime(commitment.verified_at):%Y-%m-%d} 记录核查结果"
                      f"（{commitment.get_outcome_display()}），不能再次记录", code="already_verified")
    if commitment.verification_due is None:
        raise Refused("作出准予许可决定后才能核查告知承诺", code="not_approved")
    note = (note or "").strip()
    errors = {}
    if outcome not in CommitmentOutcome.values:
        errors["outcome"] = [f"核查结果应为：{'、'.join(f'{v}（{label}）' for v, label in CommitmentOutcome.choices)}"]
    elif outcome == CommitmentOutcome.FALSE and not note:
        errors["note"] = ["承诺不实须写明核查发现的情况"]
    if len(note) > NOTE_MAX_LENGTH:
        errors["note"] = [f"核查说明不能超过 {NOTE_MAX_LENGTH} 字"]
    if errors:
        raise ValidationError(errors)
    if outcome == CommitmentOutcome.FALSE and not is_department_head(user=actor, application=case):
        raise Forbidden("承诺不实将撤销行政许可，须由本部门负责人记录")
    commitment.outcome, commitment.note = outcome, note
    commitment.verified_by, commitment.verified_at = actor, timezone.now()
    commitment.save(update_fields=["outcome", "note", "verified_by", "verified_at"])
    revoked = ""
    if outcome == CommitmentOutcome.FALSE:
        revoked = _revoke_on_false(case, actor=actor, note=note)
    audit_record(
        chain=department_chain(case.department_id),
        actor=actor, action="commitment_verify", object_type="application", object_id=case.number,
        from_state=case.state, to_state=case.state,
        payload={"outcome": outcome, "note": note, "verification_due": commitment.verification_due.isoformat(),
                 "certificate_revoked": revoked},
    )
    if outcome == CommitmentOutcome.FALSE:
        result = f"电子证照 {revoked} 已被撤销" if revoked else "本机关将依法撤销行政许可"
        tell_applicant(case, "commitment_false",
                       f"您的办件 {case.number} 的告知承诺经核查不实（{note}），{result}，失信行为将记入信用记录。")
    return commitment


def _revoke_on_false(case: Application, *, actor: User, note: str) -> str:
    """The licence issued on a false commitment is revoked (撤销), the reason naming the commitment; the
    identifier revoked, or "" when there is none still valid (not issued yet: issuance is refused instead)."""
    if not case.certificate_identifier:
        return ""
    certificate = Certificate.objects.filter(identifier=case.certificate_identifier).first()
    if certificate is None or not can_proceed(certificate.revoke):
        return ""  # already revoked, or superseded by a later version (its own case decides on that one)
    reason = f"撤销：告知承诺不实（办件 {case.number}）：{note}"[:500]
    certificate_revoke(actor=actor, certificate=certificate, reason=reason)
    return certificate.identifier
