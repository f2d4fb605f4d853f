from celery import shared_task

from certificates.services import certificate_expiry_sweep


@shared_task(name="certificates.certificate_expiry_task")
def certificate_expiry_task() -> dict:
    return certificate_expiry_sweep()
