"""Issuance through the real server (issue 14): a custodian stamping the cases of one department back to back
while the worker renders and signs the previous ones never gets a 500 — before, about half of them ended in
"deadlock detected" — and every case ends issued exactly once with an intact audit chain."""

import threading
import time

import pytest
import time_machine
from django.core.management import call_command

from applications.models import Application, State
from seals.models import Issuance, SealUse
from seals.services import seal_ca_init, seal_create
from tests.factories import TEST_PASSWORD, HallFactory, UserFactory
from tests.files import upload
from tests.server.conftest import call, celery_worker, environment, token_for, web_server

CASES = 6


@pytest.fixture
def item(licence_item):
    """A licence item: each approval yields an e-certificate to render and sign."""
    return licence_item


@pytest.fixture
def decided_cases(item, login_api):
    """CASES cases of one department, approved through the API (in-process), ready for the custodian."""
    clerk = UserFactory(clerk=True, hall=HallFactory())
    reviewer = UserFactory(reviewer=True, department=item.department)
    requirements = {r.name: r.pk for r in item.current_version.materials.all()}
    numbers = []
    with time_machine.travel("2026-11-24 10:00 +0800", tick=True):
        for index in range(CASES):
            citizen = UserFactory(identified=True, real_name=f"申请人{index}")
            client = login_api(citizen)
            number = client.post("/api/v1/applications/", {"item": item.code}, format="json").json()["number"]
            for name in ("食品经营许可申请书", "营业执照"):
                assert upload(client, number, requirements[name]).status_code == 201
            assert client.post(f"/api/v1/applications/{number}/submit/").status_code == 200
            assert login_api(clerk).post(f"/api/v1/applications/{number}/accept/").status_code == 200
            assert login_api(reviewer).post(f"/api/v1/applications/{number}/claim/").status_code == 200
            assert login_api(reviewer).post(f"/api/v1/applications/{number}/approve/", {"opinion": "符合法定条件"},
                                            format="json").status_code == 200
            numbers.append(number)
    return numbers


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_back_to_back_issuance_never_fails(item, decided_cases, tmp_path, settings):
    seal_ca_init()
    seal_create(department_code=item.department.code)
    custodian = UserFactory(custodian=True)
    redis_url = "redis://127.0.0.1:6379/11"
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = environment(redis_url=redis_url, media=tmp_path / "media")
    answers: list[int] = []
    with web_server(env=env, log_path=tmp_path / "web.log") as base, \
            celery_worker(env=env, log_path=tmp_path / "worker.log"):
        token = token_for(base, custodian.username, TEST_PASSWORD)

        def issue(number):
            status, body = call("POST", f"{base}/api/v1/applications/{number}/issue/", token=token)
            answers.append(status)
            assert status == 202, (number, status, body)

        # Half one after another while the worker stamps the previous ones, half all at once.
        half = CASES // 2
        for number in decided_cases[:half]:
            issue(number)
            time.sleep(0.3)
        threads = [threading.Thread(target=issue, args=(number,)) for number in decided_cases[half:]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        deadline = time.monotonic() + 300  # rendering and signing on a machine the rest of the suite loads
        while Application.objects.filter(number__in=decided_cases, state=State.ISSUED).count() < CASES:
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.5)

    assert answers == [202] * CASES, answers
    assert SealUse.objects.filter(application__number__in=decided_cases).count() == CASES
    assert Issuance.objects.filter(application__number__in=decided_cases, status="done").count() == CASES
    web_log = (tmp_path / "web.log").read_text()
    assert "deadlock" not in web_log.lower() and "Internal Server Error" not in web_log
    call_command("verify_audit")
