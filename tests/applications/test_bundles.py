"""一件事一次办 (DESIGN §4 "Bundles"): a parent case, one child per member item, reviewed in parallel."""

import pytest
import time_machine
from django.core.exceptions import ValidationError

from applications import selectors, services
from applications.models import Application, Material, Notice, State
from portal.errors import InvalidTransition
from tests.applications.bundle_fixtures import complete, create, parent_material, requirement
from tests.assertions import unchanged
from tests.factories import UserFactory
from tests.files import pdf_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen():
    return UserFactory(identified=True, real_name="张伟")


def test_create_makes_a_parent_and_one_child_per_item_in_its_department(citizen, bundle, food, tax):
    parent = create(citizen, bundle)

    children = selectors.bundle_children(parent)
    assert parent.is_bundle_parent and parent.state == State.DRAFT and parent.bundle_code == "YJS-KBCYD"
    assert [c.item_version_id for c in children] == [food.current_version_id, tax.current_version_id]
    assert [c.department.code for c in children] == ["CCSJ", "CCSW"]
    assert all(c.number.startswith("NET-") and c.bundle_code == bundle.code for c in children)
    # The shared form: each child receives only the fields its item uses.
    assert children[0].form_data == {"店铺名称": "老张饺子馆", "经营项目": "热食类食品制售"}
    assert children[1].form_data == {"店铺名称": "老张饺子馆"}
    assert selectors.combined_state(children) == "draft"


def test_required_shared_field_is_checked(citizen, bundle):
    with pytest.raises(ValidationError) as error:
        services.bundle_application_create(actor=citizen, bundle_code=bundle.code, form_data={"shop_name": "店"})
    assert "经营项目" in str(error.value)
    assert not Application.objects.exists()


def test_shared_material_uploaded_once_counts_for_every_child(citizen, bundle):
    parent = create(citizen, bundle)
    created = services.bundle_material_upload(
        actor=citizen, application=parent, material_id=parent_material(parent).pk, upload=pdf_file("身份证.pdf"))

    children = selectors.bundle_children(parent)
    assert len(created) == 2 and len({m.file.name for m in created}) == 1
    assert Material.objects.filter(application__in=children).count() == 2
    for child, name in zip(children, ["法定代表人身份证件", "办税人员身份证件"]):
        assert requirement(child, name) not in selectors.missing_requirements(child)


def test_submit_is_all_or_nothing(citizen, bundle):
    parent = create(citizen, bundle)
    services.bundle_material_upload(actor=citizen, application=parent, material_id=parent_material(parent).pk, upload=pdf_file())
    with unchanged(parent, *parent.children.all()), pytest.raises(Exception) as error:
        services.bundle_submit(actor=citizen, application=parent)
    assert "食品经营许可申请书" in str(error.value)
    assert set(parent.children.values_list("state", flat=True)) == {State.DRAFT}

    complete(citizen, parent)
    services.bundle_submit(actor=citizen, application=parent)
    assert set(parent.children.values_list("state", flat=True)) == {State.SUBMITTED}
    parent.refresh_from_db()
    assert parent.state == State.DRAFT  # the parent is a container: no timer or queue ever counts it


# --- through the API ---------------------------------------------------------------------------------


@pytest.fixture
def clerk():
    from tests.factories import HallFactory

    return UserFactory(clerk=True, hall=HallFactory(code="CC-CITY", name="长春市政务服务中心"), real_name="李娜")


def test_api_creates_a_bundle_and_shows_children(login_api, citizen, bundle):
    response = login_api(citizen).post(f"/api/v1/bundles/{bundle.code}/applications/",
                                       {"form_data": {"shop_name": "店", "food_items": "热食"}}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["combined_state"] == "draft" and len(body["children"]) == 2
    assert {c["department"]["code"] for c in body["children"]} == {"CCSJ", "CCSW"}
    assert login_api(UserFactory(identified=True)).get(f"/api/v1/applications/{body['number']}/").status_code == 404


def test_clerk_accepts_all_children_together_and_the_parent_shows_the_latest_due_date(login_api, clerk, submitted_parent):
    with time_machine.travel("2026-09-30 10:00 +08:00", tick=False):
        response = login_api(clerk).post(f"/api/v1/applications/{submitted_parent.number}/accept/")
    assert response.status_code == 200, response.content
    body = response.json()
    children = selectors.bundle_children(submitted_parent)
    assert {c.state for c in children} == {State.ACCEPTED}
    assert body["combined_state"] == "in_progress"
    # 2 and 5 working days after 2026-09-30: the National Day holiday does not count.
    assert sorted(c["due_date"] for c in body["children"]) == ["2026-10-09", "2026-10-13"]
    assert body["due_date"] == "2026-10-13"


def test_accept_is_all_or_none(login_api, clerk, submitted_parent):
    child = selectors.bundle_children(submitted_parent)[1]
    services.application_request_materials(actor=clerk, application=child, as_part_of=submitted_parent, deficiencies=[
        {"requirement": requirement(child, "涉税事项申请表").pk, "reason": "未签字"}])
    with unchanged(submitted_parent, *selectors.bundle_children(submitted_parent)):
        response = login_api(clerk).post(f"/api/v1/applications/{submitted_parent.number}/accept/")
    assert response.status_code == 409
    assert "新办纳税人涉税事项套餐" in response.json()["detail"]
    assert [c.state for c in selectors.bundle_children(submitted_parent)] == [State.SUBMITTED, State.PENDING_MATERIALS]


def test_a_child_cannot_be_accepted_on_its_own(login_api, clerk, submitted_parent):
    child = selectors.bundle_children(submitted_parent)[0]
    with unchanged(submitted_parent, *selectors.bundle_children(submitted_parent)):
        response = login_api(clerk).post(f"/api/v1/applications/{child.number}/accept/")
    assert response.status_code == 409 and response.json()["code"] == "bundle_child"


def test_one_notice_lists_every_childs_deficiencies(login_api, clerk, citizen, submitted_parent):
    food_case, tax_case = selectors.bundle_children(submitted_parent)
    deficiencies = [
        {"child": food_case.number, "requirement": requirement(food_case, "食品经营许可申请书").pk, "reason": "缺少签章"},
        {"child": tax_case.number, "requirement": requirement(tax_case, "涉税事项申请表").pk, "reason": "未签字"},
    ]
    response = login_api(clerk).post(f"/api/v1/applications/{submitted_parent.number}/request-materials/",
                                     {"deficiencies": deficiencies}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["combined_state"] == "pending_materials"
    combined = Notice.objects.get(application=submitted_parent)
    assert combined.deficiencies.count() == 2
    assert submitted_parent.documents.get(kind="materials_notice").context["deficiencies"] == [
        {"requirement": "食品经营许可（新办）：食品经营许可申请书", "reason": "缺少签章"},
        {"requirement": "新办纳税人涉税事项套餐：涉税事项申请表", "reason": "未签字"},
    ]
    assert Notice.objects.filter(application=food_case).count() == Notice.objects.filter(application=tax_case).count() == 1
    assert citizen.notifications.filter(kind="materials_notice").count() == 1

    # The one-time rule per child: after resubmitting, a new notice may not name anything new.
    client = login_api(citizen)
    for child, name in ((food_case, "食品经营许可申请书"), (tax_case, "涉税事项申请表")):
        services.application_material_upload(actor=citizen, application=child, requirement_id=requirement(child, name).pk, upload=pdf_file())
    assert client.post(f"/api/v1/applications/{submitted_parent.number}/resubmit/").status_code == 200
    surprise = [{"child": tax_case.number, "requirement": requirement(tax_case, "办税人员身份证件").pk, "reason": "模糊"}]
    with unchanged(submitted_parent, food_case, tax_case):
        response = login_api(clerk).post(f"/api/v1/applications/{submitted_parent.number}/request-materials/",
                                         {"deficiencies": surprise}, format="json")
    assert response.status_code == 400
    assert "一次性告知" in str(response.json())
    assert Notice.objects.filter(application=tax_case).count() == 1


def test_departments_decide_in_parallel_and_a_rejection_does_not_block_the_other(login_api, clerk, submitted_parent, food_dept, tax_dept):
    services.bundle_accept(actor=clerk, application=submitted_parent)
    food_case, tax_case = selectors.bundle_children(submitted_parent)
    food_reviewer = UserFactory(reviewer=True, department=food_dept)
    tax_reviewer = UserFactory(reviewer=True, department=tax_dept)
    # Each department sees only its own child, never the other's nor the parent.
    assert login_api(food_reviewer).get(f"/api/v1/applications/{tax_case.number}/").status_code == 404
    assert login_api(food_reviewer).get(f"/api/v1/applications/{submitted_parent.number}/").status_code == 404

    assert login_api(tax_reviewer).post(f"/api/v1/applications/{tax_case.number}/claim/").status_code == 200
    assert login_api(tax_reviewer).post(f"/api/v1/applications/{tax_case.number}/reject/",
                                        {"opinion": "不符合条件", "legal_basis": "《税收征收管理法》"}, format="json").status_code == 200
    assert login_api(food_reviewer).post(f"/api/v1/applications/{food_case.number}/claim/").status_code == 200
    response = login_api(food_reviewer).post(f"/api/v1/applications/{food_case.number}/approve/", {"opinion": "符合条件"}, format="json")
    assert response.status_code == 200, response.content
    states = {c.number: c.state for c in selectors.bundle_children(submitted_parent)}
    assert states == {food_case.number: State.APPROVED, tax_case.number: State.REJECTED}
    assert selectors.combined_state(selectors.bundle_children(submitted_parent)) == "in_progress"
    # Delivered together: nothing is issued yet.
    with unchanged(submitted_parent, food_case, tax_case), pytest.raises(InvalidTransition):
        services.bundle_deliver(actor=clerk, application=submitted_parent, method="mail", tracking_number="SF1",
                                address="长春市朝阳区人民大街 1 号")


def test_withdrawing_the_bundle_withdraws_every_undecided_child(login_api, citizen, submitted_parent):
    response = login_api(citizen).post(f"/api/v1/applications/{submitted_parent.number}/withdraw/")
    assert response.status_code == 200
    assert response.json()["combined_state"] == "withdrawn"
    submitted_parent.refresh_from_db()
    assert submitted_parent.state == State.WITHDRAWN
    assert {c.state for c in selectors.bundle_children(submitted_parent)} == {State.WITHDRAWN}
    with unchanged(submitted_parent, *selectors.bundle_children(submitted_parent)):
        assert login_api(citizen).post(f"/api/v1/applications/{submitted_parent.number}/withdraw/").status_code == 409


def test_review_actions_on_the_parent_are_refused(login_api, clerk, submitted_parent):
    with unchanged(submitted_parent, *selectors.bundle_children(submitted_parent)):
        response = login_api(clerk).post(f"/api/v1/applications/{submitted_parent.number}/refer/", {"reason": "x"}, format="json")
    assert response.status_code == 409


def test_combined_state_rules():
    def cases(*states):
        return [Application(state=state) for state in states]

    assert selectors.combined_state(cases(State.DELIVERED, State.NOT_ACCEPTED, State.WITHDRAWN)) == "done"
    assert selectors.combined_state(cases(State.ISSUED, State.DELIVERED)) == "issued"
    assert selectors.combined_state(cases(State.IN_REVIEW, State.REJECTED)) == "in_progress"
    assert selectors.combined_state(cases(State.WITHDRAWN, State.WITHDRAWN)) == "withdrawn"


def test_the_window_delivers_a_bundle_together(login_api, clerk, submitted_parent, food_dept, tax_dept):
    """一并送达 on the parent's window page: offered only once every child is issued; one mail delivers all."""
    from django.db import transaction
    from django.test import Client

    services.bundle_accept(actor=clerk, application=submitted_parent)
    food_case, tax_case = selectors.bundle_children(submitted_parent)
    for case, department, action, data in ((food_case, food_dept, "approve", {"opinion": "符合条件"}),
                                           (tax_case, tax_dept, "reject", {"opinion": "不符合", "legal_basis": "第十条"})):
        reviewer = login_api(UserFactory(reviewer=True, department=department))
        assert reviewer.post(f"/api/v1/applications/{case.number}/claim/").status_code == 200
        assert reviewer.post(f"/api/v1/applications/{case.number}/{action}/", data, format="json").status_code == 200
    page = Client()
    page.force_login(clerk)
    custodian = UserFactory(custodian=True)
    with transaction.atomic():
        services.application_issue(actor=custodian, application=food_case)
    assert "一并送达" not in page.get(f"/window/cases/{submitted_parent.number}/").content.decode()
    with transaction.atomic():
        services.application_issue(actor=custodian, application=tax_case)
    assert "一并送达" in page.get(f"/window/cases/{submitted_parent.number}/").content.decode()

    response = page.post(f"/window/cases/{submitted_parent.number}/deliver/",
                         {"deliver-method": "mail", "deliver-tracking_number": "EMS0001",
                          "deliver-address": "长春市朝阳区人民大街 1 号"}, follow=True)
    assert "已邮寄至 长春市朝阳区人民大街 1 号（单号 EMS0001）" in response.content.decode()
    children = selectors.bundle_children(submitted_parent)
    assert {(c.state, c.tracking_number) for c in children} == {(State.DELIVERED, "EMS0001")}
    # The applicant is told once, for the whole bundle, not once per result.
    from portal.models import Notification

    (told,) = Notification.objects.filter(kind="delivered")
    assert told.application == submitted_parent.number and told.user_id == submitted_parent.applicant_id
    assert "2 项办理结果" in told.message and "快递单号 EMS0001，寄往 长春市朝阳区人民大街 1 号" in told.message
    # A child's own page offers no delivery: it goes with its bundle.
    assert "确认送达" not in page.get(f"/window/cases/{food_case.number}/").content.decode()
