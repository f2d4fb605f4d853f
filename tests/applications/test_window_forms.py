"""The window's forms (issue 18; docs/decisions/058-window-forms-and-confirmations.md): one one-time notice
per case (DESIGN §5), mail delivery to a real address (pages and `POST …/deliver/`), and a confirmation
(`data-confirm`, static/js/forms.js) on every irreversible form."""

import re
from datetime import time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from applications import services
from applications.models import Application, AppointmentSlot, Notice, State
from portal.models import AuditEvent
from tests.assertions import unchanged
from tests.factories import ApplicationFactory, UserFactory
from tests.files import pdf_file

pytestmark = pytest.mark.django_db

ADDRESS = "长春市南关区人民大街 100 号"


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


def form_tag(body: str, action: str) -> str:
    """The opening <form …> tag posting to `action` (fails when there is none)."""
    match = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>', body)
    assert match, f"no form posting to {action}"
    return match.group(0)


# --- one one-time notice per case --------------------------------------------------------------------------


def test_after_the_notice_the_window_shows_what_was_noticed_instead_of_the_form(citizen, clerk, submitted, requirements):
    client = page_client(clerk)
    notice_url = f"/window/cases/{submitted}/notice/"
    assert "data-confirm=" in form_tag(text(client.get(f"/window/cases/{submitted}/")), notice_url)
    licence = requirements["营业执照"]
    response = client.post(notice_url, {f"notice-named_{licence}": "on", f"notice-reason_{licence}": "复印件不清晰"})
    assert response.status_code == 302
    case = Application.objects.get(number=submitted)
    services.application_material_upload(actor=citizen, application=case, requirement_id=licence, upload=pdf_file())
    services.application_resubmit(actor=citizen, application=case)
    assert Application.objects.get(number=submitted).state == State.SUBMITTED

    body = text(client.get(f"/window/cases/{submitted}/"))
    assert f'action="{notice_url}"' not in body
    assert "一次性告知需补正：营业执照（复印件不清晰）" in body and "不得再告知新的补正内容" in body
    assert f'action="/window/cases/{submitted}/accept/"' in body  # the case goes on: accept or refer

    # A page opened before the notice may still post one: a new requirement is refused, nothing stored.
    other = requirements["食品经营许可申请书"]
    with unchanged(submitted):
        response = client.post(notice_url, {f"notice-named_{other}": "on", f"notice-reason_{other}": "未签字"})
    assert response.status_code == 200 and "首次告知未列出「食品经营许可申请书」" in text(response)
    assert Notice.objects.filter(application__number=submitted).count() == 1


# --- mail delivery needs an address ------------------------------------------------------------------------


@pytest.fixture
def issued_with_address(item, custodian):
    """An issued case whose applicant gave a contact address (its number)."""
    applicant = UserFactory(identified=True, address=ADDRESS)
    case = ApplicationFactory(item=item, applicant=applicant, issued=True, custodian=custodian)
    assert case.contact_address == ADDRESS
    return case.number


def deliver_page(client, number, **data):
    return client.post(f"/window/cases/{number}/deliver/", {f"deliver-{key}": value for key, value in data.items()})


def test_the_deliver_form_prefills_the_contact_address(clerk, issued_with_address):
    body = text(page_client(clerk).get(f"/window/cases/{issued_with_address}/"))
    assert re.search(rf'<input[^>]*name="deliver-address"[^>]*value="{ADDRESS}"', body)
    assert '<label for="id_deliver-address">邮寄地址</label>' in body


@pytest.mark.parametrize(("address", "message"), [
    ("", "邮寄送达须填写邮寄地址"),
    ("—", "请填写完整的邮寄地址"),
    ("，。、——", "请填写完整的邮寄地址"),
    ("长春", "请填写完整的邮寄地址"),
    ("长" * 201, "200"),  # the form's bound: at most 200 characters
])
def test_mail_to_no_address_is_refused_on_the_field(clerk, issued_with_address, address, message):
    with unchanged(issued_with_address):
        response = deliver_page(page_client(clerk), issued_with_address, method="mail", tracking_number="SF1", address=address)
    assert response.status_code == 200
    field = re.search(r'<div class="field has-error">\s*<label for="id_deliver-address">.*?</div>', text(response), re.S)
    assert field and message in field.group(0)
    case = Application.objects.get(number=issued_with_address)
    assert (case.state, case.contact_address) == (State.ISSUED, ADDRESS)


def test_mail_to_another_address_delivers_and_keeps_it_as_the_contact_address(clerk, issued_with_address):
    response = deliver_page(page_client(clerk), issued_with_address, method="mail", tracking_number="SF1234567890",
                            address="  长春市朝阳区工农大路 8 号  ")
    assert response.status_code == 302
    case = Application.objects.get(number=issued_with_address)
    assert (case.state, case.delivery_method, case.tracking_number) == (State.DELIVERED, "mail", "SF1234567890")
    assert case.contact_address == "长春市朝阳区工农大路 8 号"
    event = AuditEvent.objects.get(object_id=issued_with_address, action="application_deliver")
    # 受审分离: reviewers read the case's events; the address stays out of them.
    assert event.payload == {"method": "mail", "tracking_number": "SF1234567890", "address_changed": True}


def test_pickup_needs_no_address(clerk, citizen, issued):
    response = deliver_page(page_client(clerk), issued, method="pickup", id_number=citizen.id_number, address="")
    assert response.status_code == 302
    case = Application.objects.get(number=issued)
    assert (case.state, case.contact_address) == (State.DELIVERED, "")


def deliver_api(client, number, **data):
    return client.post(f"/api/v1/applications/{number}/deliver/", data, format="json")


def test_the_api_takes_the_contact_address_when_none_is_given(login_api, clerk, issued_with_address):
    response = deliver_api(login_api(clerk), issued_with_address, method="mail", tracking_number="SF1")
    assert response.status_code == 200 and response.json()["state"] == "delivered"
    assert Application.objects.get(number=issued_with_address).contact_address == ADDRESS


@pytest.mark.parametrize(("address", "message"), [
    (None, "邮寄送达须填写邮寄地址"),  # not given, and the case has no contact address
    ("", "邮寄送达须填写邮寄地址"),
    ("—", "请填写完整的邮寄地址"),
    ("长" * 201, "200"),
    ("人民大街\n1 号院 2 栋", "换行"),
])
def test_the_api_refuses_mail_without_an_address_naming_the_field(login_api, clerk, issued, address, message):
    data = {"method": "mail", "tracking_number": "SF1", **({} if address is None else {"address": address})}
    with unchanged(issued):
        response = deliver_api(login_api(clerk), issued, **data)
    assert response.status_code == 400
    assert set(response.json()) == {"address"} and message in str(response.json()["address"])
    assert Application.objects.get(number=issued).state == State.ISSUED


def test_a_bundle_is_mailed_to_one_address(login_api, clerk, submitted_parent, food_dept, tax_dept):
    from applications import selectors

    services.bundle_accept(actor=clerk, application=submitted_parent)
    for child in selectors.bundle_children(submitted_parent):
        ApplicationFactory.advance(child, to=State.ISSUED)
    client = login_api(clerk)
    children = list(submitted_parent.children.all())
    with unchanged(submitted_parent, *children):
        response = deliver_api(client, submitted_parent.number, method="mail", tracking_number="EMS1", address="—")
    assert response.status_code == 400 and "请填写完整的邮寄地址" in str(response.json()["address"])
    page = text(page_client(clerk).get(f"/window/cases/{submitted_parent.number}/"))
    assert 'name="deliver-address"' in page

    response = deliver_api(client, submitted_parent.number, method="mail", tracking_number="EMS1", address=ADDRESS)
    assert response.status_code == 200, response.content
    rows = Application.objects.filter(pk__in=[submitted_parent.pk, *[c.pk for c in children]])
    assert set(rows.values_list("contact_address", flat=True)) == {ADDRESS}
    assert set(submitted_parent.children.values_list("state", flat=True)) == {State.DELIVERED}


# --- confirmations before irreversible actions ----------------------------------------------------------------


def test_every_irreversible_form_asks_first(citizen, clerk, submitted, item, reviewer, custodian, seal):
    """提交, 受理, 一次性告知, 准予/不予许可, 用印签发, 取消预约, 撤回: each form carries a data-confirm sentence."""
    draft = ApplicationFactory(item=item, applicant=citizen)
    services.application_material_upload(actor=citizen, application=draft,
                                         requirement_id=item.current_version.materials.first().pk, upload=pdf_file())
    mine = page_client(citizen)
    assert "提交后" in form_tag(text(mine.get(f"/my/cases/{draft.number}/")), f"/my/cases/{draft.number}/submit/")
    withdraw = text(mine.get(f"/my/cases/{submitted}/withdraw/"))
    assert "撤回后" in re.search(r"<form[^>]*>", withdraw.split('class="page-title"', 1)[1]).group(0)

    window = text(page_client(clerk).get(f"/window/cases/{submitted}/"))
    assert "受理后" in form_tag(window, f"/window/cases/{submitted}/accept/")
    assert "只能进行一次" in form_tag(window, f"/window/cases/{submitted}/notice/")

    ApplicationFactory.advance(Application.objects.get(number=submitted), to=State.IN_REVIEW, clerk=clerk, reviewer=reviewer)
    review = text(page_client(reviewer).get(f"/review/cases/{submitted}/"))
    assert "准予许可决定" in form_tag(review, f"/review/cases/{submitted}/approve/")
    assert "不予许可决定" in form_tag(review, f"/review/cases/{submitted}/reject/")

    ApplicationFactory.advance(Application.objects.get(number=submitted), to=State.APPROVED, reviewer=reviewer)
    queue = text(page_client(custodian).get("/center/issuance/"))
    assert "加盖" in form_tag(queue, f"/center/issuance/{submitted}/issue/")


def test_cancelling_a_booking_asks_first(citizen, hall, item):
    slot = AppointmentSlot.objects.create(hall=hall, date=timezone.localdate() + timedelta(days=2), start=time(9, 0),
                                          end=time(9, 30), capacity=2)
    booking = services.appointment_book(actor=citizen, hall=hall, slot_id=slot.pk, item_code=item.code)
    body = text(page_client(citizen).get("/appointments/"))
    assert "取消后" in form_tag(body, f"/appointments/{booking.pk}/cancel/")
