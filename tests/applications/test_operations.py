"""What operators see of a case's life (issue 13): transitions on the metrics endpoint, and the request's log
line with its request id, user and case number."""

import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from applications.models import Application
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKEN = {"HTTP_AUTHORIZATION": "Bearer test-metrics-token"}


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **TOKEN)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def transitions(samples, action, outcome) -> float:
    return samples.get(("portal_transitions_total", (("action", action), ("outcome", outcome))), 0.0)


def test_an_accept_appears_on_the_scrape_endpoint(client, as_user, clerk, submitted, django_capture_on_commit_callbacks):
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/").status_code == 200
    after = scrape(client)
    assert transitions(after, "application_accept", "done") == transitions(before, "application_accept", "done") + 1
    # The second click is refused (409) and counted as such; nothing about the case changed.
    events = AuditEvent.objects.count()
    assert as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/").status_code == 409
    assert AuditEvent.objects.count() == events and Application.objects.get(number=submitted).state == "accepted"
    again = scrape(client)
    assert transitions(again, "application_accept", "refused") == transitions(after, "application_accept", "refused") + 1
    assert transitions(again, "application_accept", "done") == transitions(after, "application_accept", "done")
    # The request's latency is there under its view name (a bounded label set, not the path with the number).
    latency = [labels for name, labels in again if name == "portal_http_request_duration_seconds_count"]
    assert (("method", "POST"), ("view", "api:application-action")) in latency, latency


def test_a_transition_rolled_back_is_not_counted(client, as_user, clerk, submitted, django_capture_on_commit_callbacks):
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # the commit never happens
        assert as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/").status_code == 200
    assert callbacks
    assert transitions(scrape(client), "application_accept", "done") == transitions(before, "application_accept", "done")


def test_each_request_logs_one_line_with_its_id_user_and_case(as_user, citizen, submitted, caplog):
    client = as_user(citizen)
    with caplog.at_level(logging.INFO, logger="portal.request"):
        response = client.get(f"/api/v1/applications/{submitted}/", HTTP_X_REQUEST_ID="lb-7f3a9c")
    assert response.status_code == 200 and response["X-Request-ID"] == "lb-7f3a9c"
    [record] = [r for r in caplog.records if r.name == "portal.request"]
    assert (record.request_id, record.user_id, record.case, record.status) == ("lb-7f3a9c", citizen.pk, submitted, 200)
    assert record.view == "api:application-detail" and record.method == "GET" and record.duration_ms >= 0


def test_a_malformed_request_id_is_replaced(client, caplog):
    with caplog.at_level(logging.INFO, logger="portal.request"):
        response = client.get("/healthz", HTTP_X_REQUEST_ID='x" injected=1 ' + "a" * 100)
    generated = response["X-Request-ID"]
    assert len(generated) == 32 and generated.isalnum()
    [record] = [r for r in caplog.records if r.name == "portal.request"]
    assert record.request_id == generated and record.user_id is None and not hasattr(record, "case")
