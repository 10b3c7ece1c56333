"""Filters of findings, shared by the quality page and the API."""

import django_filters
from django.utils.translation import gettext_lazy as _

from households.filtersets import ID_BOUNDS
from quality.choices import FindingStatus, Severity
from quality.models import Finding
from quality.rules import RULES
from villages.filtersets import within_division


def rule_choices():
    return [(code, rule.title) for code, rule in RULES.items()]


class FindingFilterSet(django_filters.FilterSet):
    rule = django_filters.ChoiceFilter(choices=rule_choices, label=_("核查规则"))
    status = django_filters.ChoiceFilter(choices=FindingStatus.choices, label=_("状态"))
    severity = django_filters.ChoiceFilter(method="filter_severity", choices=Severity.choices, label=_("严重程度"))
    within = django_filters.CharFilter(method="filter_within", label=_("所属区划代码（含下级）"))
    household = django_filters.NumberFilter(field_name="household_id", label=_("贫困户"), **ID_BOUNDS)

    class Meta:
        model = Finding
        fields = ["rule", "status", "severity", "within", "household"]

    def filter_severity(self, queryset, name, value):
        return queryset.filter(rule__in=[code for code, rule in RULES.items() if rule.severity == value])

    def filter_within(self, queryset, name, value):
        return within_division(queryset, "division_code", value)
