"""The demo registry committed: the audit chain it leaves verifies (the chain is made at commit).

In a module of its own: ``test_demo_registry.py``'s tests share a load in a transaction
that stays open for that whole module.
"""

from __future__ import annotations

import pytest

from registry.audit_chain import verify_chain
from registry.models import AuditEntry


@pytest.mark.slow
@pytest.mark.postgres
def test_the_audit_chain_of_a_committed_load_verifies(demo_registry):
    """Load everything through the services and commit: every audit row is chained and the chain holds."""
    assert demo_registry["households"] == 178
    assert AuditEntry.objects.filter(action="exit_case.county_certify").count() == demo_registry["exit_cases"]
    verdict = verify_chain()
    assert verdict.intact, verdict.first_break
    assert verdict.rows == AuditEntry.objects.count()
