"""Filtersets shared by the pages, the API and exports (NetBox style)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry.filters import UTCIsoDateTimeFilter
from registry.scoping import subtree_q
from villages.choices import (
    LEVEL_PREFIX_LENGTH,
    CountyExitStatus,
    DivisionLevel,
    PovertyCountyType,
    VillageExitStatus,
    WorkTeamStatus,
)
from villages.models import Division, WorkTeam

#: Bounds that keep an out-of-range year a form error on every database (never an overflow).
YEAR_BOUNDS = {"min_value": 1900, "max_value": 2100}


def within_division(queryset, path: str, code: str, county_path: str | None = None):
    """Filter ``queryset`` to the subtree of the division ``code`` (descendants included).

    ``county_path`` names the rows' own county code, where they carry one: the filter
    then reads the ``(county_code, id)`` index (:func:`registry.scoping.subtree_q`), so a
    page of a county's households reads one index range instead of walking the primary
    key past other counties' rows.
    """
    division = Division.objects.filter(pk=code).only("code", "level").first()
    if division is None:
        return queryset.none()
    return queryset.filter(subtree_q(division.code[: LEVEL_PREFIX_LENGTH[division.level]], path, county_path))


def division_search_q(value: str, path: str = "") -> Q:
    """Return a filter on a division's name (containing ``value``) or code (starting with it)."""
    return Q(**{f"{path}name__icontains": value}) | Q(**{f"{path}code__startswith": value})


POVERTY_COUNTY = Q(county_status__isnull=False) & ~Q(county_status__poverty_type=PovertyCountyType.NONE)


class DivisionFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("搜索（名称或代码）"))
    level = django_filters.ChoiceFilter(choices=DivisionLevel.choices, label=_("层级"))
    parent = django_filters.CharFilter(field_name="parent_id", label=_("上级区划代码"))
    within = django_filters.CharFilter(method="filter_within", label=_("所属区划代码（含下级）"))
    poverty_village = django_filters.BooleanFilter(field_name="village_status__is_poverty_village", label=_("贫困村"))
    poverty_county = django_filters.BooleanFilter(method="filter_poverty_county", label=_("贫困县"))

    class Meta:
        model = Division
        fields = ["q", "level", "parent", "within", "poverty_village", "poverty_county"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(division_search_q(value))

    def filter_within(self, queryset, name, value):
        return within_division(queryset, "code", value)

    def filter_poverty_county(self, queryset, name, value):
        return queryset.filter(POVERTY_COUNTY if value else ~POVERTY_COUNTY)


class AreaFilterSet(django_filters.FilterSet):
    """Filters of counties and villages with their poverty status: search, subtree, poverty, exit.

    ``status`` names the poverty-status row (``county_status``, ``village_status``). A
    division without that row is no poverty area: it matches ``poverty=false`` and
    ``deep_poverty=false`` and no exit status or year.
    """

    status = ""

    q = django_filters.CharFilter(method="search", label=_("搜索（名称或代码）"))
    within = django_filters.CharFilter(method="filter_within", label=_("所属区划代码（含下级）"))

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(division_search_q(value))

    def filter_within(self, queryset, name, value):
        return within_division(queryset, "code", value)

    def _flag(self, queryset, condition: Q, value: bool):
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_deep_poverty(self, queryset, name, value):
        return self._flag(queryset, Q(**{f"{self.status}__deep_poverty": True}), value)

    def filter_exit_status(self, queryset, name, value):
        return queryset.filter(**{f"{self.status}__exit_status": value})

    def filter_exit_year(self, queryset, name, value):
        return queryset.filter(**{f"{self.status}__exit_year": value})


class CountyFilterSet(AreaFilterSet):
    """Filters of the counties (贫困县摘帽)."""

    status = "county_status"

    poverty = django_filters.BooleanFilter(method="filter_poverty", label=_("贫困县"))
    deep_poverty = django_filters.BooleanFilter(method="filter_deep_poverty", label=_("深度贫困县"))
    exit_status = django_filters.ChoiceFilter(
        method="filter_exit_status", choices=CountyExitStatus.choices, label=_("摘帽状态")
    )
    exit_year = django_filters.NumberFilter(method="filter_exit_year", label=_("摘帽年度"), **YEAR_BOUNDS)
    planned_exit_year = django_filters.NumberFilter(
        field_name="county_status__planned_exit_year", label=_("计划摘帽年度"), **YEAR_BOUNDS
    )

    class Meta:
        model = Division
        fields = ["q", "within", "poverty", "deep_poverty", "exit_status", "exit_year", "planned_exit_year"]

    def filter_poverty(self, queryset, name, value):
        return self._flag(queryset, POVERTY_COUNTY, value)


class VillageFilterSet(AreaFilterSet):
    """Filters of the villages (贫困村出列)."""

    status = "village_status"

    poverty = django_filters.BooleanFilter(method="filter_poverty", label=_("贫困村"))
    deep_poverty = django_filters.BooleanFilter(method="filter_deep_poverty", label=_("深度贫困村"))
    exit_status = django_filters.ChoiceFilter(
        method="filter_exit_status", choices=VillageExitStatus.choices, label=_("出列状态")
    )
    exit_year = django_filters.NumberFilter(method="filter_exit_year", label=_("出列年度"), **YEAR_BOUNDS)

    class Meta:
        model = Division
        fields = ["q", "within", "poverty", "deep_poverty", "exit_status", "exit_year"]

    def filter_poverty(self, queryset, name, value):
        return self._flag(queryset, Q(village_status__is_poverty_village=True), value)


class WorkTeamFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("搜索（派出单位、村名、队员）"))
    status = django_filters.ChoiceFilter(choices=WorkTeamStatus.choices, label=_("状态"))
    village = django_filters.CharFilter(field_name="village_id", label=_("村代码"))
    within = django_filters.CharFilter(method="filter_within", label=_("所属区划代码（含下级）"))
    updated_since = UTCIsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label=_("更新时间起（含队员变动）")
    )

    class Meta:
        model = WorkTeam
        fields = ["q", "status", "village", "within", "updated_since"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(dispatching_unit__icontains=value) | Q(village__name__icontains=value) | Q(members__name__icontains=value)
        ).distinct()

    def filter_within(self, queryset, name, value):
        return within_division(queryset, "village_id", value)
