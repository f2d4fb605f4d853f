"""ApplicationFactory (tests/factories.py) builds each state through the services: the audit chain of the
case it makes reads as the people of DESIGN §5 would have written it, and nothing skips a transition. And
tests/assertions.unchanged, which the refusal tests lean on, does see a change."""

import pytest

from applications import services
from applications.models import Application, Document, State
from portal.audit import audit_verify
from portal.models import AuditEvent, Role
from tests.assertions import unchanged
from tests.factories import ApplicationFactory
from tests.files import pdf_file

pytestmark = pytest.mark.django_db

INTAKE = ["application_create", "material_upload", "material_upload", "application_submit"]
REVIEW = [*INTAKE, "application_accept", "application_claim"]


def actions(case) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="application", object_id=case.number).order_by("seq")
                .values_list("action", flat=True))


@pytest.mark.parametrize(("trait", "state", "trail"), [
    ("submitted", State.SUBMITTED, INTAKE),
    ("accepted", State.ACCEPTED, [*INTAKE, "application_accept"]),
    ("in_review", State.IN_REVIEW, REVIEW),
    ("approved", State.APPROVED, [*REVIEW, "application_approve"]),
    ("rejected", State.REJECTED, [*REVIEW, "application_reject"]),
])
def test_each_trait_is_reached_transition_by_transition(trait, state, trail):
    case = ApplicationFactory(**{trait: True})
    assert case.state == state
    assert actions(case) == trail
    assert audit_verify()[1] is None


def test_a_draft_by_default_for_the_given_applicant_and_item(citizen, item):
    case = ApplicationFactory(applicant=citizen, item=item)
    assert (case.state, case.applicant, case.item_version) == (State.DRAFT, citizen, item.current_version)
    assert actions(case) == ["application_create"]


def test_issued_goes_through_the_seal_and_the_issuance_task(licence_item):
    case = ApplicationFactory(issued=True, item=licence_item)
    assert case.state == State.ISSUED and case.certificate_identifier and not case.issuing
    assert actions(case)[-3:] == ["seal_issue_request", "seal_use", "application_issue"]
    assert AuditEvent.objects.get(object_id=case.number, action="seal_use").role == Role.CUSTODIAN


def test_a_rejection_is_issued_as_its_sealed_decision_letter():
    case = ApplicationFactory(issued=True, decision="reject")
    assert (case.state, case.outcome, case.certificate_identifier) == (State.ISSUED, "rejected", "")
    assert Document.objects.get(application=case, kind="rejection_decision").pdf


def test_advance_takes_a_case_further_with_the_people_given(clerk, reviewer, submitted):
    case = ApplicationFactory.advance(Application.objects.get(number=submitted), to=State.IN_REVIEW, clerk=clerk, reviewer=reviewer)
    assert (case.state, case.accepted_by, case.reviewer) == (State.IN_REVIEW, clerk, reviewer)
    with pytest.raises(ValueError):
        ApplicationFactory.advance(case, to=State.SUBMITTED)


def test_a_case_is_never_built_around_the_services():
    with pytest.raises(TypeError):
        ApplicationFactory.build()


def test_unchanged_sees_a_transition_its_audit_event_and_a_new_material(clerk, citizen, item, submitted, requirements):
    with pytest.raises(AssertionError, match="state") as failure, unchanged(submitted):
        services.application_accept(actor=clerk, application=Application.objects.get(number=submitted))
    assert "audit events" in str(failure.value) and "applications.Document" in str(failure.value)
    other = ApplicationFactory(applicant=citizen, item=item)
    with pytest.raises(AssertionError, match="applications.Material"), unchanged(other.number):
        services.application_material_upload(actor=citizen, application=other, requirement_id=requirements["营业执照"], upload=pdf_file())
