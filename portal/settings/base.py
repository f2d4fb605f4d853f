"""Settings shared by every environment; values come from the environment (django-environ)."""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "portal",
    "organisations",
    "items",
    "certificates",
    "applications",
    "seals",
]

MIDDLEWARE = [
    # First: the request id and the request's log line and latency cover everything below it.
    "portal.observability.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Reads may go to the read replica unless the user wrote a moment ago (portal/db.py, decision 061).
    "portal.db.ReplicaReadsMiddleware",
    # Content-Security-Policy on every answer, `no-store` on personal ones (decision 040).
    "portal.security.SecurityHeadersMiddleware",
    # Control characters in query strings and url-encoded forms: a 400 before any view reads them.
    "portal.inputs.InputGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.errors.LockConflictMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Must stay last: django-axes turns a locked-out login into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
        },
    },
]


def database_from_env():
    """PostgreSQL (or anything django-environ parses) from DATABASE_URL, else the embedded SQLite."""
    url = env("DATABASE_URL", default="")
    if url:
        database = env.db_url_config(url)
        database.setdefault("CONN_MAX_AGE", 60)
        database["CONN_HEALTH_CHECKS"] = True
        if database["ENGINE"] == "django.db.backends.postgresql":
            # No request waits for a row lock longer than this: it answers 409 (portal/errors.py) instead of
            # holding a gunicorn worker while something else holds the row.
            lock_timeout = env.int("DATABASE_LOCK_TIMEOUT_MS", default=10000)
            database.setdefault("OPTIONS", {})["options"] = f"-c lock_timeout={lock_timeout}"
        return database
    VAR_DIR.mkdir(exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "portal.sqlite3",
        # Web, worker and beat share one file: wait for the lock and take it up front.
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DATABASES = {"default": database_from_env()}
# A streaming read replica (portal/db.py, decision 061): DATABASES["replica"] where one is configured
# (production.py); REPLICA_READS turns the routing on. A user's reads stay on the primary for
# REPLICA_PIN_SECONDS after they wrote; a replica further behind than REPLICA_MAX_LAG_SECONDS, or one that
# did not answer (then left alone for REPLICA_RETRY_SECONDS), is passed over for the primary.
DATABASE_ROUTERS = ["portal.db.ReplicaRouter"]
REPLICA_READS = False
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=5)
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=5.0)
REPLICA_RETRY_SECONDS = env.float("REPLICA_RETRY_SECONDS", default=10.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Phone + SMS code (decision 046); behind axes, so the lock-out applies to it too.
    "portal.accounts.SmsCodeBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # "aaaaaaaaa" passes the length rule: at least four distinct characters.
    {"NAME": "portal.passwords.DistinctCharactersValidator", "OPTIONS": {"min_distinct": 4}},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Lock an account out after repeated failed logins (pages and the token endpoint alike).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Username + client IP: a hall full of clerks shares one NAT address, so an IP alone must not lock them all.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Who the client is (portal/throttles.py client_ip): X-Forwarded-For is believed only for this many proxies
# in front of the application, each appending the address it saw; 0 = REMOTE_ADDR only. One setting for the
# lock-out, the rate limits and DRF (NUM_PROXIES below). AXES_IPWARE_PROXY_COUNT is its former name.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=env.int("AXES_IPWARE_PROXY_COUNT", default=0))
AXES_CLIENT_IP_CALLABLE = "portal.throttles.client_ip"
# A sign-in by phone + SMS code counts against the account that phone belongs to (decision 046).
AXES_USERNAME_CALLABLE = "portal.lockout.lockout_username"
# Masked where axes logs or keeps a request (its defaults, plus the phone and the SMS code).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "phone", "code"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.lockout.lockout_response"
AXES_VERBOSE = False

LANGUAGE_CODE = "zh-hans"
# The portal speaks Chinese only: LocaleMiddleware must not switch a browser that asks for English (or any
# other language Django ships) to it, and the admin's strings Django leaves untranslated are in locale/
# (decision 057).
LANGUAGES = [("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded materials live outside the web root and are served only through permission checks.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"


def s3_storage(*, bucket: str, endpoint_url: str = "", access_key_id: str = "", secret_access_key: str = "",
               region: str = "", acl: str = "private") -> dict:
    """An S3-compatible bucket as a storage (django-storages): private objects, no URLs handed out — files
    reach users only through the permission-checked views (DESIGN §16, decision 060)."""
    from botocore.config import Config  # only where a bucket is configured

    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url or None,
        # Empty: boto3's own chain (AWS_* variables, an instance role).
        "access_key": access_key_id or None,
        "secret_key": secret_access_key or None,
        "region_name": region or None,
        "default_acl": acl or None,  # empty where the bucket refuses ACLs (AWS "bucket owner enforced")
        "querystring_auth": False,
        # A name is written once, as on disk: a second save of the same name gets a fresh one.
        "file_overwrite": False,
        # A download spools to a temporary file past 1 MB instead of being held in memory.
        "max_memory_size": 1024 * 1024,
        # Bounded waits, so /healthz?full=1 and a request answer instead of hanging on a lost bucket.
        "client_config": Config(
            connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"},
            signature_version="s3v4", s3={"addressing_style": "path" if endpoint_url else "auto"},
        ),
    }}


# Files go through Django's storage API only (DESIGN §16, decision 060): local disk under MEDIA_ROOT, or an
# S3-compatible bucket (AWS S3, MinIO, …) once S3_BUCKET is set. "local" and "s3" name both, so
# `manage.py move_files` copies between them; FILE_STORAGE chooses the one in use (the bucket when set).
STORAGES = {
    "local": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
S3_BUCKET = env("S3_BUCKET", default="")
if S3_BUCKET:
    STORAGES["s3"] = s3_storage(
        bucket=S3_BUCKET, endpoint_url=env("S3_ENDPOINT_URL", default=""),
        access_key_id=env("S3_ACCESS_KEY_ID", default=""), secret_access_key=env("S3_SECRET_ACCESS_KEY", default=""),
        region=env("S3_REGION", default=""), acl=env("S3_OBJECT_ACL", default="private"),
    )
FILE_STORAGE = env("FILE_STORAGE", default="s3" if S3_BUCKET else "local")
if FILE_STORAGE not in ("local", "s3") or FILE_STORAGE not in STORAGES:
    raise ImproperlyConfigured(f"FILE_STORAGE={FILE_STORAGE!r}: local, or s3 with S3_BUCKET set")
STORAGES["default"] = STORAGES[FILE_STORAGE]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "portal.authentication.ExpiringTokenAuthentication",
    ],
    # JSON bounded in size and depth, no control characters (portal/inputs.py); forms and uploads as DRF's.
    "DEFAULT_PARSER_CLASSES": [
        "portal.inputs.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Every operation documents the errors its view can give, not only its success (portal/schema.py).
    "DEFAULT_SCHEMA_CLASS": "portal.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "portal.apis.exception_handler",
    # Public endpoints and pages that invite guessing or heavy work are rate-limited per client address
    # (portal/throttles.py); a page and the API answering the same question share a scope.
    "DEFAULT_THROTTLE_RATES": {
        "login": "20/minute",  # POST auth/token/ and the login form
        "verify": "120/minute",  # a certificate by identifier: /verify/<id>/ and GET verify/<id>/
        "verify_file": "30/minute",  # a PDF checked by hash and signature: POST /verify/ and POST verify/
        "kiosk": "60/minute",  # anonymous hall tickets
        # 办件查询 (DESIGN §13), page and API together: guesses of an applicant's name for a known case number.
        "case_query": "10/minute",
        "case_query_day": "100/day",
        # SMS verification codes (decision 046): requests per client address, and per phone number whoever asks.
        "sms_code": "30/hour",
        "sms_phone": "1/minute",
        "sms_phone_day": "10/day",
        # 投诉 without an account (decision 059): every POST of its page (filing, code, listing items), per client address.
        "complaint_file": "30/hour",
        # Overrides from the environment, e.g. THROTTLE_RATES="login=60/minute" where a big hall signs in
        # from behind one NAT address.
        **env.dict("THROTTLE_RATES", default={}),
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
# JSON bodies and url-encoded forms; uploaded files do not count (their own limit is 20 MB).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# API tokens work this long after the sign-in that issued them; signing out deletes them.
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=12)
SPECTACULAR_SETTINGS = {
    "TITLE": "一网通办 政务服务平台 API",
    "DESCRIPTION": "事项目录、办件、电子证照与核验接口",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: Redis when REDIS_URL is set; otherwise kombu's filesystem transport under var/, so a real
# worker and beat run on a bare machine with no broker server.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # One connection attempt when publishing (kombu's default retries for 2 s): a request that queues a task
    # must not wait out a broker outage; the outbox sweeps deliver later (portal/broker.py).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "max_retries": 0, "socket_connect_timeout": 2}
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
    CELERY_REDIS_SOCKET_TIMEOUT = 5
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(CELERY_BROKER_DIR / "control"),
    }
    CELERY_RESULT_BACKEND = f"file://{CELERY_BROKER_DIR / 'results'}"
    for folder in ("queue", "processed", "results", "control"):
        (CELERY_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = timedelta(days=1)
# No task's result is read in production (the records are the results); storing none also spares every
# publish the result backend's subscription, which retried for 19 s with Redis down (issue 14).
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Timers (DESIGN §5). Each entry names a task; `manage.py run_timers` runs the same list once, in order.
CELERY_BEAT_SCHEDULE = {
    "deadline-sweep": {"task": "applications.application_alert_task", "schedule": crontab(minute=0)},
    "deemed-acceptance": {"task": "applications.application_deem_accept_task", "schedule": crontab(minute=5)},
    # Every hour (idempotent, halls × days): a new day opens for booking, a changed calendar or hall is seen.
    "appointment-slots": {"task": "applications.appointment_slots_task", "schedule": crontab(minute=25)},
    # 容缺: remind a working day before the deadline, flag the case once it has passed (DESIGN §14)
    "deferral-deadline": {"task": "applications.application_deferral_task", "schedule": crontab(hour=7, minute=10)},
    "notification-retry": {"task": "portal.notification_retry_task", "schedule": crontab(minute="*/2")},
    "issuance-retry": {"task": "seals.seal_issue_retry_task", "schedule": crontab(minute="*/5")},
    # Intake documents a lost broker message (or a missing center seal) left unsealed.
    "document-seal-retry": {"task": "seals.document_seal_retry_task", "schedule": crontab(minute="*/5")},
    "certificate-expiry": {"task": "certificates.certificate_expiry_task", "schedule": crontab(hour=1, minute=30)},
    "rectification-overdue": {"task": "applications.rectification_overdue_task", "schedule": crontab(hour=8, minute=0)},
    # 投诉 the department has not answered by its due date, flagged once (decision 059).
    "complaint-overdue": {"task": "applications.complaint_overdue_task", "schedule": crontab(hour=8, minute=5)},
    # Yesterday's statistics, stored once (and any past day a late change invalidated).
    "statistics-rollup": {"task": "applications.statistics_rollup_task", "schedule": crontab(hour=0, minute=20)},
    # Today so far, every ten minutes: the statistics count only the minutes since from the records.
    "statistics-rollup-today": {"task": "applications.statistics_rollup_today_task", "schedule": crontab(minute="*/10")},
    # The audit chain heads signed and appended to AUDIT_ANCHOR_PATH (decision 042).
    "audit-anchor": {"task": "portal.audit_anchor_task", "schedule": crontab(minute=15)},
}
# Publishing must not hang a request when the broker is down: fail fast, the outbox sweep sends later.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2

# The shared cache (throttle counts): Redis when REDIS_URL is set (CACHE_REDIS_URL for another server or
# database), under its own key prefix so it never touches the broker's keys; per-process memory only in
# development. Fail fast: one attempt, 1 s timeouts (a throttle then lets the request through, logged).
CACHE_REDIS_URL = env("CACHE_REDIS_URL", default=REDIS_URL)
if CACHE_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "portal.cache.PrefixedRedisCache",
            "LOCATION": CACHE_REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="portal-cache"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The outbox drains (notifications, intake document seals) are queued once per burst of commits, marked in
# the shared cache (portal.broker.wake); a cache in each process's own memory cannot mark for the others.
BROKER_WAKE_SHARED = bool(CACHE_REDIS_URL)

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# 投诉 (decision 059): the department answers within this many working days of receipt.
COMPLAINT_DUE_WORKING_DAYS = env.int("COMPLAINT_DUE_WORKING_DAYS", default=10)

SMS_BACKEND = env("SMS_BACKEND", default="portal.sms.FileSmsBackend")
SMS_FILE_PATH = env("SMS_FILE_PATH", default=str(VAR_DIR / "sms.log"))
# The operator's HTTP gateway (portal.sms.HttpSmsBackend; production selects it when the URL is set).
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env("SMS_GATEWAY_TOKEN", default="")
SMS_GATEWAY_SIGN = env("SMS_GATEWAY_SIGN", default="一网通办")  # 短信签名, as registered with the operator
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=5.0)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="一网通办 <noreply@zwfw.example.cn>")

# Certificates verify signatures through this (it lives in seals; certificates may not import seals).
PDF_SIGNATURE_VALIDATOR = "seals.signing.pdf_signature_is_valid"
# The current published items that renew/change/replace/cancel each certificate type (DESIGN §14), for the
# wallet's actions and the expiry reminders; a setting because certificates may not import items.
CERTIFICATE_LIFECYCLE_ITEMS = "items.selectors.certificate_lifecycle_items"
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# The service center (DESIGN §14): its 政务服务专用章 (`create_seal --center`) seals the intake documents
# and its name signs them; the credit code goes into the seal's certificate.
SERVICE_CENTER_NAME = env("SERVICE_CENTER_NAME", default="长春市政务服务中心")
SERVICE_CENTER_CREDIT_CODE = env("SERVICE_CENTER_CREDIT_CODE", default="11220100MB0099001M")
# Applications seals its intake documents through these (they live in seals; applications may not import
# seals): the function a reader calls when the document is not sealed yet, and the task queued on commit.
DOCUMENT_SEALER = "seals.services.document_seal"
DOCUMENT_SEAL_DRAIN_TASK = "seals.document_seal_drain_task"

# Fernet key protecting seal private keys (DESIGN §7). Development has a fixed key in dev.py only.
SEAL_MASTER_KEY = env("SEAL_MASTER_KEY", default="")

# Audit anchors (decision 042): the chain heads signed with this Ed25519 private key (32 random bytes,
# URL-safe base64), kept apart from the database like the master key, and appended to this file, which is
# shipped off the host. Development has a fixed key in dev.py only. Public keys of earlier keys still verify.
AUDIT_ANCHOR_KEY = env("AUDIT_ANCHOR_KEY", default="")
AUDIT_ANCHOR_PREVIOUS_PUBLIC_KEYS = env.list("AUDIT_ANCHOR_PREVIOUS_PUBLIC_KEYS", default=[])
AUDIT_ANCHOR_PATH = env("AUDIT_ANCHOR_PATH", default=str(VAR_DIR / "audit-anchors.jsonl"))

# Unified identity (统一身份认证, decision 048): sign-in through the city's OIDC provider (mozilla-django-oidc),
# on only when OIDC_RP_CLIENT_ID is set; then its secret and the provider's endpoints have no default. The
# provider's verified ID number claim picks the account (portal/oidc.py); the claim names are the provider's.
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", default="openid profile")
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", default=True)
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=10.0)  # seconds for each call to the provider
OIDC_ID_NUMBER_CLAIM = env("OIDC_ID_NUMBER_CLAIM", default="id_number")  # 居民身份证号码, verified by the provider
OIDC_NAME_CLAIM = env("OIDC_NAME_CLAIM", default="name")
OIDC_PHONE_CLAIM = env("OIDC_PHONE_CLAIM", default="")  # empty: the provider's phone number is not taken
OIDC_CALLBACK_CLASS = "portal.oidc.OidcCallbackView"
if OIDC_RP_CLIENT_ID:
    for name in ("OIDC_RP_CLIENT_SECRET", "OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT",
                 "OIDC_OP_USER_ENDPOINT", "OIDC_OP_JWKS_ENDPOINT"):
        if not globals()[name]:
            raise ImproperlyConfigured(f"{name} must be set in the environment when OIDC_RP_CLIENT_ID is")
    # Behind axes' backend like the others: it needs the request, which the OIDC callback passes.
    AUTHENTICATION_BACKENDS.append("portal.oidc.OidcBackend")

# Prometheus scrape endpoint `/metrics` (portal/metrics.py): a bearer token, or client addresses in these
# networks (the monitoring network, reaching the hosts directly); with neither, it is closed.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
# The Celery worker's own scrape endpoint (issuances completed, timer durations); off unless a port is set.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_ADDRESS = env("WORKER_METRICS_ADDRESS", default="127.0.0.1")

LOG_FORMAT = env("LOG_FORMAT", default="text")  # "json": one JSON object per line (production's default)


def logging_config(log_format: str) -> dict:
    """Every record carries the request id (and task id inside a task); JSON for machines, text for people."""
    formatters = {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601 in UTC
            "json_ensure_ascii": False,
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "portal.logcontext.LogContextFilter"}},
        "formatters": {log_format: formatters[log_format]},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": "INFO"},
        "loggers": {
            # WeasyPrint logs every rendering step at INFO.
            **{name: {"level": "WARNING"} for name in ("weasyprint", "fontTools")},
            # runserver's own access line: the request log says the same with more.
            "django.server": {"level": "WARNING"},
        },
    }


LOGGING = logging_config(LOG_FORMAT)
