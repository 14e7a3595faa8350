"""Settings for povertyexit, read from the environment.

With no variables set the project runs on embedded defaults: SQLite under ``data/``,
Celery on a filesystem broker that needs no server, DEBUG on. ``DATABASE_URL`` and
``CELERY_BROKER_URL`` switch to PostgreSQL and Redis. ``DJANGO_ENV=production`` turns
on the hardened settings and makes the secrets mandatory.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

# SQLite file, uploads, the embedded broker's queue and demo accounts live here.
DATA_DIR = Path(env.str("POVERTYEXIT_DATA_DIR", default=str(BASE_DIR / "data")))

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"

if PRODUCTION:
    # Secrets and hosts have no defaults in production: a missing one stops start-up.
    try:
        SECRET_KEY = env.str("DJANGO_SECRET_KEY")
        ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            f"DJANGO_ENV=production requires DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS: {exc}"
        ) from exc
    DEBUG = env.bool("DJANGO_DEBUG", default=False)
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-povertyexit-do-not-use-in-production")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
    DEBUG = env.bool("DJANGO_DEBUG", default=True)

CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third party
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "simple_history",
    "django_htmx",
    "django_celery_beat",
    "csp",
    # ours
    "core",
    "accounts",
    "regions",
    "households",
    "imports",
    "notifications",
    "exits",
    "monitoring",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After whitenoise: static files keep their cache headers; everything else is no-store.
    "core.middleware.NoStoreMiddleware",
    # Early, so every answer a view or a later middleware gives (the 429 lockout page
    # included) carries the policy; static files need none.
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "core.middleware.ProtectedDeleteMiddleware",
    # Axes last, as its documentation asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]
# Server-Timing (SQL and total time) on every response, for load tests (core/timing.py,
# bench/bench_load.py). First, so that it times all the other middleware too. Off unless
# asked for: it tells any client how long the server worked.
if env.bool("POVERTYEXIT_SERVER_TIMING", default=False):
    MIDDLEWARE.insert(0, "core.timing.ServerTimingMiddleware")

ROOT_URLCONF = "povertyexit.urls"
WSGI_APPLICATION = "povertyexit.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    },
]

# Django's form templates, with <select> written in Python (core/forms_renderer.py).
FORM_RENDERER = "core.forms_renderer.FormRenderer"

# --- Database ---------------------------------------------------------------
DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the Celery worker and beat share one SQLite file in `make run`:
    # WAL lets readers go on while one writes, IMMEDIATE transactions take the write
    # lock up front so two writers queue (timeout) instead of failing with "locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Covering indexes (INCLUDE) are PostgreSQL's; SQLite builds the same index without
    # the extra column, which only its speed notices.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# Read replica (README: 只读副本; core/replica.py, povertyexit/dbrouter.py): a streaming
# replica of the primary serving the reads that tolerate a second of lag — GET and HEAD
# under REPLICA_READ_PATHS (dashboards, Excel ledgers, the API), domain apps only. Writes
# and every other read stay on default. A replica that is unreachable or lags more than
# REPLICA_MAX_LAG_SECONDS is skipped, checked again every REPLICA_RETRY_SECONDS.
REPLICA_DATABASE_URL = env.str("POVERTYEXIT_REPLICA_DATABASE_URL", default="")
REPLICA_READ_PATHS = env.list(
    "POVERTYEXIT_REPLICA_READ_PATHS",
    default=["/dashboard/", "/api/v1/", "/households/export/", "/exits/export/", "/monitoring/export/"],
)
REPLICA_READ_APPS = ["regions", "households", "exits", "monitoring"]
REPLICA_PRIMARY_MODELS = ["households.personaldataaccess"]  # the personal-data rate limits count these
REPLICA_MAX_LAG_SECONDS = env.int("POVERTYEXIT_REPLICA_MAX_LAG_SECONDS", default=30)
REPLICA_CHECK_SECONDS = env.int("POVERTYEXIT_REPLICA_CHECK_SECONDS", default=5)
REPLICA_RETRY_SECONDS = env.int("POVERTYEXIT_REPLICA_RETRY_SECONDS", default=30)
if REPLICA_DATABASE_URL:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("POVERTYEXIT_REPLICA_DATABASE_URL needs a PostgreSQL DATABASE_URL to replicate")
    DATABASES["replica"] = env.db_url_config(REPLICA_DATABASE_URL)
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    # A replica that does not answer costs a page this long at most, once per check.
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "POVERTYEXIT_REPLICA_CONNECT_TIMEOUT", default=2
    )
    # Tests never build a database on it: it is a copy of default's.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["povertyexit.dbrouter.ReplicaRouter"]
    MIDDLEWARE.append("core.replica.ReplicaReadsMiddleware")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # The lockout (axes' per-address lock and our per-account lock) must come first, so a
    # locked-out attempt is refused before the password is checked.
    "accounts.backends.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Brute-force lockout, two layers (accounts/backends.py). Per address (django-axes): 5
# failures for one username from one address lock that pair for 15 minutes; a successful
# login clears the counter. Per account: see POVERTYEXIT_ACCOUNT_FAILURE_LIMIT below.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# Login logs (who logged in from where) are kept this long, then removed by the
# daily housekeeping job.
ACCESS_LOG_RETENTION_DAYS = env.int("ACCESS_LOG_RETENTION_DAYS", default=180)
# Per account (accounts/backends.py): with this many failures across all addresses within
# the cool-off, attempts from addresses the user has not signed in from are refused, so
# an attacker with many addresses gets about this many guesses per cool-off while the
# user's usual computer still gets in. It must exceed AXES_FAILURE_LIMIT: each address
# counts at most that many, and one address alone must not lock someone else out.
POVERTYEXIT_ACCOUNT_FAILURE_LIMIT = env.int("POVERTYEXIT_ACCOUNT_FAILURE_LIMIT", default=20)
if POVERTYEXIT_ACCOUNT_FAILURE_LIMIT <= AXES_FAILURE_LIMIT:
    raise ImproperlyConfigured(
        f"POVERTYEXIT_ACCOUNT_FAILURE_LIMIT ({POVERTYEXIT_ACCOUNT_FAILURE_LIMIT}) must be greater than "
        f"AXES_FAILURE_LIMIT ({AXES_FAILURE_LIMIT}), or one address could lock an account for everyone"
    )
# A "known" address is one the user signed in from within this many days (axes' access
# log, so it cannot usefully exceed ACCESS_LOG_RETENTION_DAYS).
POVERTYEXIT_KNOWN_ADDRESS_DAYS = env.int("POVERTYEXIT_KNOWN_ADDRESS_DAYS", default=90)
# The client's address (core/netaddr.py): X-Forwarded-For is read only as far as these
# reverse proxies (addresses or networks, e.g. "10.0.0.5,172.16.0.0/12") wrote it. Empty:
# no proxy is trusted and the client is REMOTE_ADDR, whatever the header claims. Behind a
# proxy that is not listed, every client looks like the proxy (README: 登录锁定与反向代理).
POVERTYEXIT_TRUSTED_PROXIES = env.list("POVERTYEXIT_TRUSTED_PROXIES", default=[])
for _proxy in POVERTYEXIT_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy.strip(), strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"POVERTYEXIT_TRUSTED_PROXIES: {exc}") from exc
AXES_CLIENT_IP_CALLABLE = "core.netaddr.client_ip"

# --- Internationalisation -----------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------
# Front-end packages come from npm (package-lock.json) and are served from
# node_modules by whitenoise: nothing is loaded from the internet.
STATIC_URL = "static/"
# Where collectstatic writes and whitenoise serves from in production.
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(DATA_DIR / "media")))
MEDIA_URL = "media/"

# Excel imports (imports app): the largest file accepted, and up to which size a file is
# checked and applied inside the request instead of by a Celery task.
IMPORT_MAX_BYTES = env.int("POVERTYEXIT_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
IMPORT_INLINE_MAX_BYTES = env.int("POVERTYEXIT_IMPORT_INLINE_MAX_BYTES", default=256 * 1024)
# What an upload may unpack to, counted while decompressing, before openpyxl opens it
# (imports/bounds.py, issue 16). A county roster of 300,000 members written by openpyxl
# unpacks to 330 MB (members sheet) + 76 MB (households sheet), about 11:1; a zip bomb
# packs a thousandfold. A file is only checked inside the request when it also unpacks
# to at most IMPORT_INLINE_MAX_UNPACKED_BYTES (the request decompresses no more).
IMPORT_MAX_UNPACKED_BYTES = env.int("POVERTYEXIT_IMPORT_MAX_UNPACKED_BYTES", default=512 * 1024 * 1024)
IMPORT_MAX_PART_BYTES = env.int("POVERTYEXIT_IMPORT_MAX_PART_BYTES", default=400 * 1024 * 1024)
IMPORT_MAX_COMPRESSION_RATIO = env.int("POVERTYEXIT_IMPORT_MAX_COMPRESSION_RATIO", default=100)
IMPORT_INLINE_MAX_UNPACKED_BYTES = env.int("POVERTYEXIT_IMPORT_INLINE_MAX_UNPACKED_BYTES", default=4 * 1024 * 1024)
# Characters in one cell (the longest import column, 特殊情况说明, is a few sentences),
# and rows per sheet, formatted empty rows included (the parser's own cap on data
# rows, households/importing.py MAX_ROWS, is lower).
IMPORT_MAX_CELL_CHARS = env.int("POVERTYEXIT_IMPORT_MAX_CELL_CHARS", default=1000)
IMPORT_MAX_ROWS = env.int("POVERTYEXIT_IMPORT_MAX_ROWS", default=500_000)
# Evidence attached to exit steps and criteria (PDF, JPG, PNG).
EXIT_ATTACHMENT_MAX_BYTES = env.int("POVERTYEXIT_EXIT_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)

# --- Security ---------------------------------------------------------------
# Personal data (DOMAIN.md §9): how often one user may see a full ID or phone number,
# as (seconds, count) windows, all of which must hold. Each view is a PersonalDataAccess
# row, and those rows are the counter. A cadre checking a household looks at a few
# numbers; 60 in two seconds is a script copying the registry.
PERSONAL_DATA_LIMITS = {
    "reveal": [
        (60, env.int("POVERTYEXIT_REVEALS_PER_MINUTE", default=10)),
        (86400, env.int("POVERTYEXIT_REVEALS_PER_DAY", default=200)),
    ],
    # "该证件号码已在其他地区登记" says a person is registered somewhere in the city. A
    # cadre meets it now and then (someone moved); dozens an hour is someone asking.
    "exists": [
        (3600, env.int("POVERTYEXIT_EXISTENCE_ANSWERS_PER_HOUR", default=20)),
        (86400, env.int("POVERTYEXIT_EXISTENCE_ANSWERS_PER_DAY", default=50)),
    ],
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 10  # one working day
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Content-Security-Policy ------------------------------------------------------
# Everything the pages use is served from here (no CDN), so the policy is "only our
# own files": no inline <script>, no on*= handlers (static/js/app.js wires data-*
# attributes instead), no eval (htmx runs with allowEval off, see templates/base.html),
# no style="" attributes or <style> blocks (htmx's indicator styles are in
# static/css/app.css; ECharts draws its tooltips on the canvas). Styles that scripts set
# through the CSSOM (Bootstrap's dropdowns, ECharts, Swagger UI) are not inline styles
# and stay allowed. Two third-party inline styles are let through by their hash alone:
# one attribute below, and Swagger UI's page <style> on /api/docs/ only (povertyexit/urls.py).
# tests/core/test_csp.py checks every route and template; tests/browser/test_csp.py
# loads each role's pages in Chromium under the policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # For style="" attributes only, and only this exact one: admin's history pages
        # (django-simple-history's object_history_list.html) have
        # <p class="paginator" style="border-top: 0">. With 'unsafe-hashes' an attribute
        # passes if its text has a listed hash; no other attribute does.
        "style-src-attr": ["'unsafe-hashes'", "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
        # data: for the SVG images inside Bootstrap's and Swagger UI's stylesheets.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- REST framework -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "knox.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.RoleWritePermission"],
    # django-filter's backend, refusing a full ID number in a query string (households/search.py).
    "DEFAULT_FILTER_BACKENDS": ["households.search.IdSafeFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
# API tokens (django-rest-knox): stored as SHA-512 digests, sent as "Authorization: Token …".
# A token lives this long and is never extended; a password change, "退出所有设备" and
# deactivating the account revoke all of a user's tokens (accounts/models.py).
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("POVERTYEXIT_API_TOKEN_TTL_DAYS", default=30)),
    "TOKEN_LIMIT_PER_USER": env.int("POVERTYEXIT_API_TOKENS_PER_USER", default=10),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "povertyexit API",
    "DESCRIPTION": "脱贫退出案件管理 API. Every endpoint is scoped to the caller's region.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets come from drf-spectacular-sidecar, served locally.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" or a 达标/未达标 field: name each choice set once.
    "ENUM_NAME_OVERRIDES": {
        "ImportStatusEnum": "imports.models.ImportStatus",
        "ExitCaseStatusEnum": "exits.models.CaseStatus",
        "ObjectionStatusEnum": "exits.models.ObjectionStatus",
        "CriterionResultEnum": "exits.models.CriterionResult",
        "MonitoringStageEnum": "monitoring.models.Stage",
        "MonitoringChannelEnum": "monitoring.models.Channel",
    },
}

# --- Celery -----------------------------------------------------------------
# Embedded default: kombu's filesystem transport, a real broker that needs no
# server, so `make run` runs the worker and beat for real. Redis in production.
#
# Leases (core/locks.py): a job's lease lasts this long and is renewed every third of
# it while the job runs, so a lease whose worker died is free again within this time.
TASK_LEASE_SECONDS = env.int("POVERTYEXIT_TASK_LEASE_SECONDS", default=90)
# Import jobs (imports/services.py): the hard limit of one check or apply in a worker,
# and how long a job may wait in the queue for a worker before the sweeper (every
# minute) ends it as 失败可重试. A started job whose worker died is ended once its
# lease has expired.
IMPORT_TASK_TIME_LIMIT = env.int("POVERTYEXIT_IMPORT_TASK_TIME_LIMIT", default=3600)
IMPORT_QUEUE_TIMEOUT = env.int("POVERTYEXIT_IMPORT_QUEUE_TIMEOUT", default=30 * 60)

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
CELERY_BROKER_DIR = DATA_DIR / "celery-broker"
if CELERY_BROKER_URL.startswith("filesystem"):
    for _sub in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Without it kombu writes its exchange table to ./control in whatever
        # directory the process happened to start in.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
    # The filesystem transport has no fan-out exchange, which remote control needs.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A message a worker took but never acknowledged (the worker died) goes back to
        # the queue after this long. Sized to the longest job, so a job that is still
        # running is never handed to a second worker; the import sweeper below ends a
        # dead worker's job long before that.
        "visibility_timeout": IMPORT_TASK_TIME_LIMIT + 600,
        # A broker that is down answers "unavailable" within seconds, not a hung page.
        "socket_connect_timeout": 3,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# A queue per kind of work (docs/SCALING.md). A worker started without -Q — `make run`,
# the compose stack's `worker` — consumes them all; when one machine is not enough, each
# kind gets workers of its own (`celery -A povertyexit worker -Q imports`), so a long
# import never holds back the one-minute tallies or an alert.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue(name) for name in ("celery", "imports", "scans", "notifications")]
CELERY_TASK_ROUTES = {
    "imports.*": {"queue": "imports"},
    "exits.overdue_scan": {"queue": "scans"},
    "monitoring.at_risk_scan": {"queue": "scans"},
    "regions.tallies_refresh": {"queue": "scans"},
    "dashboards.snapshots_refresh": {"queue": "scans"},
    "notifications.*": {"queue": "notifications"},
}
# Run once whenever a worker starts (povertyexit/celery.py), besides their schedule.
RUN_SCANS_AT_WORKER_START = env.bool("POVERTYEXIT_RUN_SCANS_AT_WORKER_START", default=True)
SCANS_AT_WORKER_START = [
    "exits.overdue_scan",
    "monitoring.at_risk_scan",
    "imports.sweep",
    "regions.tallies_refresh",
    "dashboards.snapshots_refresh",
]
# Household and member counts per region (regions.tallies) and the city's and counties'
# dashboards (dashboards.snapshots) are recounted every minute; pages count live when
# the last count is older than this (a stopped worker).
REGION_TALLY_MAX_AGE = env.int("POVERTYEXIT_REGION_TALLY_MAX_AGE", default=600)
# Lists (households, exit cases, monitoring cases) count their rows up to this many and
# say "超过 10,000 户" beyond (core/paging.py): a count never scans a whole city.
LIST_COUNT_CAP = env.int("POVERTYEXIT_LIST_COUNT_CAP", default=10000)
# An import or scan that writes at least this many rows refreshes the planner's
# statistics of what it wrote (core.bulk.analyze), as autovacuum would.
IMPORT_ANALYZE_ROWS = env.int("POVERTYEXIT_ANALYZE_ROWS", default=10000)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)


# --- Email and logging ----------------------------------------------------------
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="povertyexit@localhost")
# Alerts and the daily digest go out by email only when a real backend is configured.
NOTIFICATION_EMAILS = env.bool("POVERTYEXIT_NOTIFICATION_EMAILS", default="DJANGO_EMAIL_BACKEND" in os.environ)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Demo accounts written by `seed_demo` (development only).
DEMO_ACCOUNTS_FILE = DATA_DIR / "demo_accounts.json"
