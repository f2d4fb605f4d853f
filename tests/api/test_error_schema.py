"""The error answers the schema documents (portal/schema.py, decision 044) and their shape (DESIGN §10)."""

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.fixture(scope="module")
def operations():
    schema = APIClient().get("/api/schema/?format=json").json()
    return {(method.upper(), path): operation for path, item in schema["paths"].items() for method, operation in item.items()}


def codes(operations, method, path) -> list[str]:
    return sorted(operations[method, f"/api/v1/{path}"]["responses"])


def test_each_operation_documents_the_errors_its_view_gives(operations):
    # Public reads: a path parameter can miss; nothing to authenticate.
    assert codes(operations, "GET", "items/{code}/") == ["200", "404"]
    assert codes(operations, "GET", "workdays/") == ["200", "400"]
    # Signed-in writes: bad input, bad token, not allowed, not found, refused, too big, wrong body type.
    assert codes(operations, "POST", "certificates/{identifier}/revoke/") == [
        "200", "400", "401", "403", "404", "409", "413", "415"]
    # Throttled public endpoints; a list paginates (a page past the end is a 404).
    assert codes(operations, "GET", "verify/{identifier}/") == ["200", "404", "429"]
    assert codes(operations, "GET", "departments/") == ["200", "400", "404"]
    # What a view declares beyond the derived answers is kept: an upload on a full disk.
    assert "503" in codes(operations, "POST", "applications/{number}/materials/")


def test_errors_are_detail_and_code_and_a_400_names_fields(operations):
    responses = operations["POST", "/api/v1/applications/"]["responses"]
    schema_of = lambda code: responses[code]["content"]["application/json"]["schema"]  # noqa: E731
    assert schema_of("409") == schema_of("403") == {"$ref": "#/components/schemas/Error"}
    assert schema_of("400") == {"$ref": "#/components/schemas/ValidationError"}


@pytest.mark.django_db
def test_a_404_has_a_code_whether_a_view_or_no_url_pattern_answers_it():
    client = APIClient()
    client.force_authenticate(UserFactory(identified=True))
    missing = client.get("/api/v1/applications/NET-20260101-999999/")
    assert (missing.status_code, missing.json()) == (404, {"detail": "办件不存在", "code": "not_found"})
    # `<int:notification_id>` does not match "abc": Django's resolver answers, in the API's shape.
    unmatched = client.get("/api/v1/notifications/abc/read/")
    assert (unmatched.status_code, unmatched["Content-Type"], unmatched.json()["code"]) == (404, "application/json", "not_found")
    # Pages keep their HTML 404.
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
