"""法人 and 经办人 in Chromium (DESIGN §13): the legal representative registers the organisation on 我的单位 and
adds two agents on its page; the first agent, at phone width, applies for 食品经营许可 as the organisation,
uploads the materials and submits; the back office takes the case to issuance through the services; the second
agent, also on a phone, finds the organisation's certificate in 我的证照. axe-core finds nothing on any page.

(A walk-in registered at the window who later registers online and finds the case: test_register.py.)"""


import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from stdnum.cn import uscc

from applications.models import Application, Material, State
from certificates.models import Certificate, CertificateType
from organisations.models import Organisation, OrganisationAgent
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS, off_the_loop
from tests.factories import TEST_PASSWORD, ApplicationFactory, DepartmentFactory, UserFactory, credit_code, published_item
from tests.files import build_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CODE = credit_code(52)
COMPANY = "长春味道餐饮有限公司"
ITEM = "食品经营许可（新办）"
FACE_FIELDS = ["经营者名称", "统一社会信用代码", "法定代表人（负责人）", "许可证编号"]
PHONE_VIEWPORT = {"width": 390, "height": 844}
DESKTOP_VIEWPORT = {"width": 1200, "height": 900}


@pytest.fixture
def browse(chromium, live_server, request):
    """browse(viewport) → a page in a fresh browser context (one per person); each leaves a screenshot."""
    opened = []

    def open_context(viewport):
        phone = viewport == PHONE_VIEWPORT
        context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=viewport, is_mobile=phone)
        page = context.new_page()
        page.set_default_timeout(15000)
        opened.append((context, page))
        return page

    yield open_context
    ARTIFACTS.mkdir(exist_ok=True)
    for number, (context, page) in enumerate(opened, start=1):
        page.screenshot(path=str(ARTIFACTS / f"organisation-{number:02d}-{request.node.name}.png"), full_page=True)
        context.close()


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def checked(page):
    """axe-core on the page as it stands; at phone width, no sideways scrolling either."""
    if page.viewport_size == PHONE_VIEWPORT:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"], page.url
    assert_accessible(page)


def log_in(page, username):
    page.goto("/accounts/login/")
    checked(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")
    expect(page.get_by_role("banner").get_by_role("button", name="退出")).to_be_visible()
    checked(page)


def nav(page, label, url):
    page.get_by_role("navigation", name="主导航").get_by_role("link", name=label, exact=True).click()
    page.wait_for_url(f"**{url}")
    checked(page)


def upload(page, name, pdf):
    field = page.get_by_label(f"上传「{name}」")
    field.set_input_files(pdf)
    page.locator("form.upload").filter(has=field).get_by_role("button", name="上传", exact=True).click()
    expect(page.get_by_text(f"已上传「{name}」")).to_be_visible()


def issue(case):
    """Clerk accepts, reviewer claims and approves, custodian stamps and the issuance task runs — through the
    services, in a thread of its own: pyHanko's asyncio.run() cannot start inside Playwright's running loop."""

    return off_the_loop(ApplicationFactory.advance, case, to=State.ISSUED)


@pytest.fixture
def food_item():
    department = DepartmentFactory(name="长春市市场监督管理局")
    food_type = CertificateType.objects.create(
        code="FOOD-BIZ", name="食品经营许可证", department=department, validity_years=5, face_fields=FACE_FIELDS,
        face_field_types={"经营者名称": "org_name", "统一社会信用代码": "uscc", "法定代表人（负责人）": "person_name"},
        number_field="许可证编号",
    )
    return published_item(name=ITEM, department=department, certificate_type=food_type, audience=["2"], online=True)


def test_an_agent_applies_as_the_organisation_and_another_agent_holds_the_certificate(browse, food_item, tmp_path):
    boss = UserFactory(identified=True, username="wangjianguo", real_name="王建国")
    agent = UserFactory(identified=True, username="chenchen", real_name="陈晨")
    agent2 = UserFactory(identified=True, username="zhaolei", real_name="赵磊")
    required = list(food_item.current_version.materials.filter(required=True).order_by("order")
                     .values_list("name", flat=True))
    assert required
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(build_pdf(comment="材料"))

    # --- 1. the legal representative registers the organisation and adds both agents (desktop) ----------
    page = browse(DESKTOP_VIEWPORT)
    log_in(page, "wangjianguo")
    nav(page, "我的单位", "/organisations/")
    expect(page.get_by_label("法定代表人（负责人）姓名")).to_have_value("王建国")  # filled from the account
    expect(page.get_by_label("法定代表人身份证号码")).to_have_value(boss.id_number)
    page.get_by_label("单位名称").fill(COMPANY)
    page.get_by_label("统一社会信用代码").fill(CODE)
    page.get_by_role("button", name="登记单位").click()
    page.wait_for_url(f"**/organisations/{CODE}/")
    expect(page.get_by_role("main")).to_contain_text(f"已登记单位「{COMPANY}」")
    checked(page)
    organisation = Organisation.objects.get(credit_code=CODE)
    assert (organisation.name, organisation.legal_rep_id) == (COMPANY, boss.pk)

    for person in (agent, agent2):
        page.get_by_label("经办人身份证号码").fill(person.id_number)
        page.get_by_role("button", name="添加经办人").click()
        expect(page.get_by_role("main")).to_contain_text(f"已添加经办人 {person.real_name}")
        checked(page)
    agents = page.get_by_role("table", name="本单位的经办人")
    expect(agents.get_by_role("row")).to_have_count(3)  # the header and both agents
    assert set(OrganisationAgent.objects.filter(organisation=organisation, removed_at__isnull=True)
               .values_list("user_id", flat=True)) == {agent.pk, agent2.pk}

    # --- 2. agent 1, on a phone, applies as the organisation, uploads and submits ------------------------
    page = browse(PHONE_VIEWPORT)
    log_in(page, "chenchen")
    nav(page, "我的单位", "/organisations/")
    expect(page.get_by_role("region", name="可代表办事的单位")).to_contain_text(COMPANY)
    page.goto(f"/apply/{food_item.code}/")
    checked(page)
    as_company = page.get_by_role("radio", name=f"以单位名义申请：{COMPANY}")
    as_company.check()
    page.get_by_label("申请事项说明").fill("在人民大街 1 号开办餐馆，经营热食类食品")
    page.get_by_label("联系电话").fill("13800000000")
    page.get_by_label("联系地址").fill("长春市朝阳区人民大街 1 号")
    checked(page)
    page.get_by_role("button", name="创建申请").click()
    page.wait_for_url("**/my/cases/NET-*/")
    case = Application.objects.get()
    assert (case.organisation_id, case.applicant_id, case.applicant_name, case.applicant_id_number) == (
        organisation.pk, agent.pk, COMPANY, CODE)
    assert case.state == State.DRAFT
    summary = page.get_by_role("main")
    expect(summary).to_contain_text("申请单位")
    expect(summary).to_contain_text(COMPANY)
    checked(page)
    for name in required:
        upload(page, name, pdf)
    assert sorted(Material.objects.filter(application=case).values_list("requirement__name", flat=True)) == sorted(required)
    checked(page)
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_text("申请已提交", exact=False).first).to_be_visible()
    case.refresh_from_db()
    assert case.state == State.SUBMITTED
    checked(page)

    # --- 3. the back office: accepted, claimed, approved, stamped (services) ------------------------------
    case = issue(case)
    assert case.state == State.ISSUED and case.certificate_identifier
    certificate = Certificate.objects.get(identifier=case.certificate_identifier)
    assert (certificate.holder_id, certificate.holder_name, certificate.holder_id_type, certificate.holder_id_number) == (
        None, COMPANY, "001", CODE)
    assert uscc.is_valid(certificate.holder_id_number)
    assert certificate.face_data["经营者名称"] == COMPANY
    assert certificate.face_data["统一社会信用代码"] == CODE
    assert certificate.face_data["法定代表人（负责人）"] == "王建国"
    assert certificate.licence_number == certificate.face_data["许可证编号"] == f"FOOD-BIZ-{certificate.issued_on.year}-000001"

    # --- 4. agent 2, on a phone, finds the organisation's certificate in 我的证照 -------------------------
    page = browse(PHONE_VIEWPORT)
    log_in(page, "zhaolei")
    nav(page, "我的证照", "/my/certificates/")
    rows = page.locator("li.cert-row")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text("食品经营许可证")
    expect(row).to_contain_text(f"持证主体 {COMPANY}")
    expect(row).to_contain_text(certificate.identifier)
    expect(row).to_contain_text("长春市市场监督管理局")
    page.screenshot(path=str(ARTIFACTS / "organisation-wallet.png"), full_page=True)
    # The certificate itself, downloaded from this agent's wallet: its face names the organisation, its
    # credit code (valid, the organisation's) and legal representative; no agent's name or ID number.
    with page.expect_download() as download:
        row.get_by_role("link", name="下载 PDF").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf == certificate.pdf.open("rb").read()
    face = "".join(pdf_text(pdf).split())
    assert COMPANY in face and CODE in face and "王建国" in face, face
    for person in (agent, agent2):
        assert person.real_name not in face and person.id_number not in face
    row.get_by_role("link", name="核验页").click()
    page.wait_for_url(f"**/{certificate.identifier}**")
    verified = page.get_by_role("main")
    expect(verified).to_contain_text(COMPANY)
    expect(verified).to_contain_text("统一社会信用代码")
    expect(verified).to_contain_text(CODE[-4:])  # shown in part, as every holder's number is there
    checked(page)
