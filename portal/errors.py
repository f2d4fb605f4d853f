"""Errors services raise and the API turns into responses: refusals are 409 with a machine-readable code."""


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
