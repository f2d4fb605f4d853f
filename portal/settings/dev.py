"""Development: plain HTTP, DEBUG on, fixed development secrets (never used in production)."""

from portal.settings.base import *  # noqa: F403
from portal.settings.base import env

DEBUG = env.bool("DEBUG", default=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-secret-key-change-me-0123456789")
SEAL_MASTER_KEY = env("SEAL_MASTER_KEY", default="ZGV2LW9ubHktc2VhbC1tYXN0ZXIta2V5LTMyYnl0ZXM=")
AUDIT_ANCHOR_KEY = env("AUDIT_ANCHOR_KEY", default="ZGV2LW9ubHktYXVkaXQtYW5jaG9yLWtleS0zMmJ5dGU=")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "0.0.0.0"])
# The scrape endpoint is open to this machine in development.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
