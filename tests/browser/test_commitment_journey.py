"""告知承诺制 in Chromium (DESIGN §14): the applicant ticks a material to promise instead of hand in on the apply
page, reads the signed 承诺书 on the case page and submits without that file; the case is accepted and approved
(through the services); the reviewer finds the verification task on the department's 承诺核查 list with its due
date and records the outcome. axe-core finds nothing on any page."""


import pytest
from django.utils import timezone
from playwright.sync_api import expect

from applications.models import Application, Commitment, State
from portal.workdays import WorkCalendar
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS, off_the_loop
from tests.factories import TEST_PASSWORD, ApplicationFactory, UserFactory, published_item
from tests.files import build_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROMISED = "经营场所使用证明"
UPLOADED = "食品经营许可申请书"


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
        page.screenshot(path=str(ARTIFACTS / f"commitment-{number:02d}-{request.node.name}.png"), full_page=True)
        context.close()


def log_in(page, username):
    page.goto("/accounts/login/")
    assert_accessible(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")


def approve(case, reviewer):
    """Clerk accepts, the reviewer claims and approves — through the services, in a thread of its own (as the
    organisation journey does: the services' work never runs inside Playwright's event loop)."""

    return off_the_loop(ApplicationFactory.advance, case, to=State.APPROVED, reviewer=reviewer)


def test_the_applicant_signs_a_commitment_and_the_department_verifies_it(browse, tmp_path):
    item = published_item(verification_days=20, materials=[
        {"name": UPLOADED, "form": "original", "required": True},
        {"name": PROMISED, "form": "copy", "required": True, "commitment_allowed": True},
    ])
    UserFactory(identified=True, username="zhangwei", real_name="张伟")
    reviewer = UserFactory(reviewer=True, username="wangfang", real_name="王芳", department=item.department)
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(build_pdf(comment="材料"))

    # --- the applicant: promise one material on the apply page, upload the other, submit ------------------
    citizen = browse()
    log_in(citizen, "zhangwei")
    citizen.goto(f"/apply/{item.code}/")
    assert_accessible(citizen)
    citizen.get_by_label("申请事项说明").fill("在人民大街 1 号开办餐馆")
    citizen.get_by_label("联系电话").fill("13800000000")
    citizen.get_by_label(f"以告知承诺代替「{PROMISED}」").check()
    citizen.get_by_role("button", name="创建申请").click()
    citizen.wait_for_url("**/my/cases/NET-*/")
    expect(citizen.get_by_text(f"已签署告知承诺书，以承诺代替：{PROMISED}。")).to_be_visible()
    case = Application.objects.get()
    commitment = Commitment.objects.get(application=case)
    assert list(commitment.requirements.values_list("name", flat=True)) == [PROMISED]
    citizen.locator("section.commitment summary").click()
    text = citizen.locator("section.commitment .printable").inner_text()
    assert PROMISED in text and "撤销行政许可" in text and "信用惩戒" in text
    expect(citizen.locator("li.material").filter(has_text=PROMISED)).to_contain_text("告知承诺")
    assert_accessible(citizen)
    field = citizen.get_by_label(f"上传「{UPLOADED}」")
    field.set_input_files(pdf)
    citizen.locator("form.upload").filter(has=field).get_by_role("button", name="上传", exact=True).click()
    expect(citizen.get_by_text(f"已上传「{UPLOADED}」")).to_be_visible()
    citizen.get_by_role("button", name="提交", exact=True).click()
    expect(citizen.get_by_text("申请已提交，窗口将在 5 个工作日内完成预审。")).to_be_visible()
    assert Application.objects.get().state == State.SUBMITTED

    # --- accepted and approved on the commitment ----------------------------------------------------------
    approve(case, reviewer)
    due = WorkCalendar.load().add_working_days(timezone.localdate(), 20).date
    commitment.refresh_from_db()
    assert commitment.verification_due == due

    # --- the department: the 承诺核查 list, then the case, then the outcome --------------------------------
    review = browse()
    log_in(review, "wangfang")
    review.goto("/review/")
    review.get_by_role("navigation", name="审查事务").get_by_role("link", name="承诺核查").click()
    review.wait_for_url("**/review/commitments/")
    row = review.locator("tr").filter(has_text=case.number)
    expect(row).to_contain_text(due.isoformat())
    expect(row).to_contain_text("剩 20 个工作日")
    assert_accessible(review)
    row.get_by_role("link", name=case.number).click()
    review.wait_for_url(f"**/review/cases/{case.number}/")
    expect(review.locator("section.commitment")).to_contain_text(due.isoformat())
    assert_accessible(review)
    review.get_by_label("核查属实").check()
    review.get_by_label("核查说明").fill("现场核查，场所使用证明属实")
    review.get_by_role("button", name="记录核查结果").click()
    expect(review.get_by_text("已记录核查结果：核查属实。")).to_be_visible()
    expect(review.locator("section.commitment")).to_contain_text("现场核查，场所使用证明属实")
    assert_accessible(review)
    commitment.refresh_from_db()
    assert commitment.outcome == "confirmed" and commitment.verified_by == reviewer
    review.goto("/review/commitments/")
    expect(review.get_by_text("暂无待核查的告知承诺。")).to_be_visible()
    assert_accessible(review)
