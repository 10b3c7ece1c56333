"""The figures of a dashboard (统计看板): what the registry holds for one division's subtree.

Every figure is counted from the registry's own rows, in a fixed number of queries
whatever the size of the area, and within the user's jurisdiction: the division is
fetched through the scope (404 outside it), and every count is restricted to its subtree
by the county code that every household-scoped table carries (the index the counts use)
and the village code. The standard reports (:mod:`dashboards.reports`) read the same
functions, so a report and a dashboard cannot disagree.

What is counted:

- **statistics**: households and persons registered (建档立卡: 已识别, 返贫, 已脱贫), poor
  (not yet exited), exited, returned, removed (清退) and natural decrease (自然减少), and
  the poverty incidence (贫困发生率) with its exit threshold
  (:func:`villages.selectors.area_statistics_for`);
- **incidence by area**: the villages of a county or township, or the counties of a
  prefecture or province, each with its incidence against the exit threshold;
- **breakdowns** of the registered households by main cause (主要致贫原因) and attribute
  (贫困户属性), and of the help measures of the year by category and 五个一批;
- **the year's plan** (年度减贫计划，时间倒逼、任务倒排) of the counties in the area against
  what the registry shows, counted as :func:`assessments.selectors.plan_progress_for` does;
- **progress over the years**: households identified, exited (certified, not revoked) and
  returned to poverty (返贫) each year;
- **reassessment** (年度核查) of the campaign year: households due, assessed and overdue;
- **data quality**: findings open, accepted and fixed, by severity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear

from assessments.choices import ExitCaseStatus, FiveBatches, MeasureCategory
from assessments.models import ExitCase, HelpMeasure, ReductionPlan
from households.choices import (
    POOR_NOT_EXITED,
    REGISTERED_EVER,
    Attribute,
    Cause,
    HouseholdStatus,
    IdentificationStep,
    MemberStatus,
)
from households.models import Household, Member, StatusChange
from registry.scoping import prefix_q, scope_queryset, subtree_q
from villages import selectors as village_selectors
from villages.choices import LEVEL_PREFIX_LENGTH, DivisionLevel
from villages.models import Division
from villages.selectors import AreaStatistics, Incidence

#: The first year of the registry (建档立卡, 2014): progress over the years starts there.
FIRST_YEAR = 2014
#: The action of the household workflow that returns an exited household to poverty.
RETURN_ACTION = "return_to_poverty"


def area_q(division: Division, path: str = "village_id", county_path: str = "county_code") -> Q:
    """Return the filter for rows in ``division``'s subtree (:func:`registry.scoping.subtree_q`)."""
    return subtree_q(division.prefix, path, county_path)


# Figures ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaRow:
    """One area below the dashboard's division, with its statistics and incidence."""

    division: Division
    statistics: AreaStatistics

    @property
    def incidence(self) -> Incidence:
        return self.statistics.incidence


@dataclass(frozen=True)
class BreakdownRow:
    """One category of a breakdown of households (by cause or attribute)."""

    key: str
    label: str
    households: int
    persons: int
    poor_households: int
    poor_persons: int


@dataclass(frozen=True)
class MeasureRow:
    """One category of the year's help measures (帮扶措施)."""

    key: str
    label: str
    measures: int
    households: int
    amount: Decimal


@dataclass(frozen=True)
class PlanSummary:
    """The year's reduction plans of the counties in the area, summed, against what was done."""

    year: int
    counties_with_plan: int
    persons_to_exit: int
    persons_exited: int
    households_exited: int
    villages_to_exit: int
    villages_exited: int
    counties_to_exit: int
    counties_exited: int
    rows: list = field(default_factory=list)  # PlanProgress per county, by county code

    @property
    def has_plan(self) -> bool:
        return self.counties_with_plan > 0


@dataclass(frozen=True)
class YearRow:
    """What happened in one year: households identified, exited and returned to poverty."""

    year: int
    identified_households: int
    identified_persons: int
    exited_households: int
    exited_persons: int
    returned_households: int


@dataclass(frozen=True)
class Reassessment:
    """The reassessment campaign (年度核查) of ``year`` in the area."""

    year: int
    deadline: date
    past_deadline: bool
    due: int
    assessed: int

    @property
    def remaining(self) -> int:
        return self.due - self.assessed

    @property
    def overdue(self) -> int:
        return self.remaining if self.past_deadline else 0


@dataclass(frozen=True)
class QualitySummary:
    """Data-quality findings (数据质量) in the area, by status and, for the open ones, severity."""

    open: int
    open_errors: int
    open_warnings: int
    accepted: int
    fixed: int
    top_rules: list = field(default_factory=list)  # (rule, open count), most first


@dataclass(frozen=True)
class Dashboard:
    division: Division
    year: int
    statistics: AreaStatistics
    areas: list[AreaRow]
    by_cause: list[BreakdownRow]
    by_attribute: list[BreakdownRow]
    by_measure: list[MeasureRow]
    by_five_batches: list[MeasureRow]
    plan: PlanSummary
    years: list[YearRow]
    reassessment: Reassessment
    quality: QualitySummary

    @property
    def area_level(self) -> str:
        """Return the level the incidence-by-area lists (village or county)."""
        return incidence_area_level(self.division)


# The whole dashboard ---------------------------------------------------------------------------


def dashboard_year_default(*, user, division: Division, today: date | None = None) -> int:
    """Return the year a dashboard opens on: the latest planned year not after this one, else this year."""
    today = today or date.today()
    latest = (
        scope_queryset(ReductionPlan.objects.filter(area_q(division, "county_id")), user)
        .filter(year__lte=today.year)
        .order_by("-year")
        .values_list("year", flat=True)
        .first()
    )
    return latest or today.year


def dashboard(*, user, division: Division, year: int, today: date | None = None) -> Dashboard:
    """Return every figure of ``division``'s dashboard for ``year`` (the division is already in scope).

    The division's own statistics are the sum of its areas' (its villages or counties
    partition it), and the breakdowns and the identification years share one grouped
    count of households and one of persons (:func:`household_cube`): at a province's
    scale each pass over the members costs seconds, so the dashboard makes two.
    """
    areas = incidence_by_area(user=user, division=division)
    cube = household_cube(user=user, division=division)
    return Dashboard(
        division=division,
        year=year,
        statistics=village_selectors.area_statistics_summed(division, [area.statistics for area in areas]),
        areas=areas,
        by_cause=households_by(user=user, division=division, field_name="main_cause", choices=Cause, cube=cube),
        by_attribute=households_by(user=user, division=division, field_name="attribute", choices=Attribute, cube=cube),
        by_measure=measures_by(user=user, division=division, year=year, field_name="category", choices=MeasureCategory),
        by_five_batches=measures_by(
            user=user, division=division, year=year, field_name="five_batches", choices=FiveBatches
        ),
        plan=plan_summary(user=user, division=division, year=year),
        years=years_progress(user=user, division=division, last_year=max(year, FIRST_YEAR), cube=cube),
        reassessment=reassessment_summary(user=user, division=division, today=today),
        quality=quality_summary(user=user, division=division),
    )


# Incidence by area -------------------------------------------------------------------------------


def incidence_area_level(division: Division) -> str:
    """Return the level listed under a division: villages below a county, counties above it."""
    if LEVEL_PREFIX_LENGTH[division.level] >= 6:
        return DivisionLevel.VILLAGE
    return DivisionLevel.COUNTY


def incidence_by_area(*, user, division: Division) -> list[AreaRow]:
    """Return the villages (of a county, township or the village itself) or the counties (of a
    prefecture or province) in scope with their statistics, by code."""
    level = incidence_area_level(division)
    areas = village_selectors.division_list(user=user).filter(level=level)
    if division.level == level:
        areas = areas.filter(code=division.code)
    else:
        areas = areas.filter(prefix_q("code", division.prefix))
    areas = list(areas.order_by("code"))
    statistics = village_selectors.area_statistics_for(areas)
    return [AreaRow(division=area, statistics=statistics[area.code]) for area in areas]


# Breakdowns ----------------------------------------------------------------------------------------


#: The household fields the cube groups by.
CUBE_FIELDS = ("main_cause", "attribute", "identified_year", "status", "step")


@dataclass(frozen=True)
class HouseholdCube:
    """Households and their active persons in an area, counted per combination of :data:`CUBE_FIELDS`."""

    households: list[dict]
    persons: list[dict]

    def count(self, rows: str, predicate, key) -> dict:
        """Return the sum of ``n`` over the rows (households or persons) matching ``predicate``, per ``key(row)``."""
        totals: dict = {}
        for row in getattr(self, rows):
            if predicate(row):
                k = key(row)
                totals[k] = totals.get(k, 0) + row["n"]
        return totals


def household_cube(*, user, division: Division) -> HouseholdCube:
    """Return the households of the area and their active persons grouped by :data:`CUBE_FIELDS`, in two queries."""
    households = (
        scope_queryset(Household.objects.filter(area_q(division)), user)
        .values(*CUBE_FIELDS)
        .annotate(n=Count("pk"))
        .order_by()
    )
    persons = (
        scope_queryset(
            Member.objects.filter(area_q(division, "household__village_id"), status=MemberStatus.ACTIVE), user
        )
        .values(*(f"household__{name}" for name in CUBE_FIELDS))
        .annotate(n=Count("pk"))
        .order_by()
    )
    return HouseholdCube(
        households=list(households),
        persons=[{key.removeprefix("household__"): value for key, value in row.items()} for row in persons],
    )


def households_by(*, user, division: Division, field_name: str, choices, cube: HouseholdCube | None = None) -> list:
    """Return the registered households (建档立卡) and their persons per value of ``field_name``,
    every choice listed (zeros included), from the area's cube (two queries if not given)."""
    cube = cube or household_cube(user=user, division=division)
    registered = set(REGISTERED_EVER)
    poor = set(POOR_NOT_EXITED)

    def of(rows, statuses):
        return cube.count(rows, lambda row: row["status"] in statuses, lambda row: row[field_name])

    households, persons = of("households", registered), of("persons", registered)
    poor_households, poor_persons = of("households", poor), of("persons", poor)
    return [
        BreakdownRow(
            key=value,
            label=str(label),
            households=households.get(value, 0),
            persons=persons.get(value, 0),
            poor_households=poor_households.get(value, 0),
            poor_persons=poor_persons.get(value, 0),
        )
        for value, label in choices.choices
    ]


def measures_by(*, user, division: Division, year: int, field_name: str, choices) -> list[MeasureRow]:
    """Return the help measures dated in ``year`` per value of ``field_name`` (every choice
    listed): how many, for how many households, and the amount, in one query."""
    rows = (
        scope_queryset(
            HelpMeasure.objects.filter(area_q(division, "household__village_id"), measure_date__year=year), user
        )
        .values(field_name)
        .annotate(
            n=Count("pk"),
            households=Count("household", distinct=True),
            amount=Coalesce(Sum("amount"), Value(Decimal(0))),
        )
        .order_by()
    )
    found = {row[field_name]: row for row in rows}
    return [
        MeasureRow(
            key=value,
            label=str(label),
            measures=found.get(value, {}).get("n", 0),
            households=found.get(value, {}).get("households", 0),
            amount=found.get(value, {}).get("amount", Decimal(0)),
        )
        for value, label in choices.choices
    ]


# The year's plan -------------------------------------------------------------------------------------


def plan_summary(*, user, division: Division, year: int) -> PlanSummary:
    """Return the ``year`` plans of the counties in the area, summed, with their progress.

    A plan is a county's (县): for a township or village the county's plan is not the
    area's, so the summary there has no plan (``counties_with_plan`` 0).
    """
    from assessments.selectors import plan_progress_for

    plans = []
    if LEVEL_PREFIX_LENGTH[division.level] <= 6:
        plans = list(
            scope_queryset(ReductionPlan.objects.select_related("county"), user)
            .filter(area_q(division, "county_id"), year=year)
            .order_by("county_id")
        )
    progress = plan_progress_for(plans)
    rows = [progress[plan.pk] for plan in plans]
    return PlanSummary(
        year=year,
        counties_with_plan=len(plans),
        persons_to_exit=sum(plan.persons_to_exit for plan in plans),
        persons_exited=sum(row.persons_exited for row in rows),
        households_exited=sum(row.households_exited for row in rows),
        villages_to_exit=sum(plan.villages_to_exit for plan in plans),
        villages_exited=sum(row.villages_exited for row in rows),
        counties_to_exit=sum(1 for plan in plans if plan.county_exits),
        counties_exited=sum(1 for row in rows if row.plan.county_exits and row.county_exited),
        rows=rows,
    )


# Progress over the years -----------------------------------------------------------------------------


def years_progress(*, user, division: Division, last_year: int, cube: HouseholdCube | None = None) -> list[YearRow]:
    """Return, for each year from 2014 to ``last_year``, the households identified (by their
    identification year, among those the county announced), exited (certified exit cases of
    that year, not revoked; persons as the certified assessment counted them) and returned to
    poverty (by the date of the return), in two queries beside the cube (two more if not given)."""
    cube = cube or household_cube(user=user, division=division)
    registered = set(REGISTERED_EVER)
    left = {HouseholdStatus.REMOVED, HouseholdStatus.NATURAL_DECREASE}

    def announced(row) -> bool:
        return row["identified_year"] is not None and (
            row["status"] in registered or (row["status"] in left and row["step"] == IdentificationStep.ANNOUNCED)
        )

    identified = cube.count("households", announced, lambda row: row["identified_year"])
    identified_persons = cube.count("persons", announced, lambda row: row["identified_year"])
    exits = {
        row["year"]: row
        for row in scope_queryset(ExitCase.objects.all(), user)
        .filter(area_q(division, "household__village_id"), status=ExitCaseStatus.CERTIFIED, revoked=False)
        .values("year")
        .annotate(households=Count("pk"), persons=Coalesce(Sum("assessment__household_size"), 0))
        .order_by()
    }
    returned = dict(
        scope_queryset(StatusChange.objects.all(), user)
        .filter(area_q(division, "household__village_id"), action=RETURN_ACTION)
        .annotate(year=ExtractYear("effective_date"))
        .values("year")
        .annotate(n=Count("household", distinct=True))
        .order_by()
        .values_list("year", "n")
    )
    return [
        YearRow(
            year=year,
            identified_households=identified.get(year, 0),
            identified_persons=identified_persons.get(year, 0),
            exited_households=exits.get(year, {}).get("households", 0),
            exited_persons=exits.get(year, {}).get("persons", 0),
            returned_households=returned.get(year, 0),
        )
        for year in range(FIRST_YEAR, last_year + 1)
    ]


# Reassessment ---------------------------------------------------------------------------------------


def reassessment_summary(*, user, division: Division, today: date | None = None) -> Reassessment:
    """Return the current reassessment campaign (年度核查) in the area: due, assessed, overdue."""
    from assessments.selectors import campaign_deadline, campaign_default_year, households_due_counts

    today = today or date.today()
    province = division.code[:2].ljust(12, "0")
    year = campaign_default_year(today, province)
    deadline = campaign_deadline(year, province)
    due, assessed = households_due_counts(
        user=user, year=year, area=area_q(division), exit_area=area_q(division, "household__village_id")
    )
    return Reassessment(year=year, deadline=deadline, past_deadline=today > deadline, due=due, assessed=assessed)


# Data quality ----------------------------------------------------------------------------------------


def quality_summary(*, user, division: Division, top: int = 5) -> QualitySummary:
    """Return the findings in the area by status, the open ones by severity and the rules with
    the most open findings, in one query."""
    from quality.choices import FindingStatus, Severity
    from quality.models import Finding
    from quality.rules import RULES

    rows = (
        scope_queryset(Finding.objects.all(), user)
        .filter(area_q(division, "division_code"))
        .values("rule")
        .annotate(**{status: Count("pk", filter=Q(status=status)) for status in FindingStatus.values})
        .order_by()
    )
    totals = dict.fromkeys(FindingStatus.values, 0)
    errors = warnings = 0
    top_rules = []
    for row in rows:
        for status in FindingStatus.values:
            totals[status] += row[status]
        rule = RULES.get(row["rule"])
        opened = row[FindingStatus.OPEN]
        if rule is not None and rule.severity == Severity.ERROR:
            errors += opened
        else:
            warnings += opened
        if opened:
            top_rules.append((rule or row["rule"], opened))
    top_rules.sort(key=lambda pair: (-pair[1], getattr(pair[0], "code", str(pair[0]))))
    return QualitySummary(
        open=totals[FindingStatus.OPEN],
        open_errors=errors,
        open_warnings=warnings,
        accepted=totals[FindingStatus.ACCEPTED],
        fixed=totals[FindingStatus.FIXED],
        top_rules=top_rules[:top],
    )
