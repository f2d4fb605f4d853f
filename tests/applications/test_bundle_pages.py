"""一件事一次办 pages (DESIGN §4 "Bundles"): apply for a bundle, upload a shared material once, submit all
children, the window accepts them together or tells every deficiency across children in one notice."""

import pytest
from django.test import Client

from applications.models import Application, Material, Notice, State
from items.models import BundleMaterial
from tests.applications.bundle_fixtures import ID_CARD
from tests.factories import UserFactory, published_item
from tests.files import pdf_file, stored_files

pytestmark = pytest.mark.django_db  # the bundle 开办餐饮店: tests/applications/bundle_fixtures.py


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


def apply(client, bundle, **overrides):
    data = {"f_shop_name": "老张饺子馆", "f_food_items": "热食类食品制售", "description": "开办饺子馆",
            "contact_phone": "13800000000", "contact_address": "人民大街 1 号", **overrides}
    return client.post(f"/apply/bundle/{bundle.code}/", data)


def upload_all(client, parent):
    shared = BundleMaterial.objects.get(bundle__code=parent.bundle_code)
    response = client.post(f"/my/cases/{parent.number}/shared/{shared.pk}/", {"file": pdf_file("身份证.pdf")})
    assert response.status_code == 302
    for child in parent.children.all():
        for requirement in child.item_version.materials.exclude(name__in=shared.maps.values()):
            response = client.post(f"/my/cases/{parent.number}/children/{child.number}/materials/",
                                   {"requirement": requirement.pk, "file": pdf_file()})
            assert response.status_code == 302


@pytest.fixture
def submitted(citizen, bundle):
    client = login(citizen)
    apply(client, bundle)
    parent = Application.objects.get(parent__isnull=True)
    upload_all(client, parent)
    response = client.post(f"/my/cases/{parent.number}/submit/")
    assert response.status_code == 302
    return parent


def test_apply_page_shows_the_shared_fields_and_creates_the_parent(citizen, bundle):
    client = login(citizen)
    body = text(client.get(f"/apply/bundle/{bundle.code}/"))
    assert "开办餐饮店" in body and "店铺名称" in body and "经营项目" in body and ID_CARD in body
    assert "食品经营许可（新办）" in body and "新办纳税人涉税事项套餐" in body

    response = apply(client, bundle)
    parent = Application.objects.get(parent__isnull=True)
    assert response.status_code == 302 and response["Location"] == f"/my/cases/{parent.number}/"
    assert parent.is_bundle_parent and parent.children.count() == 2
    assert parent.form_data["申请说明"] == "开办饺子馆"
    assert set(Application.objects.values_list("contact_address", flat=True)) == {"人民大街 1 号"}

    page = text(client.get(response["Location"]))
    assert "开办餐饮店（一件事）" in page and "草稿" in page
    assert "店铺名称" in page and "shop_name" not in page
    for child in parent.children.all():
        assert child.number in page and child.department.name in page


def test_apply_shows_missing_shared_fields_and_creates_nothing(citizen, bundle):
    response = apply(login(citizen), bundle, f_food_items="")
    assert response.status_code == 200 and "请填写经营项目" in text(response)
    assert not Application.objects.exists()


def test_a_full_disk_keeps_no_shared_material_and_says_so(citizen, bundle, full_disk):
    client = login(citizen)
    apply(client, bundle)
    parent = Application.objects.get(parent__isnull=True)
    shared = BundleMaterial.objects.get(bundle=bundle)
    response = client.post(f"/my/cases/{parent.number}/shared/{shared.pk}/", {"file": pdf_file("身份证.pdf")}, follow=True)
    assert response.status_code == 200 and "本次上传未保存" in text(response)
    assert not Material.objects.exists() and stored_files(full_disk) == []


def test_only_applicants_apply_and_unknown_bundles_404(citizen, bundle):
    assert login(UserFactory(clerk=True)).get(f"/apply/bundle/{bundle.code}/").status_code == 404
    assert login(citizen).get("/apply/bundle/NOPE/").status_code == 404
    assert Client().get(f"/apply/bundle/{bundle.code}/").status_code == 302


def test_shared_material_uploaded_once_is_on_every_child(citizen, bundle):
    client = login(citizen)
    apply(client, bundle)
    parent = Application.objects.get(parent__isnull=True)
    shared = BundleMaterial.objects.get(bundle=bundle)
    response = client.post(f"/my/cases/{parent.number}/shared/{shared.pk}/", {"file": pdf_file("身份证.pdf")}, follow=True)
    assert "2 个子办件同时使用" in text(response)
    rows = Material.objects.filter(application__parent=parent)
    assert rows.count() == 2 and len({row.file.name for row in rows}) == 1
    assert {row.requirement.name for row in rows} == {"法定代表人身份证件", "办税人员身份证件"}
    for child in parent.children.all():
        assert "已上传" in text(client.get(f"/my/cases/{child.number}/"))


def test_submit_is_refused_until_every_child_is_complete_then_submits_all(citizen, bundle):
    client = login(citizen)
    apply(client, bundle)
    parent = Application.objects.get(parent__isnull=True)
    response = client.post(f"/my/cases/{parent.number}/submit/", follow=True)
    assert "食品经营许可（新办）：" in text(response)
    assert set(parent.children.values_list("state", flat=True)) == {State.DRAFT}
    child = parent.children.order_by("pk").first()
    page = text(client.get(f"/my/cases/{child.number}/"))
    # The child's page points to the bundle: no 提交 or 撤回 of its own.
    assert f"一件事办件 {parent.number}" in page
    assert f"/my/cases/{child.number}/submit/" not in page and f"/my/cases/{child.number}/withdraw/" not in page

    upload_all(client, parent)
    response = client.post(f"/my/cases/{parent.number}/submit/", follow=True)
    assert "一件事申请已提交" in text(response) and "已提交待受理" in text(response)
    assert set(parent.children.values_list("state", flat=True)) == {State.SUBMITTED}
    parent.refresh_from_db()
    assert parent.state == State.DRAFT  # the container never moves


def test_my_cases_groups_children_under_their_parent(citizen, bundle, submitted):
    single = published_item(online=True, name="单独事项")
    client = login(citizen)
    client.post(f"/apply/{single.code}/", {"description": "x", "contact_phone": "13800000000"})
    body = text(client.get("/my/cases/"))
    assert body.count('<li class="case-row') == 2 and "单独事项" in body and "开办餐饮店（一件事）" in body
    for child in submitted.children.all():
        assert body.count(f"/my/cases/{child.number}/") == 1
    assert body.index("开办餐饮店（一件事）") < body.index("食品经营许可（新办）")


def test_window_accepts_all_children_together(bundle, submitted):
    clerk = login(UserFactory(clerk=True))
    page = text(clerk.get(f"/window/cases/{submitted.number}/"))
    assert "食品经营许可（新办）（长春市市场监督管理局）材料核对" in page and "新办纳税人涉税事项套餐" in page
    assert page.count('>受理</button>') == 1

    response = clerk.post(f"/window/cases/{submitted.number}/accept/", follow=True)
    assert "一并受理" in text(response)
    children = list(submitted.children.all())
    assert {c.state for c in children} == {State.ACCEPTED} and all(c.due_date for c in children)


def test_window_notice_across_children_and_resubmit(citizen, bundle, submitted):
    clerk = login(UserFactory(clerk=True))
    food_child, tax_child = submitted.children.order_by("pk")
    food_req = food_child.item_version.materials.get(name="食品经营许可申请书")
    tax_req = tax_child.item_version.materials.get(name="涉税事项申请表")

    response = clerk.post(f"/window/cases/{submitted.number}/notice/", {
        f"notice-named_{food_child.pk}_{food_req.pk}": "on",
    })
    assert response.status_code == 200 and "请写明补正原因" in text(response)
    assert not Notice.objects.exists()

    response = clerk.post(f"/window/cases/{submitted.number}/notice/", {
        f"notice-named_{food_child.pk}_{food_req.pk}": "on", f"notice-reason_{food_child.pk}_{food_req.pk}": "缺少签字",
        f"notice-named_{tax_child.pk}_{tax_req.pk}": "on", f"notice-reason_{tax_child.pk}_{tax_req.pk}": "未盖章",
    }, follow=True)
    assert "已一次性告知" in text(response)
    assert set(submitted.children.values_list("state", flat=True)) == {State.PENDING_MATERIALS}
    assert Notice.objects.filter(application=submitted).count() == 1

    client = login(citizen)
    page = text(client.get(f"/my/cases/{submitted.number}/"))
    assert "食品经营许可（新办）：食品经营许可申请书" in page and "缺少签字" in page
    assert "新办纳税人涉税事项套餐：涉税事项申请表" in page and "未盖章" in page
    assert "补正后重新提交" in page
    for child, requirement in ((food_child, food_req), (tax_child, tax_req)):
        client.post(f"/my/cases/{submitted.number}/children/{child.number}/materials/",
                    {"requirement": requirement.pk, "file": pdf_file()})
    response = client.post(f"/my/cases/{submitted.number}/resubmit/", follow=True)
    assert "补正材料已提交" in text(response)
    assert set(submitted.children.values_list("state", flat=True)) == {State.SUBMITTED}


def test_withdraw_withdraws_every_child(citizen, bundle, submitted):
    client = login(citizen)
    assert "撤回" in text(client.get(f"/my/cases/{submitted.number}/withdraw/"))
    client.post(f"/my/cases/{submitted.number}/withdraw/")
    submitted.refresh_from_db()
    assert submitted.state == State.WITHDRAWN
    assert set(submitted.children.values_list("state", flat=True)) == {State.WITHDRAWN}


def test_others_cannot_see_the_parent(bundle, submitted):
    assert login(UserFactory(identified=True)).get(f"/my/cases/{submitted.number}/").status_code == 404
    draft_parent_clerk = login(UserFactory(clerk=True))
    assert draft_parent_clerk.get("/window/cases/NET-NOPE/").status_code == 404


def test_a_child_page_refuses_single_case_intake(citizen, bundle, submitted):
    """A child is accepted, withdrawn or delivered only with its bundle: the child's own page refuses it,
    as the API does (code bundle_child), and nothing changes."""
    child = submitted.children.order_by("pk").first()
    page = text(login(citizen).get(f"/my/cases/{child.number}/"))
    assert f"/my/cases/{child.number}/withdraw/" not in page and f"一件事办件 {submitted.number}" not in page  # submitted
    response = login(citizen).post(f"/my/cases/{child.number}/withdraw/", follow=True)
    assert "该办件属于一件事" in text(response) and submitted.number in text(response)
    clerk = UserFactory(clerk=True)
    response = login(clerk).post(f"/window/cases/{child.number}/accept/")
    assert response.status_code == 409  # the error page names the bundle (tests/applications/test_bundle_window.py)
    assert "属于一件事" in text(response) and f'href="/window/cases/{submitted.number}/"' in text(response)
    assert set(Application.objects.filter(parent=submitted).values_list("state", flat=True)) == {State.SUBMITTED}


def test_a_bundle_parents_buttons_are_its_available_actions(login_api, citizen, submitted):
    """The parent answers for the bundle: its pages offer what the API lists, for the applicant and the window."""
    from tests.applications.test_available_actions import api_actions, page_buttons

    clerk = UserFactory(clerk=True)
    assert api_actions(login_api, citizen, submitted.number) == page_buttons(citizen, submitted.number) == {"withdraw"}
    assert (api_actions(login_api, clerk, submitted.number) == page_buttons(clerk, submitted.number)
            == {"accept", "request-materials"})
    child = submitted.children.order_by("pk").first()
    # A child's intake (referral included) is its bundle's: neither its page nor the API offers it.
    assert api_actions(login_api, clerk, child.number) == page_buttons(clerk, child.number) == set()
