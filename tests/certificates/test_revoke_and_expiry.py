"""Revocation by the issuing department's head, and the expiry sweep (remind 30 days ahead once, then
mark expired)."""

from datetime import date

import pytest
import time_machine
from django.core.exceptions import ValidationError

from certificates.models import Certificate, CertificateStatus
from certificates.services import certificate_expiry_sweep, certificate_revoke
from certificates.tasks import certificate_expiry_task
from portal.errors import Forbidden, InvalidTransition
from portal.models import AuditEvent, Notification
from tests.assertions import unchanged
from tests.certificates.factories import FOOD_FACE_DATA, CertificateTypeFactory, issue_certificate
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificate(food_type, holder):
    return issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)


def test_the_head_of_the_issuing_department_revokes(certificate, head, holder):
    certificate_revoke(actor=head, certificate=certificate, reason="  以欺骗手段取得许可  ")
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.REVOKED
    assert (certificate.revoked_by, certificate.revoke_reason) == (head, "以欺骗手段取得许可")
    assert certificate.revoked_at is not None
    event = AuditEvent.objects.get(action="certificate_revoke")
    assert (event.actor, event.object_id, event.from_state, event.to_state) == (head, certificate.identifier, "valid", "revoked")
    assert event.payload == {"reason": "以欺骗手段取得许可"}
    notification = Notification.objects.get(user=holder, kind="certificate_revoked")
    assert "以欺骗手段取得许可" in notification.message


@pytest.mark.parametrize("who", ["reviewer", "other_head", "holder", "supervisor", "custodian"])
def test_nobody_else_revokes(certificate, who, request):
    actor = UserFactory(supervisor=True) if who == "supervisor" else UserFactory(custodian=True) if who == "custodian" else request.getfixturevalue(who)
    with unchanged(certificate), pytest.raises(Forbidden):
        certificate_revoke(actor=actor, certificate=certificate, reason="理由")
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.VALID
    assert not AuditEvent.objects.filter(action="certificate_revoke").exists()


def test_a_reason_is_required(certificate, head):
    with unchanged(certificate), pytest.raises(ValidationError) as error:
        certificate_revoke(actor=head, certificate=certificate, reason="  ")
    assert "reason" in error.value.message_dict
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.VALID


def test_only_a_valid_certificate_is_revoked(certificate, head):
    certificate_revoke(actor=head, certificate=certificate, reason="申请人申请注销")
    with unchanged(certificate), pytest.raises(InvalidTransition, match="已注销"):
        certificate_revoke(actor=head, certificate=certificate, reason="再次注销")
    assert AuditEvent.objects.filter(action="certificate_revoke").count() == 1


def test_status_cannot_be_set_around_the_services(certificate):
    with pytest.raises(TypeError):
        Certificate.objects.filter(pk=certificate.pk).update(status="revoked")
    with pytest.raises(AttributeError):
        certificate.status = CertificateStatus.REVOKED


# --- the expiry sweep -------------------------------------------------------------------------------


@pytest.fixture
def one_year(ccsj):
    return CertificateTypeFactory(code="ONE-YEAR", name="临时经营许可证", department=ccsj, validity_years=1)


def sweep_on(day: str) -> dict:
    with time_machine.travel(f"{day} 09:00 +0800"):
        return certificate_expiry_sweep()


def test_remind_ninety_and_thirty_days_ahead_each_once_then_expire(one_year, holder):
    with time_machine.travel("2026-01-10 10:00 +0800"):
        certificate = issue_certificate(certificate_type=one_year, holder=holder)
    assert certificate.valid_until == date(2027, 1, 9)
    Notification.objects.all().delete()

    # DESIGN §14: 90 and 30 days ahead (tests/certificates/test_lifecycle.py: the renew link in them).
    assert sweep_on("2026-10-10") == {"expired": 0, "reminded": 0}  # 91 days ahead
    assert sweep_on("2026-10-11") == {"expired": 0, "reminded": 1}  # 90 days ahead
    assert "90 天" in Notification.objects.get(user=holder).message
    assert sweep_on("2026-10-12") == {"expired": 0, "reminded": 0}
    Notification.objects.all().delete()
    assert sweep_on("2026-12-09") == {"expired": 0, "reminded": 0}  # 31 days ahead
    assert sweep_on("2026-12-10") == {"expired": 0, "reminded": 1}  # 30 days ahead
    reminder = Notification.objects.get(user=holder)
    assert reminder.kind == "certificate_expiring"
    assert "临时经营许可证" in reminder.message and "2027年01月09日" in reminder.message and "30 天" in reminder.message
    assert sweep_on("2026-12-10") == {"expired": 0, "reminded": 0}  # once
    assert sweep_on("2026-12-20") == {"expired": 0, "reminded": 0}
    assert sweep_on("2027-01-09") == {"expired": 0, "reminded": 0}  # the last valid day
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.VALID

    assert sweep_on("2027-01-10") == {"expired": 1, "reminded": 0}
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.EXPIRED
    assert Notification.objects.filter(user=holder, kind="certificate_expired").count() == 1
    event = AuditEvent.objects.get(action="certificate_expire")
    assert (event.object_id, event.from_state, event.to_state, event.actor) == (certificate.identifier, "valid", "expired", None)
    assert sweep_on("2027-01-11") == {"expired": 0, "reminded": 0}  # idempotent
    assert Notification.objects.filter(user=holder).count() == 2


def test_a_late_sweep_expires_without_reminding_first(one_year, holder):
    with time_machine.travel("2026-01-10 10:00 +0800"):
        issue_certificate(certificate_type=one_year, holder=holder)
    assert sweep_on("2027-02-01") == {"expired": 1, "reminded": 0}


def test_the_sweep_leaves_alone_what_is_not_due(one_year, licence_type, head, holder):
    with time_machine.travel("2026-01-10 10:00 +0800"):
        revoked = issue_certificate(certificate_type=one_year, holder=holder)
        certificate_revoke(actor=head, certificate=revoked, reason="申请人申请注销")
        permanent = issue_certificate(certificate_type=licence_type, holder=holder)
        later = issue_certificate(certificate_type=one_year, holder=holder, issued_on=date(2026, 6, 1))
    assert sweep_on("2027-01-10") == {"expired": 0, "reminded": 0}
    statuses = dict(Certificate.objects.values_list("pk", "status"))
    assert statuses == {revoked.pk: "revoked", permanent.pk: "valid", later.pk: "valid"}


def test_many_at_once_in_batches(one_year, holder):
    with time_machine.travel("2026-01-10 10:00 +0800"):
        for _ in range(5):
            issue_certificate(certificate_type=one_year, holder=holder)
    with time_machine.travel("2026-12-20 09:00 +0800"):
        assert certificate_expiry_sweep(batch=2) == {"expired": 0, "reminded": 5}
    with time_machine.travel("2027-01-10 09:00 +0800"):
        assert certificate_expiry_sweep(batch=2) == {"expired": 5, "reminded": 0}


def test_the_celery_task_runs_the_sweep(one_year, holder):
    with time_machine.travel("2026-01-10 10:00 +0800"):
        issue_certificate(certificate_type=one_year, holder=holder)
    with time_machine.travel("2027-01-10 09:00 +0800"):
        result = certificate_expiry_task.apply()
    assert result.get() == {"expired": 1, "reminded": 0}
