import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import TEST_PASSWORD, UserFactory


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
def _fresh_cache():
    """Throttle counters and cached bodies live in the cache: each test starts from an empty one."""
    cache.clear()
    yield
