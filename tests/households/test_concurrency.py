"""Two township reviewers approving the same application at the same moment: one wins, once.

The race runs in two threads with their own database connections (see :mod:`tests.race`):
the first approval holds the household's row lock while the second waits for it, then
the second finds the step already taken and is refused as a conflict.
"""

from datetime import date, timedelta

import pytest

from households import errors
from households.models import StatusChange
from households.workflow import household_transition
from registry.errors import ApplicationError
from registry.models import AuditEntry
from registry.roles import Role
from registry.services import user_create
from tests.factories import advance, make_applied
from tests.race import race

pytestmark = pytest.mark.slow

DAXI = "431129203000"
LIAN = "431129203201"


def test_two_township_reviewers_approve_at_once_and_one_wins(demo, users, divisions):
    second = user_create(
        actor=None, username="township_daxi_2", password=None, role=Role.TOWNSHIP, jurisdictions=[divisions[DAXI]]
    )
    household = make_applied(village=divisions[LIAN], on_date=date.today() - timedelta(days=31))
    household = advance(household, until="close_village_notice")

    def approve(actor):
        return lambda: household_transition(actor=actor, household=household, action="township_approve")

    outcome = race(approve(users["township_daxi"]), approve(second), hold="registry.workflow.move")
    assert outcome.second_waited, "the second approval must wait for the first one's row lock"
    assert outcome.first.error is None and outcome.first.value.step == "township_notice"
    error = outcome.second.error
    assert isinstance(error, ApplicationError) and (error.code, error.status) == ("transition_not_allowed", 409)
    assert str(error) == str(
        errors.TRANSITION_NOT_ALLOWED % {"status": "公示", "step": "乡镇公示", "action": "乡镇审核通过并公示"}
    )
    assert StatusChange.objects.filter(household=household, action="township_approve").count() == 1
    assert AuditEntry.objects.filter(action="household.township_approve", object_id=str(household.pk)).count() == 1
