"""API representations of findings and rules (数据质量问题、核查规则).

A finding's ``values`` hold the offending data; ID numbers among them are masked unless
the caller may see personal data (:func:`households.api.serializers.pii_visible`).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from households.api.serializers import SharedEnumField, pii_visible
from quality.choices import FindingStatus, Severity, Subject
from quality.models import Finding
from quality.rules import RULES
from quality.selectors import finding_explanation, masked_values
from registry.api.fields import ChoiceLabelField


class RuleSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("规则代码（稳定）"))
    title = serializers.CharField(help_text=_("规则名称"))
    explanation = serializers.CharField(help_text=_("规则说明"))
    severity = SharedEnumField(Severity)
    severity_display = serializers.CharField(source="severity_label")
    subject = SharedEnumField(Subject, help_text=_("问题针对户还是成员"))


class FindingSerializer(serializers.ModelSerializer):
    """One data-quality finding (数据质量问题)."""

    rule_title = serializers.SerializerMethodField(help_text=_("规则名称"))
    severity = serializers.SerializerMethodField()
    registry_number = serializers.CharField(source="household.registry_number", read_only=True)
    member_name = serializers.CharField(source="member.name", read_only=True, allow_null=True, default=None)
    values = serializers.SerializerMethodField(help_text=_("问题数据（身份证号脱敏）"))
    explanation = serializers.SerializerMethodField(help_text=_("问题说明（中文）"))
    status = SharedEnumField(FindingStatus, read_only=True)
    status_display = ChoiceLabelField(source="status")
    accepted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Finding
        fields = [
            "id", "rule", "rule_title", "severity", "household", "registry_number", "member", "member_name",
            "county_code", "division_code", "values", "explanation", "status", "status_display",
            "first_found_at", "last_checked_at", "fixed_at", "accepted_by", "accepted_reason", "accepted_at",
        ]  # fmt: skip
        read_only_fields = fields

    def _reveal(self) -> bool:
        return pii_visible(self.context.get("request"))

    def get_rule_title(self, obj) -> str:
        rule = RULES.get(obj.rule)
        return str(rule.title) if rule else obj.rule

    @extend_schema_field(SharedEnumField(Severity))
    def get_severity(self, obj) -> str:
        rule = RULES.get(obj.rule)
        return rule.severity if rule else Severity.WARNING

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_values(self, obj) -> dict:
        return masked_values(obj.values, reveal=self._reveal())

    def get_explanation(self, obj) -> str:
        return finding_explanation(obj, reveal=self._reveal())


class AcceptSerializer(serializers.Serializer):
    reason = serializers.CharField(
        help_text=_("核实理由（必填）"), allow_blank=True, max_length=2000, trim_whitespace=False
    )
