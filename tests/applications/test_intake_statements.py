"""What the intake cuts of DESIGN §12 rest on: a published version's requirements read once per process,
the transition's own UPDATE refusing a state that moved, no commitment read where none can exist."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from applications.models import Application, State
from applications.selectors import version_requirements
from applications.services.case import transition
from items.models import MaterialRequirement
from items.services import item_draft_from_current
from portal.errors import Refused
from portal.models import AuditEvent
from tests.factories import ApplicationFactory, UserFactory, published_item
from tests.files import upload

pytestmark = pytest.mark.django_db


def test_a_published_versions_requirements_are_read_once(item):
    version = item.current_version
    first = version_requirements(version)
    with CaptureQueriesContext(connection) as captured:
        again = version_requirements(type(version).objects.get(pk=version.pk))
    assert len(captured) == 1  # the version itself; its requirements came from memory
    assert [r.name for r in again] == [r.name for r in first] == list(
        version.materials.order_by("order", "id").values_list("name", flat=True))


def test_a_drafts_requirements_are_read_every_time(item):
    draft = item_draft_from_current(item=item, actor=UserFactory(catalogue_admin=True))
    before = [r.name for r in version_requirements(draft)]
    MaterialRequirement.objects.create(version=draft, order=9, name="补充说明", form="original", required=False)
    assert [r.name for r in version_requirements(draft)] == [*before, "补充说明"]


def test_a_transition_whose_state_moved_underneath_is_a_conflict_and_changes_nothing(submitted, clerk):
    stale = Application.objects.get(number=submitted)
    with connection.cursor() as cursor:  # someone else, after it was read
        cursor.execute("UPDATE applications_application SET state = %s WHERE id = %s", [State.WITHDRAWN, stale.pk])
    events = AuditEvent.objects.count()
    with pytest.raises(Refused) as refused:
        transition(stale, "accept", actor=clerk)
    assert refused.value.code == "conflict"
    assert Application.objects.get(pk=stale.pk).state == State.WITHDRAWN
    assert AuditEvent.objects.count() == events


def test_after_a_transition_the_case_saves_again_on_its_new_state(submitted, clerk):
    case = Application.objects.get(number=submitted)
    transition(case, "accept", actor=clerk)
    case.visits = 3
    case.save(update_fields=["visits"])  # ConcurrentTransitionMixin filters on the state it has now
    assert Application.objects.values_list("state", "visits").get(pk=case.pk) == (State.ACCEPTED, 3)


def test_approval_reads_no_commitment_where_the_item_allows_none(as_user, clerk, reviewer, item):
    case = ApplicationFactory(in_review=True, item=item, clerk=clerk, reviewer=reviewer)
    client = as_user(reviewer)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/api/v1/applications/{case.number}/approve/", {"opinion": "符合法定条件"},
                               format="json")
    assert response.status_code == 200, response.content
    assert Application.objects.get(pk=case.pk).state == State.APPROVED
    assert not [q["sql"] for q in captured if 'FROM "applications_commitment"' in q["sql"]]


def test_approval_on_a_commitment_still_opens_its_verification(as_user, citizen, clerk):
    item = published_item(code="11220100MB1234567K4000117009000", materials=[
        {"name": "申请书", "form": "original", "required": True},
        {"name": "场地证明", "form": "copy", "required": True, "commitment_allowed": True},
    ])
    reviewer = UserFactory(reviewer=True, department=item.department)
    client = as_user(citizen)
    number = client.post("/api/v1/applications/", {"item": item.code}, format="json").json()["number"]
    requirements = {r.name: r.pk for r in item.current_version.materials.all()}
    upload(client, number, requirements["申请书"])
    assert client.post(f"/api/v1/applications/{number}/commitment/", {"requirements": [requirements["场地证明"]]},
                       format="json").status_code in (200, 201)
    assert client.post(f"/api/v1/applications/{number}/submit/").status_code == 200
    assert as_user(clerk).post(f"/api/v1/applications/{number}/accept/").status_code == 200
    reviewer_client = as_user(reviewer)
    assert reviewer_client.post(f"/api/v1/applications/{number}/claim/").status_code == 200
    assert reviewer_client.post(f"/api/v1/applications/{number}/approve/", {"opinion": "符合法定条件"},
                                format="json").status_code == 200
    case = Application.objects.get(number=number)
    assert case.commitment.verification_due is not None
