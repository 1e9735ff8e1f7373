"""Pipeline CRM settings: one module, every deployment-specific value read from the environment.

Without DATABASE_URL the app runs on SQLite; without REDIS_URL Celery uses a file-based broker,
so `make run` needs no server. Production sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS and the URLs.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# pytest (8.2+) sets PYTEST_VERSION: tests run over plain http with a throwaway key.
TESTING = "PYTEST_VERSION" in env.ENVIRON
# pytest-xdist runs the suite in several processes at once ("gw0", "gw1", …); each keeps its own
# test database (pytest-django adds the suffix), Redis database and broker folder (below).
TEST_WORKER = env.str("PYTEST_XDIST_WORKER", default="") if TESTING else ""
INSECURE_OK = DEBUG or TESTING
# A development key only when DEBUG is on (or under tests); production must set SECRET_KEY.
SECRET_KEY = env.str("SECRET_KEY", default="") or (
    "dev-only-insecure-key-do-not-use-in-production" if INSECURE_OK else ""
)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for development).")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "accounts.admin_apps.CrmAdminConfig",  # django.contrib.admin; its site asks for 2FA codes
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts",
    "contacts",
    "currencies",
    "followups",
    "deals",
    "people",
    "forecasting",
    "integrations",
    "imports",
    "search",
    "mailin",
    "audit",
    "demo",
    # its one table, jobs waiting for a worker (pipeline_crm.jobs); backup_db, restore_db,
    # verify_db (pipeline_crm/backups)
    "pipeline_crm",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "pipeline_crm.middleware.RequestBodyLimitMiddleware",  # 413 before any body is read
    "pipeline_crm.middleware.NulInUrlRefusalMiddleware",  # 400 for NUL in path or query
    "pipeline_crm.request_context.RequestContextMiddleware",  # the audit log's client address
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # user.otp_device: the session's verified device
    "pipeline_crm.middleware.PrivateCacheMiddleware",  # signed-in answers: private, no-store
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "pipeline_crm.middleware.HtmxLoginRedirectMiddleware",
    "accounts.middleware.AdminTwoFactorRequiredMiddleware",  # ADMIN_TWO_FACTOR_REQUIRED
    # Last: turns a sign-in refused because of a lockout into accounts.lockout's answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pipeline_crm.urls"
WSGI_APPLICATION = "pipeline_crm.wsgi.application"

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
                "followups.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let web, worker and beat share one SQLite file in development.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests on SQLite use a file, not memory: the browser tests' live server answers the
    # dashboard's parallel requests in threads, and an in-memory database is one connection
    # shared by all of them, which can hang. A file gives each thread its own connection.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
    # The forecast's covering indexes carry extra columns only PostgreSQL stores; SQLite keeps
    # them as plain partial indexes, which is all development needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Sessions are read on every request: from the cache (Redis in production), written through to
# the database so none is lost when the cache restarts.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# --- Login protection (README "Login protection") -------------------------------------------
# django-axes checks before the password: a username, or an IP address, with LOGIN_FAILURE_LIMIT
# failed sign-ins within LOGIN_LOCKOUT_MINUTES is refused for that long, on the login form and
# the API token endpoint alike (both pass `request` to authenticate()).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one alone locks
# Kept False: a success would clear every failure from that IP too, so an attacker could reset
# their count against someone else by signing in to their own account between guesses.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Named, not axes's lazy default (a lazy object the error pages' secret masking cannot read).
AXES_USERNAME_FORM_FIELD = "username"
AXES_CLIENT_IP_CALLABLE = "pipeline_crm.client_ip.client_ip"
# Masked in the attempts axes records: two-factor codes (the login code step, the API's otp).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code", "otp"]
# Two-factor sign-in (accounts/two_factor.py, django-otp): admins may turn it on; when this is
# true, an admin without it is sent to set it up before using the app.
ADMIN_TWO_FACTOR_REQUIRED = env.bool("ADMIN_TWO_FACTOR_REQUIRED", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Pipeline CRM")  # the name apps show
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the Django admin never shows a device's secret key
# How many reverse proxies in front of the app append to X-Forwarded-For (0: none, trust only
# REMOTE_ADDR). Lockouts (above) and DRF throttles (REST_FRAMEWORK) read the client IP through it.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
# Password reset requests: at most this many an hour per client IP and per e-mail address.
PASSWORD_RESET_LIMIT = env.int("PASSWORD_RESET_LIMIT", default=5)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not INSECURE_OK)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Serve straight from the finders when no collectstatic has run (development and tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security (production values unless DEBUG) ---------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not INSECURE_OK)
# Orchestrators and load balancers probe the health check over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not INSECURE_OK)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not INSECURE_OK)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if INSECURE_OK else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not INSECURE_OK
SECURE_HSTS_PRELOAD = not INSECURE_OK
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (Django's own support): scripts and styles from our static files only —
# no inline <script>, on*= or hx-on handlers (static/js/behaviours.js), no eval (htmx allowEval
# off), no inline style attributes or <style> blocks (htmx's indicator styles live in app.css).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
}
# Error pages (DEBUG) and error mails hide URL-shaped secrets too (REDIS_URL, DATABASE_URL, …).
DEFAULT_EXCEPTION_REPORTER_FILTER = "pipeline_crm.error_reports.SecretsMaskingFilter"
SESSION_COOKIE_HTTPONLY = True
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
# CSV imports take files of up to 50 MB (imports.parsing.MAX_FILE_BYTES): their two upload paths
# accept a body this large (the file plus the form around it); every other path keeps the limit
# above. Uploaded files over FILE_UPLOAD_MAX_MEMORY_SIZE are spooled to a temporary file.
LARGE_BODY_PATHS = {"/api/imports/": 51 * 1024 * 1024, "/import/": 51 * 1024 * 1024}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"


# --- E-mail (Django 6.1 MAILERS): console in development; production sets EMAIL_URL, e.g.
# smtp+tls://user:password@smtp.example.com:587 ; EMAIL_BACKEND picks another backend by path.
def _mailer_from_environment() -> dict[str, object]:
    if env.str("EMAIL_URL", default=""):
        parsed = env.email_url("EMAIL_URL")
        return {
            "BACKEND": parsed["EMAIL_BACKEND"],
            "OPTIONS": {
                "host": parsed.get("EMAIL_HOST"),
                "port": parsed.get("EMAIL_PORT"),
                "username": parsed.get("EMAIL_HOST_USER") or None,
                "password": parsed.get("EMAIL_HOST_PASSWORD") or None,
                "use_tls": bool(parsed.get("EMAIL_USE_TLS")),
                "use_ssl": bool(parsed.get("EMAIL_USE_SSL")),
                "timeout": env.int("EMAIL_TIMEOUT", default=10),
            },
        }
    # The console backend prints each e-mail decoded (pipeline_crm.console_mail), not as MIME.
    backend = env.str("EMAIL_BACKEND", default="pipeline_crm.console_mail.EmailBackend")
    options: dict[str, object] = {}
    if backend.endswith("filebased.EmailBackend"):
        options["file_path"] = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "sent-mail"))
    return {"BACKEND": backend, "OPTIONS": options}


MAILERS = {"default": _mailer_from_environment()}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Pipeline CRM <crm@localhost>")


def redis_url_for_test_worker(url: str, worker: str, step: int = 1) -> str:
    """The Redis database of one pytest-xdist worker: tests empty theirs (`cache.clear()` is a
    FLUSHDB), so no two workers may share one. Worker gwN takes the database N * `step` after
    the one `url` names (gw0 keeps it); Redis refuses a number past its last database."""
    if not (url and worker):
        return url
    parts = urlsplit(url)
    first = int(parts.path.strip("/") or 0)
    number = first + int(worker.removeprefix("gw")) * step
    return parts._replace(path=f"/{number}").geturl()


# --- Cache: Redis when available (shared by every process), else files (memory under tests)
# TEST_REDIS_DB_STEP spaces the workers' databases when several checkouts share one Redis.
REDIS_URL = redis_url_for_test_worker(
    env.str("REDIS_URL", default=""), TEST_WORKER, env.int("TEST_REDIS_DB_STEP", default=1)
)


def redis_cache(url: str) -> dict[str, object]:
    """The cache on Redis. While Redis is down it answers like an empty cache (README "Faults"):
    reads miss, writes are skipped, so pages keep working from the database."""
    return {
        "BACKEND": "pipeline_crm.cache.ResilientRedisCache",
        "LOCATION": url,
        # A Redis that does not answer costs a request at most this long, then the breaker in
        # pipeline_crm.cache skips it for a few seconds.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }


# "cards": the board's drawn cards, shared by every process (deals.templatetags.card_cache).
# Without Redis each process keeps its own anyway, so there is nothing to share.
CARDS_CACHE: dict[str, object] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}


def redis_caches(url: str) -> dict[str, dict[str, object]]:
    """Every cache alias on the Redis at `url` (the fault tests point them at their own)."""
    return {"default": redis_cache(url), "cards": redis_cache(url)}


if REDIS_URL:
    CACHES = redis_caches(REDIS_URL)
elif TESTING:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "cards": CARDS_CACHE,
    }
else:
    # Files, not per-process memory: web, worker and beat must share it (e.g. the beat tick
    # that /healthz reports) when development runs without Redis.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env.str("CACHE_DIR", default=str(BASE_DIR / ".django-cache")),
        },
        "cards": CARDS_CACHE,
    }

# --- REST framework ------------------------------------------------------------------------
JSON_MAX_DEPTH = 64  # pipeline_crm.parsers: deeper API bodies are refused with 400
REST_FRAMEWORK = {
    # Token first, so an anonymous API call answers 401 with WWW-Authenticate, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON nested deeper than JSON_MAX_DEPTH is a 400 (DRF's own parser would recurse and 500).
    "DEFAULT_PARSER_CLASSES": [
        "pipeline_crm.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "pipeline_crm.parsers.StrictMultiPartParser",  # a body without a readable part: 400
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "pipeline_crm.openapi.AutoSchema",  # + the shared error answers
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/minute"),
        "user": env.str("THROTTLE_USER", default="6000/minute"),
    },
    "EXCEPTION_HANDLER": "pipeline_crm.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Pipeline CRM API",
    "DESCRIPTION": "Deals, stages, leads, contacts, activities, forecast. Token or session auth.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Links from each create to the operations on the record it made (pipeline_crm.openapi).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "pipeline_crm.openapi.add_links",
    ],
}

# --- Celery ----------------------------------------------------------------------------------
# Redis in production; a file-based broker in development so `make run` needs no server.
CELERY_BROKER_DIR = Path(env.str("CELERY_BROKER_DIR", default=str(BASE_DIR / ".celery-broker")))
if TESTING:
    # What tests queue without Redis never reaches the development worker, nor another test
    # worker's folder.
    CELERY_BROKER_DIR /= f"tests-{TEST_WORKER or 'serial'}"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    # A host name kombu ignores for files, but without one it warns in every process.
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "out"),
        "data_folder_out": str(CELERY_BROKER_DIR / "out"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Broadcast (pidbox) messages too, or kombu writes a ./control folder.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / ".celerybeat-schedule")
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# What tasks print (the console e-mail backend's messages) reaches the worker's output as it is,
# not line by line as WARNING log records.
CELERY_WORKER_REDIRECT_STDOUTS = False
# One queue name per deployment (tests give their real worker a queue of its own).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# The beat schedule lives here so each deployment can edit it; the intervals (seconds) of the
# frequent jobs also come from the environment (a test runs beat with a 2-second reminder sweep).
_reminder_interval = env.float("CELERY_REMINDER_INTERVAL", default=60.0)
_stall_interval = env.float("CELERY_STALL_INTERVAL", default=3600.0)
_heartbeat_interval = env.float("CELERY_HEARTBEAT_INTERVAL", default=30.0)
# Webhooks (SPEC §9): retries of failed deliveries are swept from the database this often;
# the first retry waits WEBHOOK_RETRY_BASE seconds, doubling each time. Private and loopback
# targets are refused unless DEBUG or WEBHOOK_ALLOW_PRIVATE=true.
_webhook_sweep_interval = env.float("WEBHOOK_SWEEP_INTERVAL", default=30.0)
WEBHOOK_RETRY_BASE = env.float("WEBHOOK_RETRY_BASE", default=60.0)
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)
# A queued delivery no worker has sent after this many seconds is queued again by the sweep.
WEBHOOK_QUEUED_GRACE = env.float("WEBHOOK_QUEUED_GRACE", default=300.0)
# Jobs (pipeline_crm.jobs): one no worker has started this many seconds after it was queued is
# queued again by a sweep that runs every JOB_SWEEP_INTERVAL seconds.
JOB_QUEUED_GRACE = env.float("JOB_QUEUED_GRACE", default=300.0)
_job_sweep_interval = env.float("JOB_SWEEP_INTERVAL", default=30.0)
# Deleted deals stay in the trash (deals.services.trash) this many days, then the purge drops them.
DEAL_TRASH_DAYS = env.int("DEAL_TRASH_DAYS", default=30)
# The audit log (audit/) keeps its entries this many days; a nightly job purges older ones.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
# Inbound e-mail (SPEC §9, mailin/): the IMAP mailbox BCC'd mail arrives in
# (imaps://user:password@host:993/INBOX; empty: no polling), polled every INBOUND_POLL_INTERVAL
# seconds, up to INBOUND_POLL_BATCH messages a poll; each user's address is
# <INBOUND_LOCAL_PART>+<token>@<INBOUND_DOMAIN>. Logged bodies are cut at INBOUND_BODY_MAX_CHARS.
INBOUND_IMAP_URL = env.str("INBOUND_IMAP_URL", default="")
INBOUND_DOMAIN = env.str("INBOUND_DOMAIN", default="inbound.example.com").lower()
INBOUND_LOCAL_PART = env.str("INBOUND_LOCAL_PART", default="log").lower()
_inbound_poll_interval = env.float("INBOUND_POLL_INTERVAL", default=60.0)
INBOUND_POLL_BATCH = env.int("INBOUND_POLL_BATCH", default=500)
INBOUND_BODY_MAX_CHARS = env.int("INBOUND_BODY_MAX_CHARS", default=20000)
# The running counts of the forecast's history panels grow a few rows with each change of a deal
# and are summed back to one row per key this often (seconds).
_running_counts_interval = env.float("FORECAST_COMPACT_INTERVAL", default=900.0)
CELERY_BEAT_SCHEDULE = {
    "compact-forecast-running-counts": {
        "task": "forecasting.tasks.compact_forecast_running_counts",
        "schedule": _running_counts_interval,
        "options": {"expires": _running_counts_interval},
    },
    "poll-inbound-mail": {
        "task": "mailin.tasks.poll_inbound_mail",
        "schedule": _inbound_poll_interval,
    },
    "send-due-reminders": {
        "task": "deals.tasks.send_due_reminders",  # followups/tasks.py
        "schedule": _reminder_interval,
        # A sweep that could not start in time is pointless: the next one finds the same rows.
        "options": {"expires": _reminder_interval},
    },
    "detect-stalled-deals": {
        "task": "deals.tasks.detect_stalled_deals",
        "schedule": _stall_interval,
        "options": {"expires": _stall_interval},
    },
    "deliver-due-webhooks": {
        "task": "integrations.tasks.deliver_due_webhooks",
        "schedule": _webhook_sweep_interval,
        "options": {"expires": _webhook_sweep_interval},
    },
    # Jobs queued while the broker was down, or lost by it (pipeline_crm.jobs).
    "send-queued-jobs": {
        "task": "pipeline_crm.tasks.send_queued_jobs",
        "schedule": _job_sweep_interval,
        "options": {"expires": _job_sweep_interval},
    },
    "beat-heartbeat": {
        "task": "pipeline_crm.tasks.beat_heartbeat",
        "schedule": _heartbeat_interval,
        "options": {"expires": _heartbeat_interval},
    },
    "recompute-lead-scores": {
        "task": "contacts.tasks.recompute_lead_scores",
        "schedule": crontab(hour=2, minute=0),
    },
    "train-lead-scoring-model": {
        "task": "people.tasks.train_lead_scoring_model",
        "schedule": crontab(hour=2, minute=20),
    },
    "daily-digest": {
        "task": "deals.tasks.send_daily_digests",
        "schedule": crontab(hour=6, minute=0),
    },
    "purge-deal-trash": {
        "task": "deals.tasks.purge_deal_trash",
        "schedule": crontab(hour=3, minute=30),
    },
    "purge-audit-log": {
        "task": "audit.tasks.purge_audit_log",
        "schedule": crontab(hour=3, minute=45),
    },
    "forecast-snapshot": {
        "task": "forecasting.tasks.take_forecast_snapshot",
        "schedule": crontab(hour=0, minute=15),
    },
    # After the snapshot: a period that starts today is backtested from it.
    "forecast-backtests": {
        "task": "forecasting.tasks.store_forecast_backtests",
        "schedule": crontab(hour=0, minute=45),
    },
}

# Absolute links in e-mails and the calendar feed (jobs have no request to build them from).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Lead scoring (SPEC §9): saving a rule rescores up to this many leads in the request, more in
# Celery tasks; the learned score waits for this many leads with an outcome.
SCORING_RESCORE_INLINE_MAX = env.int("SCORING_RESCORE_INLINE_MAX", default=20000)
LEARNED_SCORE_MIN_OUTCOMES = env.int("LEARNED_SCORE_MIN_OUTCOMES", default=200)

DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="USD")
BOARD_PAGE_SIZE = env.int("BOARD_PAGE_SIZE", default=30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's own console handler would print each of its messages a second time, next to
        # the root's (e.g. runserver's "Watching for file changes"); the root's handler suffices.
        "django": {"handlers": [], "level": "INFO"},
        # "AXES: BEGIN version …" in every process at start-up says nothing to act on.
        "axes.apps": {"level": "WARNING"},
    },
}
