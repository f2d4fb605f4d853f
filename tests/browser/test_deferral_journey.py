"""容缺受理 in Chromium (DESIGN §14): a clerk registers a walk-in and accepts it with its 容缺 material missing; the
case page shows the deadline; the reviewer finds 准予许可 not offered and why; the clerk adds the material the
applicant brings later, and the reviewer approves. axe-core finds nothing on any page."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from applications.models import Application, State
from portal.workdays import WorkCalendar
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS
from tests.factories import TEST_PASSWORD, UserFactory, published_item
from tests.files import build_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEFERRED = "食品安全管理制度"
UPFRONT = ("食品经营许可申请书", "营业执照")


@pytest.fixture
def browse(chromium, live_server, request):
    """browse() → a page in a fresh browser context (one per person); each leaves a screenshot."""
    opened = []

    def open_context():
        context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15000)
        opened.append((context, page))
        return page

    yield open_context
    ARTIFACTS.mkdir(exist_ok=True)
    for number, (context, page) in enumerate(opened, start=1):
        page.screenshot(path=str(ARTIFACTS / f"deferral-{number:02d}-{request.node.name}.png"), full_page=True)
        context.close()


def log_in(page, username):
    page.goto("/accounts/login/")
    assert_accessible(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")


def upload(page, name, pdf):
    field = page.get_by_label(f"上传「{name}」")
    field.set_input_files(pdf)
    page.locator("form.upload").filter(has=field).get_by_role("button", name="上传", exact=True).click()
    expect(page.get_by_text(f"已上传「{name}」")).to_be_visible()


def test_a_walk_in_accepted_with_a_deferred_material_is_approved_once_it_is_in(browse, tmp_path):
    item = published_item(deferral_days=5, materials=[
        {"name": UPFRONT[0], "form": "original", "required": True},
        {"name": UPFRONT[1], "form": "copy", "required": True},
        {"name": DEFERRED, "form": "original", "required": True, "deferrable": True},
    ])
    UserFactory(clerk=True, username="lina", real_name="李娜")
    UserFactory(reviewer=True, username="wangfang", real_name="王芳", department=item.department)
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(build_pdf(comment="材料"))

    # --- the window: register the walk-in, hand in two materials, accept with the third deferred ----------
    window = browse()
    log_in(window, "lina")
    window.goto(f"/window/intake/?item={item.code}")
    assert_accessible(window)
    window.get_by_label("申请人姓名").fill("王小明")
    window.get_by_label("证件号码").fill("220102199003071235")
    window.get_by_label("联系电话").fill("13800000000")
    window.get_by_role("button", name="登记并核对材料").click()
    window.wait_for_url("**/window/cases/*/")
    case = Application.objects.get()
    for name in UPFRONT:
        upload(window, name, pdf)
    assert_accessible(window)
    window.get_by_role("button", name="受理", exact=True).click()
    expect(window.get_by_role("heading", name="容缺受理")).to_be_visible()
    case.refresh_from_db()
    due = WorkCalendar.load().add_working_days(timezone.localdate(), 5).date
    assert case.state == State.ACCEPTED and case.deferral_due == due
    deferral = window.locator("section.deferral").inner_text()
    assert due.isoformat() in deferral and DEFERRED in deferral
    assert_accessible(window)

    # --- the reviewer: claims it; 准予许可 is not offered, and the page says why -------------------------
    review = browse()
    log_in(review, "wangfang")
    review.goto(f"/review/cases/{case.number}/")
    review.get_by_role("button", name="认领").click()
    expect(review.get_by_text("已认领，开始审查。")).to_be_visible()
    expect(review.locator("#approve-blocked")).to_contain_text(DEFERRED)
    expect(review.get_by_text("准予许可", exact=True)).to_have_count(0)
    expect(review.get_by_text("不予许可", exact=True).first).to_be_visible()
    assert_accessible(review)

    # --- the applicant brings the material to the window; the deadline clears -----------------------------
    window.reload()
    upload(window, DEFERRED, pdf)
    expect(window.locator("section.deferral")).to_have_count(0)  # nothing owed any more
    expect(window.get_by_role("list").locator("li").filter(has_text="容缺材料补齐")).to_have_count(1)  # the timeline
    assert_accessible(window)
    case.refresh_from_db()
    assert case.deferral_due is None

    # --- now the reviewer approves ---------------------------------------------------------------------
    review.reload()
    expect(review.locator("#approve-blocked")).to_have_count(0)
    review.locator("#approve summary").click()
    review.locator("#approve").get_by_label("审查意见").fill("材料齐全，符合法定条件，准予许可")
    review.locator("#approve").get_by_role("button", name="准予许可").click()
    expect(review.get_by_text("已作出准予许可决定")).to_be_visible()
    assert_accessible(review)
    case.refresh_from_db()
    assert case.state == State.APPROVED
