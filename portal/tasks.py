import socket

from celery import shared_task

from portal.logcontext import request_id_var


@shared_task(name="portal.worker_echo_task", ignore_result=False)
def worker_echo_task(value: str) -> dict:
    """Round-trip probe: proves a real worker took the message from the broker and answered, under the
    request id it was queued with."""
    return {"value": value, "worker": socket.gethostname(), "request_id": request_id_var.get()}


@shared_task(name="portal.notification_send_task")
def notification_send_task(notification_id: int) -> bool:
    from portal.notifications import notification_send

    return notification_send(notification_id=notification_id)


@shared_task(name="portal.notification_send_many_task")
def notification_send_many_task(notification_ids: list[int]) -> int:
    """One queued message for a chunk of notifications; each row is still sent (and retried) on its own."""
    from portal.notifications import notification_send

    return sum(notification_send(notification_id=pk) for pk in notification_ids)


@shared_task(name="portal.notification_drain_task")
def notification_drain_task() -> int:
    """The outbox drain a commit woke (portal.broker.wake): sends every due notification."""
    from portal.notifications import notification_drain

    return notification_drain()


@shared_task(name="portal.notification_retry_task")
def notification_retry_task() -> int:
    from portal.notifications import notification_retry_sweep

    return notification_retry_sweep()


@shared_task(name="portal.audit_anchor_task")
def audit_anchor_task() -> dict[str, int]:
    """The `audit-anchor` timer: the chain heads signed and appended to AUDIT_ANCHOR_PATH (decision 042).
    Fails, writing nothing, when the anchors already there disagree with the database."""
    from portal.audit_anchor import audit_anchor_take

    return audit_anchor_take()
