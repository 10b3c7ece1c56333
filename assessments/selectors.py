"""Reads on assessments, exit cases and the reassessment campaign, always within the user's scope.

Every queryset here goes through :func:`registry.scoping.scope_queryset`; a single object
outside the jurisdiction is a 404, indistinguishable from one that does not exist.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, ExtractYear, Substr

from assessments.choices import ExitCaseStatus, ParameterKey
from assessments.eligibility import build_snapshots, evaluate
from assessments.models import (
    Assessment,
    CountyExitCase,
    CountyExitObjection,
    CountyExitStep,
    ExitCase,
    ExitCaseStep,
    ExitObjection,
    ReductionPlan,
    SampledHousehold,
    SampledVillage,
    VillageExitCase,
    VillageExitObjection,
    VillageExitStep,
)
from assessments.parameters import parameter
from assessments.plans import PlanProgress
from assessments.services import ASSESSABLE, income_year_bounds, members_on
from households.choices import POOR_NOT_EXITED, HouseholdStatus, MemberStatus, Relationship
from households.models import Household, Member
from registry.scoping import get_scoped_or_404, prefix_q, scope_queryset, subtree_q, user_scope
from villages import selectors as village_selectors
from villages.choices import CountyExitStatus, DivisionLevel, VillageExitStatus
from villages.models import CountyStatus, Division, VillageStatus

#: Months after the income year's last day by which its reassessment should be done.
CAMPAIGN_GRACE_MONTHS = 3
#: The exit cases the county review queue (县级审定队列) shows.
QUEUE_STATUS = ExitCaseStatus.TOWNSHIP_REVIEWED


def _head_name(household_path: str) -> Subquery:
    """Return a subquery of the active head's name of the household at ``household_path``."""
    return Subquery(
        Member.objects.filter(
            household=OuterRef(household_path), relationship=Relationship.HEAD, status=MemberStatus.ACTIVE
        ).values("name")[:1]
    )


# Assessments (年度核查) -----------------------------------------------------------------


def assessment_queryset() -> QuerySet:
    return Assessment.objects.select_related("household", "household__village", "assessed_by").annotate(
        head_name=_head_name("household_id")
    )


def assessment_list(*, user, year: int | None = None, village: str | None = None) -> QuerySet:
    """Return the assessments the user may see, optionally of one year and one village."""
    queryset = scope_queryset(assessment_queryset(), user)
    if year:
        queryset = queryset.filter(year=year)
    if village:
        queryset = queryset.filter(household__village_id=village)
    return queryset.order_by("-year", "household__registry_number")


def assessment_get(*, user, household: Household, year: int) -> Assessment | None:
    """Return the household's assessment for ``year`` (the household was read in scope), or None."""
    return scope_queryset(assessment_queryset(), user).filter(household=household, year=year).first()


def assessment_get_for_user(*, user, assessment_id: int) -> Assessment:
    return get_scoped_or_404(assessment_queryset(), user, pk=assessment_id)


def assessment_is_locked(assessment: Assessment | None) -> bool:
    """Return whether a certified exit relies on the assessment (the service then refuses changes)."""
    return assessment is not None and assessment.exit_cases.filter(status=ExitCaseStatus.CERTIFIED).exists()


def household_for_assessment(*, user, household_id: int) -> Household:
    """Return one household with its members, its assessments and its exit cases, or 404."""
    from households.selectors import household_queryset

    return get_scoped_or_404(
        household_queryset().prefetch_related(
            Prefetch("members", queryset=Member.objects.order_by("status", "id")),
            Prefetch("assessments", queryset=Assessment.objects.order_by("-year")),
            Prefetch("exit_cases", queryset=ExitCase.objects.order_by("-year", "-id")),
        ),
        user,
        pk=household_id,
    )


@dataclass(frozen=True)
class DerivedIndicators:
    """The 三保障 indicators derived from member and household data (shown, not typed)."""

    on_date: date
    ages: tuple[int, int]
    out_of_school: list[Member]
    uninsured: list[Member]
    members: list[Member]
    housing_grade: str
    housing_grade_label: str
    housing_renovated: bool
    drinking_water_safe: bool

    @property
    def housing_safe(self) -> bool:
        return self.housing_grade in ("A", "B") or (self.housing_grade in ("C", "D") and self.housing_renovated)


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def derived_indicators(*, household: Household, year: int, on_date: date) -> DerivedIndicators:
    """Return the indicators the eligibility rules derive from members and housing on ``on_date``.

    Members aged within the compulsory-education ages (a parameter) who are not in school,
    members without basic medical insurance, the housing grade. Exemptions for health
    reasons (送教上门) are chosen on the form, so they are not applied here.
    """
    low, high = parameter(ParameterKey.COMPULSORY_EDUCATION_AGES, year=year, division_code=household.village_id)
    members = members_on(household, on_date)
    out_of_school = [
        m
        for m in members
        if low <= _age(m.birth_date, on_date) <= high and m.student_status in ("not_student", "preschool")
    ]
    return DerivedIndicators(
        on_date=on_date,
        ages=(low, high),
        out_of_school=out_of_school,
        uninsured=[m for m in members if not m.basic_medical_insurance],
        members=members,
        housing_grade=household.housing_grade,
        housing_grade_label=household.get_housing_grade_display(),
        housing_renovated=household.housing_renovated,
        drinking_water_safe=household.drinking_water_safe,
    )


# Eligibility sweep (批量评估退出标准) -------------------------------------------------------


@dataclass(frozen=True)
class SweepRow:
    """One household judged by the exit rules on its assessment of the year."""

    household_id: int
    registry_number: str
    status: str
    assessment_id: int
    #: ``None`` when the year's standards are not all set (it cannot be judged).
    passed: bool | None
    failed_rules: tuple[str, ...]


@dataclass
class SweepSummary:
    """The counts of a sweep: households judged, passing, failing (per rule), not judgeable."""

    division_code: str
    year: int
    assessed: int = 0
    passed: int = 0
    failed: int = 0
    unjudged: int = 0
    failures_by_rule: dict[str, int] = field(default_factory=dict)

    def add(self, row: SweepRow) -> None:
        self.assessed += 1
        if row.passed is None:
            self.unjudged += 1
        elif row.passed:
            self.passed += 1
        else:
            self.failed += 1
            for rule in row.failed_rules:
                self.failures_by_rule[rule] = self.failures_by_rule.get(rule, 0) + 1


def eligibility_sweep(*, division: Division, year: int, user=None) -> Iterator[SweepRow]:
    """Yield every household of ``division`` with a ``year`` assessment, judged by the exit rules.

    Registered, returned and exited households alike (a county screening whom to propose,
    or re-checking its exits); with ``user``, only those in the user's scope. The same
    judgement as ``evaluate(build_snapshot(assessment))``, read in bulk by
    :func:`assessments.eligibility.build_snapshots`: a few queries per chunk of
    households, memory bounded by the chunk, in assessment order.
    """
    queryset = Assessment.objects.filter(year=year, household__status__in=ASSESSABLE).filter(
        subtree_q(division.prefix, "household__village_id")
    )
    if user is not None:
        queryset = scope_queryset(queryset, user)
    for row, snapshot in build_snapshots(queryset):
        if snapshot is None:
            passed, failed = None, ()
        else:
            failed = tuple(r.rule for r in evaluate(snapshot) if not r.passed)
            passed = not failed
        yield SweepRow(
            household_id=row["household__id"],
            registry_number=row["household__registry_number"],
            status=row["household__status"],
            assessment_id=row["id"],
            passed=passed,
            failed_rules=failed,
        )


def eligibility_summary(rows: Iterable[SweepRow], *, division: Division, year: int) -> SweepSummary:
    """Return the counts of a sweep's rows (consuming them)."""
    summary = SweepSummary(division_code=division.code, year=year)
    for row in rows:
        summary.add(row)
    return summary


# Exit cases (脱贫退出) --------------------------------------------------------------------


def exit_case_queryset() -> QuerySet:
    return ExitCase.objects.select_related("household", "household__village", "household__village__parent").annotate(
        head_name=_head_name("household_id")
    )


def exit_case_list(*, user, status: str | None = None, year: int | None = None) -> QuerySet:
    """Return the exit cases the user may see, newest year first, optionally by status and year."""
    queryset = scope_queryset(exit_case_queryset(), user)
    if status:
        queryset = queryset.filter(status=status)
    if year:
        queryset = queryset.filter(year=year)
    return queryset.order_by("-year", "household__registry_number", "-id")


def exit_case_get_for_user(*, user, case_id: int) -> ExitCase:
    """Return one exit case with its steps, objections, household and village, or 404."""
    return get_scoped_or_404(
        exit_case_queryset()
        .select_related("assessment", "household__village__parent__parent")
        .prefetch_related(
            Prefetch("steps", queryset=ExitCaseStep.objects.select_related("actor").order_by("id")),
            Prefetch(
                "objections",
                queryset=ExitObjection.objects.select_related("recorded_by", "resolved_by").order_by("id"),
            ),
        ),
        user,
        pk=case_id,
    )


def exit_objection_get_for_user(*, user, objection_id: int) -> ExitObjection:
    return get_scoped_or_404(ExitObjection.objects.select_related("case__household"), user, pk=objection_id)


def county_review_queue(*, user) -> QuerySet:
    """Return the cases awaiting county certification (乡镇审核通过) in scope, oldest review first.

    One query per page whatever its length: the head's name and the date of the township
    review are subqueries, the household and village are joined.
    """
    reviewed_on = Subquery(
        ExitCaseStep.objects.filter(case=OuterRef("pk"), action="township_approve")
        .order_by("-id")
        .values("effective_date")[:1]
    )
    return (
        scope_queryset(exit_case_queryset(), user)
        .filter(status=QUEUE_STATUS)
        .annotate(township_reviewed_on=reviewed_on)
        .order_by("township_reviewed_on", "household__registry_number", "id")
    )


# Reassessment campaign (年度核查进度) ----------------------------------------------------


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def campaign_deadline(year: int, division_code: str = "") -> date:
    """Return the last day of the ``year`` reassessment: the income year's end + 3 months' grace."""
    _start, end = income_year_bounds(year, division_code)
    return _add_months(end, CAMPAIGN_GRACE_MONTHS)


def campaign_default_year(today: date | None = None, division_code: str = "") -> int:
    """Return the latest year whose income year has ended by ``today`` (the one being reassessed)."""
    today = today or date.today()
    year = today.year + 1
    while income_year_bounds(year, division_code)[1] >= today:
        year -= 1
    return year


def _scope_province(user) -> str:
    """Return the province code all of the user's scope lies in, else "" (national parameters)."""
    scope = user_scope(user)
    provinces = {p[:2] for p in scope.prefixes if len(p) >= 2}
    if scope.unrestricted or len(provinces) != 1:
        return ""
    return provinces.pop().ljust(12, "0")


def households_due(*, user, year: int) -> QuerySet:
    """Return the households due for the ``year`` reassessment in scope, with ``assessed`` annotated.

    Due (based on each household's current status): registered (已识别) and returned (返贫)
    households, and exited households still in the transition period (脱贫过渡期, a
    parameter, by default 5 years) — exit year (the latest certified exit case, else the
    year of the status date) no more than that many years before ``year``; an exited
    household whose exit year is unknown is counted as due.
    """
    province = _scope_province(user)
    transition = int(parameter(ParameterKey.TRANSITION_YEARS, year=year, division_code=province))
    exit_year = Coalesce(
        Subquery(
            ExitCase.objects.filter(household=OuterRef("pk"), status=ExitCaseStatus.CERTIFIED)
            .order_by("-year")
            .values("year")[:1]
        ),
        ExtractYear("status_date"),
        output_field=IntegerField(),
    )
    exited_in_transition = Q(status=HouseholdStatus.EXITED) & (
        Q(exit_year__isnull=True) | Q(exit_year__gte=year - transition)
    )
    return (
        scope_queryset(Household.objects.all(), user)
        .filter(status__in=ASSESSABLE)
        .annotate(
            exit_year=exit_year,
            assessed=Exists(Assessment.objects.filter(household=OuterRef("pk"), year=year)),
        )
        .filter(Q(status__in=POOR_NOT_EXITED) | exited_in_transition)
    )


def households_due_counts(*, user, year: int, area: Q | None = None, exit_area: Q | None = None) -> tuple[int, int]:
    """Return (due, assessed) of the ``year`` reassessment in scope, counted as :func:`households_due` lists them.

    ``area`` narrows the households (and ``exit_area`` their exit cases, for pruning).
    The same rule as :func:`households_due`, but the latest certified exit year comes from
    one grouped pass over the exit cases joined to the households, instead of a probe of
    the exit cases per exited household: at a province's million households the probes
    took seconds, the join a fraction of that.
    """
    from django.db import connection
    from django.db.models import Max

    province = _scope_province(user)
    transition = int(parameter(ParameterKey.TRANSITION_YEARS, year=year, division_code=province))
    households = scope_queryset(Household.objects.all(), user).filter(status__in=ASSESSABLE)
    exits = scope_queryset(ExitCase.objects.filter(status=ExitCaseStatus.CERTIFIED), user)
    if area is not None:
        households = households.filter(area)
    if exit_area is not None:
        exits = exits.filter(exit_area)
    h_sql, h_params = households.order_by().values("id", "status", "status_date").query.sql_with_params()
    e_sql, e_params = exits.order_by().values("household_id").annotate(latest=Max("year")).query.sql_with_params()
    poor = tuple(str(s) for s in POOR_NOT_EXITED)
    exit_year = "COALESCE(e.latest, EXTRACT(YEAR FROM h.status_date))"
    # Only table names and the ORM's own compiled SQL are interpolated; every value is a parameter.
    sql = (
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE EXISTS ("  # noqa: S608
        f"SELECT 1 FROM {Assessment._meta.db_table} a WHERE a.household_id = h.id AND a.year = %s)) "
        f"FROM ({h_sql}) h LEFT JOIN ({e_sql}) e ON e.household_id = h.id "
        f"WHERE h.status IN %s OR (h.status = %s AND ({exit_year} IS NULL OR {exit_year} >= %s))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [year, *h_params, *e_params, poor, HouseholdStatus.EXITED.value, year - transition])
        due, assessed = cursor.fetchone()
    return due, assessed


@dataclass
class CampaignRow:
    """One village's progress in a reassessment campaign."""

    village: object
    team: object | None
    due: int
    assessed: int
    overdue: int

    @property
    def remaining(self) -> int:
        return self.due - self.assessed


@dataclass
class Campaign:
    year: int
    deadline: date
    past_deadline: bool
    rows: list[CampaignRow] = field(default_factory=list)

    @property
    def due(self) -> int:
        return sum(r.due for r in self.rows)

    @property
    def assessed(self) -> int:
        return sum(r.assessed for r in self.rows)

    @property
    def overdue(self) -> int:
        return sum(r.overdue for r in self.rows)


def reassessment_campaign(*, user, year: int, today: date | None = None) -> Campaign:
    """Return, per village in scope with households due, the ``year`` reassessment's progress.

    For each village and its stationed work team (驻村工作队): households due (see
    :func:`households_due`), how many have an assessment for ``year``, and how many are
    overdue. The deadline is the income year's last day (``income_year_bounds``, by default
    30 September) plus a grace of three months; once it has passed, overdue = due −
    assessed, before it nothing is overdue. A fixed number of queries whatever the number of
    villages (one grouped count, the villages, their teams, and the parameters).
    """
    today = today or date.today()
    province = _scope_province(user)
    deadline = campaign_deadline(year, province)
    past = today > deadline
    counts = (
        households_due(user=user, year=year)
        .order_by()
        .values("village_id")
        .annotate(due=Count("pk"), done=Count("pk", filter=Q(assessed=True)))
        .values_list("village_id", "due", "done")
    )
    counts = {code: (due, done) for code, due, done in counts}
    villages = village_selectors.division_list(user=user).filter(code__in=list(counts)).order_by("code")
    teams = village_selectors.stationed_teams_by_village(user=user, village_codes=list(counts))
    campaign = Campaign(year=year, deadline=deadline, past_deadline=past)
    for village in villages:
        due, done = counts[village.code]
        campaign.rows.append(
            CampaignRow(
                village=village, team=teams.get(village.code), due=due, assessed=done, overdue=due - done if past else 0
            )
        )
    return campaign


def campaign_village_households(*, user, year: int, village: str) -> QuerySet:
    """Return the households of one village due for the ``year`` reassessment, unassessed first."""
    return (
        households_due(user=user, year=year)
        .filter(village_id=village)
        .annotate(head_name=_head_name("pk"))
        .order_by("assessed", "registry_number")
    )


def default_assessed_on(year: int, division_code: str = "", today: date | None = None) -> date:
    """Return the date an assessment form for ``year`` proposes: today, else the campaign's deadline."""
    today = today or date.today()
    return min(today, campaign_deadline(year, division_code))


# Village and county exits, plans (scoped) --------------------------------------------


def _steps(model):
    return Prefetch("steps", queryset=model.objects.select_related("actor").order_by("id"))


def village_exit_case_list(*, user, status: str = "", year: int | None = None) -> QuerySet:
    """Return the village exit cases the user may see, latest year first, with their steps."""
    queryset = scope_queryset(
        VillageExitCase.objects.select_related("village", "village__parent").prefetch_related(_steps(VillageExitStep)),
        user,
    )
    if status:
        queryset = queryset.filter(status=status)
    if year is not None:
        queryset = queryset.filter(year=year)
    return queryset.order_by("-year", "village_id", "-id")


def village_exit_case_get_for_user(*, user, case_id: int) -> VillageExitCase:
    """Return the village exit case with its steps and objections if the user may see it, else 404."""
    objections = VillageExitObjection.objects.select_related("recorded_by", "resolved_by").order_by("id")
    queryset = VillageExitCase.objects.select_related("village", "village__parent").prefetch_related(
        _steps(VillageExitStep), Prefetch("objections", queryset=objections)
    )
    return get_scoped_or_404(queryset, user, pk=case_id)


def county_exit_case_list(*, user, status: str = "", year: int | None = None) -> QuerySet:
    """Return the county exit cases the user may see, latest year first, with their steps."""
    queryset = scope_queryset(
        CountyExitCase.objects.select_related("county").prefetch_related(_steps(CountyExitStep)), user
    )
    if status:
        queryset = queryset.filter(status=status)
    if year is not None:
        queryset = queryset.filter(year=year)
    return queryset.order_by("-year", "county_id", "-id")


def county_exit_case_get_for_user(*, user, case_id: int) -> CountyExitCase:
    """Return the county exit case with its steps, sample and objections if the user may see it, else 404."""
    objections = CountyExitObjection.objects.select_related("recorded_by", "resolved_by").order_by("id")
    households = SampledHousehold.objects.select_related("household", "household__village", "recorded_by")
    villages = SampledVillage.objects.select_related("village", "village__parent", "recorded_by")
    queryset = CountyExitCase.objects.select_related("county").prefetch_related(
        _steps(CountyExitStep),
        Prefetch("objections", queryset=objections),
        Prefetch("sampled_households", queryset=households.order_by("position")),
        Prefetch("sampled_villages", queryset=villages.order_by("position")),
    )
    return get_scoped_or_404(queryset, user, pk=case_id)


def sampled_household_get(*, user, case: CountyExitCase, row_id: int) -> SampledHousehold:
    return get_scoped_or_404(SampledHousehold.objects.select_related("household"), user, pk=row_id, case=case)


def sampled_village_get(*, user, case: CountyExitCase, row_id: int) -> SampledVillage:
    return get_scoped_or_404(SampledVillage.objects.all(), user, pk=row_id, case=case)


def proposable_villages(*, user) -> QuerySet:
    """Return the poverty villages in the user's scope not yet exited (those a township may propose)."""
    statuses = scope_queryset(VillageStatus.objects.all(), user).filter(is_poverty_village=True)
    statuses = statuses.exclude(exit_status=VillageExitStatus.EXITED)
    return Division.objects.filter(pk__in=statuses.values("village_id")).select_related("parent").order_by("code")


def applicable_counties(*, user) -> QuerySet:
    """Return the poverty counties in the user's scope not yet exited."""
    statuses = scope_queryset(CountyStatus.objects.all(), user).exclude(exit_status=CountyExitStatus.EXITED)
    return Division.objects.filter(pk__in=statuses.values("county_id"), level=DivisionLevel.COUNTY).order_by("code")


def plan_progress_for(plans: list[ReductionPlan]) -> dict[int, PlanProgress]:
    """Return the progress of each plan, as :func:`assessments.plans.reduction_plan_progress` counts it,
    in three queries whatever the number of plans (for lists)."""
    if not plans:
        return {}
    keys = Q()
    for plan in plans:
        keys |= Q(county_code=plan.county_code, year=plan.year)
    cases = (
        ExitCase.objects.filter(keys, status=ExitCaseStatus.CERTIFIED, revoked=False)
        .values("county_code", "year")
        .annotate(persons=Sum("assessment__household_size"), households=Count("id"))
    )
    by_case = {(r["county_code"], r["year"]): r for r in cases}
    counties = {plan.county_code for plan in plans}
    village_q = Q()
    for code in counties:
        village_q |= prefix_q("village_id", code)
    villages = (
        VillageStatus.objects.filter(village_q, exit_status=VillageExitStatus.EXITED)
        .annotate(county=Substr("village_id", 1, 6))
        .values("county", "exit_year")
        .annotate(n=Count("village_id"))
    )
    by_village = {(r["county"], r["exit_year"]): r["n"] for r in villages}
    exited = dict(
        CountyStatus.objects.filter(
            pk__in=[p.county_id for p in plans], exit_status=CountyExitStatus.EXITED
        ).values_list("county_id", "exit_year")
    )
    result = {}
    for plan in plans:
        row = by_case.get((plan.county_code, plan.year), {})
        result[plan.pk] = PlanProgress(
            plan=plan,
            persons_exited=row.get("persons") or 0,
            households_exited=row.get("households") or 0,
            villages_exited=by_village.get((plan.county_code, plan.year), 0),
            county_exit_year=exited.get(plan.county_id),
        )
    return result
