"""Rate limits per client address, shared by every web process through the cache (Redis in production).

- `client_ip(request)` is the one answer to "who is this client": REMOTE_ADDR, or, behind
  TRUSTED_PROXY_COUNT proxies that each append to X-Forwarded-For, the address the outermost of them saw.
  A client-written X-Forwarded-For is never believed. DRF's throttles, django-axes and the page limits use it.
- Limits are sliding windows of per-second counters with atomic increments (`cache.incr`), so
  concurrent requests on several workers or hosts cannot overshoot the way a read-modify-write history
  can, and a burst across a minute boundary is not let through twice.
- The rates live in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]; a page and an API that answer the same
  question share one scope (and one count).
- When the cache is unreachable the limit is not applied (fail open, logged): a Redis outage must not
  turn every public page into a 500. Axes' lock-out (in the database) still stands for logins.

docs/decisions/041-throttles-and-input-limits.md.
"""

import ipaddress
import logging
import math
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)

THROTTLED_MESSAGE = "请求过于频繁，请稍后再试"
SLOTS = 60  # counters per window
# After a cache failure, this process skips the cache for this long instead of waiting for a timeout on
# every request.
CACHE_RETRY_SECONDS = 10.0
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Cache location → until when this process leaves it alone.
_cache_down_until: dict[str, float] = {}


def client_ip(request) -> str:
    """The client's address as the outermost trusted proxy saw it; REMOTE_ADDR with no proxy configured."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count and forwarded:
        # Each proxy appends the address it received the request from: the right-most `count` entries
        # are ours, anything further left was written by the client.
        addresses = [address.strip() for address in forwarded.split(",")]
        try:
            return str(ipaddress.ip_address(addresses[-min(count, len(addresses))]))
        except ValueError:
            logger.warning("unparseable X-Forwarded-For from a trusted proxy: %.100r", forwarded)
    return remote


def _bucket(address: str) -> str:
    """IPv6 clients are counted per /64: one subscriber gets a whole /64 and could rotate through it."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address) + "/64"


def parse_rate(rate: str) -> tuple[int, int]:
    """"120/minute" → (120, 60)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


def rate_for(scope: str) -> tuple[int, int]:
    # Read at call time (not import time), so a test's override_settings applies.
    return parse_rate(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope])


def throttle_hit(*, scope: str, request=None, key: str | None = None) -> float | None:
    """Count one request of this client (or of `key`, e.g. a phone number) in `scope`: None when allowed,
    else the seconds until it may retry.

    A sliding window of SLOTS counters (one second each for a per-minute rate): the request is counted in
    the current slot (an atomic increment, so concurrent requests on other workers are counted exactly),
    then the slots of the last period are added up; over the limit, the count is taken back and the
    request refused. Refused requests do not count, as in DRF.
    """
    limit, period = rate_for(scope)
    now = time.time()
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    if now < _cache_down_until.get(location, 0.0):
        return None
    step = period / SLOTS
    slot = int(now // step)
    base = f"throttle:{scope}:{key if key is not None else _bucket(client_ip(request))}"
    earlier = {f"{base}:{number}": number for number in range(slot - SLOTS + 1, slot)}
    try:
        cache.add(f"{base}:{slot}", 0, timeout=math.ceil(period + step))
        counted = cache.incr(f"{base}:{slot}")
        seen = cache.get_many(list(earlier))
        if counted + sum(seen.values()) <= limit:
            return None
        cache.decr(f"{base}:{slot}")
    except ValueError:  # the slot's key vanished between add and incr (evicted): count afresh
        return None
    except Exception:  # noqa: BLE001 — any cache failure: fail open, loudly
        _cache_down_until[location] = now + CACHE_RETRY_SECONDS
        logger.warning("rate limit %s not applied: the cache is unreachable", scope, exc_info=True)
        return None
    # Until the oldest counted slot leaves the window.
    oldest = min((earlier[key] for key, count in seen.items() if count), default=slot)
    return max(1.0, (oldest + SLOTS) * step - now)


class ClientRateThrottle(BaseThrottle):
    """DRF throttle: the view's `throttle_scope` (or the class's `scope`) counted per client address."""

    scope: str | None = None

    def allow_request(self, request, view):
        scope = self.scope or getattr(view, "throttle_scope", None)
        self._wait = throttle_hit(scope=scope, request=request) if scope else None
        return self._wait is None

    def wait(self):
        return self._wait

    def get_ident(self, request):
        return client_ip(request)


class AnonymousClientRateThrottle(ClientRateThrottle):
    """Only callers without an account are counted (a signed-in user is known and accountable)."""

    def allow_request(self, request, view):
        if request.user and request.user.is_authenticated:
            return True
        return super().allow_request(request, view)


def throttled_response(request, wait: float):
    seconds = math.ceil(wait)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": f"{THROTTLED_MESSAGE}（约 {seconds} 秒后）", "code": "throttled"}, status=429)
    else:
        response = render(request, "429.html", {"seconds": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def throttle_page(scope: str, *, methods: tuple[str, ...] | None = None):
    """Limit a page view (all methods, or only `methods`) with the same counts as the API of `scope`."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if methods is None or request.method in methods:
                wait = throttle_hit(scope=scope, request=request)
                if wait is not None:
                    return throttled_response(request, wait)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class RateLimited(Exception):
    """A service's own limit (not the client address's): answered 429 with Retry-After, like a throttle."""

    def __init__(self, detail: str, *, wait: float):
        super().__init__(detail)
        self.detail = detail
        self.wait = wait

    @property
    def seconds(self) -> int:
        return math.ceil(self.wait)
