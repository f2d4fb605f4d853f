import socket

from celery import shared_task


@shared_task(name="portal.worker_echo_task")
def worker_echo_task(value: str) -> dict:
    """Round-trip probe: proves a real worker took the message from the broker and answered."""
    return {"value": value, "worker": socket.gethostname()}


@shared_task(name="portal.notification_send_task")
def notification_send_task(notification_id: int) -> bool:
    from portal.notifications import notification_send

    return notification_send(notification_id=notification_id)


@shared_task(name="portal.notification_retry_task")
def notification_retry_task() -> int:
    from portal.notifications import notification_retry_sweep

    return notification_retry_sweep()
