"""Strict input (issue 14): each text the case API stores is bounded by its column, control characters are
refused, JSON is bounded in size and depth: a 400 (413 for the size) naming the field, and nothing stored
changes. Before, each of these was a 500 (varchar overflow, NUL in jsonb, RecursionError)."""

import io
import os
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image

from applications import services
from applications.models import Application, Deficiency, Notice, Rating, Rectification, Referral, State, Suspension
from portal.models import AuditEvent, Notification, User
from tests.factories import ApplicationFactory, UserFactory
from tests.files import upload

pytestmark = pytest.mark.django_db

WALK_IN_ID = "220102199003071235"


def long(length: int) -> str:
    return "长" * length


def stored() -> tuple:
    """Everything a refused request could have written."""
    return (
        list(Application.objects.order_by("pk").values()),
        list(Referral.objects.order_by("pk").values()),
        list(Rectification.objects.order_by("pk").values()),
        User.objects.count(), Notice.objects.count(), Deficiency.objects.count(), Suspension.objects.count(),
        Rating.objects.count(), Notification.objects.count(), AuditEvent.objects.count(),
    )


@pytest.fixture
def supervisor(db):
    return UserFactory(supervisor=True, real_name="赵敏")


@pytest.fixture
def referred(as_user, clerk, submitted):
    assert as_user(clerk).post(f"/api/v1/applications/{submitted}/refer/", {"reason": "存疑"}, format="json").status_code == 200
    return submitted


@pytest.fixture
def accepted(clerk, submitted):
    ApplicationFactory.advance(Application.objects.get(number=submitted), to=State.ACCEPTED, clerk=clerk)
    return submitted


@pytest.fixture
def in_review(reviewer, accepted):
    ApplicationFactory.advance(Application.objects.get(number=accepted), to=State.IN_REVIEW, reviewer=reviewer)
    return accepted


@pytest.fixture
def issued(in_review):
    ApplicationFactory.advance(Application.objects.get(number=in_review), to=State.APPROVED, opinion="符合条件")
    # What seals does around the stamp (tests/seals covers the stamp itself).
    with transaction.atomic():
        services.application_issue(actor=UserFactory(custodian=True), application=Application.objects.get(number=in_review),
                                   certificate_identifier="1.2.156.3005.2.TEST")
    return in_review


@pytest.fixture
def rectification(as_user, citizen, issued, head):
    response = as_user(citizen).post(f"/api/v1/applications/{issued}/rate/", {"score": 5, "comment": "跑了三次"}, format="json")
    assert response.status_code == 200, response.content
    return Rectification.objects.get(application__number=issued)


# (stage fixture, who, action or None for creating a case, payload(requirements), the field the 400 names)
BAD_INPUTS = {
    "contact phone too long": ("item", "citizen", None, lambda r: {"contact_phone": "1" * 21}, "contact_phone"),
    "contact phone not a phone number": ("item", "citizen", None, lambda r: {"contact_phone": "<script>alert(1)</script>"},
                                         "contact_phone"),
    "contact address too long": ("item", "citizen", None, lambda r: {"contact_address": long(201)}, "contact_address"),
    "applicant name too long": ("item", "clerk", None,
                                lambda r: {"applicant": {"name": long(51), "id_type": "111", "id_number": WALK_IN_ID}},
                                "applicant"),
    "control character in a name": ("item", "clerk", None,
                                    lambda r: {"applicant": {"name": "王\x07小明", "id_type": "111", "id_number": WALK_IN_ID}},
                                    "applicant"),
    "NUL inside form_data": ("item", "citizen", None, lambda r: {"form_data": {"经营场所": "人民\x00大街"}}, "form_data"),
    "NUL in a form_data key": ("item", "citizen", None, lambda r: {"form_data": {"经营\x00场所": "人民大街"}}, "form_data"),
    "form_data value too long": ("item", "citizen", None, lambda r: {"form_data": {"说明": long(2001)}}, "form_data"),
    "form_data not an object": ("item", "citizen", None, lambda r: {"form_data": ["人民大街"]}, "form_data"),
    "referral reason too long": ("submitted", "clerk", "refer", lambda r: {"reason": long(501)}, "reason"),
    "deficiency reason too long": ("submitted", "clerk", "request-materials",
                                   lambda r: {"deficiencies": [{"requirement": r["营业执照"], "reason": long(301)}]},
                                   "deficiencies"),
    "return reason too long": ("referred", "head", "return", lambda r: {"reason": long(501)}, "reason"),
    "decline reason too long": ("referred", "head", "decline", lambda r: {"reason": long(501), "legal_basis": "第三十二条"},
                                "reason"),
    "decline legal basis too long": ("referred", "head", "decline", lambda r: {"reason": "不符合", "legal_basis": long(501)},
                                     "legal_basis"),
    "extension reason too long": ("accepted", "head", "extend", lambda r: {"days": 1, "reason": long(501)}, "reason"),
    "suspension reason too long": ("in_review", "reviewer", "suspend",
                                   lambda r: {"kind": "site_inspection", "reason": long(501)}, "reason"),
    "opinion too long": ("in_review", "reviewer", "approve", lambda r: {"opinion": long(2001)}, "opinion"),
    "face data too long": ("in_review", "reviewer", "approve", lambda r: {"opinion": "同意", "face_data": {"名称": long(501)}},
                           "face_data"),
    "legal basis too long": ("in_review", "reviewer", "reject", lambda r: {"opinion": "不符合", "legal_basis": long(1001)},
                             "legal_basis"),
    "tracking number too long": ("issued", "clerk", "deliver", lambda r: {"method": "mail", "tracking_number": "SF" + "1" * 39},
                                 "tracking_number"),
    "tracking number with a line break": ("issued", "clerk", "deliver",
                                          lambda r: {"method": "mail", "tracking_number": "SF123\nSF456"}, "tracking_number"),
}


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(request, as_user, item, requirements, case):
    stage, who, action, payload, field = case
    number = request.getfixturevalue(stage) if stage != "item" else None
    client = as_user(request.getfixturevalue(who))
    before = stored()
    url = f"/api/v1/applications/{number}/{action}/" if action else "/api/v1/applications/"
    body = {"item": item.code, **payload(requirements)} if action is None else payload(requirements)
    response = client.post(url, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert stored() == before


def test_rectification_texts_are_bounded(as_user, supervisor, head, rectification):
    before = stored()
    response = as_user(supervisor).post(f"/api/v1/rectifications/{rectification.pk}/invalidate/", {"reason": long(501)},
                                        format="json")
    assert response.status_code == 400 and "reason" in response.json()
    response = as_user(head).post(f"/api/v1/rectifications/{rectification.pk}/start/", {"note": long(2001)}, format="json")
    assert response.status_code == 400 and "note" in response.json()
    assert stored() == before


def test_the_rectification_page_refuses_an_overlong_reason(client, supervisor, rectification):
    client.force_login(supervisor)
    before = stored()
    response = client.post(f"/supervision/rectifications/{rectification.pk}/invalidate/", {"text": long(501)}, follow=True)
    assert response.status_code == 200
    assert "不能超过 500 个字符" in response.content.decode()
    assert stored() == before


def test_json_nested_50000_deep_is_a_400(as_user, citizen, item):
    before = stored()
    nested = '{"item": "%s", "form_data": {"a": %s1%s}}' % (item.code, "[" * 50_000, "]" * 50_000)
    response = as_user(citizen).post("/api/v1/applications/", nested, content_type="application/json")
    assert response.status_code == 400
    assert "嵌套" in response.json()["detail"]
    # Deep but within the parser's limit: the form_data rule names the field.
    nested = '{"item": "%s", "form_data": {"a": %s1%s}}' % (item.code, "[" * 10, "]" * 10)
    response = as_user(citizen).post("/api/v1/applications/", nested, content_type="application/json")
    assert response.status_code == 400 and "form_data" in response.json()
    assert stored() == before


def test_a_json_body_over_the_limit_is_a_413(as_user, citizen, item, settings):
    before = stored()
    body = '{"item": "%s", "form_data": {"说明": "%s"}}' % (item.code, "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    response = as_user(citizen).post("/api/v1/applications/", body, content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert stored() == before


@pytest.mark.parametrize("url", [
    "/api/v1/certificates/?type=%00", "/api/v1/applications/?state=a%00b", "/api/v1/applications/?page=%01",
    "/api/v1/items/?search=%00", "/api/v1/applications/?%00=1",
])
def test_control_characters_in_query_parameters_are_a_400(as_user, citizen, url):
    response = as_user(citizen).get(url)
    assert response.status_code == 400
    assert "控制字符" in str(response.json())


def test_a_page_with_a_nul_in_its_query_answers_a_chinese_400(client):
    response = client.get("/guide/?q=%00")
    assert response.status_code == 400
    assert "控制字符" in response.content.decode()


def test_a_nul_in_a_form_post_is_refused_and_logs_nobody_in(client, password):
    UserFactory(username="lina")
    form = urlencode({"username": "lina\x00", "password": password})
    response = client.post("/accounts/login/", form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "控制字符" in response.content.decode()
    # Multipart form fields are left to the form, whose CharField refuses NUL as well.
    response = client.post("/accounts/login/", {"username": "lina\x00", "password": password})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_the_page_form_and_the_api_use_one_phone_rule(client, as_user, citizen, item):
    """The apply page refused "<script>" and the API took it; both now use portal.inputs.phone_validator."""
    client.force_login(citizen)
    page = client.post(f"/apply/{item.code}/", {"description": "开餐馆", "contact_phone": "<script>"})
    assert page.status_code in (200, 400) and "请填写正确的电话号码" in page.content.decode()
    api = as_user(citizen).post("/api/v1/applications/", {"item": item.code, "contact_phone": "<script>"}, format="json")
    assert api.status_code == 400 and "请填写正确的电话号码" in str(api.json()["contact_phone"])
    good = as_user(citizen).post("/api/v1/applications/", {"item": item.code, "contact_phone": "0431-8888 8888"}, format="json")
    assert good.status_code == 201
    assert not Application.objects.filter(contact_phone="<script>").exists()


def test_multipart_uploads_up_to_20_mb_still_work(as_user, citizen, draft, requirements, settings):
    """The 1 MB body limit is for JSON and forms: an uploaded file counts against its own 20 MB."""
    side = 2400  # ~17 MB of incompressible pixels
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=0)
    data = buffer.getvalue()
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < len(data) < 20 * 1024 * 1024
    response = upload(as_user(citizen), draft, requirements["营业执照"], SimpleUploadedFile("执照.png", data, content_type="image/png"))
    assert response.status_code == 201, response.content
    assert response.json()["size"] == len(data)
