"""Public verification is rate-limited per client (issue 14): the page the QR code opens and the API
share one count, rotating X-Forwarded-For does not escape it, and verification by file has its own."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.certificates.factories import FOOD_FACE_DATA, issue_certificate

pytestmark = pytest.mark.django_db

VERIFY_LIMIT = 120  # REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["verify"], per minute
VERIFY_FILE_LIMIT = 30


@pytest.fixture
def certificate(food_type):
    return issue_certificate(certificate_type=food_type, face_data=FOOD_FACE_DATA)


def test_250_lookups_with_rotating_x_forwarded_for_meet_a_429(client, certificate):
    """The walk the issue measured (300 look-ups in 2.8 s): one client, a new X-Forwarded-For each time."""
    statuses = [
        client.get(f"/verify/{certificate.identifier}/", HTTP_X_FORWARDED_FOR=f"198.51.{n // 256}.{n % 256}").status_code
        for n in range(250)
    ]
    assert statuses[:VERIFY_LIMIT] == [200] * VERIFY_LIMIT
    assert set(statuses[VERIFY_LIMIT:]) == {429}
    page = client.get(f"/verify/{certificate.identifier}/")
    assert page.status_code == 429
    body = page.content.decode()
    assert "访问过于频繁" in body and certificate.holder_name not in body


def test_unknown_identifiers_count_too(client, certificate):
    """Guesses are what the limit is for: a 404 counts like a hit."""
    guess = certificate.identifier.replace(certificate.serial, "000000000001")
    statuses = [client.get(f"/verify/{guess}/").status_code for _ in range(VERIFY_LIMIT + 1)]
    assert set(statuses[:VERIFY_LIMIT]) == {404} and statuses[VERIFY_LIMIT] == 429
    # Now the real one is refused as well: the count is per client, not per identifier.
    assert client.get(f"/verify/{certificate.identifier}/").status_code == 429


def test_the_page_and_the_api_share_one_count(client, api, certificate):
    for _ in range(VERIFY_LIMIT // 2):
        assert client.get(f"/verify/{certificate.identifier}/").status_code == 200
    statuses = [api.get(f"/api/v1/verify/{certificate.identifier}/").status_code for _ in range(VERIFY_LIMIT // 2 + 1)]
    assert statuses[:-1] == [200] * (VERIFY_LIMIT // 2) and statuses[-1] == 429
    response = api.get(f"/api/v1/verify/{certificate.identifier}/", HTTP_X_FORWARDED_FOR="192.0.2.77")
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    assert "holder" not in response.json()


def test_another_client_is_not_held_back(client, certificate):
    for _ in range(VERIFY_LIMIT + 1):
        client.get(f"/verify/{certificate.identifier}/")
    assert client.get(f"/verify/{certificate.identifier}/", REMOTE_ADDR="192.0.2.10").status_code == 200


def test_verification_by_file_is_limited_on_the_page_and_the_api(client, api, certificate):
    certificate.pdf.open("rb")
    data = certificate.pdf.read()
    certificate.pdf.close()

    def page():
        return client.post("/verify/", {"file": SimpleUploadedFile("证照.pdf", data, content_type="application/pdf")},
                           HTTP_X_FORWARDED_FOR="203.0.113.5").status_code

    def api_call():
        return api.post("/api/v1/verify/", {"file": SimpleUploadedFile("证照.pdf", data, content_type="application/pdf")},
                        format="multipart").status_code

    statuses = [page() if n % 2 else api_call() for n in range(VERIFY_FILE_LIMIT + 1)]
    assert statuses[:VERIFY_FILE_LIMIT] == [200] * VERIFY_FILE_LIMIT
    assert statuses[VERIFY_FILE_LIMIT] == 429
    assert page() == 429
    # Looking at the form is not a check.
    assert client.get("/verify/").status_code == 200
