"""Shared by the portal tests: a new empty database to restore into (defined with the backup drill), and a
broker that does not answer."""

import pytest

from portal.celery import app
from tests.portal.test_backup_restore import empty_database  # noqa: F401


@pytest.fixture
def broker_down():
    """The broker is the outside world: point the app at a port where nothing listens."""
    saved = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.broker_url = saved
    app._pool = None
    app.amqp._producer_pool = None
