import socket

from celery import shared_task


@shared_task(name="portal.worker_echo_task")
def worker_echo_task(value: str) -> dict:
    """Round-trip probe: proves a real worker took the message from the broker and answered."""
    return {"value": value, "worker": socket.gethostname()}
