"""Benchmark settings: production's stack (DEBUG off, the same middleware, security headers), runnable on
one machine over plain HTTP with fixed, public, benchmark-only secrets.

bench/run.py sets DATABASE_URL to its own throwaway database before Django starts. Never deploy this.
"""

import os
import warnings

# Production refuses to start without these; the benchmark has nothing to protect.
os.environ.setdefault("SECRET_KEY", "bench-only-insecure-secret-key-0123456789-abcdefghijklmnop")
os.environ.setdefault("SEAL_MASTER_KEY", "ZGV2LW9ubHktc2VhbC1tYXN0ZXIta2V5LTMyYnl0ZXM=")
os.environ.setdefault("AUDIT_ANCHOR_KEY", "ZGV2LW9ubHktYXVkaXQtYW5jaG9yLWtleS0zMmJ5dGU=")
os.environ.setdefault("ALLOWED_HOSTS", "*")


def bench_redis_url(environ_url: str | None) -> str:
    """The broker the benchmark publishes to: REDIS_URL's server (default 127.0.0.1:6379), always database
    15. Cases enqueue real tasks (a notification per alert, issuance): they must never reach a worker of
    another database, which would act on its own rows with these ids."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(environ_url or "redis://127.0.0.1:6379/15")
    return urlunsplit(parts._replace(path="/15"))


BENCH_TMP = os.environ.setdefault("BENCH_TMP", "/tmp/portal_bench")
os.environ["REDIS_URL"] = bench_redis_url(os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL"))
os.environ["BENCH_REDIS_URL"] = os.environ["REDIS_URL"]  # so subprocesses (gunicorn, celery) keep db 15
# Certificates and documents the cases write, and SMS the worker sends, stay out of the work tree.
os.environ["MEDIA_ROOT"] = os.path.join(BENCH_TMP, "media")
os.environ["SMS_FILE_PATH"] = os.path.join(BENCH_TMP, "sms.log")
# Out of the work tree like the media (nothing in the benchmark anchors: no beat, no verify_audit).
os.environ["AUDIT_ANCHOR_PATH"] = os.path.join(BENCH_TMP, "audit-anchors.jsonl")

# The address QR codes print (production requires it when ALLOWED_HOSTS is a pattern); the bench serves locally.
os.environ.setdefault("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

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

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# One queue per benchmark database: two runs at once (a full run and the test's tiny one) share Redis
# database 15, and must neither consume nor purge each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = "bench-" + DATABASES["default"]["NAME"]

# Only warnings: an INFO line per request would be measured too.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
