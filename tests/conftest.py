"""Shared fixtures: the demo data is loaded once into the test database.

Each test runs inside a transaction that is rolled back, so the demo data stays as
loaded. A test that needs real commits (``transactional_db``) must reload it.

The demo loaded for every test is the divisions, statuses, teams and users only
(``load_demo(households=False)``): the registry starts empty. The demo registry (the
households of 栗安村, 社田村 and 龙溪村 with their history, measures, assessments and the
counties' plans, ``demo.demo_registry``) takes tens of seconds to write through the
services, so it is written once per session, committed, into a database of its own (a
copy of the test database, ``<test database>_demo_registry``), the first time a test asks
for it. A module or package asks with ``demo_registry_module`` (or a fixture built on
:func:`on_demo_registry`): while its tests run, the connections point at that database, and
everything they write is rolled back.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from demo.loader import load_demo
from registry.models import User
from villages.models import Division

DEMO_PASSWORD = "Test-demo-pass-2026"
#: Databases a test of background jobs uses: job progress goes through the "progress"
#: alias (registry.jobs.PROGRESS_ALIAS).
JOB_DATABASES = ["default", "progress"]


#: Where the tests on the demo registry live. With workers (``make test``: pytest-xdist) they
#: all go to one worker, which loads the demo registry once (see below).
DEMO_REGISTRY_TESTS = ("tests/dashboards/", "tests/demo/test_demo_registry.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Hand tests out one by one as ``--dist load`` does, but the demo registry's as one unit."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class DemoRegistryTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "demo registry" if nodeid.startswith(DEMO_REGISTRY_TESTS) else nodeid

    return DemoRegistryTogether(config, log)


def pytest_collection_modifyitems(config, items):
    elsewhere = [
        item.nodeid
        for item in items
        if "demo_registry_database" in item.fixturenames and not item.nodeid.startswith(DEMO_REGISTRY_TESTS)
    ]
    if elsewhere:
        raise pytest.UsageError(
            f"{elsewhere[0]} uses the demo registry: add its path to tests.conftest.DEMO_REGISTRY_TESTS"
        )


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


@dataclass(frozen=True)
class DemoRegistryDatabase:
    """The database the demo registry was committed to and what the load created."""

    name: str
    counts: dict[str, int]


@contextmanager
def pointed_at(name: str):
    """Point the connections of the test database (``default`` and its mirror) at database ``name``."""
    source = connections["default"].settings_dict["NAME"]
    aliases = [alias for alias in connections if connections[alias].settings_dict["NAME"] == source]
    for alias in aliases:
        connections[alias].close()
        connections[alias].settings_dict["NAME"] = name
    try:
        yield
    finally:
        for alias in aliases:
            connections[alias].close()
            connections[alias].settings_dict["NAME"] = source


def _drop_database(name: str) -> None:
    with connections["default"]._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _copy_database(source: str, name: str) -> None:
    """``CREATE DATABASE name TEMPLATE source``, waiting a little for a session on ``source`` to end."""
    from django.db import OperationalError

    for attempt in range(20):
        try:
            with connections["default"]._nodb_cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
            return
        except OperationalError:  # "source database … is being accessed by other users"
            if attempt == 19:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="session")
def demo_registry_database(django_db_setup, django_db_blocker):
    """Write the demo registry once, committed, into a copy of the test database; return where.

    The copy is made from the test database as migrated (``CREATE DATABASE … TEMPLATE``,
    which needs no other session on it: the tests that ask for it run before the
    transactional ones and their live servers), then the demo (idempotent: a flushed test
    database is filled again) and the registry are loaded through the services and
    committed, so the audit chain is made as in production. Dropped at the session's end.
    """
    from assessments.parameters import seed_defaults
    from demo.demo_registry import load_demo_registry

    with django_db_blocker.unblock():
        source = connections["default"].settings_dict["NAME"]
        name = f"{source}_demo_registry"
        connections.close_all()
        _drop_database(name)
        _copy_database(source, name)
        with pointed_at(name):
            seed_defaults()
            load_demo(password=DEMO_PASSWORD, households=False)
            counts = load_demo_registry()
    yield DemoRegistryDatabase(name, counts)
    with django_db_blocker.unblock():
        connections.close_all()
        _drop_database(name)


@contextmanager
def on_demo_registry(database: DemoRegistryDatabase):
    """Run what follows on the demo registry, inside a transaction rolled back at the end; yield
    what the load created.

    Each test still runs in its own transaction (a savepoint inside this one), so what a
    test writes is undone after it. For ``db`` tests only (not ``transactional_db``), in a
    module or package of their own: every test of it sees the households.
    """
    with pointed_at(database.name):
        with transaction.atomic():
            yield database.counts
            transaction.set_rollback(True)


@pytest.fixture(scope="module")
def demo_registry_module(demo_registry_database, django_db_blocker):
    """The demo registry for a test module (see :func:`on_demo_registry`); return what the load created."""
    with django_db_blocker.unblock(), on_demo_registry(demo_registry_database) as counts:
        yield counts


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
