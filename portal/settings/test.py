"""Tests: the real database from DATABASE_URL (PostgreSQL in CI), a fast hasher, in-memory email."""

import os

from portal.settings.dev import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = False
LOGGING = {"version": 1, "disable_existing_loggers": False}
# The scrape endpoint as in production: closed but for its token.
METRICS_ALLOWED_NETWORKS = []
METRICS_TOKEN = "test-metrics-token"

# SQLite (no DATABASE_URL): a file, not memory, so threads in concurrency tests wait for the lock
# (WAL + timeout) instead of failing with "table is locked".
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405
else:
    # The read replica's alias, so a test may name it: a stand-in on the primary's server, never read while
    # REPLICA_READS is off. tests/replica/ point it at a real streaming replica and turn the reads on.
    DATABASES["replica"] = {  # noqa: F405
        **DATABASES["default"], "OPTIONS": {**DATABASES["default"].get("OPTIONS", {}), "connect_timeout": 2},  # noqa: F405
        "TEST": {"MIRROR": "default"},
    }

# Test workers (pytest-xdist) share one Redis database: each counts and clears only under its own prefix.
if CACHES["default"]["BACKEND"] == "portal.cache.PrefixedRedisCache":  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"  # noqa: F405
