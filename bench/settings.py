"""Benchmark settings: production's stack (DEBUG off, the same middleware, security headers), runnable on
one machine over plain HTTP with fixed, public, benchmark-only secrets.

bench/run.py sets DATABASE_URL to its own throwaway database before Django starts. Never deploy this.
"""

import os
import warnings

# Production refuses to start without these; the benchmark has nothing to protect.
os.environ.setdefault("SECRET_KEY", "bench-only-insecure-secret-key-0123456789-abcdefghijklmnop")
os.environ.setdefault("SEAL_MASTER_KEY", "ZGV2LW9ubHktc2VhbC1tYXN0ZXIta2V5LTMyYnl0ZXM=")
os.environ.setdefault("ALLOWED_HOSTS", "*")

from portal.settings.production import *  # noqa: E402, F403
from portal.settings.production import DATABASES, STORAGES  # noqa: E402

DEBUG = False
SECRET_KEY = os.environ["SECRET_KEY"]
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "bench.urls"

# Plain HTTP on localhost: no redirect to HTTPS, no secure-only cookies.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# One persistent connection per process instead of production's pool: the in-process request loop is a
# single thread, so a pool would only add a checkout per request. No health check either: it costs a
# `SELECT 1` round trip per request that production (pool, no check callback) does not pay.
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise RuntimeError("The benchmark runs against PostgreSQL only (DATABASE_URL=postgres://…)")
DATABASES["default"]["CONN_MAX_AGE"] = None
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
DATABASES["default"].get("OPTIONS", {}).pop("pool", None)

# Pages render without `collectstatic`: the manifest storage would fail on a missing manifest.
STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedStaticFilesStorage"

# WhiteNoise warns when STATIC_ROOT has not been collected; the benchmark serves no static files.
warnings.filterwarnings("ignore", "No directory at", UserWarning)

# Only warnings: an INFO line per request would be measured too.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
