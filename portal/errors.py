"""Errors services raise and the API turns into responses: refusals are 409 with a machine-readable code."""

from django.db import OperationalError
from django.shortcuts import render

# PostgreSQL's answers when two transactions collide: deadlock_detected, serialization_failure,
# lock_not_available. The database rolled the loser back and nothing was written.
LOCK_CONFLICT_SQLSTATES = {"40P01", "40001", "55P03"}
LOCK_CONFLICT_MESSAGE = "该办件正被他人同时处理，本次操作未生效，请稍后重试"


class Refused(Exception):
    """The request was understood but the case's state or the rules refuse it (HTTP 409)."""

    status_code = 409
    default_code = "conflict"

    def __init__(self, detail: str, *, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code


class InvalidTransition(Refused):
    default_code = "invalid_transition"


class StorageUnavailable(Refused):
    """A file could not be written (disk full, storage down): nothing was kept, try again later (HTTP 503)."""

    status_code = 503
    default_code = "storage_unavailable"


class Forbidden(Exception):
    """The actor may see the object but their role may not do this (HTTP 403)."""

    def __init__(self, detail: str = "您的角色无权执行此操作"):
        super().__init__(detail)
        self.detail = detail


def is_lock_conflict(error: BaseException) -> bool:
    """A transaction the database rolled back because it collided with another one (a 409, not a 500)."""
    return isinstance(error, OperationalError) and getattr(error.__cause__, "sqlstate", None) in LOCK_CONFLICT_SQLSTATES


class LockConflictMiddleware:
    """The pages' counterpart of the API's handler: a collision the lock order did not prevent answers 409
    with a page saying nothing was done, never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_lock_conflict(exception):
            return render(request, "409.html", {"message": LOCK_CONFLICT_MESSAGE}, status=409)
        return None
