"""The demo registry (栗安村, 社田村, 桂东县 …) loaded once for the package's tests.

Loaded inside a transaction rolled back at the package's end; each test runs in a
savepoint within it, as usual. Loading is idempotent, so a database whose demo already
holds the households is left as it is.
"""

from __future__ import annotations

import pytest
from django.db import transaction


@pytest.fixture(scope="package")
def demo_registry_package(django_db_setup, django_db_blocker):
    from quality.services import quality_run
    from registry.demo_registry import load_demo_registry

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            load_demo_registry()
            quality_run(actor=None)
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
