"""The window takes a bundle as one case (一件事一次办, DESIGN §4 "Bundles"; issue 18): 网上预审 lists the
parent once, a child's window page offers nothing and points to its bundle, and an action posted to a child
answers 409 naming the bundle (the page) or `bundle_child` (the API), changing nothing."""

import pytest
from django.test import Client

from applications import selectors, services
from applications.models import Application, Notice, State
from tests.applications.bundle_fixtures import complete, create, requirement
from tests.applications.test_available_actions import page_buttons
from tests.assertions import unchanged
from tests.factories import ApplicationFactory, published_item
from tests.files import pdf_file

pytestmark = pytest.mark.django_db


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


# --- 网上预审 ---------------------------------------------------------------------------------------------


def test_prereview_lists_a_bundle_once_as_its_parent(citizen, clerk, submitted_parent):
    single = ApplicationFactory.advance(ApplicationFactory(item=published_item(name="单独事项"), applicant=citizen),
                                        to=State.SUBMITTED)
    response = page_client(clerk).get("/window/prereview/")
    assert response.status_code == 200
    body = text(response)
    assert body.count('<li class="case-row">') == 2
    assert f'href="/window/cases/{submitted_parent.number}/"' in body and "开办餐饮店（一件事）" in body
    assert "2 个子办件待受理" in body
    assert f'href="/window/cases/{single.number}/"' in body
    for child in submitted_parent.children.all():
        assert child.number not in body
    # Oldest waiting first: the bundle was submitted before the single case.
    assert body.index(submitted_parent.number) < body.index(single.number)


def test_an_accepted_bundle_leaves_prereview(clerk, submitted_parent):
    services.bundle_accept(actor=clerk, application=submitted_parent)
    assert set(submitted_parent.children.values_list("state", flat=True)) == {State.ACCEPTED}
    body = text(page_client(clerk).get("/window/prereview/"))
    assert submitted_parent.number not in body and "暂无待预审的申请" in body


def test_an_unsubmitted_bundle_is_not_in_prereview(citizen, clerk, bundle):
    parent = create(citizen, bundle)
    assert parent.state == State.DRAFT
    assert parent.number not in text(page_client(clerk).get("/window/prereview/"))


def test_prereview_query_count_does_not_grow_with_bundles(citizen, clerk, bundle, django_assert_max_num_queries):
    for _ in range(3):
        parent = create(citizen, bundle)
        complete(citizen, parent)
        services.bundle_submit(actor=citizen, application=parent)
    client = page_client(clerk)
    client.get("/window/prereview/")  # warm the session and calendar
    with django_assert_max_num_queries(12):
        body = text(client.get("/window/prereview/"))
    assert body.count("开办餐饮店（一件事）") == 3


# --- a child's window page ----------------------------------------------------------------------------


def test_a_childs_window_page_offers_nothing_and_links_its_bundle(clerk, submitted_parent):
    child = submitted_parent.children.order_by("pk").first()
    response = page_client(clerk).get(f"/window/cases/{child.number}/")
    assert response.status_code == 200
    body = text(response)
    assert "本办件属于一件事“开办餐饮店”" in body
    assert f'href="/window/cases/{submitted_parent.number}/"' in body
    assert page_buttons(clerk, child.number) == set()
    assert f'action="/window/cases/{child.number}/' not in body  # no form at all: no upload, 帮办, 受理 …
    for label in ("受理</button>", "一次性告知</button>", "转部门研判</button>"):
        assert label not in body


@pytest.mark.parametrize(("action", "data"), [
    ("accept", {}),
    ("notice", {"notice-reason_1": "x"}),
    ("refer", {"refer-reason": "是否属本部门职权"}),
    ("resubmit", {}),
    ("assist", {}),
    ("deliver", {"deliver-method": "pickup"}),
    ("materials", {}),
    ("commitment", {}),
])
def test_an_action_posted_to_a_child_is_409_naming_its_bundle(clerk, submitted_parent, action, data):
    child = submitted_parent.children.order_by("pk").first()
    with unchanged(child, submitted_parent):
        response = page_client(clerk).post(f"/window/cases/{child.number}/{action}/", data)
    assert response.status_code == 409
    body = text(response)
    assert "<h1>操作冲突</h1>" in body  # templates/409.html
    assert f"属于一件事“开办餐饮店”（一件事办件 {submitted_parent.number}）" in body
    assert f'<a href="/window/cases/{submitted_parent.number}/">前往一件事办件 {submitted_parent.number}</a>' in body
    assert set(submitted_parent.children.values_list("state", flat=True)) == {State.SUBMITTED}


@pytest.mark.parametrize(("action", "data"), [("accept", {}), ("refer", {"reason": "是否属本部门职权"})])
def test_the_api_refuses_a_childs_intake_with_bundle_child(login_api, clerk, submitted_parent, action, data):
    child = submitted_parent.children.order_by("pk").first()
    with unchanged(child, submitted_parent):
        response = login_api(clerk).post(f"/api/v1/applications/{child.number}/{action}/", data, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "bundle_child" and submitted_parent.number in response.json()["detail"]
    assert "refer" not in login_api(clerk).get(f"/api/v1/applications/{child.number}/").json()["available_actions"]


def test_the_bundle_window_page_still_takes_the_bundle(clerk, submitted_parent):
    client = page_client(clerk)
    body = text(client.get(f"/window/cases/{submitted_parent.number}/"))
    assert page_buttons(clerk, submitted_parent.number) == {"accept", "request-materials"}
    assert 'data-confirm="一件事的全部事项将一并受理' in body
    response = client.post(f"/window/cases/{submitted_parent.number}/accept/", follow=True)
    assert "一并受理" in text(response)
    assert set(submitted_parent.children.values_list("state", flat=True)) == {State.ACCEPTED}


# --- one one-time notice across the bundle -----------------------------------------------------------------


def test_after_the_bundle_notice_the_page_shows_it_instead_of_the_form(citizen, clerk, submitted_parent):
    food_case, tax_case = selectors.bundle_children(submitted_parent)
    food_req = requirement(food_case, "食品经营许可申请书")
    client = page_client(clerk)
    assert 'id="notice-form-title">一次性告知' in text(client.get(f"/window/cases/{submitted_parent.number}/"))
    response = client.post(f"/window/cases/{submitted_parent.number}/notice/", {
        f"notice-named_{food_case.pk}_{food_req.pk}": "on", f"notice-reason_{food_case.pk}_{food_req.pk}": "缺少签字",
    })
    assert response.status_code == 302
    services.application_material_upload(actor=citizen, application=food_case, requirement_id=food_req.pk,
                                         upload=pdf_file())
    services.bundle_resubmit(actor=citizen, application=submitted_parent)
    assert set(submitted_parent.children.values_list("state", flat=True)) == {State.SUBMITTED}

    body = text(client.get(f"/window/cases/{submitted_parent.number}/"))
    assert f'action="/window/cases/{submitted_parent.number}/notice/"' not in body
    assert "一次性告知需补正：食品经营许可（新办）：食品经营许可申请书（缺少签字）" in body
    assert "一件事只一次性告知一次" in body
    # The accept form stays; a posted second surprise is still refused and stores nothing.
    assert f'action="/window/cases/{submitted_parent.number}/accept/"' in body
    tax_req = requirement(tax_case, "涉税事项申请表")
    with unchanged(submitted_parent, food_case, tax_case):
        response = client.post(f"/window/cases/{submitted_parent.number}/notice/", {
            f"notice-named_{tax_case.pk}_{tax_req.pk}": "on", f"notice-reason_{tax_case.pk}_{tax_req.pk}": "未签字"})
    assert response.status_code == 200 and "首次告知未列出" in text(response)
    assert Notice.objects.filter(application=submitted_parent).count() == 1
    assert Application.objects.get(pk=tax_case.pk).state == State.SUBMITTED


# --- 领取送达 ---------------------------------------------------------------------------------------------


def test_pickup_lists_a_bundle_once_when_all_its_results_are_out(clerk, submitted_parent):
    services.bundle_accept(actor=clerk, application=submitted_parent)
    food_case, tax_case = selectors.bundle_children(submitted_parent)
    ApplicationFactory.advance(food_case, to=State.ISSUED)
    client = page_client(clerk)
    assert submitted_parent.number not in text(client.get("/window/pickup/"))  # the tax result is not out yet
    ApplicationFactory.advance(tax_case, to=State.ISSUED)
    body = text(client.get("/window/pickup/"))
    assert body.count(f'href="/window/cases/{submitted_parent.number}/"') == 1
    assert food_case.number not in body and tax_case.number not in body
    assert submitted_parent.number in text(client.get("/window/pickup/", {"q": submitted_parent.number}))
