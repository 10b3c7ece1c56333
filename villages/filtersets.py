"""Filtersets shared by the pages, the API and exports (NetBox style)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry.scoping import prefix_q
from villages.choices import LEVEL_PREFIX_LENGTH, DivisionLevel, WorkTeamStatus
from villages.models import Division, WorkTeam


def within_division(queryset, path: str, code: str):
    """Filter ``queryset`` to the subtree of the division ``code`` (descendants included)."""
    division = Division.objects.filter(pk=code).only("code", "level").first()
    if division is None:
        return queryset.none()
    return queryset.filter(prefix_q(path, division.code[: LEVEL_PREFIX_LENGTH[division.level]]))


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
        return queryset.filter(Q(name__icontains=value) | Q(code__startswith=value))

    def filter_within(self, queryset, name, value):
        return within_division(queryset, "code", value)

    def filter_poverty_county(self, queryset, name, value):
        poverty = Q(county_status__isnull=False) & ~Q(county_status__poverty_type="none")
        return queryset.filter(poverty if value else ~poverty)


class WorkTeamFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("搜索（派出单位、村名、队员）"))
    status = django_filters.ChoiceFilter(choices=WorkTeamStatus.choices, label=_("状态"))
    village = django_filters.CharFilter(field_name="village_id", label=_("村代码"))
    within = django_filters.CharFilter(method="filter_within", label=_("所属区划代码（含下级）"))

    class Meta:
        model = WorkTeam
        fields = ["q", "status", "village", "within"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(dispatching_unit__icontains=value) | Q(village__name__icontains=value) | Q(members__name__icontains=value)
        ).distinct()

    def filter_within(self, queryset, name, value):
        return within_division(queryset, "village_id", value)
