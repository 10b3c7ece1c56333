"""Shared fixtures: the demo data is loaded once into the test database.

Each test runs inside a transaction that is rolled back, so the demo data stays as
loaded. A test that needs real commits (``transactional_db``) must reload it.

The demo loaded for every test is the divisions, statuses, teams and users only
(``load_demo(households=False)``): the registry starts empty. The demo registry (the
households of 栗安村, 社田村 and 龙溪村 with their history, measures, assessments and the
counties' plans, ``registry.demo_registry``) takes tens of seconds to write through the
services, so a test asks for it: ``demo_registry_module`` (loaded once per test module,
rolled back after it) or ``demo_registry`` (committed, for a live server).
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from registry.demo import load_demo
from registry.models import User
from villages.models import Division

DEMO_PASSWORD = "Test-demo-pass-2026"
#: Databases a test of background jobs uses: job progress goes through the "progress"
#: alias on PostgreSQL (see registry.jobs.progress_alias), through "default" on SQLite.
JOB_DATABASES = ["default", "progress"] if getattr(settings, "POSTGRES_AVAILABLE", True) else ["default"]


def pytest_collection_modifyitems(config, items):
    if getattr(settings, "POSTGRES_AVAILABLE", True):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL; the suite is running on the SQLite fallback")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def default_language():
    """Start every test in the default language (简体中文).

    Django's locale middleware leaves the language of the last request active in the
    thread, so a page test in English would otherwise turn the next test's strings
    (chart labels, messages) English too.
    """
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from assessments.parameters import seed_defaults

    with django_db_blocker.unblock():
        seed_defaults()  # a kept (--reuse-db) database may have been flushed by browser tests
        load_demo(password=DEMO_PASSWORD, households=False)


@pytest.fixture
def demo(transactional_db):
    """Load the demo data (no households) and the default parameters for a test that really commits.

    Such a test (``transactional_db``: a live server, another process, the change feed)
    ends with a flush that empties every table, the rows the migrations seeded included.
    """
    from assessments.parameters import seed_defaults

    seed_defaults()
    load_demo(password=DEMO_PASSWORD, households=False)


@pytest.fixture
def demo_registry(demo):
    """Load the demo registry too, committed (slow: tens of seconds); return what it created."""
    from registry.demo_registry import load_demo_registry

    return load_demo_registry()


@pytest.fixture(scope="module")
def demo_registry_module(django_db_setup, django_db_blocker):
    """Load the demo registry once for a test module, inside a transaction rolled back after it.

    Each test of the module still runs in its own transaction (a savepoint inside this
    one), so what a test writes is undone after it. Use it with ``db`` tests only (not
    ``transactional_db``), in a module of its own: every later test of the module sees
    the households. Return what was created.
    """
    from django.db import transaction

    from registry.demo_registry import load_demo_registry

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield load_demo_registry()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def users(db):
    """Return the demo users by username."""
    return {u.username: u for u in User.objects.all()}


@pytest.fixture
def divisions(db):
    """Return a lookup of divisions by code."""

    class Lookup(dict):
        def __missing__(self, code):
            self[code] = Division.objects.get(pk=code)
            return self[code]

    return Lookup()


@pytest.fixture
def client_for(db):
    """Return a page client logged in as the named demo user."""

    def make(username: str) -> Client:
        client = Client()
        client.force_login(User.objects.get(username=username))
        return client

    return make


@pytest.fixture
def api_for(db):
    """Return an API client authenticated by token as the named demo user."""

    def make(username: str) -> APIClient:
        from registry.models import ApiToken
        from registry.tokens import api_token_create
        from tests.api.helpers import token_client

        user = User.objects.get(username=username)
        token, key = api_token_create(actor=None, user=user, name="test", kind=ApiToken.Kind.PERSONAL, can_write=True)
        # As if already used: the first request then writes no "last used" row, which
        # keeps the query counts the tests compare equal from the first request on.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token_client(key)

    return make
