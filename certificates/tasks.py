from celery import shared_task


@shared_task(name="certificates.certificate_expiry_task")
def certificate_expiry_task() -> dict:
    from certificates.services import certificate_expiry_sweep

    return certificate_expiry_sweep()
