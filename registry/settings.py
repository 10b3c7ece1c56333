"""Settings for the case registry, read from the environment.

Development defaults run with no configuration at all: without ``DATABASE_URL`` the
database is the embedded PostgreSQL in ``var/postgres`` (``registry.embedded_db``, which
``make run`` starts). Production sets ``DJANGO_DEBUG=0`` and must then give ``DJANGO_SECRET_KEY``
and ``DJANGO_ALLOWED_HOSTS``; with those, ``manage.py check --deploy`` is clean.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from registry import embedded_db

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("REGISTRY_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    """Return the boolean value of an environment variable ("1", "true", "yes" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated environment variable as a list of non-empty items."""
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "development-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "registry",
    "villages",
    "households",
    "assessments",
    "quality",
    "dashboards",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "registry.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "registry.middleware.ClientAddressMiddleware",
    "households.privacy.PersonalDataAccessMiddleware",
]

ROOT_URLCONF = "registry.urls"

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
                "django.template.context_processors.i18n",
                "registry.context_processors.jobs",
            ],
        },
    },
]

WSGI_APPLICATION = "registry.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or embedded_db.url(),
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("The registry runs on PostgreSQL only: DATABASE_URL must be a postgres:// URL.")
# The registry's heavy reads are aggregates over a county or a province, run once per
# page: PostgreSQL's JIT compiles each of them for 0.5–2 s, more than it saves, and the
# default 4 MB of work memory sends a province's grouping of a million households to
# disk. Both are session settings, overridable by REGISTRY_DB_SESSION_OPTIONS.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = os.environ.get(
    "REGISTRY_DB_SESSION_OPTIONS", "-c jit=off -c work_mem=64MB"
)
# A second connection to the same database, used only to write job progress outside
# the job's own transaction (see registry.jobs). In tests it mirrors "default".
DATABASES["progress"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "registry.User"
# The model backend behind the login lock (registry.logins); the only backend.
AUTHENTICATION_BACKENDS = ["registry.backends.LockoutModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its scheme is the challenge a 401 carries.
        "registry.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "registry.api.permissions.TokenAllowsWrite",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["registry.api.throttling.ClientRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "registry.api.pagination.StandardPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "registry.api.errors.exception_handler",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("REGISTRY_TOKEN_THROTTLE", "30/minute")},
}

#: Requests per API token (or per signed-in person) and period: second, minute, hour or day.
REGISTRY_API_THROTTLE = os.environ.get("REGISTRY_API_THROTTLE", "1200/minute")
#: Days a personal token obtained with a password stays valid.
REGISTRY_PERSONAL_TOKEN_DAYS = int(os.environ.get("REGISTRY_PERSONAL_TOKEN_DAYS", "30"))

#: Days a background job's file (an export, a report) is kept after the job ends; then
#: ``manage.py run_jobs`` (or ``purge_job_outputs``) clears it.
REGISTRY_JOB_OUTPUT_DAYS = int(os.environ.get("REGISTRY_JOB_OUTPUT_DAYS", "7"))

# Login lock (registry.logins), counted in the database so that every process sees it.
#: Failed passwords for one account name, within the window, that lock the name.
REGISTRY_LOGIN_MAX_FAILURES = int(os.environ.get("REGISTRY_LOGIN_MAX_FAILURES", "5"))
#: Failed passwords from one client address (any names), within the window, that lock the
#: address; 0 turns this off. Behind a proxy it needs REGISTRY_TRUSTED_PROXY_HEADER.
REGISTRY_LOGIN_ADDRESS_MAX_FAILURES = int(os.environ.get("REGISTRY_LOGIN_ADDRESS_MAX_FAILURES", "20"))
#: Minutes, from the first failure, within which failures add up.
REGISTRY_LOGIN_WINDOW_MINUTES = int(os.environ.get("REGISTRY_LOGIN_WINDOW_MINUTES", "15"))
#: Minutes a locked name or address stays locked (an administrator can unlock sooner).
REGISTRY_LOGIN_LOCKOUT_MINUTES = int(os.environ.get("REGISTRY_LOGIN_LOCKOUT_MINUTES", "15"))
#: The request header, as in ``request.META`` (e.g. ``HTTP_X_REAL_IP``), holding the client's
#: address as set by a trusted reverse proxy; empty: the connection's own address.
REGISTRY_TRUSTED_PROXY_HEADER = os.environ.get("REGISTRY_TRUSTED_PROXY_HEADER", "")

SPECTACULAR_SETTINGS = {
    "TITLE": _("精准扶贫建档立卡系统 API"),
    "DESCRIPTION": _(
        "Case registry for targeted poverty alleviation. Every list and object is limited to the caller's jurisdiction."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Never let the browser send the schema to the public online validator.
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
}

# Security. Safe defaults that development does not need to override. Django rotates the
# session key and the CSRF token at login; registry.middleware adds CSP and
# Permissions-Policy.
SESSION_COOKIE_HTTPONLY = True
# A working day at most, and never past closing the browser: village offices share computers.
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if not DEBUG:
    # Static files are served by the app itself (no CDN, no separate web server needed).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    # The __Host- prefix makes the browser refuse these cookies unless they are Secure,
    # for this host only and for every path: a sibling subdomain cannot plant them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 60 * 60)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No full ID or mobile number in any log line (SPEC §9): see registry.log_masking.
    "filters": {"mask_personal_numbers": {"()": "registry.log_masking.MaskPersonalNumbers"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["mask_personal_numbers"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}

# Registry-specific settings.
REGISTRY_DEMO_PASSWORD = os.environ.get("REGISTRY_DEMO_PASSWORD", "demo-pass-2026")
# The audit chain's key (registry.audit_chain); by default derived from SECRET_KEY. Keep it
# with the backups: a restored database verifies only with the key it was written with.
REGISTRY_AUDIT_KEY = os.environ.get("REGISTRY_AUDIT_KEY", "")
# Only the test suite, which empties its database between tests, may truncate the audit log.
REGISTRY_AUDIT_ALLOW_TRUNCATE = False
