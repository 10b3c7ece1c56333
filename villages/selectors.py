"""Reads on geography, poverty status and work teams, always within the user's scope."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce
from operator import or_

from django.db.models import Count, IntegerField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Substr

from registry import parameters
from registry.scoping import get_scoped_or_404, prefix_q, scope_queryset, user_scope
from villages.choices import LEVEL_PREFIX_LENGTH, DivisionLevel, RegionClass, WorkTeamStatus
from villages.counting import STATISTICS, household_counts
from villages.models import CountyStatus, Division, Helper, VillageStatus, WorkTeam, WorkTeamMember


def division_queryset() -> QuerySet:
    return Division.objects.select_related("parent", "county_status", "village_status")


def division_list(*, user, filters: dict | None = None) -> QuerySet:
    """Return the divisions the user may see, optionally filtered by the division filterset."""
    from villages.filtersets import DivisionFilterSet

    queryset = scope_queryset(division_queryset(), user)
    if filters is not None:
        queryset = DivisionFilterSet(filters, queryset=queryset).qs
    return queryset


def division_get_for_user(*, user, code: str) -> Division:
    """Return the division ``code`` if the user may see it, else raise 404."""
    return get_scoped_or_404(division_queryset(), user, code=code)


def division_roots_for_user(*, user) -> QuerySet:
    """Return the top divisions of the user's jurisdiction (all provinces for a superuser)."""
    scope = user_scope(user)
    if scope.unrestricted:
        return division_queryset().filter(level=DivisionLevel.PROVINCE)
    return division_queryset().filter(code__in=[p.ljust(12, "0") for p in scope.prefixes])


def division_children(*, user, division: Division) -> QuerySet:
    return scope_queryset(division_queryset(), user).filter(parent=division)


def division_ancestors(*, user, division: Division) -> list[Division]:
    """Return the visible ancestors of ``division``, top first (for breadcrumbs)."""
    scope = user_scope(user)
    chain, node = [], division.parent
    while node is not None and scope.covers(node.code):
        chain.append(node)
        node = node.parent
    return list(reversed(chain))


def county_queryset() -> QuerySet:
    return Division.objects.filter(level=DivisionLevel.COUNTY).select_related("parent", "county_status")


def county_list(*, user) -> QuerySet:
    """Return the counties (县/市/区) the user may see, with their poverty status."""
    return scope_queryset(county_queryset(), user)


def county_get_for_user(*, user, code: str) -> Division:
    """Return the county ``code`` if the user may see it, else raise 404 (so for a code of another level)."""
    return get_scoped_or_404(county_queryset(), user, code=code)


def village_queryset() -> QuerySet:
    return Division.objects.filter(level=DivisionLevel.VILLAGE).select_related(
        "parent", "parent__parent", "village_status"
    )


def village_list(*, user) -> QuerySet:
    """Return the villages (村/社区) the user may see, with their poverty status."""
    return scope_queryset(village_queryset(), user)


def village_get_for_user(*, user, code: str) -> Division:
    """Return the village ``code`` if the user may see it, else raise 404 (so for a code of another level)."""
    return get_scoped_or_404(village_queryset(), user, code=code)


def work_team_queryset() -> QuerySet:
    members = WorkTeamMember.objects.filter(active=True).order_by("role", "id")  # "leader" < "member"
    return WorkTeam.objects.select_related("village", "village__parent").prefetch_related(
        Prefetch("members", queryset=members)
    )


def work_team_list(*, user, filters: dict | None = None) -> QuerySet:
    from villages.filtersets import WorkTeamFilterSet

    queryset = scope_queryset(work_team_queryset(), user)
    if filters is not None:
        queryset = WorkTeamFilterSet(filters, queryset=queryset).qs
    return queryset


def work_team_get_for_user(*, user, team_id: int) -> WorkTeam:
    return get_scoped_or_404(work_team_queryset(), user, pk=team_id)


def stationed_teams_by_village(*, user, village_codes: list[str]) -> dict[str, WorkTeam]:
    """Return the stationed team of each village code, in one query."""
    teams = work_team_list(user=user).filter(village_id__in=village_codes, status=WorkTeamStatus.STATIONED)
    return {team.village_id: team for team in teams}


def helper_list(*, user) -> QuerySet:
    return scope_queryset(Helper.objects.select_related("division"), user)


# Poverty incidence (贫困发生率) ---------------------------------------------------------


@dataclass(frozen=True)
class Incidence:
    """Registered poor persons not yet exited ÷ rural registered population."""

    poor_persons: int
    rural_population: int | None
    threshold: Decimal | None

    @property
    def rate(self) -> Decimal | None:
        """Return the incidence in percent (two decimals), or None when the population is unknown."""
        if not self.rural_population:
            return None
        rate = Decimal(self.poor_persons * 100) / Decimal(self.rural_population)
        return rate.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def below_threshold(self) -> bool | None:
        """Return whether the rate is below the exit threshold (None if either is unknown)."""
        if self.rate is None or self.threshold is None:
            return None
        return self.rate < self.threshold


def poverty_incidence(division: Division) -> Incidence:
    """Return the poverty incidence of one division."""
    return poverty_incidence_for([division])[division.code]


def poverty_incidence_for(
    divisions: list[Division], poor_persons: dict[str, int] | None = None
) -> dict[str, Incidence]:
    """Return the incidence of each division, keyed by code, in at most four queries per level and one more.

    The numerator counts active members of households registered and not exited (or
    returned) in the division's subtree. The denominator is the county's own rural
    population where recorded (for a county and above), else the sum over its villages.
    The exit thresholds (parameters, by province and region class) are read in one query.
    ``poor_persons`` (by code) gives numerators already counted, saving their query.
    """
    figures: dict[str, tuple[int, int | None, tuple[str, str] | None]] = {}
    by_level: dict[str, list[Division]] = {}
    for division in divisions:
        by_level.setdefault(division.level, []).append(division)
    for level, group in by_level.items():
        length = LEVEL_PREFIX_LENGTH[level]
        prefixes = {d.prefix for d in group}
        if poor_persons is not None:
            poor = {d.prefix: poor_persons.get(d.code, 0) for d in group}
        else:
            poor = _grouped_counts(
                household_counts().poor_members(),
                "household__village_id",
                prefixes,
                length,
                Count("id"),
            )
        village_population = _grouped_counts(
            VillageStatus.objects.all(), "village_id", prefixes, length, Sum("rural_population")
        )
        counties = _counties_under(prefixes)
        county_totals = (
            _grouped_counts(
                Division.objects.filter(level=DivisionLevel.COUNTY), "code", prefixes, length, Count("code")
            )
            if length < 6
            else {}
        )
        for division in group:
            figures[division.code] = (
                poor.get(division.prefix, 0),
                _population(division, counties, village_population, county_totals),
                _threshold_key(division, counties),
            )
    thresholds = parameters.incidence_thresholds(
        {key for _poor, _population, key in figures.values() if key is not None}
    )
    return {
        code: Incidence(
            poor_persons=poor,
            rural_population=population,
            threshold=thresholds[key] if key is not None else None,
        )
        for code, (poor, population, key) in figures.items()
    }


def _under_q(path: str, prefixes: set[str]) -> Q:
    """Return a filter on the 12-digit code at ``path`` for the (non-empty) subtrees of ``prefixes``.

    Whole codes (villages) are one ``IN``; shorter prefixes are index ranges.
    """
    whole = sorted(p for p in prefixes if len(p) == 12)
    conditions = [prefix_q(path, p) for p in sorted(prefixes) if len(p) < 12]
    if whole:
        conditions.append(Q(**{f"{path}__in": whole}))
    return reduce(or_, conditions)


def _grouped_counts(queryset, path: str, prefixes: set[str], length: int, aggregate) -> dict[str, int]:
    if not prefixes:
        return {}
    condition = _under_q(path, prefixes)
    rows = (
        queryset.filter(condition)
        .annotate(prefix=Substr(path, 1, length))
        .values("prefix")
        .annotate(n=Coalesce(aggregate, Value(0), output_field=IntegerField()))
        .values_list("prefix", "n")
    )
    return {prefix: n for prefix, n in rows if prefix in prefixes}


def _counties_under(prefixes: set[str]) -> dict[str, CountyStatus]:
    """Return the status of every county that is, contains or lies under one of ``prefixes``, by code."""
    if not prefixes:
        return {}
    condition = reduce(or_, [prefix_q("county_id", p[:6]) for p in prefixes])
    return {status.county_id: status for status in CountyStatus.objects.filter(condition)}


def _population(division, counties, village_population, county_totals) -> int | None:
    """Return the rural registered population of a division, or None where it is not known.

    A county uses its own recorded figure, else the sum over its villages. Above the
    county, every county must have its figure: a partial sum would make the rate a lie.
    """
    length = LEVEL_PREFIX_LENGTH[division.level]
    if length < 6:
        mine = [c for code, c in counties.items() if code.startswith(division.prefix)]
        if (
            mine
            and len(mine) == county_totals.get(division.prefix, 0)
            and all(c.rural_population is not None for c in mine)
        ):
            return sum(c.rural_population for c in mine)
        return None
    if length == 6:
        county = counties.get(division.code)
        if county is not None and county.rural_population is not None:
            return county.rural_population
    return village_population.get(division.prefix) or None


def _threshold_key(division, counties) -> tuple[str, str] | None:
    """Return the (region class, province) whose exit threshold applies, or None above the county."""
    if LEVEL_PREFIX_LENGTH[division.level] < 6:
        return None
    county = counties.get(division.code[:6] + "000000")
    region_class = county.region_class if county is not None else RegionClass.CENTRAL_EAST
    return (region_class, division.code[:2].ljust(12, "0"))


# Registry statistics of an area (建档立卡统计) ------------------------------------------


@dataclass(frozen=True)
class Tally:
    households: int = 0
    persons: int = 0


@dataclass(frozen=True)
class AreaStatistics:
    """What the registry holds for one division's subtree, counted from the households.

    Persons are the active (在册) members of the households counted. ``registered`` is the
    registry's stock (建档立卡: 已识别, 返贫 and 已脱贫); ``poor`` those not yet exited
    (the incidence's numerator); ``removed`` (清退, wrongly identified) and
    ``natural_decrease`` (自然减少) count households that had been registered (县级公告)
    and have left the registry, whose records stay.
    """

    registered: Tally
    poor: Tally
    exited: Tally
    returned: Tally
    removed: Tally
    natural_decrease: Tally
    incidence: Incidence


def area_statistics_for(divisions: list[Division]) -> dict[str, AreaStatistics]:
    """Return the statistics of each division, keyed by code, in a fixed number of queries.

    Per level: one grouped count of households and one of persons, each statistic a
    conditional count; the incidence comes from :func:`poverty_incidence_for`. The number
    of queries does not depend on how many divisions are asked for (a page of a list).
    """
    counts = household_counts()
    households: dict[str, dict[str, int]] = {}
    persons: dict[str, dict[str, int]] = {}
    by_level: dict[str, list[Division]] = {}
    for division in divisions:
        by_level.setdefault(division.level, []).append(division)
    for level, group in by_level.items():
        length = LEVEL_PREFIX_LENGTH[level]
        prefixes = {d.prefix for d in group}
        households.update(_grouped_tallies(counts.households(), "village_id", "", prefixes, length))
        members = counts.active_members()
        persons.update(_grouped_tallies(members, "household__village_id", "household__", prefixes, length))
    # The incidence's numerator is the ``poor`` persons just counted.
    incidence = poverty_incidence_for(
        divisions, poor_persons={d.code: persons.get(d.prefix, {}).get("poor", 0) for d in divisions}
    )
    result = {}
    for division in divisions:
        counted_households = households.get(division.prefix, {})
        counted_persons = persons.get(division.prefix, {})
        tallies = {
            name: Tally(households=counted_households.get(name, 0), persons=counted_persons.get(name, 0))
            for name in STATISTICS
        }
        result[division.code] = AreaStatistics(**tallies, incidence=incidence[division.code])
    return result


def area_statistics(division: Division) -> AreaStatistics:
    """Return the statistics of one division."""
    return area_statistics_for([division])[division.code]


def area_statistics_summed(division: Division, parts: list[AreaStatistics]) -> AreaStatistics:
    """Return the statistics of ``division`` as the sum of ``parts``, the statistics of areas
    that partition it (all its villages, or all its counties), with its own incidence.

    Equal to :func:`area_statistics` when the parts do partition it (every household lies in
    one village, of one county), without counting the households and persons again.
    """
    tallies = {
        name: Tally(
            households=sum(getattr(part, name).households for part in parts),
            persons=sum(getattr(part, name).persons for part in parts),
        )
        for name in STATISTICS
    }
    incidence = poverty_incidence_for([division], poor_persons={division.code: tallies["poor"].persons})
    return AreaStatistics(**tallies, incidence=incidence[division.code])


def _grouped_tallies(queryset, path: str, household: str, prefixes: set[str], length: int) -> dict[str, dict]:
    """Return, per code prefix, the count of each of :data:`~villages.counting.STATISTICS` in ``queryset``.

    ``household`` is the lookup from the counted model to the household ("" for households).
    At county level and below the county code every household-scoped table carries is
    filtered too, so the index on (county code, status) serves the count.
    """
    if not prefixes:
        return {}
    condition = _under_q(path, prefixes)
    if length >= 6:
        condition &= Q(county_code__in={p[:6] for p in prefixes})
    aggregates = {
        name: Count("pk", filter=Q(**{f"{household}{key}": value for key, value in lookups.items()}))
        for name, lookups in household_counts().statistics.items()
    }
    rows = (
        queryset.filter(condition)
        .annotate(prefix=Substr(path, 1, length))
        .values("prefix")
        .annotate(**aggregates)
        .order_by()
    )
    return {row.pop("prefix"): row for row in rows if row["prefix"] in prefixes}
