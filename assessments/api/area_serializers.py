"""API representations of village exit (贫困村出列), county exit (贫困县摘帽) and reduction plans.

The conventions of :mod:`assessments.api.serializers` hold: each enumeration is its slug
plus ``<field>_display``, each choice set one enum component (:class:`SharedEnumField`),
rates are strings in percent with two decimals. Input serializers check shape only; the
services in :mod:`assessments.area_exits` and :mod:`assessments.plans` decide the rest.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assessments.api.serializers import RuleResultSerializer, _id, _not_after_this_year, _year
from assessments.area_exits import COUNTY_STEPS, VILLAGE_STEPS, checklist_label
from assessments.choices import OBJECTION_OUTCOMES, CountyExitCaseStatus, VillageExitCaseStatus
from assessments.models import (
    CountyExitCase,
    ReductionPlan,
    SampledHousehold,
    SampledVillage,
    VillageExitCase,
)
from households.api.serializers import SharedEnumField, StrictSerializer
from registry.api.fields import ChoiceLabelField
from registry.services import REASON_MAX_LENGTH
from villages.choices import RegionClass


def _actions(name: str, steps: dict, *, requested: bool):
    """Return the actions of a step table as a choice set (``requested``: those a client may send)."""
    return models.TextChoices(
        name,
        [
            (s.action.upper(), (s.action, s.label))
            for s in steps.values()
            if not (requested and (s.internal or not s.roles))
        ],
    )


#: Steps a client applies through ``transitions/`` (the others have their own endpoints or follow an objection).
VillageExitAction = _actions("VillageExitAction", VILLAGE_STEPS, requested=True)
VillageExitStepAction = _actions("VillageExitStepAction", VILLAGE_STEPS, requested=False)
CountyExitAction = _actions("CountyExitAction", COUNTY_STEPS, requested=True)
CountyExitStepAction = _actions("CountyExitStepAction", COUNTY_STEPS, requested=False)
AreaObjectionOutcome = models.TextChoices(
    "AreaObjectionOutcome", [(value.upper(), (value, label)) for value, label in OBJECTION_OUTCOMES]
)
RATE_HELP = _("百分比，两位小数")


def _rate(label, **kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=6, decimal_places=2, help_text=label, read_only=True, **kwargs)


def _step_serializer(name: str, actions, statuses):
    class StepSerializer(serializers.Serializer):
        id = serializers.IntegerField(read_only=True)
        action = SharedEnumField(actions, read_only=True)
        action_display = serializers.SerializerMethodField()
        from_status = serializers.SerializerMethodField()
        to_status = SharedEnumField(statuses, read_only=True)
        to_status_display = serializers.SerializerMethodField()
        actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True, default=None)
        reason = serializers.CharField(read_only=True)
        effective_date = serializers.DateField(read_only=True)
        created_at = serializers.DateTimeField(read_only=True)

        @extend_schema_field(serializers.CharField())
        def get_action_display(self, obj):
            return str(actions(obj.action).label) if obj.action in actions.values else obj.action

        @extend_schema_field(SharedEnumField(statuses, allow_null=True, help_text=_("提出或申请时为空")))
        def get_from_status(self, obj):
            return obj.from_status or None

        @extend_schema_field(serializers.CharField())
        def get_to_status_display(self, obj):
            return str(statuses(obj.to_status).label) if obj.to_status in statuses.values else obj.to_status

    StepSerializer.__name__ = StepSerializer.__qualname__ = name
    StepSerializer.__doc__ = "One recorded step (办理记录)."
    return StepSerializer


VillageExitStepSerializer = _step_serializer("VillageExitStepSerializer", VillageExitStepAction, VillageExitCaseStatus)
CountyExitStepSerializer = _step_serializer("CountyExitStepSerializer", CountyExitStepAction, CountyExitCaseStatus)


class AreaObjectionSerializer(serializers.Serializer):
    """An objection raised during a village or county exit notice (公示异议)."""

    id = serializers.IntegerField(read_only=True)
    objector = serializers.CharField(read_only=True)
    content = serializers.CharField(read_only=True)
    raised_on = serializers.DateField(read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)
    outcome = SharedEnumField(AreaObjectionOutcome, read_only=True)
    outcome_display = ChoiceLabelField(source="outcome", choices=AreaObjectionOutcome.choices)
    resolved_by = serializers.CharField(source="resolved_by.username", read_only=True, allow_null=True, default=None)
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    resolution = serializers.CharField(read_only=True)


class ChecklistItemSerializer(serializers.Serializer):
    """One item of a village's exit checklist as entered."""

    item = serializers.CharField(help_text=_("指标标识，如 hardened_road"))
    label = serializers.CharField()
    met = serializers.BooleanField()
    evidence = serializers.CharField(help_text=_("佐证材料"))


class VillageExitCaseSerializer(serializers.ModelSerializer):
    """A village exit case (贫困村出列): incidence against the threshold, checklist, checks, steps."""

    village = serializers.CharField(source="village_id", read_only=True, help_text=_("12 位村级区划代码"))
    village_name = serializers.CharField(source="village.name", read_only=True)
    township = serializers.CharField(source="village.parent_id", read_only=True)
    township_name = serializers.CharField(source="village.parent.name", read_only=True)
    status = SharedEnumField(VillageExitCaseStatus, read_only=True)
    status_display = ChoiceLabelField(source="status")
    region_class = SharedEnumField(RegionClass, read_only=True)
    region_class_display = ChoiceLabelField(source="region_class")
    incidence = _rate(_("贫困发生率（%）"))
    threshold = _rate(_("退出标准（%）；须低于此值"))
    checklist = serializers.SerializerMethodField()
    check_results = RuleResultSerializer(many=True, read_only=True)
    steps = VillageExitStepSerializer(many=True, read_only=True)

    class Meta:
        model = VillageExitCase
        fields = [
            "id",
            "village",
            "village_name",
            "township",
            "township_name",
            "county_code",
            "year",
            "status",
            "status_display",
            "poor_persons",
            "rural_population",
            "incidence",
            "region_class",
            "region_class_display",
            "threshold",
            "checklist",
            "check_results",
            "notice_ends_on",
            "status_reason",
            "approved_on",
            "version",
            "created_at",
            "updated_at",
            "steps",
        ]
        read_only_fields = fields

    @extend_schema_field(ChecklistItemSerializer(many=True))
    def get_checklist(self, obj):
        return [
            {"item": item, "label": checklist_label(item), "met": bool(e.get("met")), "evidence": e.get("evidence", "")}
            for item, e in (obj.checklist or {}).items()
        ]


class VillageExitCaseDetailSerializer(VillageExitCaseSerializer):
    """A village exit case with the objections raised during its notice."""

    objections = AreaObjectionSerializer(many=True, read_only=True)

    class Meta(VillageExitCaseSerializer.Meta):
        fields = [*VillageExitCaseSerializer.Meta.fields, "objections"]
        read_only_fields = fields


class SampleSerializer(serializers.Serializer):
    """The stored sample (抽样): seed, sizes and the frames it was drawn from; empty before the draw."""

    seed = serializers.IntegerField(source="sample_seed", allow_null=True, help_text=_("抽样种子；同一种子同一样本"))
    households = serializers.IntegerField(source="sample_household_count", allow_null=True)
    villages = serializers.IntegerField(source="sample_village_count", allow_null=True)
    sampled_on = serializers.DateField(allow_null=True)
    frame = serializers.JSONField(source="sample_frame", help_text=_("抽样框大小、摘要与抽样算法"))


class CountyExitCaseSerializer(serializers.ModelSerializer):
    """A county exit case (贫困县摘帽): incidence, sample, the three rates against the vetoes, steps."""

    county = serializers.CharField(source="county_id", read_only=True, help_text=_("12 位县级区划代码"))
    county_name = serializers.CharField(source="county.name", read_only=True)
    status = SharedEnumField(CountyExitCaseStatus, read_only=True)
    status_display = ChoiceLabelField(source="status")
    region_class = SharedEnumField(RegionClass, read_only=True)
    region_class_display = ChoiceLabelField(source="region_class")
    incidence = _rate(_("申请时贫困发生率（%）"))
    threshold = _rate(_("退出标准（%）"))
    sample = SampleSerializer(source="*", read_only=True)
    wrong_exit_rate = _rate(_("错退率（%）"), allow_null=True)
    missed_rate = _rate(_("漏评率（%）"), allow_null=True)
    approval_rate = _rate(_("群众认可度（%）"), allow_null=True)
    comprehensive_incidence = _rate(_("综合贫困发生率（%）"), allow_null=True)
    evaluation_checks = serializers.SerializerMethodField()
    evaluation_counts = serializers.SerializerMethodField()
    steps = CountyExitStepSerializer(many=True, read_only=True)

    class Meta:
        model = CountyExitCase
        fields = [
            "id",
            "county",
            "county_name",
            "county_code",
            "year",
            "status",
            "status_display",
            "region_class",
            "region_class_display",
            "rural_population",
            "poor_persons",
            "incidence",
            "threshold",
            "sample",
            "wrong_exit_rate",
            "missed_rate",
            "approval_rate",
            "comprehensive_incidence",
            "evaluation_passed",
            "evaluation_checks",
            "evaluation_counts",
            "notice_ends_on",
            "status_reason",
            "approved_on",
            "version",
            "created_at",
            "updated_at",
            "steps",
        ]
        read_only_fields = fields

    @extend_schema_field(RuleResultSerializer(many=True))
    def get_evaluation_checks(self, obj):
        return (obj.evaluation or {}).get("checks", [])

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_evaluation_counts(self, obj):
        return (obj.evaluation or {}).get("counts", {})


class SampledHouseholdSerializer(serializers.ModelSerializer):
    """A sampled exited household and its verification visit (入户核查)."""

    household = serializers.IntegerField(source="household_id", read_only=True)
    registry_number = serializers.CharField(source="household.registry_number", read_only=True)
    village = serializers.CharField(source="household.village_id", read_only=True)
    village_name = serializers.CharField(source="household.village.name", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = SampledHousehold
        fields = [
            "id",
            "position",
            "household",
            "registry_number",
            "village",
            "village_name",
            "persons",
            "visited_on",
            "wrongly_exited",
            "approves",
            "note",
            "recorded_by",
        ]
        read_only_fields = fields


class SampledVillageSerializer(serializers.ModelSerializer):
    """A sampled village and its survey for persons missed (漏评核查)."""

    village = serializers.CharField(source="village_id", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = SampledVillage
        fields = [
            "id",
            "position",
            "village",
            "village_name",
            "rural_population",
            "registered_persons",
            "unregistered_population",
            "visited_on",
            "missed_persons",
            "note",
            "recorded_by",
        ]
        read_only_fields = fields


class CountyExitCaseDetailSerializer(CountyExitCaseSerializer):
    """A county exit case with its sampled households and villages and the objections to its notice."""

    sampled_households = SampledHouseholdSerializer(many=True, read_only=True)
    sampled_villages = SampledVillageSerializer(many=True, read_only=True)
    objections = AreaObjectionSerializer(many=True, read_only=True)

    class Meta(CountyExitCaseSerializer.Meta):
        fields = [*CountyExitCaseSerializer.Meta.fields, "sampled_households", "sampled_villages", "objections"]
        read_only_fields = fields


def _available(actions):
    class AvailableSerializer(serializers.Serializer):
        action = SharedEnumField(actions)
        label = serializers.CharField()
        needs_reason = serializers.BooleanField()
        review = serializers.BooleanField(help_text=_("审核环节：本轮其他阶段的经办人不能办理（四眼原则）"))
        endpoint = serializers.CharField(help_text=_("办理此步骤的接口（相对本申请）"))

    return AvailableSerializer


AvailableVillageExitStepSerializer = type(
    "AvailableVillageExitStepSerializer",
    (_available(VillageExitStepAction),),
    {"__doc__": "A step the caller may take now."},
)
AvailableCountyExitStepSerializer = type(
    "AvailableCountyExitStepSerializer",
    (_available(CountyExitStepAction),),
    {"__doc__": "A step the caller may take now."},
)


class PlanProgressSerializer(serializers.Serializer):
    """What the registry shows for the plan's county and year (完成进度)."""

    persons_exited = serializers.IntegerField(help_text=_("当年县级审定脱贫的人口"))
    households_exited = serializers.IntegerField()
    persons_percent = serializers.DecimalField(max_digits=7, decimal_places=1, allow_null=True)
    villages_exited = serializers.IntegerField(help_text=_("当年出列的贫困村"))
    villages_percent = serializers.DecimalField(max_digits=7, decimal_places=1, allow_null=True)
    county_exit_year = serializers.IntegerField(allow_null=True, help_text=_("摘帽年度，未摘帽为空"))
    county_exited = serializers.BooleanField(help_text=_("计划年度前（含）已摘帽"))
    county_exit_done = serializers.BooleanField(allow_null=True, help_text=_("计划摘帽是否完成；不计划摘帽时为空"))


class ReductionPlanSerializer(serializers.ModelSerializer):
    """A county's annual reduction plan (年度减贫计划) with its progress."""

    county = serializers.CharField(source="county_id", read_only=True)
    county_name = serializers.CharField(source="county.name", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ReductionPlan
        fields = [
            "id",
            "county",
            "county_name",
            "county_code",
            "year",
            "persons_to_exit",
            "villages_to_exit",
            "county_exits",
            "note",
            "created_by",
            "created_at",
            "updated_at",
            "progress",
        ]
        read_only_fields = fields

    @extend_schema_field(PlanProgressSerializer)
    def get_progress(self, obj):
        return PlanProgressSerializer(self.context["progress"][obj.pk]).data


# Input ---------------------------------------------------------------------------------------------


class ChecklistEntrySerializer(StrictSerializer):
    met = serializers.BooleanField(help_text=_("已达标"))
    evidence = serializers.CharField(max_length=500, required=False, allow_blank=True, help_text=_("佐证材料"))


CHECKLIST_HELP = _("指标标识 → {met, evidence}；每项须达标并有佐证，指标清单是参数")


class VillageExitProposeSerializer(StrictSerializer):
    """The township's proposal of a village's exit (乡镇提出出列)."""

    village = serializers.CharField(
        min_length=12, max_length=12, help_text=_("12 位村级区划代码（须在您的管辖范围内）")
    )
    year = _year(_("出列年度"))
    checklist = serializers.DictField(child=ChecklistEntrySerializer(), help_text=CHECKLIST_HELP)
    on_date = serializers.DateField(required=False, help_text=_("提出日期，默认今天"))

    def validate_year(self, value):
        return _not_after_this_year(value)


class VillageExitResubmitSerializer(StrictSerializer):
    """A returned case resubmitted with an amended checklist; judged anew."""

    checklist = serializers.DictField(child=ChecklistEntrySerializer(), help_text=CHECKLIST_HELP)
    on_date = serializers.DateField(required=False)


def _transition(actions, doc):
    class TransitionSerializer(StrictSerializer):
        action = SharedEnumField(actions)
        reason = serializers.CharField(
            max_length=REASON_MAX_LENGTH, required=False, allow_blank=True, help_text=_("退回、不予、撤回须说明理由")
        )
        on_date = serializers.DateField(required=False, help_text=_("生效日期，默认今天；不能早于上一环节"))

    TransitionSerializer.__doc__ = doc
    return TransitionSerializer


VillageExitTransitionSerializer = type(
    "VillageExitTransitionSerializer", (_transition(VillageExitAction, ""),), {"__doc__": "One village exit step."}
)
CountyExitTransitionSerializer = type(
    "CountyExitTransitionSerializer", (_transition(CountyExitAction, ""),), {"__doc__": "One county exit step."}
)


class CountyExitApplySerializer(StrictSerializer):
    """The county office's application for exit (县级申请摘帽)."""

    county = serializers.CharField(min_length=12, max_length=12, help_text=_("12 位县级区划代码"))
    year = _year(_("摘帽年度"))
    on_date = serializers.DateField(required=False)

    def validate_year(self, value):
        return _not_after_this_year(value)


class OnDateSerializer(StrictSerializer):
    """The date of a step that takes nothing else (evaluation, resubmission)."""

    on_date = serializers.DateField(required=False, help_text=_("生效日期，默认今天"))


class CountyExitSampleSerializer(StrictSerializer):
    """The province's draw (抽样)."""

    households = serializers.IntegerField(min_value=1, help_text=_("抽查脱贫户数"))
    villages = serializers.IntegerField(min_value=1, help_text=_("抽查村数"))
    seed = serializers.IntegerField(
        min_value=0, max_value=2**63 - 1, required=False, allow_null=True, help_text=_("抽样种子；不填则随机生成并保存")
    )
    on_date = serializers.DateField(required=False)


class HouseholdVisitSerializer(StrictSerializer):
    """A visit to a sampled exited household; may be recorded again (corrected) until the evaluation."""

    sampled_household = _id(_("抽查脱贫户 id（见 sampled_households）"))
    wrongly_exited = serializers.BooleanField(help_text=_("错退"))
    approves = serializers.BooleanField(help_text=_("认可脱贫工作"))
    visited_on = serializers.DateField(help_text=_("核查日期；不早于抽样日期，不晚于今天"))
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class VillageVisitSerializer(StrictSerializer):
    """A survey of a sampled village for persons missed (漏评)."""

    sampled_village = _id(_("抽查村 id（见 sampled_villages）"))
    missed_persons = serializers.IntegerField(min_value=0, help_text=_("发现漏评人口；不超过非建档立卡农村人口"))
    visited_on = serializers.DateField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class PlanFieldsSerializer(StrictSerializer):
    persons_to_exit = serializers.IntegerField(min_value=0, max_value=10**8, help_text=_("计划脱贫人口"))
    villages_to_exit = serializers.IntegerField(min_value=0, max_value=10**5, help_text=_("计划出列村数"))
    county_exits = serializers.BooleanField(required=False, help_text=_("计划当年摘帽"))
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ReductionPlanCreateSerializer(PlanFieldsSerializer):
    """A county's plan for a year (one per county and year)."""

    county = serializers.CharField(min_length=12, max_length=12, help_text=_("12 位县级区划代码"))
    year = _year(_("计划年度"))


class ReductionPlanUpdateSerializer(PlanFieldsSerializer):
    """Changes to a plan's targets or note (the county and year stay)."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields
