"""API representations of households, members and objections (贫困户、家庭成员、异议).

Output serializers render every enumeration as its stable slug plus ``<field>_display``
with the Chinese label; national codes (sex GB/T 2261.1, ethnicity GB 3304) are the
values themselves. Personal identifiers pass through :func:`pii_visible`, the one place
that decides whether they are shown in full.

Input serializers only check shape and types and return plain dicts: every rule (ID
numbers, the head, causes, versions, roles, jurisdiction) is the services' business.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from households.choices import (
    EVENT_MEMBER_STATUS,
    INCOMING_EVENTS,
    Attribute,
    Cause,
    Education,
    Ethnicity,
    HouseholdStatus,
    HousingGrade,
    HousingStructure,
    IdentificationStandard,
    IdentificationStep,
    LabourAbility,
    MemberStatus,
    MigrantWork,
    NaturalDecreaseReason,
    ObjectionOutcome,
    Relationship,
    Sex,
    StudentStatus,
)
from households.filtersets import looks_like_id_number
from households.models import Household, Member, MemberEvent, Objection, StatusChange
from households.privacy import mask_id, note_disclosure
from households.workflow import TRANSITIONS
from registry.api.fields import ChoiceLabelField
from registry.api.serializers import ListedFieldsMixin
from registry.roles import user_can_see_pii
from registry.services import REASON_MAX_LENGTH

#: The largest id of a row (BigAutoField).
MAX_ID = 2**63 - 1
UNKNOWN_FIELD = _("未知字段，或不能通过此接口修改（状态只能通过流程操作改变）。")

#: The transitions a client may request (objection outcomes apply theirs through the objection).
TRANSITION_CHOICES = [(t.action, t.label) for t in TRANSITIONS.values() if not t.internal]
ACTION_HELP = _("流程操作（异议成立后的退回、不予识别由处理异议触发，不在此列）")
#: Labels of the history actions that are not transitions of the table.
HISTORY_ACTION_LABELS = {"apply": IdentificationStep.APPLICATION.label}


def pii_visible(request) -> bool:
    """Return whether the caller may see personal identifiers (ID numbers, phones) in full.

    This is the one hook for the PII scope (SPEC §9): only a token granted the
    personal-data scope does; each object shown in full is noted for the access log.
    """
    return user_can_see_pii(getattr(request, "user", None))


class SharedEnumField(serializers.ChoiceField):
    """A choice field documented as one enum component named after its choice set (``CauseEnum``).

    drf-spectacular names an enum after the field; a choice set used under several names
    (``status``, ``household_status``, ``to_status``) or a name shared by several sets
    (household and member ``status``) would otherwise need ``ENUM_NAME_OVERRIDES``.
    """

    def __init__(self, choices_class, **kwargs):
        self.choices_class = choices_class
        super().__init__(choices=choices_class.choices, **kwargs)


class SharedEnumFieldExtension(OpenApiSerializerFieldExtension):
    target_class = SharedEnumField

    def map_serializer_field(self, auto_schema, direction):
        choices = self.target.choices_class
        name = f"{choices.__name__}Enum"
        schema = {
            "type": "string",
            "enum": list(choices.values),
            "description": "\n".join(f"* `{value}` - {label}" for value, label in choices.choices),
        }
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        auto_schema.registry.register_on_missing(component)
        return component.ref


# Output --------------------------------------------------------------------------------


class MaskedField(serializers.CharField):
    """A personal identifier, masked (``4311**********123X``) unless :func:`pii_visible`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        request = self.context.get("request")
        if value and pii_visible(request):
            note_disclosure(request, instance)
        return value

    def to_representation(self, value):
        value = super().to_representation(value)
        if not value or pii_visible(self.context.get("request")):
            return value
        return mask_id(value)


def blank_choice(model, name: str) -> serializers.ChoiceField:
    """Return a read-only choice field for a model field that may be left blank.

    A ModelSerializer drops ``allow_blank`` from its read-only fields, so the schema would
    leave ``""`` out of the enum although the API returns it for an unfilled field.
    """
    field = model._meta.get_field(name)
    return serializers.ChoiceField(choices=field.choices, allow_blank=True, read_only=True, label=field.verbose_name)


class HelperBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    unit = serializers.CharField()
    title = serializers.CharField()
    phone = MaskedField(help_text=_("联系电话（脱敏）"))


class MemberSerializer(ListedFieldsMixin, serializers.ModelSerializer):
    """A household member (家庭成员) as nested in a household."""

    id_number = MaskedField(help_text=_("公民身份号码（脱敏，如 4311**********123X）"))
    sex_display = ChoiceLabelField(source="sex")
    ethnicity_display = ChoiceLabelField(source="ethnicity")
    relationship_display = ChoiceLabelField(source="relationship")
    education = blank_choice(Member, "education")
    education_display = ChoiceLabelField(source="education")
    student_status_display = ChoiceLabelField(source="student_status")
    disability_certificate = MaskedField(help_text=_("残疾证号（常含身份证号，脱敏）"))
    labour_ability = blank_choice(Member, "labour_ability")
    labour_ability_display = ChoiceLabelField(source="labour_ability")
    migrant_work_display = ChoiceLabelField(source="migrant_work")
    status = SharedEnumField(MemberStatus, read_only=True)
    status_display = ChoiceLabelField(source="status")

    class Meta:
        model = Member
        fields = [
            "id",
            "name",
            "id_number",
            "sex",
            "sex_display",
            "birth_date",
            "ethnicity",
            "ethnicity_display",
            "relationship",
            "relationship_display",
            "education",
            "education_display",
            "student_status",
            "student_status_display",
            "chronic_disease",
            "serious_illness",
            "disabled",
            "disability_certificate",
            "labour_ability",
            "labour_ability_display",
            "migrant_work",
            "migrant_work_display",
            "migrant_months",
            "basic_medical_insurance",
            "serious_illness_insurance",
            "pension_insurance",
            "dibao_recipient",
            "tekun_recipient",
            "status",
            "status_display",
            "status_date",
            "version",
            "updated_at",
        ]
        read_only_fields = fields


class MemberListSerializer(MemberSerializer):
    """A member with the household and village it belongs to."""

    household = serializers.IntegerField(source="household_id", read_only=True)
    registry_number = serializers.CharField(source="household.registry_number", read_only=True)
    household_status = SharedEnumField(HouseholdStatus, source="household.status", read_only=True)
    household_status_display = ChoiceLabelField(source="household.status")
    village = serializers.CharField(source="household.village_id", read_only=True, help_text=_("12 位村级区划代码"))
    village_name = serializers.CharField(source="household.village.name", read_only=True)

    class Meta(MemberSerializer.Meta):
        fields = [
            "id",
            "household",
            "registry_number",
            "household_status",
            "household_status_display",
            "village",
            "village_name",
            "county_code",
            *MemberSerializer.Meta.fields[1:],
        ]
        read_only_fields = fields


class HouseholdSerializer(ListedFieldsMixin, serializers.ModelSerializer):
    """A household (贫困户) with its members, as listed."""

    village = serializers.CharField(source="village_id", read_only=True, help_text=_("12 位村级区划代码"))
    village_name = serializers.CharField(source="village.name", read_only=True)
    township = serializers.CharField(source="village.parent_id", read_only=True, help_text=_("12 位乡镇区划代码"))
    township_name = serializers.CharField(source="village.parent.name", read_only=True)
    group = serializers.IntegerField(source="group_id", read_only=True, allow_null=True)
    group_name = serializers.SerializerMethodField()
    identification_standard_display = ChoiceLabelField(source="identification_standard")
    attribute_display = ChoiceLabelField(source="attribute")
    main_cause = SharedEnumField(Cause, read_only=True)
    main_cause_display = ChoiceLabelField(source="main_cause")
    other_causes = serializers.ListField(child=SharedEnumField(Cause), read_only=True)
    other_causes_display = serializers.SerializerMethodField()
    housing_structure = blank_choice(Household, "housing_structure")
    housing_structure_display = ChoiceLabelField(source="housing_structure")
    housing_grade = blank_choice(Household, "housing_grade")
    housing_grade_display = ChoiceLabelField(source="housing_grade")
    phone = MaskedField(help_text=_("联系电话（脱敏）"))
    helper = HelperBriefSerializer(read_only=True, allow_null=True)
    status = SharedEnumField(HouseholdStatus, read_only=True)
    status_display = ChoiceLabelField(source="status")
    step = SharedEnumField(IdentificationStep, read_only=True)
    step_display = ChoiceLabelField(source="step")
    head_name = serializers.CharField(read_only=True, allow_null=True, help_text=_("户主姓名"))
    member_count = serializers.IntegerField(read_only=True, help_text=_("在册人数"))
    members = MemberSerializer(many=True, read_only=True)

    class Meta:
        model = Household
        fields = [
            "id",
            "registry_number",
            "county_code",
            "village",
            "village_name",
            "township",
            "township_name",
            "group",
            "group_name",
            "identification_standard",
            "identification_standard_display",
            "attribute",
            "attribute_display",
            "main_cause",
            "main_cause_display",
            "other_causes",
            "other_causes_display",
            "identified_year",
            "housing_area",
            "housing_structure",
            "housing_structure_display",
            "housing_grade",
            "housing_grade_display",
            "housing_renovated",
            "drinking_water_safe",
            "electricity",
            "road_distance_km",
            "cultivated_land_mu",
            "forest_land_mu",
            "relocated",
            "phone",
            "helper",
            "status",
            "status_display",
            "step",
            "step_display",
            "status_reason",
            "status_date",
            "notice_ends_on",
            "head_name",
            "member_count",
            "version",
            "created_at",
            "updated_at",
            "members",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_group_name(self, obj):
        return obj.group.name if obj.group_id else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_other_causes_display(self, obj):
        return [str(Cause(c).label) if c in Cause.values else c for c in obj.other_causes]


class StatusChangeSerializer(serializers.ModelSerializer):
    action_display = serializers.SerializerMethodField()
    from_status = SharedEnumField(HouseholdStatus, read_only=True)
    to_status = SharedEnumField(HouseholdStatus, read_only=True)
    from_step = SharedEnumField(IdentificationStep, read_only=True)
    to_step = SharedEnumField(IdentificationStep, read_only=True)
    from_status_display = ChoiceLabelField(source="from_status")
    to_status_display = ChoiceLabelField(source="to_status")
    from_step_display = ChoiceLabelField(source="from_step")
    to_step_display = ChoiceLabelField(source="to_step")
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = StatusChange
        fields = [
            "id",
            "action",
            "action_display",
            "from_status",
            "from_status_display",
            "to_status",
            "to_status_display",
            "from_step",
            "from_step_display",
            "to_step",
            "to_step_display",
            "actor",
            "reason",
            "effective_date",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_action_display(self, obj):
        transition = TRANSITIONS.get(obj.action)
        return str(transition.label if transition else HISTORY_ACTION_LABELS.get(obj.action, obj.action))


class ObjectionSerializer(serializers.ModelSerializer):
    """An objection (异议) raised during a public notice."""

    step = SharedEnumField(IdentificationStep, read_only=True)
    step_display = ChoiceLabelField(source="step")
    outcome_display = ChoiceLabelField(source="outcome")
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)
    resolved_by = serializers.CharField(source="resolved_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Objection
        fields = [
            "id",
            "household",
            "step",
            "step_display",
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


class MemberEventSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name", read_only=True)
    kind_display = ChoiceLabelField(source="kind")

    class Meta:
        model = MemberEvent
        fields = ["id", "member", "member_name", "kind", "kind_display", "event_date", "note"]
        read_only_fields = fields


class HouseholdDetailSerializer(HouseholdSerializer):
    """A household with its members, status history, objections and membership events."""

    history = StatusChangeSerializer(source="status_changes", many=True, read_only=True)
    objections = ObjectionSerializer(many=True, read_only=True)
    member_events = MemberEventSerializer(many=True, read_only=True)

    class Meta(HouseholdSerializer.Meta):
        fields = [*HouseholdSerializer.Meta.fields, "history", "objections", "member_events"]
        read_only_fields = fields


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class AvailableTransitionSerializer(serializers.Serializer):
    """A workflow action the caller could take now (status, step and role fit)."""

    action = serializers.ChoiceField(choices=TRANSITION_CHOICES, help_text=ACTION_HELP)
    label = serializers.CharField()
    needs_reason = serializers.BooleanField()
    reason_choices = ChoiceSerializer(many=True, help_text=_("理由须取这些值之一（空：自由填写）"))
    review = serializers.BooleanField(help_text=_("审核环节：本轮前面环节的经办人不能办理（四眼原则）"))
    opens_notice = serializers.BooleanField()
    closes_notice = serializers.BooleanField(help_text=_("公示期须已满且无待处理异议"))


def transition_data(transition) -> dict:
    """Return the plain data of a workflow transition for :class:`AvailableTransitionSerializer`."""
    return {
        "action": transition.action,
        "label": str(transition.label),
        "needs_reason": transition.needs_reason,
        "reason_choices": [
            {"value": value, "label": str(NaturalDecreaseReason(value).label)}
            if value in NaturalDecreaseReason.values
            else {"value": value, "label": value}
            for value in transition.reason_choices
        ],
        "review": transition.review,
        "opens_notice": bool(transition.opens_notice),
        "closes_notice": transition.closes_notice,
    }


# Input ---------------------------------------------------------------------------------


class StrictSerializer(serializers.Serializer):
    """Refuse keys the serializer does not declare rather than dropping them silently."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        errors = {name: [UNKNOWN_FIELD] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            raise serializers.ValidationError({**detail, **errors}) from exc
        if errors:
            raise serializers.ValidationError(errors)
        return value


class HouseholdSearchResultSerializer(serializers.Serializer):
    results = HouseholdSerializer(many=True)


class MemberSearchResultSerializer(serializers.Serializer):
    results = MemberListSerializer(many=True)


ID_SEARCH_NOT_AN_ID = _("请填写完整的身份证号（18 位，或 15 位旧号码）。")


class IdNumberSearchSerializer(StrictSerializer):
    """A search by full ID number, sent in a POST body so the number stays out of URLs and logs."""

    id_number = serializers.CharField(max_length=32, help_text=_("完整的公民身份号码（18 位，或 15 位旧号码）"))

    def validate_id_number(self, value):
        if not looks_like_id_number(value):
            raise serializers.ValidationError(ID_SEARCH_NOT_AN_ID)
        return value.strip()


def _choice(choices, **kwargs):
    return serializers.ChoiceField(choices=choices, **kwargs)


class MemberFieldsSerializer(StrictSerializer):
    """The editable member fields (公民身份号码 is checked by the service, GB 11643)."""

    name = serializers.CharField(max_length=50)
    id_number = serializers.CharField(max_length=32, help_text=_("18 位（15 位旧号码自动升级）"))
    sex = _choice(Sex.choices, required=False, help_text=_("GB/T 2261.1；不填则取自身份证号"))
    birth_date = serializers.DateField(required=False, help_text=_("不填则取自身份证号"))
    ethnicity = _choice(Ethnicity.choices, required=False, help_text=_("GB 3304 民族代码"))
    relationship = _choice(Relationship.choices)
    education = _choice(Education.choices, required=False, allow_blank=True)
    student_status = _choice(StudentStatus.choices, required=False)
    chronic_disease = serializers.BooleanField(required=False)
    serious_illness = serializers.BooleanField(required=False)
    disabled = serializers.BooleanField(required=False)
    disability_certificate = serializers.CharField(max_length=30, required=False, allow_blank=True)
    labour_ability = _choice(LabourAbility.choices, required=False, allow_blank=True)
    migrant_work = _choice(MigrantWork.choices, required=False)
    migrant_months = serializers.IntegerField(required=False)
    basic_medical_insurance = serializers.BooleanField(required=False)
    serious_illness_insurance = serializers.BooleanField(required=False)
    pension_insurance = serializers.BooleanField(required=False)
    dibao_recipient = serializers.BooleanField(required=False)
    tekun_recipient = serializers.BooleanField(required=False)


class MemberApplySerializer(MemberFieldsSerializer):
    """One member of a new application."""


class HouseholdFieldsSerializer(StrictSerializer):
    """The editable household fields; ``group`` is a villager-group id of the household's village."""

    group = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text=_("村民小组 id")
    )
    identification_standard = _choice(IdentificationStandard.choices, required=False)
    attribute = _choice(Attribute.choices)
    main_cause = SharedEnumField(Cause)
    other_causes = serializers.ListField(
        child=SharedEnumField(Cause), required=False, help_text=_("最多两项，不能与主要致贫原因重复")
    )
    housing_area = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, allow_null=True)
    housing_structure = _choice(HousingStructure.choices, required=False, allow_blank=True)
    housing_grade = _choice(HousingGrade.choices, required=False, allow_blank=True)
    housing_renovated = serializers.BooleanField(required=False)
    drinking_water_safe = serializers.BooleanField(required=False)
    electricity = serializers.BooleanField(required=False)
    road_distance_km = serializers.DecimalField(max_digits=6, decimal_places=2, required=False, allow_null=True)
    cultivated_land_mu = serializers.DecimalField(max_digits=8, decimal_places=2, required=False)
    forest_land_mu = serializers.DecimalField(max_digits=8, decimal_places=2, required=False)
    relocated = serializers.BooleanField(required=False)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)


class HouseholdApplySerializer(HouseholdFieldsSerializer):
    """A household's application (农户申请) with all its members."""

    village = serializers.RegexField(r"^\d{12}$", help_text=_("12 位村级区划代码"))
    on_date = serializers.DateField(required=False, help_text=_("申请日期，默认今天"))
    members = serializers.ListField(child=MemberApplySerializer(), help_text=_("全部家庭成员，恰好一名户主"))


class HouseholdUpdateSerializer(HouseholdFieldsSerializer):
    """Changes to a household's registration fields; ``version`` is the one the client read."""

    version = serializers.IntegerField(min_value=1, help_text=_("读取时的版本号；已被他人修改则返回 409"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != "version":
                field.required = False


class MemberUpdateSerializer(MemberFieldsSerializer):
    """Changes to a member's details (the relationship changes only through member events)."""

    version = serializers.IntegerField(min_value=1, help_text=_("读取时的版本号；已被他人修改则返回 409"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["relationship"]
        for name, field in self.fields.items():
            if name != "version":
                field.required = False


class MemberAddSerializer(MemberFieldsSerializer):
    """A member joining through a dated event (出生、婚入、迁入)."""

    kind = _choice([(k.value, k.label) for k in INCOMING_EVENTS], help_text=_("变动类型"))
    event_date = serializers.DateField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class MemberLeaveSerializer(StrictSerializer):
    """A member leaving (死亡、婚出、迁出); a leaving head names the new head."""

    kind = _choice([(k.value, k.label) for k in EVENT_MEMBER_STATUS], help_text=_("变动类型"))
    event_date = serializers.DateField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)
    new_head = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text=_("户主离开时，新户主的成员 id")
    )


class TransitionSerializer(StrictSerializer):
    """A workflow action (流程操作) to apply to a household."""

    action = _choice(TRANSITION_CHOICES, help_text=ACTION_HELP)
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text=_("未通过、清退必须填写；自然减少填 deceased、moved_out 或 merged"),
    )
    on_date = serializers.DateField(required=False, help_text=_("生效日期，默认今天；不能早于上一环节"))


class ObjectionRaiseSerializer(StrictSerializer):
    """An objection raised during a notice."""

    objector = serializers.CharField(max_length=50, required=False, allow_blank=True, help_text=_("可匿名"))
    content = serializers.CharField()
    raised_on = serializers.DateField(required=False, help_text=_("提出日期，默认今天"))


class ObjectionResolveSerializer(StrictSerializer):
    """The decision on an objection."""

    outcome = _choice([c for c in ObjectionOutcome.choices if c[0] != ObjectionOutcome.PENDING])
    # An upheld objection's resolution becomes the household's status_reason.
    resolution = serializers.CharField(max_length=REASON_MAX_LENGTH, help_text=_("处理理由"))


class HelperPairSerializer(StrictSerializer):
    """The helper (帮扶责任人) to pair with a household, or null to unpair."""

    helper = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, allow_null=True, help_text=_("帮扶责任人 id；null 表示解除结对")
    )
