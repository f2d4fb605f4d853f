"""Walk-in drafts (DESIGN §14): what a walk-in hands in at the window is in the window's hands at once, so the
draft gets the one-time notice and the referral under the same rules as a submitted online case. A citizen's
online draft is theirs until they submit it: the window neither sees nor notices nor refers it."""

import pytest
from django.db import transaction

from applications import services
from applications.models import Application, Document, Notice, State
from portal.errors import InvalidTransition
from tests.assertions import unchanged
from tests.factories import resident_id
from tests.files import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def walk_in(as_user, clerk, item, requirements):
    """A walk-in's draft registered at the window with the application form only (营业执照 not brought)."""
    client = as_user(clerk)
    response = client.post("/api/v1/applications/", {
        "item": item.code, "applicant": {"name": "王小明", "id_type": "111", "id_number": "220102199003071235"},
    }, format="json")
    number = response.json()["number"]
    assert upload(client, number, requirements["食品经营许可申请书"]).status_code == 201
    return number


def notice(client, number, requirement, reason="未带营业执照原件"):
    return client.post(f"/api/v1/applications/{number}/request-materials/", {
        "deficiencies": [{"requirement": requirement, "reason": reason}]}, format="json")


def test_the_window_offers_the_notice_and_the_referral_on_a_walk_in_draft(as_user, clerk, walk_in):
    body = as_user(clerk).get(f"/api/v1/applications/{walk_in}/").json()
    assert body["state"] == "draft"
    assert {"request-materials", "refer", "accept"} <= set(body["available_actions"])


def test_one_time_notice_on_a_walk_in_draft(as_user, clerk, walk_in, requirements):
    client = as_user(clerk)
    response = notice(client, walk_in, requirements["营业执照"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "pending_materials" and body["visits"] == 1
    case = Application.objects.get(number=walk_in)
    assert case.submitted_at is not None  # handed in at the window: the case counts as submitted from now
    assert [(d.requirement.name, d.reason) for d in Notice.objects.get(application=case).deficiencies.all()] == [
        ("营业执照", "未带营业执照原件")]
    assert [d["kind"] for d in body["documents"]] == ["receipt", "materials_notice"]
    # The same one-time rule afterwards: the correction may not bring a new surprise.
    upload(client, walk_in, requirements["营业执照"])
    assert client.post(f"/api/v1/applications/{walk_in}/resubmit/").status_code == 200
    with unchanged(walk_in):
        response = notice(client, walk_in, requirements["食品经营许可申请书"], "签字不清")
    assert response.status_code == 400 and "首次告知未列出" in str(response.json()["deficiencies"])
    # Coming back with the licence is a second visit.
    assert client.post(f"/api/v1/applications/{walk_in}/accept/").json()["visits"] == 2


def test_referral_of_a_walk_in_draft_then_the_heads_refusal(as_user, clerk, head, walk_in):
    response = as_user(clerk).post(f"/api/v1/applications/{walk_in}/refer/", {"reason": "是否属本部门职权"}, format="json")
    assert response.status_code == 200, response.content
    case = Application.objects.get(number=walk_in)
    assert case.state == State.REFERRED and case.submitted_at is not None
    assert case.referrals.get().reason == "是否属本部门职权"
    response = as_user(head).post(f"/api/v1/applications/{walk_in}/decline/", {
        "reason": "不属于本机关职权范围", "legal_basis": "《中华人民共和国行政许可法》第三十二条第一款第（二）项"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "not_accepted"
    assert list(Document.objects.filter(application=case).order_by("pk").values_list("kind", flat=True)) == [
        "receipt", "refusal_notice"]


def test_a_citizens_online_draft_is_neither_noticed_nor_referred(as_user, citizen, clerk, draft, requirements):
    client = as_user(clerk)
    with unchanged(draft):
        # The window does not see it at all …
        assert notice(client, draft, requirements["营业执照"]).status_code == 404
        assert client.post(f"/api/v1/applications/{draft}/refer/", {"reason": "x"}, format="json").status_code == 404
        # … the applicant may not notice their own case …
        assert notice(as_user(citizen), draft, requirements["营业执照"]).status_code == 403
    case = Application.objects.get(number=draft)
    # … and the transitions themselves refuse an online draft (409), whoever asks.
    for service, arguments in ((services.application_request_materials,
                                {"deficiencies": [{"requirement": requirements["营业执照"], "reason": "x"}]}),
                               (services.application_refer, {"reason": "x"})):
        with unchanged(draft), pytest.raises(InvalidTransition) as refusal, transaction.atomic():
            service(actor=clerk, application=case, **arguments)
        assert refusal.value.status_code == 409 and "草稿" in refusal.value.detail
    assert Application.objects.get(number=draft).submitted_at is None


def test_window_page_of_a_walk_in_draft_gives_the_notice_and_the_referral(client, clerk, item, walk_in, requirements):
    client.force_login(clerk)
    page = client.get(f"/window/cases/{walk_in}/").text
    assert f'action="/window/cases/{walk_in}/notice/"' in page and f'action="/window/cases/{walk_in}/refer/"' in page
    assert "一次性告知" in page and "转部门研判" in page
    licence = requirements["营业执照"]
    response = client.post(f"/window/cases/{walk_in}/notice/", {
        f"notice-named_{licence}": "on", f"notice-reason_{licence}": "未带营业执照原件"})
    assert response.status_code == 302
    case = Application.objects.get(number=walk_in)
    assert case.state == State.PENDING_MATERIALS and case.notices.get().deficiencies.get().requirement_id == licence
    page = client.get(f"/window/cases/{walk_in}/").text
    assert "材料接收凭证" in page and "补正材料通知书" in page

    other = services.application_create(actor=clerk, item_code=item.code, applicant={
        "name": "赵敏", "id_type": "111", "id_number": resident_id(7)})
    response = client.post(f"/window/cases/{other.number}/refer/", {"refer-reason": "经营范围是否需前置审批"})
    assert response.status_code == 302
    assert Application.objects.get(number=other.number).state == State.REFERRED
