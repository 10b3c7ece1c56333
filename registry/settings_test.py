"""Settings for the test suite: PostgreSQL when reachable, else (loudly) SQLite.

``DATABASE_URL`` defaults to ``postgres://postgres@127.0.0.1:5432/registry``; the test
runner creates ``test_registry`` next to it. With ``REQUIRE_POSTGRES=1`` an unreachable
server is an error instead of a fallback.
"""

import os
import sys

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry")

from registry.settings import *  # noqa: F403
from registry.settings import VAR_DIR


def _postgres_reachable(url: str) -> str | None:
    """Return None when the server answers, else the reason it does not."""
    import psycopg2

    config = dj_database_url.parse(url)
    try:
        psycopg2.connect(
            dbname="postgres",
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            connect_timeout=3,
        ).close()
    except psycopg2.OperationalError as error:
        return str(error).strip()
    return None


_url = os.environ["DATABASE_URL"]
POSTGRES_AVAILABLE = True
if _url.startswith(("postgres://", "postgresql://")):
    _reason = _postgres_reachable(_url)
    if _reason:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            raise ImproperlyConfigured(f"REQUIRE_POSTGRES=1 but PostgreSQL at {_url} is unreachable: {_reason}")
        POSTGRES_AVAILABLE = False
        banner = "!" * 78
        sys.stderr.write(
            f"\n{banner}\n!! PostgreSQL at {_url} is NOT reachable ({_reason}).\n"
            "!! Running on SQLite instead; PostgreSQL-only tests are SKIPPED.\n"
            f"!! Set REQUIRE_POSTGRES=1 to make this an error.\n{banner}\n\n"
        )
        DATABASES = {"default": dj_database_url.parse(f"sqlite:///{VAR_DIR / 'test.sqlite3'}")}
else:
    POSTGRES_AVAILABLE = False
# Job progress goes through a second alias; in tests it mirrors the default connection.
DATABASES["progress"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests that really commit end by emptying every table, the audit log included.
REGISTRY_AUDIT_ALLOW_TRUNCATE = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# High enough that no test meets it by accident; the throttling tests lower it.
REGISTRY_API_THROTTLE = "100000/minute"
LANGUAGE_CODE = "zh-hans"
