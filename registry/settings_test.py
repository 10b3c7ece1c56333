"""Settings for the test suite: PostgreSQL at ``DATABASE_URL`` when it answers, else the embedded one.

``DATABASE_URL`` defaults to ``postgres://postgres@127.0.0.1:5432/registry``; the test
runner creates ``test_registry`` next to it. When no server answers there, the suite runs
on the embedded PostgreSQL in ``var/postgres`` (``registry.embedded_db``), started by the
first process that loads these settings (with pytest-xdist, the controller, before its
workers start: they inherit its ``DATABASE_URL``) and stopped when it ends. With
``REQUIRE_POSTGRES=1`` (CI) a server that does not answer is an error instead.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from registry import embedded_db

try:
    os.environ["DATABASE_URL"] = embedded_db.database_url(
        os.environ.get("DATABASE_URL") or embedded_db.DEFAULT_TEST_URL,
        require=os.environ.get("REQUIRE_POSTGRES") == "1",
    )
except RuntimeError as refusal:
    raise ImproperlyConfigured(str(refusal)) from None

from registry.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests that really commit end by emptying every table, the audit log included.
REGISTRY_AUDIT_ALLOW_TRUNCATE = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# High enough that no test meets it by accident; the throttling tests lower it.
REGISTRY_API_THROTTLE = "100000/minute"
LANGUAGE_CODE = "zh-hans"
