"""Property-based API test (DESIGN §10, issues 9 and 14): every operation of /api/schema/, fed generated
input, answers only what the schema documents — its status codes, its bodies and their content types — and
never 5xx.

Each case is sent anonymously, with a supervisor's token, and as a citizen who owns real objects, with the
path pointing at them (their case, upload, appointment, notification, complaint and certificate, a hall, a published
item), so the documented success bodies are checked against real answers, not only 404s.
"""

from datetime import time, timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance

from applications import services
from applications.models import AppointmentSlot
from portal.models import Notification
from tests.certificates.factories import CertificateTypeFactory, issue_certificate
from tests.factories import HallFactory, UserFactory, published_item
from tests.files import pdf_bytes

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@pytest.fixture(autouse=True)
def keep_test_connection():
    """Like Django's test client: the WSGI handler must not close the connection holding the test's
    transaction at the end of each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(db):
    user = UserFactory(supervisor=True, identified=True)
    return Token.objects.create(user=user).key


@pytest.fixture
def world(db, settings, tmp_path):
    """A citizen's token and the path parameters of what they own or may see."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    citizen = UserFactory(identified=True)
    item = published_item()
    hall = HallFactory()
    today = timezone.localdate()
    AppointmentSlot.objects.create(hall=hall, date=today, start=time(9), end=time(9, 30), capacity=5)
    slot = AppointmentSlot.objects.create(hall=hall, date=today + timedelta(days=1), start=time(9), end=time(9, 30), capacity=5)
    case = services.application_create(actor=citizen, item_code=item.code, form_data={"经营场所": "人民大街 1 号"})
    requirement = item.current_version.materials.order_by("order").first()
    upload = SimpleUploadedFile("申请书.pdf", pdf_bytes(), content_type="application/pdf")
    material = services.application_material_upload(actor=citizen, application=case, requirement_id=requirement.pk, upload=upload)
    appointment = services.appointment_book(actor=citizen, hall=hall, slot_id=slot.pk, item_code=item.code)
    notification = Notification.objects.create(user=citizen, kind="test", application=case.number, message="材料已收到")
    complaint = services.complaint_file(actor=citizen, application=case, category="efficiency", content="迟迟没有消息")
    certificate = issue_certificate(certificate_type=CertificateTypeFactory(), holder=citizen, holder_id_number=citizen.id_number)
    return {
        "token": Token.objects.create(user=citizen).key,
        "number": case.number,
        "material_id": material.pk,
        "appointment_id": appointment.pk,
        "notification_id": notification.pk,
        "identifier": certificate.identifier,
        "complaint_number": complaint.number,
        "/api/v1/halls/": hall.code,
        "/api/v1/items/": item.code,
    }


def real_path_parameters(case, world) -> dict:
    """The generated path parameters, with those naming an object replaced by one of `world`'s."""
    parameters = dict(case.path_parameters)
    for name in parameters:
        if name in world:
            parameters[name] = world[name]
        elif name == "code":
            prefix = next((prefix for prefix in world if prefix.startswith("/") and case.path.startswith(prefix)), None)
            if prefix is not None:
                parameters[name] = world[prefix]
    return parameters


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_answers_as_documented(case, token, world):
    case.call_and_validate(checks=CHECKS)
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
    owned = case.derive()
    owned.path_parameters = real_path_parameters(case, world)
    owned.call_and_validate(headers={"Authorization": f"Token {world['token']}"}, checks=CHECKS)
