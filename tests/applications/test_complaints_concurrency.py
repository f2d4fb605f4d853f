"""Two of the department's staff answer one complaint at the same moment: exactly one wins, the other gets 409
and its answer is not stored (PostgreSQL, real transactions)."""

import pytest

from applications import services
from applications.models import Complaint
from portal.models import AuditEvent, Notification
from tests.concurrency import client_for, race
from tests.factories import UserFactory, published_item

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_staff_answer_at_once_exactly_one_wins():
    item = published_item()
    citizen = UserFactory(identified=True)
    reviewer = UserFactory(reviewer=True, department=item.department)
    head = UserFactory(head=True, department=item.department)
    complaint = services.complaint_file(actor=citizen, item_code=item.code, category="efficiency", content="迟迟没有答复")
    services.complaint_start(actor=reviewer, complaint=complaint, note="已电话联系投诉人")
    answers = {reviewer: "审查人员的答复", head: "负责人的答复"}
    responses = race([
        lambda user=user, text=text: client_for(user).post(
            f"/api/v1/complaints/{complaint.number}/answer/", {"answer": text}, format="json")
        for user, text in answers.items()
    ])
    assert sorted(response.status_code for response in responses) == [200, 409]
    winner = next(response.json() for response in responses if response.status_code == 200)
    complaint.refresh_from_db()
    assert complaint.state == "answered" and complaint.answer == winner["answer"]
    assert AuditEvent.objects.filter(object_id=complaint.number, action="complaint_respond").count() == 1
    assert Notification.objects.filter(user=citizen, kind="complaint_answered").count() == 1
    assert Complaint.objects.count() == 1
