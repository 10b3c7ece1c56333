"""Two officials certifying (or approving) the same case at the same moment: one wins, once.

Each race runs the two calls in two threads with their own database connections; the
first is held inside its transaction, row lock taken, until PostgreSQL shows the second
waiting for that lock (see :mod:`tests.race`). Then exactly one call succeeds, the other
is refused as a conflict, and the step, its audit row and the household's status change
are each recorded once.
"""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from assessments import errors
from assessments.area_exits import CASE_STEP_NOT_ALLOWED, VILLAGE_STEPS, village_exit_propose, village_exit_transition
from assessments.choices import VillageExitCaseStatus
from assessments.exit_cases import exit_case_propose, exit_case_transition
from assessments.models import ExitCase, ExitCaseStep, VillageExitCase, VillageExitStep
from households.models import StatusChange
from registry.errors import ApplicationError
from registry.models import AuditEntry, User
from registry.roles import Role
from registry.services import user_create
from tests.api.helpers import assert_error
from tests.factories import exit_through, make_assessed, make_household, make_village
from tests.race import race
from villages.services import village_status_set

pytestmark = pytest.mark.slow

JIANGHUA = "431129000000"
DAXI = "431129203000"
LIAN = "431129203201"
CHECKLIST = {
    "hardened_road": {"met": True, "evidence": "通村水泥路已验收"},
    "collective_income": {"met": True, "evidence": "村集体年收入 5.6 万元"},
    "public_services": {"met": True, "evidence": "村卫生室已建成"},
}
HOLD_EXIT = "registry.workflow.move"
HOLD_AREA = "registry.workflow.move"
#: What the official who came second is told.
TOO_LATE = errors.EXIT_STEP_NOT_ALLOWED % {"status": "县级审定，已脱贫", "action": "县级审定并公告退出"}


@pytest.fixture
def officials(demo, users, divisions):
    """The demo's two-of-a-kind: 江华县 has a second county official for these races."""
    second = user_create(
        actor=None,
        username="county_jianghua_2",
        password=None,
        role=Role.COUNTY,
        jurisdictions=[divisions[JIANGHUA]],
        first_name="江华县扶贫办（二）",
    )
    return users["county_jianghua"], second


@pytest.fixture
def reviewed(officials, users, divisions):
    """An exit case the township has approved, waiting for the county's certification."""
    household, _assessment = make_assessed(village=divisions[LIAN])
    case = exit_case_propose(
        actor=users["team_lian"], household=household, year=2018, on_date=date.today() - timedelta(days=21)
    )
    return exit_through(case, users, until="township_approve")


def recorded_once(case: ExitCase) -> None:
    """Assert the certification left one step, one audit row and one household status change."""
    assert ExitCaseStep.objects.filter(case=case, action="county_certify").count() == 1
    assert AuditEntry.objects.filter(action="exit_case.county_certify", object_id=str(case.pk)).count() == 1
    household_id = str(case.household_id)
    assert StatusChange.objects.filter(household_id=case.household_id, action="certify_exit").count() == 1
    assert AuditEntry.objects.filter(action="household.certify_exit", object_id=household_id).count() == 1
    case.refresh_from_db()
    assert case.status == "certified" and case.household.status == "exited"


def test_two_county_officials_certify_at_once_and_one_wins(officials, reviewed):
    first, second = officials

    def certify(actor):
        return lambda: exit_case_transition(actor=actor, case=reviewed, action="county_certify")

    outcome = race(certify(first), certify(second), hold=HOLD_EXIT)
    assert outcome.second_waited, "the second certification must wait for the first one's row lock"
    assert outcome.first.error is None and outcome.first.value.status == "certified"
    error = outcome.second.error
    assert isinstance(error, ApplicationError), error
    assert (error.code, error.status) == ("transition_not_allowed", 409)
    assert str(error) == str(TOO_LATE)
    recorded_once(reviewed)
    assert ExitCaseStep.objects.get(case=reviewed, action="county_certify").actor == first


def test_two_api_clients_certify_at_once_and_the_loser_gets_a_409(officials, reviewed, api_for):
    first, second = (api_for(official.username) for official in officials)
    path = f"/api/v1/exit-cases/{reviewed.pk}/transitions/"

    def certify(client):
        return lambda: client.post(path, {"action": "county_certify"}, format="json")

    outcome = race(certify(first), certify(second), hold=HOLD_EXIT)
    assert outcome.second_waited
    assert outcome.first.error is None and outcome.first.value.status_code == 200, outcome.first
    assert outcome.first.value.json()["status"] == "certified"
    error = assert_error(outcome.second.value, 409, "transition_not_allowed")
    assert error["message"] == str(TOO_LATE)
    recorded_once(reviewed)


def test_two_officials_click_certify_at_once_and_the_loser_reads_why(officials, reviewed, client):
    clients = []
    for official in officials:
        clients.append(type(client)())
        clients[-1].force_login(User.objects.get(pk=official.pk))
    path = reverse("assessments:exit_case_step", args=[reviewed.pk, "county_certify"])
    form = {"on_date": date.today().isoformat(), "reason": ""}

    def click(page_client):
        return lambda: page_client.post(path, form)

    outcome = race(click(clients[0]), click(clients[1]), hold=HOLD_EXIT)
    assert outcome.second_waited
    assert outcome.first.error is None and outcome.first.value.status_code == 302
    assert outcome.second.error is None, outcome.second.error
    recorded_once(reviewed)
    # The loser is sent back to the case, which now shows as certified, with the reason in Chinese.
    page = clients[1].get(outcome.second.value["Location"]).content.decode()
    assert str(TOO_LATE) in page


@pytest.fixture
def village_case(officials, users, divisions):
    """A village exit case whose township notice has ended, waiting for the county's approval."""
    village = make_village(parent=divisions[DAXI], number=7, name="石枧村")
    village_status_set(actor=None, village=village, is_poverty_village=True, identified_year=2014, rural_population=400)
    make_household(village=village, status="registered", persons=3)
    day = date.today() - timedelta(days=10)
    case = village_exit_propose(
        actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST, on_date=day
    )
    case = village_exit_transition(actor=users["township_daxi"], case=case, action="open_notice", on_date=day)
    return village_exit_transition(
        actor=users["township_daxi"], case=case, action="close_notice", on_date=date.today() - timedelta(days=2)
    )


def test_two_county_officials_approve_a_village_exit_at_once(officials, village_case):
    first, second = officials

    def approve(actor):
        return lambda: village_exit_transition(actor=actor, case=village_case, action="county_approve")

    outcome = race(approve(first), approve(second), hold=HOLD_AREA)
    assert outcome.second_waited
    assert outcome.first.error is None and outcome.first.value.status == "approved"
    assert isinstance(outcome.second.error, ApplicationError)
    assert (outcome.second.error.code, outcome.second.error.status) == ("transition_not_allowed", 409)
    assert VillageExitStep.objects.filter(case=village_case, action="county_approve").count() == 1
    audited = AuditEntry.objects.filter(action="village_exit.county_approve", object_id=str(village_case.pk))
    assert audited.count() == 1
    assert VillageExitCase.objects.get(pk=village_case.pk).status == "approved"
    assert AuditEntry.objects.filter(action="village_status.exit", scope_code=village_case.village_id).count() == 1


def test_two_county_officials_click_approve_on_a_village_exit_at_once(officials, village_case, client):
    clients = []
    for official in officials:
        clients.append(type(client)())
        clients[-1].force_login(User.objects.get(pk=official.pk))
    path = reverse("assessments:village_exit_step", args=[village_case.pk, "county_approve"])

    def click(page_client):
        return lambda: page_client.post(path, {"on_date": date.today().isoformat(), "reason": ""})

    outcome = race(click(clients[0]), click(clients[1]), hold=HOLD_AREA)
    assert outcome.second_waited
    assert outcome.first.value.status_code == 302 and outcome.second.value.status_code == 302
    assert VillageExitStep.objects.filter(case=village_case, action="county_approve").count() == 1
    page = clients[1].get(outcome.second.value["Location"]).content.decode()
    too_late = CASE_STEP_NOT_ALLOWED % {
        "status": VillageExitCaseStatus.APPROVED.label,
        "action": VILLAGE_STEPS["county_approve"].label,
    }
    assert str(too_late) in page
