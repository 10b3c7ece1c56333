"""The demo registry (栗安村, 社田村, 桂东县 …) for the package's tests, with a quality run.

The registry is the session's committed load (``demo_registry_database``); the quality
run is made inside a transaction rolled back at the package's end. Each test runs in a
savepoint within it, as usual.
"""

from __future__ import annotations

import pytest

from tests.conftest import on_demo_registry


@pytest.fixture(scope="package")
def demo_registry_package(demo_registry_database, django_db_blocker):
    from quality.services import quality_run

    with django_db_blocker.unblock(), on_demo_registry(demo_registry_database):
        quality_run(actor=None)
        yield
