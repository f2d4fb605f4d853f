"""Rate limits per client (issue 14): one count shared by every process (the cache), the client address
from REMOTE_ADDR or only as far as the configured proxies, a Chinese 429, and no 500 when Redis is down."""

import time

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def token(api, username, password, **headers):
    return api.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json", **headers)


def test_rotating_x_forwarded_for_does_not_escape_the_token_limit(api, password):
    """No proxy configured: X-Forwarded-For is the client's own writing and changes nothing."""
    UserFactory(username="busy")
    statuses = [
        token(api, "busy", password, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(30)
    ]
    assert statuses[:20] == [200] * 20
    assert set(statuses[20:]) == {429}
    response = token(api, "busy", password, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1


def test_a_burst_across_a_minute_boundary_is_not_let_through_twice(api, password):
    """A sliding window: 20 sign-ins just before the full minute leave none for just after it."""
    UserFactory(username="busy")
    with time_machine.travel("2026-11-24 10:00:59.5 +0800", tick=False):
        assert [token(api, "busy", password).status_code for _ in range(20)] == [200] * 20
    with time_machine.travel("2026-11-24 10:01:00.5 +0800", tick=False):
        refused = token(api, "busy", password)
        assert refused.status_code == 429
        assert 55 <= int(refused["Retry-After"]) <= 60
    with time_machine.travel("2026-11-24 10:02:00 +0800", tick=False):
        assert token(api, "busy", password).status_code == 200


def test_behind_one_proxy_the_right_most_address_counts(api, password, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="busy")
    # The client writes whatever it likes on the left; the proxy appends the address it saw.
    spoofed = [token(api, "busy", password, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 203.0.113.7").status_code for n in range(21)]
    assert spoofed[:20] == [200] * 20 and spoofed[20] == 429
    # Another client behind the same proxy has its own count.
    other = token(api, "busy", password, HTTP_X_FORWARDED_FOR="10.9.9.1, 203.0.113.8")
    assert other.status_code == 200


def test_an_address_the_proxy_did_not_write_falls_back_to_the_peer(api, password, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="busy")
    statuses = [token(api, "busy", password, HTTP_X_FORWARDED_FOR=f"junk-{n}").status_code for n in range(21)]
    assert statuses[20] == 429


@pytest.mark.parametrize(("proxies", "recorded"), [(0, "127.0.0.1"), (1, "203.0.113.9"), (2, "10.0.0.4")])
def test_the_login_lock_out_sees_the_same_client_address(client, settings, proxies, recorded):
    """django-axes asks portal.throttles.client_ip too: one answer for the lock-out and the rate limits."""
    settings.TRUSTED_PROXY_COUNT = proxies
    client.post("/accounts/login/", {"username": "target", "password": "guess"},
                HTTP_X_FORWARDED_FOR="10.0.0.4, 203.0.113.9")
    assert AccessAttempt.objects.get(username="target").ip_address == recorded


def test_ipv6_clients_are_counted_per_64(api, password):
    UserFactory(username="busy")
    statuses = [
        token(api, "busy", password, REMOTE_ADDR=f"2001:db8:1:2::{n:x}").status_code for n in range(1, 22)
    ]
    assert statuses[:20] == [200] * 20 and statuses[20] == 429
    assert token(api, "busy", password, REMOTE_ADDR="2001:db8:1:3::1").status_code == 200


def test_login_page_attempts_are_limited_with_a_chinese_page(client):
    """Different usernames each time (the per-account lock-out never triggers): the address limit does."""
    statuses = [
        client.post("/accounts/login/", {"username": f"user{n}", "password": "guess"},
                    HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(21)
    ]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    page = client.post("/accounts/login/", {"username": "user99", "password": "guess"})
    assert page.status_code == 429
    body = page.content.decode()
    assert "访问过于频繁" in body and "秒后再试" in body
    assert int(page["Retry-After"]) >= 1
    # Showing the form is not an attempt.
    assert client.get("/accounts/login/").status_code == 200


def test_the_login_page_and_the_token_endpoint_share_one_count(client, api, password):
    UserFactory(username="busy")
    for n in range(10):
        assert client.post("/accounts/login/", {"username": f"user{n}", "password": "guess"}).status_code == 200
    statuses = [token(api, "busy", password).status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_a_redis_outage_lets_requests_through_quickly_and_says_so(api, password, settings, caplog):
    """Fail open: a throttle must not turn a cache outage into a 500 for the public."""
    settings.CACHES = {"default": {
        "BACKEND": "portal.cache.PrefixedRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "KEY_PREFIX": "outage",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }}
    UserFactory(username="busy")
    started = time.monotonic()
    statuses = [token(api, "busy", password).status_code for _ in range(25)]
    assert statuses == [200] * 25
    assert time.monotonic() - started < 5
    assert any("rate limit login not applied" in record.getMessage() for record in caplog.records)
    assert Token.objects.filter(user__username="busy").count() == 1


def test_clearing_the_cache_leaves_other_keys_in_the_redis_database(settings):
    """The cache may share a Redis database with the broker and the other test workers: clear() is
    scoped to its own prefix, never FLUSHDB."""
    backend = settings.CACHES["default"]
    if backend["BACKEND"] != "portal.cache.PrefixedRedisCache":
        pytest.skip("REDIS_URL is not set: the cache is per-process memory")
    import redis

    client = redis.Redis.from_url(backend["LOCATION"])
    neighbour = f"not-the-cache:{backend['KEY_PREFIX']}:neighbour"
    client.set(neighbour, "queued task", ex=60)
    try:
        cache.set("mine", 1)
        assert cache.get("mine") == 1
        cache.clear()
        assert cache.get("mine") is None
        assert client.get(neighbour) == b"queued task"
    finally:
        client.delete(neighbour)
