"""Things done at the same moment (PostgreSQL row locks): two issuances get two serials, one revocation or
re-issue wins, two sweeps expire each certificate once."""

import threading

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from certificates.models import Certificate, CertificateStatus
from certificates.services import certificate_expiry_sweep
from portal.models import AuditEvent
from tests.certificates.factories import FOOD_FACE_DATA, CertificateTypeFactory, issue_certificate
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def race(calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:  # returned, so the test can say which one lost and how
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_issuances_at_once_get_different_serials(food_type):
    results = race([lambda: issue_certificate(certificate_type=food_type, face_data=FOOD_FACE_DATA)] * 2)
    assert all(isinstance(c, Certificate) for c in results), results
    assert results[0].serial != results[1].serial
    assert Certificate.objects.count() == 2


def test_two_reissues_of_one_certificate_exactly_one_wins(food_type, holder):
    old = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    results = race([lambda: issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA, previous=old)] * 2)
    winners = [r for r in results if isinstance(r, Certificate)]
    assert len(winners) == 1 and winners[0].version == 2
    assert Certificate.objects.filter(serial=old.serial, status=CertificateStatus.VALID).count() == 1


def test_two_heads_revoke_at_once_exactly_one_wins(food_type, holder, ccsj):
    certificate = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    clients = []
    for _ in range(2):
        client = APIClient()
        client.force_authenticate(UserFactory(head=True, department=ccsj))
        clients.append(client)
    url = f"/api/v1/certificates/{certificate.identifier}/revoke/"
    responses = race([lambda c=c: c.post(url, {"reason": "以欺骗手段取得许可"}, format="json") for c in clients])
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert AuditEvent.objects.filter(action="certificate_revoke").count() == 1


def test_two_sweeps_at_once_expire_each_certificate_once(ccsj, holder):
    one_year = CertificateTypeFactory(code="ONE-YEAR", department=ccsj, validity_years=1)
    with time_machine.travel("2026-01-10 10:00 +0800"):
        for _ in range(6):
            issue_certificate(certificate_type=one_year, holder=holder)
    with time_machine.travel("2027-01-10 09:00 +0800"):
        results = race([lambda: certificate_expiry_sweep(batch=2)] * 2)
    assert sum(r["expired"] for r in results) == 6
    assert AuditEvent.objects.filter(action="certificate_expire").count() == 6
    assert Certificate.objects.filter(status=CertificateStatus.EXPIRED).count() == 6
