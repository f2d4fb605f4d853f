"""Production: secrets have no default, HTTPS only, passes `manage.py check --deploy`."""

import base64
import logging

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured

from portal.settings.base import *  # noqa: F403
from portal.settings.base import DATABASES, SMS_GATEWAY_TOKEN, SMS_GATEWAY_URL, env, logging_config

SECRET_KEY = env("SECRET_KEY", default="")
SEAL_MASTER_KEY = env("SEAL_MASTER_KEY", default="")
AUDIT_ANCHOR_KEY = env("AUDIT_ANCHOR_KEY", default="")
for name, value in (
    ("SECRET_KEY", SECRET_KEY), ("SEAL_MASTER_KEY", SEAL_MASTER_KEY), ("AUDIT_ANCHOR_KEY", AUDIT_ANCHOR_KEY),
):
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in the environment for production")
try:
    Fernet(SEAL_MASTER_KEY)
except ValueError as error:
    raise ImproperlyConfigured("SEAL_MASTER_KEY must be a Fernet key: 32 random bytes, URL-safe base64") from error
try:  # decision 042: the audit anchors' signing key, held apart from the database
    Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(AUDIT_ANCHOR_KEY))
except ValueError as error:
    raise ImproperlyConfigured("AUDIT_ANCHOR_KEY must be an Ed25519 private key: 32 random bytes, URL-safe base64") from error
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# The address printed in QR codes (certificates, intake documents): set it; without it, the first allowed
# host over HTTPS. A wildcard or a domain pattern names no one site, so then it must be set.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="")
if not PUBLIC_BASE_URL:
    if not ALLOWED_HOSTS or ALLOWED_HOSTS[0].startswith(".") or "*" in ALLOWED_HOSTS[0]:
        raise ImproperlyConfigured("PUBLIC_BASE_URL must be set (e.g. https://zwfw.example.cn) when ALLOWED_HOSTS starts with a pattern")
    PUBLIC_BASE_URL = f"https://{ALLOWED_HOSTS[0]}"
# SMS through the operator's HTTP gateway when one is configured (DESIGN §13); its token then has no default.
if SMS_GATEWAY_URL:
    if not SMS_GATEWAY_TOKEN:
        raise ImproperlyConfigured("SMS_GATEWAY_TOKEN must be set in the environment when SMS_GATEWAY_URL is")
    SMS_BACKEND = "portal.sms.HttpSmsBackend"

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The load balancer probes over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
X_FRAME_OPTIONS = "DENY"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))  # noqa: F405
STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"  # noqa: F405

# PostgreSQL through psycopg 3 with Django's built-in connection pool (pooling replaces CONN_MAX_AGE).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 20, "timeout": 10}

# A streaming read replica for statistics, catalogue and work-list reads (portal/db.py, decision 061). A short
# connect timeout: a replica host that is gone costs a request 2 s at most, then is passed over for a while;
# the pool checks a connection before lending it, so a restarted replica is not met with a dead one.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = 0
    # The check: Django hands the pool ConnectionPool.check_connection itself when health checks are on (a
    # `check` in the pool options as well made every replica connection fail with a TypeError).
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"].setdefault("OPTIONS", {}).update({
        "connect_timeout": env.int("DATABASE_REPLICA_CONNECT_TIMEOUT", default=2),
        "pool": {"min_size": 1, "max_size": 20, "timeout": 2},
    })
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    REPLICA_READS = True

# Logs as JSON lines for the collector; the Celery worker keeps Django's logging instead of its own format.
LOGGING = logging_config(env("LOG_FORMAT", default="json"))
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Python's warnings (a library's UserWarning, a DeprecationWarning) go through logging too, as JSON lines
# under the logger `py.warnings`, instead of plain text in the middle of the stream.
logging.captureWarnings(True)
