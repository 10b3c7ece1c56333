"""Dashboard figures equal the registry's rows counted directly, per village and per county.

The expected figures are counted here in plain Python over every household, member, exit
case, measure, status change and finding of the demo registry, not through the
dashboard's grouped queries; the two must agree for every village and county that has
households, and for the prefecture and province above them.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from assessments.models import ExitCase, HelpMeasure, ReductionPlan
from assessments.selectors import plan_progress_for, reassessment_campaign
from dashboards import selectors
from households.choices import POOR_NOT_EXITED, REGISTERED_EVER, HouseholdStatus, IdentificationStep
from households.models import Household, StatusChange
from quality.models import Finding
from registry.models import User
from villages.models import Division

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_registry_package")]

TODAY = date(2020, 3, 1)


def _areas() -> list[Division]:
    """Return every village and county holding households, and their prefectures and provinces."""
    villages = set(Household.objects.values_list("village_id", flat=True))
    codes = villages | {v[:6] + "000000" for v in villages} | {v[:4] + "00000000" for v in villages}
    codes |= {v[:2] + "0000000000" for v in villages}
    return list(Division.objects.filter(code__in=codes).order_by("code"))


def _households(division: Division) -> list[Household]:
    return [h for h in Household.objects.prefetch_related("members") if h.village_id.startswith(division.prefix)]


def _persons(household: Household) -> int:
    return sum(1 for m in household.members.all() if m.status == "active")


@pytest.fixture
def admin():
    return User.objects.get(username="admin")


def test_the_demo_has_areas_to_compare():
    levels = Counter(d.level for d in _areas())
    assert levels["village"] >= 3 and levels["county"] >= 3


def test_statistics_breakdowns_and_years_equal_the_rows(admin):
    for division in _areas():
        households = _households(division)
        board = selectors.dashboard(user=admin, division=division, year=2018, today=TODAY)
        s = board.statistics
        groups = {
            "registered": [h for h in households if h.status in REGISTERED_EVER],
            "poor": [h for h in households if h.status in POOR_NOT_EXITED],
            "exited": [h for h in households if h.status == HouseholdStatus.EXITED],
            "returned": [h for h in households if h.status == HouseholdStatus.RETURNED],
            "removed": [
                h for h in households if h.status == HouseholdStatus.REMOVED and h.step == IdentificationStep.ANNOUNCED
            ],
        }
        for name, rows in groups.items():
            tally = getattr(s, name)
            assert (tally.households, tally.persons) == (len(rows), sum(map(_persons, rows))), (division, name)
        assert s.incidence.poor_persons == sum(map(_persons, groups["poor"]))

        causes = Counter(h.main_cause for h in groups["registered"])
        assert {r.key: r.households for r in board.by_cause if r.households} == dict(causes), division
        cause_persons = Counter()
        for h in groups["registered"]:
            cause_persons[h.main_cause] += _persons(h)
        assert {r.key: r.persons for r in board.by_cause if r.persons} == dict(cause_persons), division
        attributes = Counter(h.attribute for h in groups["poor"])
        assert {r.key: r.poor_households for r in board.by_attribute if r.poor_households} == dict(attributes)

        ids = {h.pk for h in households}
        exits = [c for c in ExitCase.objects.select_related("assessment") if c.household_id in ids]
        exits = [c for c in exits if c.status == "certified" and not c.revoked]
        returns = Counter(
            c.effective_date.year
            for c in StatusChange.objects.filter(action="return_to_poverty")
            if c.household_id in ids
        )
        identified = Counter(
            h.identified_year
            for h in households
            if h.identified_year
            and (
                h.status in REGISTERED_EVER
                or (h.status in ("removed", "natural_decrease") and h.step == IdentificationStep.ANNOUNCED)
            )
        )
        for row in board.years:
            year_exits = [c for c in exits if c.year == row.year]
            assert row.exited_households == len(year_exits), (division, row.year)
            assert row.exited_persons == sum(c.assessment.household_size for c in year_exits)
            assert row.returned_households == returns.get(row.year, 0)
            assert row.identified_households == identified.get(row.year, 0)

        measures = [m for m in HelpMeasure.objects.all() if m.household_id in ids and m.measure_date.year == 2018]
        assert {r.key: r.measures for r in board.by_measure if r.measures} == dict(
            Counter(m.category for m in measures)
        )
        amounts = {}
        for m in measures:
            amounts[m.five_batches] = amounts.get(m.five_batches, Decimal(0)) + m.amount
        assert {r.key: r.amount for r in board.by_five_batches if r.measures} == amounts
        households_per_batch = {k: len({m.household_id for m in measures if m.five_batches == k}) for k in amounts}
        assert {r.key: r.households for r in board.by_five_batches if r.measures} == households_per_batch

        findings = [f for f in Finding.objects.all() if f.division_code.startswith(division.prefix)]
        statuses = Counter(f.status for f in findings)
        assert (board.quality.open, board.quality.accepted, board.quality.fixed) == (
            statuses["open"],
            statuses["accepted"],
            statuses["fixed"],
        )


def test_plan_progress_equals_the_certified_exits(admin):
    plans = list(ReductionPlan.objects.all())
    assert plans, "the demo has reduction plans"
    for plan in plans:
        county = plan.county
        board = selectors.dashboard(user=admin, division=county, year=plan.year, today=TODAY)
        cases = [
            c
            for c in ExitCase.objects.select_related("assessment").filter(year=plan.year)
            if c.household.village_id.startswith(county.prefix) and c.status == "certified" and not c.revoked
        ]
        assert board.plan.persons_to_exit == plan.persons_to_exit
        assert board.plan.persons_exited == sum(c.assessment.household_size for c in cases)
        assert board.plan.households_exited == len(cases)
        assert board.plan.persons_exited == plan_progress_for([plan])[plan.pk].persons_exited


def test_reassessment_equals_the_campaign_page(admin):
    for division in _areas():
        summary = selectors.reassessment_summary(user=admin, division=division, today=TODAY)
        campaign = reassessment_campaign(user=admin, year=summary.year, today=TODAY)
        rows = [r for r in campaign.rows if r.village.code.startswith(division.prefix)]
        assert summary.due == sum(r.due for r in rows), division
        assert summary.assessed == sum(r.assessed for r in rows)
        assert summary.overdue == sum(r.overdue for r in rows)
