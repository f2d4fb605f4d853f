"""Shared by the portal tests: a new empty database to restore into (defined with the backup drill)."""

from tests.portal.test_backup_restore import empty_database  # noqa: F401
