"""一件事一次办 in Chromium: a citizen opens the bundle's guide page, applies online with one form, uploads the
shared material once and each item's own materials, submits all at once and finds the bundle with its
children in 我的办件. Screenshots go to test-artifacts/bundle-NN-*.png."""

import pytest

from applications.models import Application, Material, State
from tests.applications.bundle_fixtures import ID_CARD
from tests.browser.conftest import ARTIFACTS, log_in
from tests.factories import UserFactory
from tests.files import build_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OWN = ("食品经营许可申请书", "涉税事项申请表")


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"bundle-{name}.png"), full_page=True)


@pytest.fixture
def sample_pdf(tmp_path):
    path = tmp_path / "材料.pdf"
    path.write_bytes(build_pdf(comment="材料"))
    return path


def upload(page, label, path, message):
    field = page.get_by_label(label)
    field.set_input_files(path)
    page.locator("form.upload").filter(has=field).get_by_role("button", name="上传", exact=True).click()
    page.wait_for_load_state()
    assert message in page.get_by_role("main").inner_text()


def test_citizen_applies_for_a_bundle_online(page, bundle, sample_pdf):
    UserFactory(identified=True, username="zhangwei", real_name="张伟")
    UserFactory(clerk=True, username="lina", real_name="李娜")

    log_in(page, "zhangwei")
    page.goto(f"/guide/bundles/{bundle.code}/")
    assert "开办餐饮店" in page.get_by_role("main").inner_text()
    shot(page, "01-guide")
    page.get_by_role("link", name="在线办理").first.click()
    page.wait_for_url(f"**/apply/bundle/{bundle.code}/")
    page.get_by_label("店铺名称").fill("老张饺子馆")
    page.get_by_label("经营项目").fill("热食类食品制售")
    page.get_by_label("申请说明").fill("在人民大街 1 号开办饺子馆")
    page.get_by_label("联系电话").fill("13800000000")
    page.get_by_label("联系地址").fill("长春市朝阳区人民大街 1 号")
    shot(page, "02-apply-form")
    page.get_by_role("button", name="创建申请").click()
    page.wait_for_url("**/my/cases/NET-*/")
    parent = Application.objects.get(parent__isnull=True)
    children = list(parent.children.order_by("pk"))
    assert parent.bundle_code == bundle.code and len(children) == 2
    assert children[0].form_data == {"店铺名称": "老张饺子馆", "经营项目": "热食类食品制售"}
    main = page.get_by_role("main").inner_text()
    assert "一件事申请已创建" in main and "开办餐饮店（一件事）" in main
    assert "长春市市场监督管理局" in main and "国家税务总局长春市税务局" in main
    shot(page, "03-bundle-draft")

    # The shared material once, then each item's own.
    upload(page, f"上传「{ID_CARD}」", sample_pdf, "2 个子办件同时使用")
    assert Material.objects.filter(application__parent=parent).count() == 2
    for name in OWN:
        upload(page, f"上传「{name}」", sample_pdf, f"：{name}」")
    assert Material.objects.filter(application__parent=parent).count() == 4
    shot(page, "04-bundle-uploaded")

    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_load_state()
    main = page.get_by_role("main").inner_text()
    assert "一件事申请已提交" in main and "已提交待受理" in main
    assert {child.state for child in parent.children.all()} == {State.SUBMITTED}
    shot(page, "05-bundle-submitted")

    # 我的办件: the bundle with its children under it, not listed again on their own.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的办件").click()
    page.wait_for_url("**/my/cases/")
    rows = page.locator("li.case-row")
    assert rows.count() == 1
    row_text = rows.first.inner_text()
    assert "开办餐饮店（一件事）" in row_text and parent.number in row_text and "已提交待受理" in row_text
    children_rows = rows.first.locator(".bundle-child-row")
    assert children_rows.count() == 2
    assert "食品经营许可（新办）" in children_rows.nth(0).inner_text()
    assert "新办纳税人涉税事项套餐" in children_rows.nth(1).inner_text()
    shot(page, "06-my-cases")

    # A child opens on its own case page.
    children_rows.nth(1).get_by_role("link", name="新办纳税人涉税事项套餐").click()
    page.wait_for_url(f"**/my/cases/{children[1].number}/")
    assert "已提交待受理" in page.get_by_role("main").inner_text()
    shot(page, "07-child-case")
    page.get_by_role("banner").get_by_role("button", name="退出").click()
    page.wait_for_load_state()

    # The window sees every child's checklist on the parent and accepts them together.
    log_in(page, "lina")
    page.goto(f"/window/cases/{parent.number}/")
    main = page.get_by_role("main").inner_text()
    assert "食品经营许可（新办）（长春市市场监督管理局）材料核对" in main and "新办纳税人涉税事项套餐" in main
    shot(page, "08-window-bundle")
    page.get_by_role("button", name="受理", exact=True).click()
    page.wait_for_load_state()
    assert "一并受理" in page.get_by_role("main").inner_text()
    assert {child.state for child in parent.children.all()} == {State.ACCEPTED}
    shot(page, "09-window-accepted")
