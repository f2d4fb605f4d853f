import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import TEST_PASSWORD, UserFactory

# The case fixtures every folder shares (item, clerk, reviewer, draft, submitted, decided, issued …).
pytest_plugins = ["tests.case_fixtures"]


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def login_api():
    """An APIClient authenticated as the given user (session-free, like a token client)."""

    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def password():
    return TEST_PASSWORD


@pytest.fixture
def citizen(db):
    return UserFactory(identified=True, real_name="张伟")


@pytest.fixture(autouse=True)
def _own_audit_anchors(settings, tmp_path_factory, monkeypatch):
    """Audit anchors describe one database's chain (decision 042): each test's go to a file of its own, in
    this process and in the commands it starts (restore, verify_audit, servers)."""
    path = tmp_path_factory.mktemp("anchors") / "audit-anchors.jsonl"
    settings.AUDIT_ANCHOR_PATH = str(path)
    monkeypatch.setenv("AUDIT_ANCHOR_PATH", str(path))
    return path


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached bodies live in the cache: each test starts from an empty one. So do the
    process's frozen requirements (decision 065): SQLite gives a rolled-back test's ids out again, and a test
    with the clock stopped may publish a version with the same id at the same moment."""
    from applications.selectors import forget_frozen_requirements

    cache.clear()
    forget_frozen_requirements()
    yield
