"""Filters of households and members, shared by pages, API and exports."""

import re

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from households.choices import Attribute, Cause, HouseholdStatus, IdentificationStep, MemberStatus
from households.models import Household, Member
from registry.filters import UTCIsoDateTimeFilter
from villages.filtersets import YEAR_BOUNDS, within_division

#: Bounds that keep out-of-range numbers a form error on every database (never an overflow).
ID_BOUNDS = {"min_value": 1, "max_value": 2**63 - 1}
ID_PATTERN = re.compile(r"^\d{17}[\dXx]$|^\d{15}$")


#: Why a search by ID number is refused in a query string (SPEC §9).
ID_SEARCH_NOT_IN_URL = _(
    "身份证号不能放在网址中（会留在浏览记录和访问日志里）：页面请用搜索框提交，"
    "接口请用 POST /api/v1/households/search/ 或 POST /api/v1/members/search/，"
    '请求体为 {"id_number": "…"}。'
)


def normalise_id_query(value: str) -> str:
    """Return the stored (18-digit, upper-case) form of an ID number typed into a search."""
    from registry.idnumber import upgrade_15

    return upgrade_15(value) if len(value) == 15 else value.upper()


def looks_like_id_number(value: str) -> bool:
    """Return whether a search term is a full ID number (18 characters, or an old 15-digit one)."""
    return bool(ID_PATTERN.match(value.strip()))


def refuse_id_number(value: str) -> None:
    """Refuse a full ID number as a query-string search term: it would be kept in URLs and logs."""
    if looks_like_id_number(value):
        raise ValidationError(ID_SEARCH_NOT_IN_URL, code="id_number_in_url")


def search_filter(label) -> django_filters.CharFilter:
    """Return the ``q`` search filter: names and numbers, never a full ID number."""
    return django_filters.CharFilter(method="search", label=label, validators=[refuse_id_number])


def households_with_id_number(queryset: QuerySet, id_number: str) -> QuerySet:
    """Return the households of ``queryset`` with a member (any status) whose ID number is ``id_number``."""
    members = Member.objects.filter(household=OuterRef("pk"), id_number=normalise_id_query(id_number.strip()))
    return queryset.filter(Exists(members))


def members_with_id_number(queryset: QuerySet, id_number: str) -> QuerySet:
    """Return the members of ``queryset`` whose ID number is ``id_number``."""
    return queryset.filter(id_number=normalise_id_query(id_number.strip()))


class HouseholdFilterSet(django_filters.FilterSet):
    q = search_filter(_("搜索（户主或成员姓名、户编号；身份证号请用搜索框或 POST 检索）"))
    within = django_filters.CharFilter(method="filter_within", label=_("所属区划代码（含下级）"))
    village = django_filters.CharFilter(field_name="village_id", label=_("村代码"))
    group = django_filters.NumberFilter(field_name="group_id", label=_("村民小组"), **ID_BOUNDS)
    # distinct=False: the filter joins nothing, and SELECT DISTINCT would make PostgreSQL
    # read every matching row before the page's LIMIT.
    status = django_filters.MultipleChoiceFilter(choices=HouseholdStatus.choices, label=_("状态"), distinct=False)
    step = django_filters.ChoiceFilter(choices=IdentificationStep.choices, label=_("识别环节"))
    attribute = django_filters.ChoiceFilter(choices=Attribute.choices, label=_("贫困户属性"))
    cause = django_filters.ChoiceFilter(field_name="main_cause", choices=Cause.choices, label=_("主要致贫原因"))
    year = django_filters.NumberFilter(field_name="identified_year", label=_("识别年度"), **YEAR_BOUNDS)
    updated_since = UTCIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte", label=_("更新时间起"))

    class Meta:
        model = Household
        fields = ["q", "within", "village", "group", "status", "step", "attribute", "cause", "year", "updated_since"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if value.isdigit():
            return queryset.filter(registry_number__startswith=value)
        members = Member.objects.filter(household=OuterRef("pk"), name__contains=value, status=MemberStatus.ACTIVE)
        return queryset.filter(Q(Exists(members)) | Q(registry_number__startswith=value))

    def filter_within(self, queryset, name, value):
        return within_division(queryset, "village_id", value, county_path="county_code")


class MemberFilterSet(django_filters.FilterSet):
    q = search_filter(_("搜索（姓名；身份证号请用 POST 检索）"))
    within = django_filters.CharFilter(method="filter_within", label=_("所属区划代码（含下级）"))
    household = django_filters.NumberFilter(field_name="household_id", label=_("贫困户"), **ID_BOUNDS)
    status = django_filters.ChoiceFilter(choices=MemberStatus.choices, label=_("成员状态"))
    household_status = django_filters.MultipleChoiceFilter(
        field_name="household__status", choices=HouseholdStatus.choices, label=_("户状态"), distinct=False
    )
    updated_since = UTCIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte", label=_("更新时间起"))

    class Meta:
        model = Member
        fields = ["q", "within", "household", "status", "household_status", "updated_since"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(name__contains=value)

    def filter_within(self, queryset, name, value):
        return within_division(queryset, "household__village_id", value, county_path="county_code")
