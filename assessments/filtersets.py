"""Filters of assessments, exit cases, help measures, helper visits, village and county exits and
plans, shared by pages and API.

Every row of the first four belongs to a household: search, division (descendants
included) and household work as in :class:`households.filtersets.HouseholdFilterSet`.
Village exits, county exits and plans belong to a village or county: search by its name
or code, division by its code.
"""

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from assessments.choices import (
    CountyExitCaseStatus,
    ExitCaseStatus,
    FiveBatches,
    MeasureCategory,
    VillageExitCaseStatus,
)
from assessments.models import (
    Assessment,
    CountyExitCase,
    ExitCase,
    HelperVisit,
    HelpMeasure,
    ReductionPlan,
    VillageExitCase,
)
from households.choices import MemberStatus
from households.filtersets import ID_BOUNDS, YEAR_BOUNDS, search_filter
from households.models import Member
from registry.filters import UTCIsoDateTimeFilter
from villages.filtersets import division_search_q, within_division


class HouseholdRowFilterSet(django_filters.FilterSet):
    """Filters of rows that belong to a household: search, division (descendants included), household."""

    q = search_filter(_("搜索（户主或成员姓名、户编号；身份证号请先用 POST 检索贫困户）"))
    within = django_filters.CharFilter(method="filter_within", label=_("所属区划代码（含下级）"))
    village = django_filters.CharFilter(field_name="household__village_id", label=_("村代码"))
    household = django_filters.NumberFilter(field_name="household_id", label=_("贫困户"), **ID_BOUNDS)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if value.isdigit():
            return queryset.filter(household__registry_number__startswith=value)
        people = Member.objects.filter(
            household=OuterRef("household_id"), name__contains=value, status=MemberStatus.ACTIVE
        )
        return queryset.filter(Q(Exists(people)) | Q(household__registry_number__startswith=value))

    def filter_within(self, queryset, name, value):
        return within_division(queryset, "household__village_id", value)


UPDATED_SINCE = _("更新时间起")


def _updated_since(field="updated_at", label=UPDATED_SINCE):
    return UTCIsoDateTimeFilter(field_name=field, lookup_expr="gte", label=label)


class AssessmentFilterSet(HouseholdRowFilterSet):
    year = django_filters.NumberFilter(label=_("核查年度"), **YEAR_BOUNDS)
    updated_since = _updated_since()

    class Meta:
        model = Assessment
        fields = ["q", "within", "village", "household", "year", "updated_since"]


class ExitCaseFilterSet(HouseholdRowFilterSet):
    year = django_filters.NumberFilter(label=_("退出年度"), **YEAR_BOUNDS)
    status = django_filters.MultipleChoiceFilter(choices=ExitCaseStatus.choices, label=_("状态"), distinct=False)
    updated_since = _updated_since()

    class Meta:
        model = ExitCase
        fields = ["q", "within", "village", "household", "year", "status", "updated_since"]


class HelpMeasureFilterSet(HouseholdRowFilterSet):
    category = django_filters.ChoiceFilter(choices=MeasureCategory.choices, label=_("措施类别"))
    five_batches = django_filters.ChoiceFilter(choices=FiveBatches.choices, label=_("五个一批"))
    year = django_filters.NumberFilter(field_name="measure_date__year", label=_("年度"), **YEAR_BOUNDS)
    updated_since = _updated_since("created_at", _("登记时间起（措施登记后不再修改）"))

    class Meta:
        model = HelpMeasure
        fields = ["q", "within", "village", "household", "category", "five_batches", "year", "updated_since"]


class HelperVisitFilterSet(HouseholdRowFilterSet):
    helper = django_filters.NumberFilter(field_name="helper_id", label=_("帮扶责任人"), **ID_BOUNDS)
    year = django_filters.NumberFilter(field_name="visited_on__year", label=_("走访年度"), **YEAR_BOUNDS)

    class Meta:
        model = HelperVisit
        fields = ["q", "within", "village", "household", "helper", "year"]


class AreaRowFilterSet(django_filters.FilterSet):
    """Filters of rows that belong to a village or county (``area``): search and subtree."""

    area = ""

    q = django_filters.CharFilter(method="search", label=_("搜索（名称或代码）"))
    within = django_filters.CharFilter(method="filter_within", label=_("所属区划代码（含下级）"))

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(division_search_q(value, f"{self.area}__"))

    def filter_within(self, queryset, name, value):
        return within_division(queryset, f"{self.area}_id", value)


class VillageExitCaseFilterSet(AreaRowFilterSet):
    area = "village"

    status = django_filters.MultipleChoiceFilter(choices=VillageExitCaseStatus.choices, label=_("状态"), distinct=False)
    year = django_filters.NumberFilter(label=_("出列年度"), **YEAR_BOUNDS)
    updated_since = _updated_since()

    class Meta:
        model = VillageExitCase
        fields = ["q", "within", "status", "year", "updated_since"]


class CountyExitCaseFilterSet(AreaRowFilterSet):
    area = "county"

    status = django_filters.MultipleChoiceFilter(choices=CountyExitCaseStatus.choices, label=_("状态"), distinct=False)
    year = django_filters.NumberFilter(label=_("摘帽年度"), **YEAR_BOUNDS)
    updated_since = _updated_since()

    class Meta:
        model = CountyExitCase
        fields = ["q", "within", "status", "year", "updated_since"]


class ReductionPlanFilterSet(AreaRowFilterSet):
    area = "county"

    year = django_filters.NumberFilter(label=_("计划年度"), **YEAR_BOUNDS)
    updated_since = _updated_since()

    class Meta:
        model = ReductionPlan
        fields = ["q", "within", "year", "updated_since"]
