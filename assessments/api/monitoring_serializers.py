"""API representations of monitoring flags (防止返贫监测对象) and their steps.

The conventions of :mod:`assessments.api.serializers` hold: every enumeration is its slug
plus ``<field>_display``, each choice set one enum component (:class:`SharedEnumField`);
input serializers only check shape and types — the rules are the services'.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assessments.api.serializers import HouseholdRefMixin, _id
from assessments.choices import FlagKind, FlagStatus
from assessments.models import FLAG_TRIGGERS, MonitoringFlag, MonitoringFlagStep
from assessments.monitoring import STEPS
from households.api.serializers import SharedEnumField, StrictSerializer
from households.choices import Cause, HouseholdStatus
from registry.api.fields import ChoiceLabelField
from registry.services import REASON_MAX_LENGTH

#: The flag steps a client may request (the return to poverty has its own endpoint).
MonitoringFlagAction = models.TextChoices(
    "MonitoringFlagAction",
    [(step.action.upper(), (step.action, step.label)) for step in STEPS.values() if not step.internal],
)
#: Every action a flag's history may record: the raise and each step of the table.
MonitoringFlagStepAction = models.TextChoices(
    "MonitoringFlagStepAction",
    [
        ("RAISE", ("raise", _("提出监测"))),
        *[(step.action.upper(), (step.action, step.label)) for step in STEPS.values()],
    ],
)
FlagTrigger = models.TextChoices("FlagTrigger", [(value.upper(), (value, label)) for value, label in FLAG_TRIGGERS])

ACTION_HELP = _("监测流程操作（认定返贫用 return-to-poverty 接口）")


class MonitoringFlagStepSerializer(serializers.ModelSerializer):
    """One recorded step of a flag (监测程序记录)."""

    action = SharedEnumField(MonitoringFlagStepAction, read_only=True)
    action_display = serializers.SerializerMethodField()
    from_status = serializers.SerializerMethodField()
    from_status_display = serializers.SerializerMethodField()
    to_status = SharedEnumField(FlagStatus, read_only=True)
    to_status_display = ChoiceLabelField(source="to_status")
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = MonitoringFlagStep
        fields = [
            "id",
            "action",
            "action_display",
            "from_status",
            "from_status_display",
            "to_status",
            "to_status_display",
            "actor",
            "reason",
            "effective_date",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_action_display(self, obj):
        values = MonitoringFlagStepAction.values
        return str(MonitoringFlagStepAction(obj.action).label) if obj.action in values else obj.action

    @extend_schema_field(SharedEnumField(FlagStatus, allow_null=True, help_text=_("提出时为空")))
    def get_from_status(self, obj):
        return obj.from_status or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_from_status_display(self, obj):
        return obj.get_from_status_display() if obj.from_status else None


class MonitoringFlagSerializer(HouseholdRefMixin, serializers.ModelSerializer):
    """A household under monitoring (防止返贫监测对象) with its steps."""

    head_name = serializers.CharField(read_only=True, allow_null=True, help_text=_("户主姓名"))
    household_status = SharedEnumField(HouseholdStatus, source="household.status", read_only=True)
    household_status_display = ChoiceLabelField(source="household.status")
    kind = SharedEnumField(FlagKind, read_only=True)
    kind_display = ChoiceLabelField(source="kind")
    status = SharedEnumField(FlagStatus, read_only=True)
    status_display = ChoiceLabelField(source="status")
    trigger = SharedEnumField(FlagTrigger, read_only=True)
    trigger_display = ChoiceLabelField(source="trigger")
    source_assessment = serializers.IntegerField(
        source="source_assessment_id", read_only=True, allow_null=True, help_text=_("触发的年度核查 id")
    )
    steps = MonitoringFlagStepSerializer(many=True, read_only=True)

    class Meta:
        model = MonitoringFlag
        fields = [
            "id",
            "household",
            "registry_number",
            "head_name",
            "household_status",
            "household_status_display",
            "village",
            "village_name",
            "county_code",
            "kind",
            "kind_display",
            "status",
            "status_display",
            "trigger",
            "trigger_display",
            "reason",
            "event",
            "source_assessment",
            "raised_on",
            "notice_ends_on",
            "status_reason",
            "version",
            "created_at",
            "updated_at",
            "steps",
        ]
        read_only_fields = fields


class AvailableFlagStepSerializer(serializers.Serializer):
    """A flag step the caller could take now (status and role fit)."""

    action = SharedEnumField(MonitoringFlagAction, help_text=ACTION_HELP)
    label = serializers.CharField()
    needs_reason = serializers.BooleanField()
    review = serializers.BooleanField(help_text=_("审核环节：本轮前面环节的经办人不能办理（四眼原则）"))
    opens_notice = serializers.BooleanField()
    closes_notice = serializers.BooleanField(help_text=_("公示期须已满"))


# Input ---------------------------------------------------------------------------------


class FlagRaiseSerializer(StrictSerializer):
    """A proposal to monitor an exited household in its transition period after a sudden event."""

    household = _id(_("贫困户 id（须在您的管辖范围内）"))
    kind = SharedEnumField(FlagKind)
    reason = serializers.CharField(max_length=500, help_text=_("纳入理由：发生了什么、开支多少"))
    event = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text=_("突发事件"))
    on_date = serializers.DateField(required=False, help_text=_("提出日期，默认今天"))


class FlagTransitionSerializer(StrictSerializer):
    """One step of the flag or risk-removal procedure."""

    action = SharedEnumField(MonitoringFlagAction, help_text=ACTION_HELP)
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text=_("不予纳入、提出风险消除等须说明理由"),
    )
    on_date = serializers.DateField(required=False, help_text=_("生效日期，默认今天；不能早于上一环节"))


class ReturnToPovertySerializer(StrictSerializer):
    """The county's registration of a return to poverty (认定返贫)."""

    cause = SharedEnumField(Cause, help_text=_("返贫原因（记为主要致贫原因）"))
    reason = serializers.CharField(max_length=500, help_text=_("认定理由"))
    on_date = serializers.DateField(required=False, help_text=_("生效日期，默认今天"))
