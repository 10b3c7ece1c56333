"""The demo registry (demo.demo_registry): the seeds' numbers, real histories, reproducible.

What is counted, precisely:

- 栗安村's 建档立卡 households are its households whose status is registered, exited or
  returned (``REGISTERED_EVER``): 122. Their persons are those households' active members:
  488. One more household, identified in 2014 and removed (清退) in 2016, is not counted,
  as the registry counts no removed household.
- The poor on a date are the active members of the households whose status that day (the
  status of the last change effective on or before it) is registered or returned
  (``POOR_NOT_EXITED``); the incidence divides them by the village's rural population, 689.

The tests share the session's committed load (``demo_registry_module``); what they write
is rolled back. The load was committed, so the audit chain it leaves is made and checked.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from assessments.choices import ExitCaseStatus, FlagStatus
from assessments.eligibility import all_passed, evaluate
from assessments.models import Assessment, ExitCase, HelpMeasure, MonitoringFlag, ReductionPlan
from assessments.parameters import poverty_line
from assessments.plans import reduction_plan_progress
from assessments.selectors import reassessment_campaign
from demo.demo_registry import VILLAGES, plan_registry
from demo.loader import GUIDONG, JIANGHUA, LIAN, LONGXI, SHAOYANG_COUNTY, SHETIAN, load_demo
from households.choices import POOR_NOT_EXITED, REGISTERED_EVER, HouseholdStatus, MemberStatus, Relationship
from households.models import Household, Member, StatusChange
from registry.audit_chain import verify_chain
from registry.idnumber import parse_id_number
from registry.models import AuditEntry, User
from tests.conftest import DEMO_PASSWORD
from villages.models import Helper, VillageStatus
from villages.selectors import poverty_incidence

EXIT_STEPS = [
    "propose", "appraise", "verify", "acknowledge", "open_notice", "close_notice", "township_approve",
    "county_certify",
]  # fmt: skip
#: Main cause → the measure category every household with that cause and any measure has.
CAUSE_CATEGORY = {
    "illness": "health",
    "education": "education",
    "disability": "social_security",
    "lack_skills": "employment",
    "lack_capital": "finance",
    "lack_labour": "social_security",
}


@pytest.fixture
def loaded(demo_registry_module, db):
    """The demo registry, loaded once for the module; each test's writes are rolled back."""
    return demo_registry_module


def active_persons(households) -> int:
    return Member.objects.filter(household__in=households, status=MemberStatus.ACTIVE).count()


def poor_persons_on(village: str, day: date) -> int:
    """Return the poor of ``village`` on ``day``, from the households' recorded history."""
    status = {}
    changes = StatusChange.objects.filter(household__village_id=village, effective_date__lte=day).order_by("id")
    for household_id, to_status in changes.values_list("household_id", "to_status"):
        status[household_id] = to_status
    poor = [pk for pk, value in status.items() if value in POOR_NOT_EXITED]
    return Member.objects.filter(household_id__in=poor, status=MemberStatus.ACTIVE).count()


def test_lian_has_122_registered_households_with_488_persons(loaded):
    lian = Household.objects.filter(village_id=LIAN)
    registered = lian.filter(status__in=REGISTERED_EVER)
    assert registered.count() == 122
    assert active_persons(registered) == 488
    assert set(registered.values_list("identified_year", flat=True)) == {2014}
    assert set(registered.values_list("group__number", flat=True)) == {1, 2, 3, 4, 5, 6}
    # All 123 went through the whole identification path in 2014, one step each.
    for action in ("apply", "appraise", "open_village_notice", "close_village_notice", "township_approve"):
        assert StatusChange.objects.filter(household__village_id=LIAN, action=action).count() == 123
    approvals = StatusChange.objects.filter(household__village_id=LIAN, action="county_approve")
    assert approvals.count() == 123 and {c.effective_date.year for c in approvals} == {2014}
    sizes = Counter(active_persons([h]) for h in registered)
    assert min(sizes) >= 1 and max(sizes) <= 9
    assert sum(sizes[n] for n in (3, 4, 5)) > 122 / 2
    # The one removed household: wrongly identified, with the reason, through the county's step.
    removed = lian.get(status=HouseholdStatus.REMOVED)
    assert "错评" in removed.status_reason and removed.status_date == date(2016, 4, 18)
    assert AuditEntry.objects.filter(action="household.remove", object_id=str(removed.pk)).exists()


def test_lian_incidence_is_below_two_percent_after_2018(loaded):
    rural = VillageStatus.objects.get(pk=LIAN).rural_population
    assert rural == 689
    at_end_of = {year: poor_persons_on(LIAN, date(year, 12, 31)) for year in range(2014, 2020)}
    removed = Household.objects.get(village_id=LIAN, status=HouseholdStatus.REMOVED)
    assert at_end_of[2014] == 488 + removed.members.count()  # removed in 2016
    assert all(at_end_of[year] < at_end_of[year - 1] for year in range(2015, 2019))  # exits every year
    assert at_end_of[2018] <= 13 and Decimal(at_end_of[2018] * 100) / rural < 2
    # Today (after the 2019 returns) as the registry's own selector counts it.
    incidence = poverty_incidence(VillageStatus.objects.get(pk=LIAN).village)
    assert incidence.poor_persons == at_end_of[2019] and incidence.below_threshold is True


def test_every_exit_is_a_certified_case_whose_assessment_passed_the_rules(loaded):
    exited = Household.objects.filter(status__in=(HouseholdStatus.EXITED, HouseholdStatus.RETURNED))
    assert exited.count() == Household.objects.filter(status=HouseholdStatus.EXITED).count() + 2
    cases = {c.household_id: c for c in ExitCase.objects.select_related("assessment")}
    assert set(cases) == set(exited.values_list("pk", flat=True))
    for household in exited:
        case = cases[household.pk]
        assert case.status == ExitCaseStatus.CERTIFIED and not case.revoked and case.eligible
        assert case.certified_on.year == case.year == case.assessment.year
        results = evaluate(case.snapshot)
        assert all_passed(results) and [r.as_dict() for r in results] == case.rule_results
        assert case.assessment.per_capita_net_income > poverty_line(case.year, household.village_id)
        assert list(case.steps.order_by("id").values_list("action", flat=True)) == EXIT_STEPS
        certified = household.status_changes.get(action="certify_exit")
        assert certified.effective_date == case.certified_on
    years = Counter(c.year for c in cases.values() if c.household.village_id == LIAN)
    assert set(years) == {2015, 2016, 2017, 2018, 2019}


def test_two_households_returned_to_poverty_in_2019_through_monitoring(loaded):
    returned = Household.objects.filter(status=HouseholdStatus.RETURNED)
    assert returned.count() == 2 and {h.village_id for h in returned} == {LIAN}
    for household in returned:
        change = household.status_changes.get(action="return_to_poverty")
        assert change.effective_date.year == 2019 and change.reason
        flag = MonitoringFlag.objects.get(household=household)
        assert flag.status == FlagStatus.RETURNED
        assert list(flag.steps.order_by("id").values_list("action", flat=True)) == [
            "raise", "appraise", "open_notice", "approve", "return_to_poverty",
        ]  # fmt: skip
        assert household.exit_cases.get().year < 2019


def test_the_other_villages(loaded):
    shetian = Household.objects.filter(village_id=SHETIAN)
    assert shetian.count() == 40 and active_persons(shetian) == 150
    exit_years = Counter(ExitCase.objects.filter(household__village_id=SHETIAN).values_list("year", flat=True))
    assert set(exit_years) == {2017, 2018, 2019}
    assert shetian.filter(status=HouseholdStatus.REGISTERED).count() > 20  # most still poor (深度贫困村)
    longxi = Household.objects.filter(village_id=LONGXI)
    assert longxi.count() == 15 and longxi.filter(status=HouseholdStatus.EXITED).count() >= 12
    exit_years = Counter(ExitCase.objects.filter(household__village_id=LONGXI).values_list("year", flat=True))
    assert exit_years[2016] + exit_years[2017] >= 12
    status = VillageStatus.objects.get(pk=LONGXI)
    assert (status.exit_status, status.exit_year) == ("exited", 2017)
    assert poverty_incidence(status.village).below_threshold is True


def test_members_and_helpers_are_plausible(loaded):
    members = Member.objects.select_related("household").filter(household__village_id__in=[s.code for s in VILLAGES])
    heads = {m.household_id: m for m in members if m.relationship == Relationship.HEAD}
    assert len(heads) == Household.objects.filter(village_id__in=[s.code for s in VILLAGES]).count()
    for member in members:
        parsed = parse_id_number(member.id_number)
        assert (parsed.sex, parsed.birth_date) == (member.sex, member.birth_date)
        assert member.id_number[:6] == member.household.village_id[:6]
        head = heads[member.household_id]
        gap = member.birth_date.year - head.birth_date.year
        if member.relationship in (Relationship.SON, Relationship.DAUGHTER):
            assert gap >= 18
            assert member.sex == ("1" if member.relationship == Relationship.SON else "2")
        elif member.relationship == Relationship.PARENT:
            assert gap <= -18
        elif member.relationship == Relationship.GRANDCHILD:
            assert gap >= 36
        elif member.relationship == Relationship.SPOUSE:
            assert member.sex != head.sex and abs(gap) <= 6
    yao = Member.objects.filter(household__village_id=LIAN, ethnicity="13").count()
    assert yao > Member.objects.filter(household__village_id=LIAN).count() / 2  # 瑶山腹地
    households = Household.objects.filter(village_id__in=[s.code for s in VILLAGES])
    assert not households.filter(helper__isnull=True).exists()
    assert Helper.objects.filter(division_id=LIAN).count() >= 25
    assert Counter(households.values_list("attribute", flat=True)).keys() == {"general", "dibao", "tekun"}


def test_most_households_have_measures_fitting_their_cause(loaded):
    households = Household.objects.filter(status__in=REGISTERED_EVER)
    counts = Counter(HelpMeasure.objects.values_list("household_id", flat=True))
    assert sum(1 for h in households if counts[h.pk]) >= 0.85 * households.count()
    assert max(counts.values()) <= 3 and min(counts.values()) >= 1
    for household in households.filter(main_cause__in=CAUSE_CATEGORY):
        categories = set(household.help_measures.values_list("category", flat=True))
        if categories:
            assert CAUSE_CATEGORY[household.main_cause] in categories, household.main_cause
    for measure in HelpMeasure.objects.all():
        assert 2015 <= measure.measure_date.year <= 2019 and measure.amount > 0
        assert measure.fund_source and measure.responsible_unit and measure.five_batches
    # Unsafe housing was made safe (rebuilt or the family relocated) before any exit.
    for household in Household.objects.filter(status=HouseholdStatus.EXITED, housing_grade__in=("C", "D")):
        assert household.housing_renovated


def test_plans_at_the_demo_scale_one_ahead_one_behind(loaded):
    plans = {(p.county_id, p.year): p for p in ReductionPlan.objects.all()}
    assert set(plans) == {
        *((JIANGHUA, year) for year in (2016, 2017, 2018, 2019)),
        *((SHAOYANG_COUNTY, year) for year in (2017, 2018, 2019)),
        (GUIDONG, 2016),
        (GUIDONG, 2017),
    }
    assert plans[GUIDONG, 2017].county_exits and plans[GUIDONG, 2017].villages_to_exit == 1
    progress = {key: reduction_plan_progress(plan=plan) for key, plan in plans.items()}
    lian_2018 = sum(c.assessment.household_size for c in ExitCase.objects.filter(household__village_id=LIAN, year=2018))
    assert abs(plans[JIANGHUA, 2018].persons_to_exit - lian_2018) <= 10
    assert progress[JIANGHUA, 2018].villages_exited == 1  # 栗安村 exited in 2018
    percents = [p.persons_percent for p in progress.values()]
    assert any(p > 100 for p in percents) and any(p < 100 for p in percents)


def test_reassessments_of_the_latest_year_are_partly_done(loaded):
    province = User.objects.get(username="province_hunan")
    campaign = reassessment_campaign(user=province, year=2019)
    assert campaign.past_deadline and campaign.due > 150
    assert campaign.assessed >= 0.6 * campaign.due and campaign.overdue > 0
    assert Assessment.objects.filter(year=2019, per_capita_net_income__lt=Decimal("3747")).exists()


def test_pages_open_on_the_demo_registry(loaded):
    household = Household.objects.filter(village_id=LIAN, status=HouseholdStatus.RETURNED).first()
    case = ExitCase.objects.filter(household__village_id=LIAN).first()
    flag = MonitoringFlag.objects.first()
    urls = [
        "/", "/households/", f"/households/{household.pk}/", f"/divisions/{LIAN}/",
        "/assessments/campaign/2019/", f"/assessments/campaign/2019/{LIAN}/",
        f"/assessments/households/{household.pk}/",
        "/assessments/cases/", f"/assessments/cases/{case.pk}/", f"/assessments/cases/{case.pk}/certificate/",
        "/assessments/plans/", "/assessments/monitoring/",
        f"/assessments/monitoring/{flag.pk}/", "/api/v1/households/", f"/api/v1/villages/{LIAN}/",
    ]  # fmt: skip
    county_urls = [f"/assessments/plans/{JIANGHUA}/2018/", f"/api/v1/counties/{JIANGHUA}/"]
    for username, extra in (("team_lian", []), ("county_jianghua", county_urls), ("province_hunan", county_urls)):
        client = Client()
        client.force_login(User.objects.get(username=username))
        for url in urls + extra:
            assert client.get(url).status_code == 200, (username, url)


@pytest.mark.slow
def test_the_audit_chain_of_a_committed_load_verifies(loaded):
    """Loaded through the services and committed: every audit row is chained and the chain holds."""
    assert loaded["households"] == 178
    assert AuditEntry.objects.filter(action="exit_case.county_certify").count() == loaded["exit_cases"]
    verdict = verify_chain()
    assert verdict.intact, verdict.first_break
    assert verdict.rows == AuditEntry.objects.count()


def model_counts() -> dict[str, int]:
    models = (Household, Member, StatusChange, ExitCase, Assessment, HelpMeasure, ReductionPlan, Helper, AuditEntry)
    return {model.__name__: model.objects.count() for model in models}


def test_loading_again_creates_nothing(loaded):
    before = model_counts()
    counts = load_demo(password=DEMO_PASSWORD)
    assert model_counts() == before
    assert (counts["households"], counts["plans"]) == (0, 0)


def digest(rows) -> str:
    return hashlib.sha256("\n".join("|".join(row) for row in rows).encode()).hexdigest()


def plan_rows(seed: int) -> list[tuple[str, ...]]:
    """Return, per planned household in registry-number order, its number, members' names and ID numbers."""
    rows, sequence = [], Counter()
    for household in plan_registry(seed).households:
        sequence[household.village] += 1
        number = f"{household.village}{sequence[household.village]:04d}"
        rows.append((number, *(f"{m.name}:{m.id_number}" for m in household.members)))
    return sorted(rows)


def database_rows() -> list[tuple[str, ...]]:
    rows = []
    households = Household.objects.filter(village_id__in=[s.code for s in VILLAGES]).prefetch_related("members")
    for household in households:
        members = sorted(household.members.all(), key=lambda m: m.pk)
        rows.append((household.registry_number, *(f"{m.name}:{m.id_number}" for m in members)))
    return sorted(rows)


def test_the_same_seed_gives_the_same_registry(loaded):
    assert digest(plan_rows(2014)) == digest(plan_rows(2014))
    assert digest(plan_rows(2015)) != digest(plan_rows(2014))
    # The database holds exactly what seed 2014 draws: numbers, names and ID numbers.
    assert digest(database_rows()) == digest(plan_rows(2014))
