"""办件查询 without signing in (DESIGN §13): `/query/` and `GET /api/v1/query/`, number + the applicant's exact
name; milestones only, nothing private; one answer for every miss; rate-limited per client address. And the
QR code on the intake documents that opens it."""

import base64
import subprocess
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test.signals import template_rendered

from applications import selectors, services
from applications.documents import DocumentKind, qr_code_data_uri, query_url, render_document_pdf
from applications.models import Application, Document
from applications.public import NOT_FOUND_MESSAGE
from applications.selectors import public_case_lookup
from items.models import Bundle, BundleMember
from tests.factories import APPROVAL_OPINION, ApplicationFactory, DepartmentFactory, UserFactory, published_item
from tests.files import pdf_file

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
PRIVATE_MATERIALS = ["食品经营许可申请书", "营业执照", "食品安全管理制度"]


@pytest.fixture
def applicant(db):
    return UserFactory(identified=True, real_name="张伟", phone="13812345678", email="zhangwei@example.cn")


@pytest.fixture
def accepted(item, applicant, clerk):
    with time_machine.travel("2026-11-23 09:30 +0800"):
        case = ApplicationFactory(item=item, applicant=applicant, submitted=True)
    with time_machine.travel("2026-11-24 10:00 +0800"):
        return ApplicationFactory.advance(case, to="accepted", clerk=clerk)


def ask(client, number, name):
    return client.get("/api/v1/query/", {"number": number, "name": name})


def at(text):
    return datetime.fromisoformat(text).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def test_the_api_answers_item_state_milestones_and_due_date(api, accepted):
    response = ask(api, accepted.number, "张伟")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["number"] == accepted.number
    assert body["item"] == {"code": accepted.item_version.item.code, "name": "食品经营许可（新办）"}
    assert body["department"] == {"name": accepted.department.name}
    assert (body["state"], body["state_display"]) == ("accepted", "已受理")
    assert [(m["action"], m["label"], at(m["at"])) for m in body["milestones"]] == [
        ("submitted", "提交申请", "2026-11-23 09:30"), ("accepted", "受理", "2026-11-24 10:00"),
    ]
    assert body["due_date"] == accepted.due_date.isoformat() and body["due_date_provisional"] is False
    assert body["parts"] == []
    assert response["Cache-Control"] == "no-store"


def test_an_issued_case_shows_every_step_and_nothing_private(api, client, issued, citizen):
    case = Application.objects.get(number=issued)
    case_text = ask(api, issued, citizen.real_name).content.decode()
    body = ask(api, issued, citizen.real_name).json()
    assert body["state"] == "issued" and body["state_display"] == "已出证"
    assert [m["action"] for m in body["milestones"]] == ["submitted", "accepted", "decided", "issued"]
    assert body["milestones"][2]["label"] == "作出准予许可决定" and at(body["milestones"][2]["at"]) == "2026-11-24 10:00"
    page = client.post("/query/", {"number": issued, "name": citizen.real_name}).content.decode()
    for text in (case_text, page):
        for secret in [case.applicant_id_number, citizen.id_masked, *PRIVATE_MATERIALS, APPROVAL_OPINION]:
            assert secret not in text
    assert "作出准予许可决定" in page and "出证" in page and "食品经营许可（新办）" in page


def test_contact_and_identity_never_show(api, client, accepted, applicant):
    texts = [ask(api, accepted.number, "张伟").content.decode(),
             client.post("/query/", {"number": accepted.number, "name": "张伟"}).content.decode()]
    for text in texts:
        for secret in [applicant.id_number, applicant.id_masked, "13812345678", "zhangwei@example.cn", *PRIVATE_MATERIALS]:
            assert secret not in text
    assert "已受理" in texts[1] and accepted.number in texts[1]


@pytest.mark.parametrize("number, name", [
    ("right", "张三"),  # wrong name
    ("NET-20990101-000001", "张伟"),  # no such case
    ("right", "张"),  # part of the name is not the name
    ("right", ""),
])
def test_every_miss_is_the_same_404(api, client, accepted, number, name):
    number = accepted.number if number == "right" else number
    response = ask(api, number, name)
    if not name:
        assert response.status_code == 400 and "name" in response.json()
        return
    assert response.status_code == 404
    assert response.json() == {"detail": NOT_FOUND_MESSAGE, "code": "not_found"}
    page = client.post("/query/", {"number": number, "name": name})
    assert page.status_code == 404
    text = page.content.decode()
    assert NOT_FOUND_MESSAGE in text and "已受理" not in text and "食品经营许可（新办）" not in text


def test_number_case_and_spaces_do_not_matter_the_name_must_be_exact(api, accepted):
    assert ask(api, f"  {accepted.number.lower()} ", " 张伟 ").status_code == 200
    assert ask(api, accepted.number, "张 伟").status_code == 404


def test_a_draft_is_not_found(api, item, applicant):
    draft = ApplicationFactory(item=item, applicant=applicant)
    assert ask(api, draft.number, "张伟").status_code == 404


def test_guessing_is_throttled_and_the_page_and_api_share_the_count(api, client, accepted):
    for _ in range(10):
        assert ask(api, accepted.number, "李四").status_code == 404
    response = ask(api, accepted.number, "张伟")  # even the right name, once over the limit
    assert response.status_code == 429
    assert response.json()["code"] == "throttled" and "限流" in response.json()["detail"]
    assert int(response["Retry-After"]) >= 1
    page = client.post("/query/", {"number": accepted.number, "name": "张伟"})
    assert page.status_code == 429 and "访问过于频繁" in page.content.decode()
    # Opening the form (the QR code's link) is no guess and still works.
    assert client.get(f"/query/?number={accepted.number}").status_code == 200


def test_another_client_address_is_counted_apart(api, accepted):
    for _ in range(10):
        ask(api, accepted.number, "李四")
    assert ask(api, accepted.number, "李四").status_code == 429
    other = api.get("/api/v1/query/", {"number": accepted.number, "name": "张伟"}, REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 200


def test_a_hundred_guesses_a_day_then_none_until_the_next(api, client, accepted):
    """Under the minute's limit all day long is still brute force: 100 a day per client address (case_query_day),
    the page and the API together; the next day the address may ask again."""
    start = datetime(2026, 12, 7, 8, 0, tzinfo=BEIJING)
    for n in range(100):
        with time_machine.travel(start + timedelta(minutes=2 * (n // 5), seconds=n % 5), tick=False):
            asked = ask(api, accepted.number, "李四") if n % 2 else client.post("/query/", {"number": accepted.number,
                                                                                           "name": "李四"})
            assert asked.status_code == 404, n
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        refused = ask(api, accepted.number, "张伟")
        assert refused.status_code == 429 and refused.json()["code"] == "throttled"
        assert int(refused["Retry-After"]) > 60  # the day's limit, not the minute's
        assert client.post("/query/", {"number": accepted.number, "name": "张伟"}).status_code == 429
    with time_machine.travel(start + timedelta(days=1), tick=False):
        assert ask(api, accepted.number, "张伟").status_code == 200


def test_the_page_prefills_the_number_and_is_in_the_menu_for_everyone(client, accepted):
    response = client.get(f"/query/?number={accepted.number}")
    assert response.status_code == 200
    text = response.content.decode()
    assert f'value="{accepted.number}"' in text and '<label for="id_name">申请人姓名' in text
    assert 'href="/query/"' in client.get("/").content.decode()
    assert "no-store" in response["Cache-Control"]


def test_a_bundle_parent_answers_for_its_parts(api, client, applicant, clerk):
    food = published_item(name="食品经营许可（新办）", department=DepartmentFactory(name="长春市市场监督管理局"))
    tax = published_item(name="新办纳税人涉税事项套餐", department=DepartmentFactory(name="国家税务总局长春市税务局"), promised_days=2)
    bundle = Bundle.objects.create(code="YJS-KBCYD", name="开办餐饮店", theme="business_startup", status="published")
    BundleMember.objects.create(bundle=bundle, item=food, order=1)
    BundleMember.objects.create(bundle=bundle, item=tax, order=2)
    parent = services.bundle_application_create(actor=applicant, bundle_code=bundle.code)
    for child in parent.children.all():
        for requirement in selectors.missing_requirements(child):
            services.application_material_upload(actor=applicant, application=child, requirement_id=requirement.pk,
                                                 upload=pdf_file())
    assert ask(api, parent.number, "张伟").status_code == 404  # not submitted yet: no case to follow
    services.bundle_submit(actor=applicant, application=parent)
    services.bundle_accept(actor=clerk, application=parent)

    body = ask(api, parent.number, "张伟").json()
    assert body["item"]["name"] == "开办餐饮店" and body["state_display"] == "并联审批中"
    assert body["department"]["name"] == "长春市市场监督管理局、国家税务总局长春市税务局"
    assert [m["action"] for m in body["milestones"]] == ["submitted", "accepted"]
    assert [(part["item"]["name"], part["state"], [m["action"] for m in part["milestones"]]) for part in body["parts"]] == [
        ("食品经营许可（新办）", "accepted", ["submitted", "accepted"]),
        ("新办纳税人涉税事项套餐", "accepted", ["submitted", "accepted"]),
    ]
    assert body["due_date"] == max(part["due_date"] for part in body["parts"])
    page = client.post("/query/", {"number": parent.number, "name": "张伟"}).content.decode()
    assert "开办餐饮店" in page and "新办纳税人涉税事项套餐" in page


# --- the QR code on the intake documents ------------------------------------------------------------


def test_query_url_is_absolute_from_the_public_base_url(settings):
    settings.PUBLIC_BASE_URL = "https://zwfw.changchun.example.cn/"
    assert query_url("CC-CITY-20261124-000001") == "https://zwfw.changchun.example.cn/query/?number=CC-CITY-20261124-000001"
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert query_url("NET-20261124-000002") == "http://127.0.0.1:8000/query/?number=NET-20261124-000002"


def test_the_acceptance_notice_qr_code_opens_the_query_page(settings, accepted, client):
    """No QR decoder is installed: the document's QR image must be the one made from query_url(number),
    and that URL must open the query page with the number filled in."""
    settings.PUBLIC_BASE_URL = "https://zwfw.changchun.example.cn"
    document = Document.objects.get(application=accepted, kind=DocumentKind.ACCEPTANCE_NOTICE)
    contexts = []

    def rendered(sender, template, context, **kwargs):
        contexts.append(context.flatten())

    template_rendered.connect(rendered)
    try:
        render_document_pdf(kind=document.kind, context=document.context)
    finally:
        template_rendered.disconnect(rendered)
    url = f"https://zwfw.changchun.example.cn/query/?number={accepted.number}"
    assert query_url(accepted.number) == url
    qr_codes = {context["qr_code"] for context in contexts if "qr_code" in context}
    assert qr_codes == {qr_code_data_uri(url)}
    assert qr_code_data_uri(url) != qr_code_data_uri(f"办件编号 {accepted.number}")  # the image depends on its text
    svg = base64.b64decode(qr_codes.pop().removeprefix("data:image/svg+xml;base64,")).decode()
    assert svg.startswith("<?xml") or "<svg" in svg
    page = client.get(url.removeprefix("https://zwfw.changchun.example.cn"))
    assert page.status_code == 200 and f'value="{accepted.number}"' in page.content.decode()


def test_every_notice_receipt_and_decision_carries_the_query_qr_code(settings, issued, clerk, item):
    """Not only the acceptance notice: each document a case produces (receipt, 一次性告知, decision letter …)
    draws the QR code of its own case's /query/ link, captioned 扫码查询办件."""
    settings.PUBLIC_BASE_URL = "https://zwfw.changchun.example.cn"
    walk_in = services.application_create(actor=clerk, item_code=item.code,
                                          applicant={"name": "王小明", "id_type": "111", "id_number": "220102199003071235"})
    services.application_request_materials(actor=clerk, application=walk_in, deficiencies=[
        {"requirement": item.current_version.materials.first().pk, "reason": "复印件不清晰"}])
    documents = list(Document.objects.select_related("application"))
    assert {document.kind for document in documents} == {
        DocumentKind.RECEIPT, DocumentKind.ACCEPTANCE_NOTICE, DocumentKind.MATERIALS_NOTICE, DocumentKind.APPROVAL_DECISION}
    for document in documents:
        contexts = []

        def rendered(sender, template, context, **kwargs):
            contexts.append(context.flatten())

        template_rendered.connect(rendered)
        try:
            pdf = render_document_pdf(kind=document.kind, context=document.context)
        finally:
            template_rendered.disconnect(rendered)
        url = query_url(document.application.number)
        assert {c["qr_code"] for c in contexts if "qr_code" in c} == {qr_code_data_uri(url)}, document.kind
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
        assert "扫码查询办件" in text, document.kind


def test_the_lookup_reads_the_case_and_its_milestones_in_two_queries(accepted, django_assert_num_queries):
    with django_assert_num_queries(2):  # the case (unique number) with item and department; its audit events
        found = public_case_lookup(accepted.number, "张伟")
    assert [milestone.action for milestone in found.milestones] == ["submitted", "accepted"]
