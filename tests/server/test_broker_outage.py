"""A Redis outage stalls nothing (issue 14): with the broker stopped, accepting a case through the real
server answers within a second of the same accept with Redis up (it took 19 s: the result backend's retries) and the health check stays fast;
the applicant's notice waits in the outbox and is sent by the worker once Redis is back."""

import os
import subprocess
import sys
import time

import pytest

from applications.models import Application
from portal.models import Notification
from tests.factories import TEST_PASSWORD, HallFactory, UserFactory, published_item
from tests.files import upload
from tests.server.conftest import ROOT, call, celery_worker, environment, redis_server, token_for, web_server


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_accept_with_redis_stopped_is_fast_and_the_notice_is_sent_later(login_api, tmp_path):
    item = published_item()
    clerk = UserFactory(clerk=True, hall=HallFactory())
    cases = []
    for index in range(2):
        citizen = UserFactory(identified=True, phone=f"1390000000{index}")
        client = login_api(citizen)
        number = client.post("/api/v1/applications/", {"item": item.code}, format="json").json()["number"]
        for requirement in item.current_version.materials.filter(required=True, deferrable=False):
            assert upload(client, number, requirement.pk).status_code == 201
        assert client.post(f"/api/v1/applications/{number}/submit/").status_code == 200
        cases.append((number, citizen))
    (reference, _), (number, citizen) = cases

    with redis_server() as (redis_url, stop_redis, start_redis):
        env = {**environment(redis_url=redis_url, media=tmp_path / "media"), "SMS_FILE_PATH": str(tmp_path / "sms.log")}
        with web_server(env=env, log_path=tmp_path / "web.log") as base, \
                celery_worker(env=env, log_path=tmp_path / "worker.log"):
            token = token_for(base, clerk.username, TEST_PASSWORD)
            # The same accept with Redis up, measured on this machine as it is loaded now: the reference.
            started = time.monotonic()
            assert call("POST", f"{base}/api/v1/applications/{reference}/accept/", token=token)[0] == 200
            with_redis = time.monotonic() - started
            stop_redis()

            started = time.monotonic()
            status, body = call("POST", f"{base}/api/v1/applications/{number}/accept/", token=token)
            took = time.monotonic() - started
            assert status == 200 and body["state"] == "accepted", body
            # Before: 19 s of result-backend retries. Now the outage may cost at most a refused connection.
            assert took < with_redis + 1, f"accept took {took:.2f} s with Redis stopped, {with_redis:.2f} s with it up"
            # Nothing was lost: the case moved and the applicant's notice is a row, waiting in the outbox.
            assert Application.objects.get(number=number).state == "accepted"
            notice = Notification.objects.get(user=citizen, kind="accepted")
            assert notice.sent_at is None

            started = time.monotonic()
            assert call("GET", f"{base}/healthz")[0] == 200
            status, body = call("GET", f"{base}/healthz?full=1")
            assert (status, body["checks"]["broker"]) == (503, "fail")
            assert time.monotonic() - started < 5

            start_redis()  # back; beat would run the retry sweep within two minutes — run it now
            subprocess.run([sys.executable, "-m", "celery", "-A", "portal", "call", "portal.notification_retry_task"],
                           cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True, timeout=60)
            deadline = time.monotonic() + 60
            while Notification.objects.get(pk=notice.pk).sent_at is None:
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
                time.sleep(0.5)
    assert citizen.phone in (tmp_path / "sms.log").read_text()
