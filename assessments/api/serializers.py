"""API representations of assessments, help measures, helper visits and exit cases (年度核查、帮扶、脱贫退出).

The conventions of :mod:`households.api.serializers` hold here too: every enumeration is
its stable slug plus ``<field>_display`` with the Chinese label, each choice set is one
enum component (:class:`SharedEnumField`), money is a string with two decimals, and
personal identifiers pass through :class:`MaskedField`.

Input serializers only check shape and types and return plain dicts: every rule (roles,
jurisdiction, versions, the eligibility rules, the order of the exit steps, four-eyes) is
the services' business.
"""

from __future__ import annotations

from datetime import date

from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assessments.choices import OBJECTION_OUTCOMES, ExitCaseStatus, FiveBatches, MeasureCategory, TransferItem
from assessments.exit_cases import STEPS
from assessments.forms import FIRST_YEAR, YEAR_OUT_OF_RANGE
from assessments.models import (
    Assessment,
    ExitCase,
    ExitCaseStep,
    ExitObjection,
    HelperVisit,
    HelpMeasure,
)
from households.api.serializers import MAX_ID, HelperBriefSerializer, SharedEnumField, StrictSerializer
from registry.api.fields import ChoiceLabelField
from registry.services import REASON_MAX_LENGTH

#: The exit steps a client may request (an upheld objection returns the case itself).
ExitCaseAction = models.TextChoices(
    "ExitCaseAction", [(step.action.upper(), (step.action, step.label)) for step in STEPS.values() if not step.internal]
)
#: Every action an exit case's history may record: the proposal and each step of the table.
ExitCaseStepAction = models.TextChoices(
    "ExitCaseStepAction",
    [
        ("PROPOSE", ("propose", _("村提名"))),
        *[(step.action.upper(), (step.action, step.label)) for step in STEPS.values()],
    ],
)
ExitObjectionOutcome = models.TextChoices(
    "ExitObjectionOutcome", [(value.upper(), (value, label)) for value, label in OBJECTION_OUTCOMES]
)
#: The decisions on an exit objection (``upheld`` returns the case for amendment).
ExitObjectionDecision = models.TextChoices(
    "ExitObjectionDecision",
    [(value.upper(), (value, label)) for value, label in OBJECTION_OUTCOMES if value != "pending"],
)


class BatchOutcome(models.TextChoices):
    """What became of one case of a batch certification."""

    CERTIFIED = "certified", _("已审定脱贫")
    REFUSED = "refused", _("未审定（见原因）")
    NOT_FOUND = "not_found", _("未找到，或不在您的管辖范围内")


ACTION_HELP = _("退出流程操作（异议成立后的退回由处理异议触发，不在此列）")
VERSION_HELP = _("读取时的版本号；已被他人修改则返回 409")
ACKNOWLEDGE_NAME_TOO_LONG = _("签字认可人姓名最多 %(limit)d 个字。")
#: The longest signatory name an acknowledgement stores (``ExitCase.acknowledged_by``).
SIGNATORY_MAX_LENGTH = ExitCase._meta.get_field("acknowledged_by").max_length


def _amount(label="", **kwargs) -> serializers.DecimalField:
    """Return an amount in yuan: a string with two decimals on output, a number or string on input."""
    return serializers.DecimalField(max_digits=12, decimal_places=2, help_text=label, **kwargs)


def _id(label, **kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=label, **kwargs)


def _year(label) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=FIRST_YEAR, help_text=label)


def _not_after_this_year(year: int) -> int:
    if year > date.today().year:
        raise serializers.ValidationError(YEAR_OUT_OF_RANGE)
    return year


class TransfersSerializer(StrictSerializer):
    """Transfer income by item (转移性收入明细，元); which items count towards net income is a parameter."""

    def get_fields(self):
        return {item.value: _amount(item.label, required=False) for item in TransferItem}


# Output --------------------------------------------------------------------------------


class HouseholdRefMixin(serializers.Serializer):
    """The household a row belongs to, with its village."""

    household = serializers.IntegerField(source="household_id", read_only=True)
    registry_number = serializers.CharField(source="household.registry_number", read_only=True)
    village = serializers.CharField(source="household.village_id", read_only=True, help_text=_("12 位村级区划代码"))
    village_name = serializers.CharField(source="household.village.name", read_only=True)


class AssessmentSerializer(HouseholdRefMixin, serializers.ModelSerializer):
    """A household's annual reassessment (年度核查); the income figures are computed by the service."""

    head_name = serializers.CharField(read_only=True, allow_null=True, help_text=_("户主姓名"))
    assessed_by = serializers.CharField(source="assessed_by.username", read_only=True, allow_null=True, default=None)
    transfers = TransfersSerializer(read_only=True)
    transfers_display = serializers.SerializerMethodField()
    transfer_income = _amount(_("计入的转移性收入（按参数计入的项目之和）"), read_only=True)
    net_income = _amount(_("家庭纯收入 = 工资性 + 生产经营性 − 生产经营支出 + 财产性 + 计入的转移性"), read_only=True)
    per_capita_net_income = _amount(_("人均纯收入 = 家庭纯收入 ÷ 核查日家庭人口"), read_only=True)
    household_size = serializers.IntegerField(read_only=True, help_text=_("核查日家庭人口"))
    education_exempt_members = serializers.ListField(
        child=serializers.IntegerField(), read_only=True, help_text=_("因身体原因免于入学的成员 id")
    )

    class Meta:
        model = Assessment
        fields = [
            "id",
            "household",
            "registry_number",
            "head_name",
            "village",
            "village_name",
            "county_code",
            "year",
            "assessed_on",
            "assessed_by",
            "household_size",
            "wage_income",
            "operating_income",
            "operating_cost",
            "property_income",
            "transfers",
            "transfers_display",
            "transfer_income",
            "net_income",
            "per_capita_net_income",
            "food_secure",
            "clothing_secure",
            "water_litres_per_person_day",
            "water_fetch_minutes",
            "water_quality_safe",
            "education_exempt_members",
            "notes",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.CharField(), help_text=_("项目 → 中文名称")))
    def get_transfers_display(self, obj):
        return {item: str(TransferItem(item).label) for item in obj.transfers if item in TransferItem.values}


class HelpMeasureSerializer(HouseholdRefMixin, serializers.ModelSerializer):
    """A help measure received by a household (帮扶措施)."""

    category = SharedEnumField(MeasureCategory, read_only=True)
    category_display = ChoiceLabelField(source="category")
    five_batches = SharedEnumField(FiveBatches, read_only=True)
    five_batches_display = ChoiceLabelField(source="five_batches")
    amount = _amount(_("金额（元）"), read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = HelpMeasure
        fields = [
            "id",
            "household",
            "registry_number",
            "village",
            "village_name",
            "county_code",
            "category",
            "category_display",
            "five_batches",
            "five_batches_display",
            "measure_date",
            "amount",
            "fund_source",
            "responsible_unit",
            "description",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = fields


class HelperVisitSerializer(HouseholdRefMixin, serializers.ModelSerializer):
    """A helper's visit to a household (走访记录); the helper is the one paired at the time."""

    helper = HelperBriefSerializer(read_only=True, allow_null=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = HelperVisit
        fields = [
            "id",
            "household",
            "registry_number",
            "village",
            "village_name",
            "county_code",
            "helper",
            "visited_on",
            "note",
            "recorded_by",
        ]
        read_only_fields = fields


class RuleResultSerializer(serializers.Serializer):
    """The result of one eligibility rule (一收入两不愁三保障), as stored with the case."""

    rule = serializers.CharField(help_text=_("规则标识：income、food、clothing、water、education、medical、housing"))
    label = serializers.CharField(help_text=_("规则名称"))
    passed = serializers.BooleanField()
    values = serializers.DictField(help_text=_("规则判定所用的数值"))
    explanation = serializers.CharField(help_text=_("中文说明"))


class ExitCaseFiguresSerializer(serializers.Serializer):
    """The key figures of the data the case was judged on (判定数据快照)."""

    per_capita_net_income = _amount(_("人均纯收入（元）"), source="assessment.per_capita_net_income")
    poverty_line = _amount(_("当年扶贫标准（元/人·年）；须高于此标准"), source="standards.poverty_line")
    net_income = _amount(_("家庭纯收入（元）"), source="assessment.net_income")
    household_size = serializers.IntegerField(source="assessment.household_size", help_text=_("家庭人口"))
    assessed_on = serializers.DateField(source="assessment.assessed_on")
    assessment_version = serializers.IntegerField(source="assessment.version", help_text=_("判定时年度核查的版本"))


class ExitCaseStepSerializer(serializers.ModelSerializer):
    """One recorded step of an exit case (退出程序记录)."""

    action = SharedEnumField(ExitCaseStepAction, read_only=True)
    action_display = serializers.SerializerMethodField()
    from_status = serializers.SerializerMethodField()
    from_status_display = serializers.SerializerMethodField()
    to_status = SharedEnumField(ExitCaseStatus, read_only=True)
    to_status_display = ChoiceLabelField(source="to_status")
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ExitCaseStep
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
        return str(ExitCaseStepAction(obj.action).label) if obj.action in ExitCaseStepAction.values else obj.action

    @extend_schema_field(SharedEnumField(ExitCaseStatus, allow_null=True, help_text=_("提名时为空")))
    def get_from_status(self, obj):
        return obj.from_status or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_from_status_display(self, obj):
        return obj.get_from_status_display() if obj.from_status else None


class ExitObjectionSerializer(serializers.ModelSerializer):
    """An objection raised during an exit case's village notice (退出公示异议)."""

    outcome = SharedEnumField(ExitObjectionOutcome, read_only=True)
    outcome_display = ChoiceLabelField(source="outcome")
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)
    resolved_by = serializers.CharField(source="resolved_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ExitObjection
        fields = [
            "id",
            "case",
            "objector",
            "content",
            "raised_on",
            "recorded_by",
            "outcome",
            "outcome_display",
            "resolved_by",
            "resolved_at",
            "resolution",
        ]
        read_only_fields = fields


class ExitCaseSerializer(HouseholdRefMixin, serializers.ModelSerializer):
    """A household exit case (脱贫退出) with the rule results it was judged on and its steps."""

    head_name = serializers.CharField(read_only=True, allow_null=True, help_text=_("户主姓名"))
    township = serializers.CharField(
        source="household.village.parent_id", read_only=True, help_text=_("12 位乡镇区划代码")
    )
    township_name = serializers.CharField(source="household.village.parent.name", read_only=True)
    assessment = serializers.IntegerField(source="assessment_id", read_only=True, help_text=_("依据的年度核查 id"))
    status = SharedEnumField(ExitCaseStatus, read_only=True)
    status_display = ChoiceLabelField(source="status")
    rule_results = RuleResultSerializer(many=True, read_only=True)
    figures = ExitCaseFiguresSerializer(source="snapshot", read_only=True)
    steps = ExitCaseStepSerializer(many=True, read_only=True)

    class Meta:
        model = ExitCase
        fields = [
            "id",
            "household",
            "registry_number",
            "head_name",
            "village",
            "village_name",
            "township",
            "township_name",
            "county_code",
            "year",
            "assessment",
            "status",
            "status_display",
            "eligible",
            "rule_set_version",
            "rule_results",
            "figures",
            "acknowledged_by",
            "notice_ends_on",
            "status_reason",
            "certified_on",
            "certificate_code",
            "revoked",
            "revoked_reason",
            "version",
            "created_at",
            "updated_at",
            "steps",
        ]
        read_only_fields = fields


class ExitCaseDetailSerializer(ExitCaseSerializer):
    """An exit case with the objections raised during its notice."""

    objections = ExitObjectionSerializer(many=True, read_only=True)

    class Meta(ExitCaseSerializer.Meta):
        fields = [*ExitCaseSerializer.Meta.fields, "objections"]
        read_only_fields = fields


class AvailableExitStepSerializer(serializers.Serializer):
    """An exit step the caller could take now (status and role fit)."""

    action = SharedEnumField(ExitCaseAction, help_text=ACTION_HELP)
    label = serializers.CharField()
    needs_reason = serializers.BooleanField(help_text=_("须填写说明；贫困户认可填签字人姓名"))
    review = serializers.BooleanField(help_text=_("审核环节：本轮前面环节的经办人不能办理（四眼原则）"))
    opens_notice = serializers.BooleanField()
    closes_notice = serializers.BooleanField(help_text=_("公示期须已满且无待处理异议"))


def step_data(step) -> dict:
    """Return the plain data of an exit step for :class:`AvailableExitStepSerializer`."""
    return {
        "action": step.action,
        "label": str(step.label),
        "needs_reason": step.needs_reason,
        "review": step.review,
        "opens_notice": bool(step.opens_notice),
        "closes_notice": step.closes_notice,
    }


class BatchResultSerializer(serializers.Serializer):
    """What became of one id of a batch certification."""

    id = serializers.IntegerField()
    outcome = SharedEnumField(BatchOutcome)
    outcome_display = serializers.CharField()
    status = SharedEnumField(ExitCaseStatus, allow_null=True, help_text=_("处理后的状态；未找到时为空"))
    status_display = serializers.CharField(allow_null=True)
    certificate_code = serializers.CharField(allow_null=True, help_text=_("脱贫证明校验码"))
    message = serializers.CharField(help_text=_("未审定或未找到的原因；审定成功时为空"))


class CertifyBatchResultSerializer(serializers.Serializer):
    """Every id of a batch certification, in the order sent, with its outcome; none is skipped."""

    results = BatchResultSerializer(many=True)
    certified = serializers.IntegerField()
    refused = serializers.IntegerField()
    not_found = serializers.IntegerField()


# Input ---------------------------------------------------------------------------------


class AssessmentFieldsSerializer(StrictSerializer):
    """The fields of an assessment a client enters; amounts in yuan, empty amounts are 0."""

    assessed_on = serializers.DateField(required=False, help_text=_("核查日期，默认今天；不能晚于今天"))
    wage_income = _amount(_("工资性收入"), required=False)
    operating_income = _amount(_("生产经营性收入（毛收入）"), required=False)
    operating_cost = _amount(_("生产经营性支出，从毛收入中扣除"), required=False)
    property_income = _amount(_("财产性收入"), required=False)
    transfers = TransfersSerializer(required=False, help_text=_("转移性收入明细：项目 → 金额；修改时整体替换"))
    food_secure = serializers.BooleanField(required=False, help_text=_("不愁吃"))
    clothing_secure = serializers.BooleanField(required=False, help_text=_("不愁穿"))
    water_litres_per_person_day = serializers.IntegerField(
        min_value=0, max_value=100000, required=False, allow_null=True, help_text=_("人均日供水量（升）")
    )
    water_fetch_minutes = serializers.IntegerField(
        min_value=0, max_value=100000, required=False, allow_null=True, help_text=_("取水往返时间（分钟）")
    )
    water_quality_safe = serializers.BooleanField(required=False, help_text=_("水质达标"))
    education_exempt_members = serializers.ListField(
        child=_id(_("成员 id")), required=False, max_length=50, help_text=_("因身体原因免于入学（送教上门）的成员 id")
    )
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class AssessmentCreateSerializer(AssessmentFieldsSerializer):
    """A household's reassessment for a year it has none of yet."""

    household = _id(_("贫困户 id（须在您的管辖范围内）"))
    year = _year(_("核查年度（2014 年至今）"))

    def validate_year(self, value):
        return _not_after_this_year(value)


class AssessmentUpdateSerializer(AssessmentFieldsSerializer):
    """Changes to an assessment; ``version`` is the one the client read."""

    version = serializers.IntegerField(min_value=1, help_text=VERSION_HELP)


class HelpMeasureCreateSerializer(StrictSerializer):
    """A help measure a household received (帮扶措施)."""

    household = _id(_("贫困户 id（须在您的管辖范围内）"))
    category = SharedEnumField(MeasureCategory)
    five_batches = SharedEnumField(FiveBatches, help_text=_("对应的“五个一批”"))
    measure_date = serializers.DateField()
    amount = _amount(_("金额（元）"), required=False)
    fund_source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    responsible_unit = serializers.CharField(max_length=100, required=False, allow_blank=True)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class HelperVisitCreateSerializer(StrictSerializer):
    """A visit by the household's paired helper (走访)."""

    household = _id(_("贫困户 id（须在您的管辖范围内）"))
    visited_on = serializers.DateField(help_text=_("走访日期；不能晚于今天"))
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, help_text=_("走访情况"))


class ExitCaseProposeSerializer(StrictSerializer):
    """A proposal to exit (村提名) for a year whose assessment passes every rule."""

    household = _id(_("贫困户 id（须在您的管辖范围内）"))
    year = _year(_("退出年度：依据该年度的年度核查"))
    on_date = serializers.DateField(required=False, help_text=_("提名日期，默认今天"))

    def validate_year(self, value):
        return _not_after_this_year(value)


class ExitCaseTransitionSerializer(StrictSerializer):
    """One step of the exit procedure to apply to a case."""

    action = SharedEnumField(ExitCaseAction, help_text=ACTION_HELP)
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text=_("退回、不予退出、撤回须说明理由；贫困户认可填签字的户主或家庭成员姓名"),
    )
    on_date = serializers.DateField(required=False, help_text=_("生效日期，默认今天；不能早于上一环节"))

    def validate(self, attrs):
        if attrs["action"] == "acknowledge" and len(attrs.get("reason", "").strip()) > SIGNATORY_MAX_LENGTH:
            message = ACKNOWLEDGE_NAME_TOO_LONG % {"limit": SIGNATORY_MAX_LENGTH}
            raise serializers.ValidationError({"reason": [message]})
        return attrs


class CertifyBatchSerializer(StrictSerializer):
    """The cases a county official certifies in one action (县级审定); each is still checked on its own."""

    ids = serializers.ListField(
        child=_id(_("退出申请 id")), allow_empty=False, max_length=500, help_text=_("退出申请 id，最多 500 个")
    )
    on_date = serializers.DateField(required=False, help_text=_("审定日期，默认今天"))


class ExitObjectionRaiseSerializer(StrictSerializer):
    """An objection raised during an exit case's village notice."""

    objector = serializers.CharField(max_length=50, required=False, allow_blank=True, help_text=_("可匿名"))
    content = serializers.CharField(max_length=2000)
    raised_on = serializers.DateField(required=False, help_text=_("提出日期，默认今天"))


class ExitObjectionResolveSerializer(StrictSerializer):
    """The decision on an exit objection."""

    outcome = SharedEnumField(ExitObjectionDecision, help_text=_("upheld：异议成立，退回修改；dismissed：异议不成立"))
    resolution = serializers.CharField(max_length=REASON_MAX_LENGTH, help_text=_("处理理由"))
