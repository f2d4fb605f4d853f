"""The whole journey in Chromium, each step through the pages the people involved use (issue 9):

citizen finds the item in the guide and applies online → clerk sends a one-time notice → citizen supplies the
material and resubmits → clerk accepts → reviewer claims and approves (confirming the 照面信息) → custodian
stamps (the queued issuance runs as the worker would) → citizen downloads the signed certificate → anyone
verifies it by the QR code's link → citizen rates the service.

Every person logs in through /accounts/login/ in their own browser context; every step asserts on the page and
on the database, and leaves a full-page screenshot in test-artifacts/journey-NN-<step>.png."""

from urllib.parse import urlparse

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from applications.models import Application, Material, Notice, Rating, State
from certificates.models import Certificate, CertificateType
from certificates.rendering import verification_url
from portal.workdays import WorkCalendar
from seals.models import Issuance, SealUse
from seals.services import seal_ca_init, seal_create
from seals.signing import pdf_signature_is_valid
from seals.tasks import seal_issue_task
from tests.browser.conftest import ARTIFACTS, off_the_loop
from tests.factories import TEST_PASSWORD, DepartmentFactory, UserFactory, published_item
from tests.files import build_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REQUIRED = ("食品经营许可申请书", "营业执照")
FACE_FIELDS = ["经营者名称", "经营场所", "许可证编号"]
NOTICE_REASON = "营业执照复印件不清晰，请重新上传清晰的扫描件"
OPINION = "材料齐全，符合法定条件，准予许可"
ADDRESS = "长春市朝阳区人民大街 1 号"
BUSINESS = "长春市朝阳区张伟餐馆"


def shot(page, number, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"journey-{number:02d}-{name}.png"), full_page=True)


def main_text(page):
    return page.get_by_role("main").inner_text()


def nav(page, label):
    page.get_by_role("navigation", name="主导航").get_by_role("link", name=label, exact=True).click()


@pytest.fixture
def browse(chromium, live_server):
    """browse() → a page in a fresh browser context (one per person); closed at the end of the test."""
    contexts = []

    def open_context():
        context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1200, "height": 900},
                                       accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield open_context
    for context in contexts:
        context.close()


def log_in(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")
    expect(page.get_by_role("banner").get_by_role("button", name="退出")).to_be_visible()


@pytest.fixture
def sample_pdf(tmp_path):
    path = tmp_path / "材料.pdf"
    path.write_bytes(build_pdf(comment="材料"))
    return path


def upload(page, name, pdf, *, again=False):
    field = page.get_by_label(f"{'重新上传' if again else '上传'}「{name}」")
    field.set_input_files(pdf)
    page.locator("form.upload").filter(has=field).get_by_role("button", name="上传", exact=True).click()
    expect(page.get_by_text(f"已上传「{name}」")).to_be_visible()


def run_queued_issuance(issuance_id):
    """What the worker does with the queued task, run in-process through the task itself."""
    return seal_issue_task.apply(args=[issuance_id]).get()


def test_full_journey_from_guide_to_rating(browse, sample_pdf, tmp_path):
    # --- the data an administrator would have set up ---------------------------------------------------
    department = DepartmentFactory(name="长春市市场监督管理局")
    certificate_type = CertificateType.objects.create(
        code="FOOD-BIZ", name="食品经营许可证", department=department, validity_years=5, face_fields=FACE_FIELDS,
        face_field_types={"经营者名称": "org_name"}, public_fields=["经营者名称", "许可证编号"], number_field="许可证编号",
        number_format="JY1{year}{seq:08}",
    )
    item = published_item(department=department, certificate_type=certificate_type, online=True,
                          result_name="食品经营许可证")
    seal_ca_init()
    seal = seal_create(department_code=department.code)
    citizen = UserFactory(identified=True, username="zhangwei", real_name="张伟")
    UserFactory(clerk=True, username="lina", real_name="李娜")
    UserFactory(reviewer=True, department=department, username="wangfang", real_name="王芳")
    custodian = UserFactory(custodian=True, username="chenjing", real_name="陈静")

    # --- 1. the citizen finds the item in the guide and applies online ---------------------------------
    citizen_page = browse()
    log_in(citizen_page, "zhangwei")
    nav(citizen_page, "办事指南")
    citizen_page.wait_for_url("**/guide/")
    citizen_page.get_by_role("searchbox").fill("食品")
    citizen_page.get_by_role("button", name="搜索").click()
    citizen_page.wait_for_url("**/guide/?q=*")
    result = citizen_page.locator(".item-card").filter(has_text="食品经营许可（新办）")
    expect(result).to_be_visible()
    expect(result).to_contain_text("可网办")
    shot(citizen_page, 1, "guide-search")
    result.get_by_role("link", name="食品经营许可（新办）").click()
    citizen_page.wait_for_url(f"**/guide/{item.code}/")
    expect(citizen_page.get_by_role("heading", level=1)).to_contain_text("食品经营许可（新办）")
    shot(citizen_page, 2, "guide-item")
    citizen_page.get_by_role("link", name="在线办理").first.click()
    citizen_page.wait_for_url(f"**/apply/{item.code}/")
    citizen_page.get_by_label("申请事项说明").fill("在人民大街 1 号开办餐馆，经营热食类食品")
    citizen_page.get_by_label("联系电话").fill("13800000000")
    citizen_page.get_by_label("联系地址").fill(ADDRESS)
    shot(citizen_page, 3, "apply-form")
    citizen_page.get_by_role("button", name="创建申请").click()
    citizen_page.wait_for_url("**/my/cases/NET-*/")
    case = Application.objects.get()
    assert case.state == State.DRAFT and case.applicant_id == citizen.pk
    for name in REQUIRED:
        upload(citizen_page, name, sample_pdf)
    assert Material.objects.filter(application=case).count() == len(REQUIRED)
    citizen_page.get_by_role("button", name="提交", exact=True).click()
    expect(citizen_page.get_by_text("申请已提交", exact=False).first).to_be_visible()
    case.refresh_from_db()
    assert case.state == State.SUBMITTED
    shot(citizen_page, 4, "submitted")

    # --- 2. the clerk pre-reviews and sends a one-time notice ----------------------------------------
    clerk_page = browse()
    log_in(clerk_page, "lina")
    nav(clerk_page, "预审")
    clerk_page.wait_for_url("**/window/prereview/")
    row = clerk_page.locator(".case-row").filter(has_text=case.number)
    expect(row).to_be_visible()
    shot(clerk_page, 5, "prereview")
    row.get_by_role("link", name="食品经营许可（新办）").click()
    clerk_page.wait_for_url(f"**/window/cases/{case.number}/")
    notice_card = clerk_page.locator("section").filter(has=clerk_page.get_by_role("heading", name="一次性告知", exact=True))
    notice_card.get_by_role("checkbox", name="营业执照").check()
    notice_card.get_by_label("营业执照的补正原因").fill(NOTICE_REASON)
    shot(clerk_page, 6, "notice-form")
    notice_card.get_by_role("button", name="一次性告知").click()
    expect(clerk_page.get_by_text("已一次性告知需补正的全部材料")).to_be_visible()
    expect(clerk_page.get_by_role("main")).to_contain_text(NOTICE_REASON)
    case.refresh_from_db()
    notice = Notice.objects.get(application=case)
    assert case.state == State.PENDING_MATERIALS
    assert [(d.requirement.name, d.reason) for d in notice.deficiencies.all()] == [("营业执照", NOTICE_REASON)]
    assert notice.resolved_at is None
    shot(clerk_page, 7, "notice-sent")

    # --- 3. the citizen sees the notice, uploads the material again and resubmits ----------------------
    nav(citizen_page, "我的办件")
    citizen_page.wait_for_url("**/my/cases/")
    row = citizen_page.locator(".case-row").filter(has_text=case.number)
    expect(row).to_contain_text("补正")
    shot(citizen_page, 8, "my-cases-pending")
    row.get_by_role("link", name="食品经营许可（新办）").click()
    citizen_page.wait_for_url(f"**/my/cases/{case.number}/")
    notice_section = citizen_page.locator(".notice-card")
    expect(notice_section).to_contain_text("营业执照")
    expect(notice_section).to_contain_text(NOTICE_REASON)
    shot(citizen_page, 9, "case-notice")
    clearer = tmp_path / "营业执照-清晰.pdf"
    clearer.write_bytes(build_pdf(comment="clearer scan"))
    upload(citizen_page, "营业执照", clearer, again=True)
    citizen_page.get_by_role("button", name="补正后重新提交").click()
    expect(citizen_page.get_by_text("已于", exact=False).first).to_be_visible()
    case.refresh_from_db()
    notice.refresh_from_db()
    assert case.state == State.SUBMITTED and notice.resolved_at is not None
    # The earlier file is kept: 营业执照 now has two versions.
    assert Material.objects.filter(application=case, requirement__name="营业执照").count() == 2
    shot(citizen_page, 10, "resubmitted")

    # --- 4. the clerk accepts ------------------------------------------------------------------------
    clerk_page.goto("/window/prereview/")
    clerk_page.locator(".case-row").filter(has_text=case.number).get_by_role("link").first.click()
    clerk_page.wait_for_url(f"**/window/cases/{case.number}/")
    expected = WorkCalendar.load().add_working_days(timezone.localdate(), item.current_version.promised_days)
    accept_card = clerk_page.locator("section").filter(has=clerk_page.get_by_role("heading", name="受理", exact=True))
    expect(accept_card).to_contain_text(expected.date.isoformat())
    accept_card.get_by_role("button", name="受理", exact=True).click()
    expect(clerk_page.get_by_role("main")).to_contain_text("已受理")
    expect(clerk_page.get_by_role("main")).to_contain_text(expected.date.isoformat())
    case.refresh_from_db()
    assert case.state == State.ACCEPTED and case.due_date == expected.date and case.accepted_at
    shot(clerk_page, 11, "accepted")

    # --- 5. a reviewer of the department claims and approves, confirming the 照面信息 -------------------
    reviewer_page = browse()
    log_in(reviewer_page, "wangfang")
    nav(reviewer_page, "待审工作台")
    reviewer_page.wait_for_url("**/review/")
    expect(reviewer_page.get_by_role("link", name=case.number)).to_be_visible()
    shot(reviewer_page, 12, "worklist")
    reviewer_page.get_by_role("link", name=case.number).click()
    reviewer_page.wait_for_url(f"**/review/cases/{case.number}/")
    # 受审分离: the reviewer never sees the applicant's phone or address.
    assert "13800000000" not in main_text(reviewer_page) and ADDRESS not in main_text(reviewer_page)
    reviewer_page.get_by_role("button", name="认领").click()
    expect(reviewer_page.locator(".clock")).to_contain_text("王芳")
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW
    reviewer_page.locator("summary", has_text="准予许可").click()
    approve = reviewer_page.locator("details#approve")
    approve.get_by_label("审查意见").fill(OPINION)
    faces = approve.locator("fieldset.face-data")
    expect(faces).to_be_visible()
    # A person's case: the business's name is not the person's (issue 17); the reviewer types it. The licence
    # number is drawn at approval, never typed.
    expect(faces.get_by_label("经营者名称")).to_have_value("")
    faces.get_by_label("经营者名称").fill(BUSINESS)
    expect(faces).to_contain_text("批准时自动编号")
    if not faces.get_by_label("经营场所").input_value():
        faces.get_by_label("经营场所").fill(ADDRESS)
    shot(reviewer_page, 13, "review-approve")
    approve.get_by_role("button", name="准予许可").click()
    expect(reviewer_page.locator(".decision")).to_contain_text(OPINION)
    case.refresh_from_db()
    assert case.state == State.APPROVED and case.outcome == "approved" and case.decision_opinion == OPINION
    licence_number = f"JY1{timezone.localdate().year}00000001"
    assert case.face_data == {"经营者名称": BUSINESS, "经营场所": ADDRESS, "许可证编号": licence_number}
    shot(reviewer_page, 14, "approved")

    # --- 6. the custodian stamps; the worker runs the queued issuance ----------------------------------
    custodian_page = browse()
    log_in(custodian_page, "chenjing")
    nav(custodian_page, "签发队列")
    custodian_page.wait_for_url("**/center/issuance/")
    queue_row = custodian_page.locator("tr").filter(has_text=case.number)
    expect(queue_row).to_contain_text(department.name)
    shot(custodian_page, 15, "issuance-queue")
    queue_row.get_by_role("button", name="用印签发").click()
    expect(custodian_page.get_by_text(f"已下达签发：{case.number}")).to_be_visible()
    expect(custodian_page.locator("tr").filter(has_text=case.number)).to_contain_text("制证中")
    shot(custodian_page, 16, "issuing")
    issuance = Issuance.objects.get(application=case, status="pending")
    assert off_the_loop(run_queued_issuance, issuance.pk) is True
    case.refresh_from_db()
    assert case.state == State.ISSUED and not case.issuing and case.certificate_identifier
    use = SealUse.objects.get(application=case)
    assert (use.seal, use.custodian, use.decision) == (seal, custodian, "approved")
    nav(custodian_page, "用印记录")
    custodian_page.wait_for_url("**/center/seal-log/")
    log_row = custodian_page.locator("tr").filter(has_text=case.number)
    expect(log_row).to_contain_text(seal.name)
    expect(log_row).to_contain_text("电子证照")
    expect(log_row).to_contain_text("陈静")
    expect(log_row).to_contain_text(f"#{use.audit_seq}")
    shot(custodian_page, 17, "seal-log")

    # --- 7. the citizen downloads the certificate from 我的证照 ---------------------------------------
    certificate = Certificate.objects.get(identifier=case.certificate_identifier)
    assert certificate.holder_id == citizen.pk and certificate.status == "valid"
    assert certificate.face_data["经营场所"] == ADDRESS
    nav(citizen_page, "我的证照")
    citizen_page.wait_for_url("**/my/certificates/")
    cert_row = citizen_page.locator(".cert-row").filter(has_text=certificate.identifier)
    expect(cert_row).to_contain_text("食品经营许可证")
    expect(cert_row).to_contain_text("有效")
    shot(citizen_page, 18, "wallet")
    with citizen_page.expect_download() as download_info:
        cert_row.get_by_role("link", name="下载 PDF").click()
    downloaded = download_info.value.path().read_bytes()
    assert downloaded.startswith(b"%PDF") and off_the_loop(pdf_signature_is_valid, downloaded) is True
    assert downloaded == certificate.pdf.read()
    (ARTIFACTS / "journey-certificate.pdf").write_bytes(downloaded)

    # --- 8. anyone verifies it by the link the QR code carries --------------------------------------
    anyone = browse()
    anyone.goto(urlparse(verification_url(certificate.identifier)).path)
    expect(anyone.locator(".status-big")).to_have_text("有效")
    verified = main_text(anyone)
    assert certificate.identifier in verified and "张伟" in verified and department.name in verified
    assert citizen.id_number not in anyone.content()
    assert f"{citizen.id_number[:6]}********{citizen.id_number[-4:]}" in verified
    # The type's public face fields, and nothing else of the face (DESIGN §14).
    assert BUSINESS in verified and licence_number in verified and ADDRESS not in verified
    shot(anyone, 19, "verify")
    # The licence number printed on it finds it too, in any letter case.
    anyone.goto("/verify/")
    anyone.get_by_label("证照标识或许可证编号").fill(licence_number.lower())
    anyone.get_by_role("button", name="查询").click()
    expect(anyone.locator(".status-big")).to_have_text("有效")
    assert certificate.identifier in main_text(anyone)

    # --- 9. the citizen rates the service from the case page -----------------------------------------
    nav(citizen_page, "我的办件")
    citizen_page.locator(".case-row").filter(has_text=case.number).get_by_role("link").first.click()
    citizen_page.wait_for_url(f"**/my/cases/{case.number}/")
    expect(citizen_page.get_by_role("main")).to_contain_text("办件已办结")
    citizen_page.get_by_role("link", name="评价本次服务（好差评）").click()
    citizen_page.wait_for_url(f"**/my/cases/{case.number}/rate/")
    issuance = citizen_page.get_by_role("region", name="出证环节")  # 一次一评: each stage has its own form
    issuance.get_by_role("radio", name="非常满意").check()
    issuance.get_by_label("评价内容").fill("网上办理很方便，补正一次就办好了")
    shot(citizen_page, 20, "rate-form")
    issuance.get_by_role("button", name="提交出证环节评价").click()
    expect(citizen_page.get_by_text("感谢您的评价")).to_be_visible()
    expect(citizen_page.get_by_role("main")).to_contain_text("网上办理很方便")
    rating = Rating.objects.get(application=case, stage="issuance")
    assert (rating.score, rating.comment, rating.rated_by_id) == (1, "网上办理很方便，补正一次就办好了", citizen.pk)
    shot(citizen_page, 21, "rated")
