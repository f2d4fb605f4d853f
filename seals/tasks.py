from celery import shared_task


@shared_task(name="seals.seal_issue_task", bind=True, max_retries=5)
def seal_issue_task(self, issuance_id: int) -> bool:
    """Render + sign + issue; a failure rolls everything back and is retried with backoff."""
    from seals.services import seal_issue_complete, seal_issue_failed

    try:
        return seal_issue_complete(issuance_id=issuance_id)
    except Exception as error:
        if self.request.retries >= self.max_retries:
            seal_issue_failed(issuance_id=issuance_id, error=str(error))
            raise
        raise self.retry(exc=error, countdown=min(2 ** self.request.retries * 10, 600))


@shared_task(name="seals.seal_issue_retry_task")
def seal_issue_retry_task() -> int:
    from seals.services import seal_issue_retry_sweep

    return seal_issue_retry_sweep()


@shared_task(name="seals.document_seal_task", bind=True, max_retries=5)
def document_seal_task(self, document_id: int) -> bool:
    """Seal an intake document with the center's seal once its case's transaction committed. Without a
    center seal it stays unsealed (readers are told to come back) until the sweep finds one."""
    from seals.services import document_seal

    try:
        return document_seal(document_id=document_id, wait=False)
    except Exception as error:
        if self.request.retries >= self.max_retries:
            raise  # the sweep tries again later
        raise self.retry(exc=error, countdown=min(2 ** self.request.retries * 10, 600))


@shared_task(name="seals.document_seal_drain_task")
def document_seal_drain_task() -> int:
    """The drain an intake commit woke (portal.broker.wake): seals every intake document waiting for it."""
    from seals.services import document_seal_drain

    return document_seal_drain()


@shared_task(name="seals.document_seal_retry_task")
def document_seal_retry_task() -> int:
    from seals.services import document_seal_sweep

    return document_seal_sweep()
