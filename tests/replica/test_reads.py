"""Reads on a real streaming replica (DESIGN §16, decision 061): statistics, the catalogue and the work list
are read there; a user who wrote reads the primary for REPLICA_PIN_SECONDS. Where a read went is proved by
the server that answered it: the queries each connection ran, and what a replica whose replay is paused
does not have yet."""

import time

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from applications.models import Application, State
from portal.db import PIN_COOKIE
from tests.factories import ApplicationFactory, UserFactory

pytestmark = [pytest.mark.xdist_group("replica"), pytest.mark.django_db(transaction=True, databases=["default", "replica"])]


def tables(captured: CaptureQueriesContext) -> str:
    return " ".join(query["sql"] for query in captured.captured_queries)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def read(client: Client, url: str, **params):
    """The page, and the SQL that the primary and the replica each answered for it."""
    with CaptureQueriesContext(connections["default"]) as primary, CaptureQueriesContext(connections["replica"]) as replica:
        response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode(), tables(primary), tables(replica)


def test_the_work_list_the_catalogue_and_statistics_are_read_on_the_replica(replica, item, reviewer):
    case = ApplicationFactory(accepted=True, item=item)
    replica.catch_up()

    page, primary, on_replica = read(logged_in(reviewer), reverse("applications:worklist"))
    assert case.number in page
    assert '"applications_application"' in on_replica and '"applications_application"' not in primary

    page, primary, on_replica = read(Client(), reverse("items:detail", args=[item.code]))
    assert item.current_version.name in page
    assert '"items_item"' in on_replica and '"items_' not in primary

    supervisor = UserFactory(supervisor=True)
    _page, primary, on_replica = read(logged_in(supervisor), "/supervision/stats/")
    assert '"applications_application"' in on_replica and '"applications_application"' not in primary
    assert '"items_itemversion"' in on_replica


def test_a_reviewer_reads_their_claim_at_once_while_a_colleague_reads_the_replica(replica, settings, item, reviewer):
    settings.REPLICA_PIN_SECONDS = 1
    case = ApplicationFactory(accepted=True, item=item)
    colleague = logged_in(UserFactory(reviewer=True, department=item.department))
    me = logged_in(reviewer)
    replica.catch_up()
    replica.pause_replay()

    claimed = me.post(reverse("applications:review-claim", args=[case.number]))
    assert claimed.status_code == 302
    assert PIN_COOKIE in claimed.cookies
    stored = Application.objects.get(pk=case.pk)
    assert (stored.state, stored.reviewer_id) == (State.IN_REVIEW, reviewer.pk)

    # The claimer, pinned to the primary: the case is theirs in their list, and the replica was not asked.
    page, primary, on_replica = read(me, reverse("applications:worklist"), mine="on")
    assert case.number in page
    assert '"applications_application"' in primary and on_replica == ""
    # A colleague reads the replica, which has not replayed the claim: the case still waits to be claimed.
    page, primary, on_replica = read(colleague, reverse("applications:worklist"), state="accepted")
    assert case.number in page
    assert '"applications_application"' in on_replica and '"applications_application"' not in primary

    # The pin lasts REPLICA_PIN_SECONDS: then the claimer reads the replica too.
    time.sleep(2.1)
    page, _primary, on_replica = read(me, reverse("applications:worklist"), mine="on")
    assert case.number not in page and '"applications_application"' in on_replica

    replica.resume_replay()
    replica.catch_up()
    page, _primary, on_replica = read(colleague, reverse("applications:worklist"), state="accepted")
    assert case.number not in page and '"applications_application"' in on_replica


def test_healthz_reports_the_lag_and_a_lagging_replica_is_passed_over(replica, settings, client, item):
    answer = client.get("/healthz?full=1")
    assert answer.status_code == 200
    report = answer.json()["replica"]
    assert report["state"] == "ok" and report["lag_seconds"] <= settings.REPLICA_MAX_LAG_SECONDS
    assert report["lag_bytes"] >= 0

    replica.pause_replay()
    UserFactory()  # a commit the replica receives and does not apply
    replica.catch_up(replayed=False)
    settings.REPLICA_MAX_LAG_SECONDS = 0
    answer = client.get("/healthz?full=1")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
    report = answer.json()["replica"]
    assert report["state"] == "lagging" and report["lag_seconds"] > 0 and report["lag_bytes"] > 0
    # Behind by more than the bound: the catalogue is read on the primary; the replica was only asked its lag.
    page, primary, on_replica = read(Client(), reverse("items:detail", args=[item.code]))
    assert item.current_version.name in page
    assert '"items_item"' in primary and '"items_' not in on_replica and "pg_last_wal_replay_lsn" in on_replica


def test_with_the_replica_stopped_every_read_answers_from_the_primary(replica, settings, client, item, reviewer):
    settings.REPLICA_RETRY_SECONDS = 0  # ask the stopped replica again on each request: each must still answer
    case = ApplicationFactory(accepted=True, item=item)
    replica.stop()
    started = time.monotonic()
    for user, url, shown, table in (
        (reviewer, reverse("applications:worklist"), case.number, '"applications_application"'),
        (None, reverse("items:detail", args=[item.code]), item.current_version.name, '"items_item"'),
        (UserFactory(supervisor=True), "/supervision/stats/", "统计分析", '"applications_application"'),
    ):
        with CaptureQueriesContext(connections["default"]) as primary:
            response = (logged_in(user) if user else Client()).get(url)
        assert response.status_code == 200 and shown in response.content.decode()
        assert table in tables(primary)
    assert time.monotonic() - started < 10  # refused at once: no request waits out a timeout
    answer = client.get("/healthz?full=1")
    assert answer.status_code == 200 and answer.json()["replica"]["state"] == "down"


def test_a_replica_lost_in_the_middle_of_a_request_is_read_again_on_the_primary(replica, settings, item, reviewer):
    """The replica answers the request's lag check and dies before its reads (pg_ctl stop -m immediate, the
    moment the first read is sent): the page still answers, from the primary, and later requests leave the
    replica alone until it is back."""
    settings.REPLICA_RETRY_SECONDS = 60
    case = ApplicationFactory(accepted=True, item=item)
    replica.catch_up()

    def dies_after_the_lag_check(execute, sql, params, many, context):
        if "pg_last_wal_replay_lsn" not in sql and replica.running:
            replica.stop()  # a real crash: the statement below goes to a server that is gone
        return execute(sql, params, many, context)

    with connections["replica"].execute_wrapper(dies_after_the_lag_check):
        with CaptureQueriesContext(connections["default"]) as primary:
            response = logged_in(reviewer).get(reverse("applications:worklist"))
    assert not replica.running
    assert response.status_code == 200 and case.number in response.content.decode()
    assert '"applications_application"' in tables(primary)  # answered by the primary the second time

    # The next request does not try the dead replica again: straight to the primary, no error.
    with CaptureQueriesContext(connections["default"]) as primary:
        again = Client().get(reverse("items:detail", args=[item.code]))
    assert again.status_code == 200 and '"items_item"' in tables(primary)
