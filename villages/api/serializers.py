"""API representations of divisions and work teams."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry.api.fields import ChoiceLabelField
from villages.counting import STATISTICS
from villages.models import CountyStatus, Division, VillageStatus, WorkTeam, WorkTeamMember


class CountyStatusSerializer(serializers.ModelSerializer):
    poverty_type_label = ChoiceLabelField(source="poverty_type")
    region_class_label = ChoiceLabelField(source="region_class")
    exit_status_label = ChoiceLabelField(source="exit_status")

    class Meta:
        model = CountyStatus
        fields = [
            "poverty_type",
            "poverty_type_label",
            "deep_poverty",
            "region_class",
            "region_class_label",
            "rural_population",
            "planned_exit_year",
            "exit_status",
            "exit_status_label",
            "exit_year",
        ]


class VillageStatusSerializer(serializers.ModelSerializer):
    exit_status_label = ChoiceLabelField(source="exit_status")

    class Meta:
        model = VillageStatus
        fields = [
            "is_poverty_village",
            "identified_year",
            "deep_poverty",
            "rural_population",
            "rural_households",
            "exit_status",
            "exit_status_label",
            "exit_year",
        ]


class IncidenceSerializer(serializers.Serializer):
    poor_persons = serializers.IntegerField(help_text="Registered poor persons not yet exited.")
    rural_population = serializers.IntegerField(allow_null=True)
    rate = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True, help_text="Percent.")
    threshold = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    below_threshold = serializers.BooleanField(allow_null=True)


def incidence_data(incidence) -> dict:
    """Return the representation of a :class:`villages.selectors.Incidence`."""
    return IncidenceSerializer(
        {
            "poor_persons": incidence.poor_persons,
            "rural_population": incidence.rural_population,
            "rate": incidence.rate,
            "threshold": incidence.threshold,
            "below_threshold": incidence.below_threshold,
        }
    ).data


class DivisionSerializer(serializers.ModelSerializer):
    level_label = ChoiceLabelField(source="level")
    parent = serializers.CharField(source="parent_id", allow_null=True, read_only=True)
    county_status = serializers.SerializerMethodField()
    village_status = serializers.SerializerMethodField()

    class Meta:
        model = Division
        fields = ["code", "name", "level", "level_label", "parent", "county_status", "village_status"]

    @extend_schema_field(CountyStatusSerializer(allow_null=True))
    def get_county_status(self, obj):
        status = getattr(obj, "county_status", None) if obj.level == "county" else None
        return CountyStatusSerializer(status).data if status else None

    @extend_schema_field(VillageStatusSerializer(allow_null=True))
    def get_village_status(self, obj):
        status = getattr(obj, "village_status", None) if obj.level == "village" else None
        return VillageStatusSerializer(status).data if status else None


class DivisionDetailSerializer(DivisionSerializer):
    incidence = serializers.SerializerMethodField()

    class Meta(DivisionSerializer.Meta):
        fields = [*DivisionSerializer.Meta.fields, "incidence"]

    @extend_schema_field(IncidenceSerializer)
    def get_incidence(self, obj):
        from villages.selectors import poverty_incidence

        return incidence_data(poverty_incidence(obj))


class TallySerializer(serializers.Serializer):
    households = serializers.IntegerField(help_text="Households (户).")
    persons = serializers.IntegerField(help_text="Active (在册) members of those households (人).")


class AreaStatisticsSerializer(serializers.Serializer):
    """The registry's figures for a county or village, counted from its households."""

    registered = TallySerializer(help_text="建档立卡: households registered, returned or exited (on the books).")
    poor = TallySerializer(help_text="未脱贫: registered or returned, not exited (the incidence's numerator).")
    exited = TallySerializer(help_text="已脱贫: exited.")
    returned = TallySerializer(help_text="返贫: returned to poverty after exiting.")
    removed = TallySerializer(help_text="清退: registered, then removed as wrongly identified (错评).")
    natural_decrease = TallySerializer(
        help_text="自然减少: registered, then gone (whole household deceased, moved out, merged)."
    )


class AreaSerializer(serializers.ModelSerializer):
    """A county or village with its poverty status and the registry's statistics.

    The statistics of the whole page are counted at once by the view
    (:func:`villages.selectors.area_statistics_for`) and passed in the context.
    """

    level_label = ChoiceLabelField(source="level")
    parent = serializers.CharField(source="parent_id", read_only=True)
    parent_name = serializers.CharField(source="parent.name", read_only=True)
    statistics = serializers.SerializerMethodField()
    incidence = serializers.SerializerMethodField()

    class Meta:
        model = Division
        fields = ["code", "name", "level", "level_label", "parent", "parent_name"]

    def _statistics(self, obj):
        return self.context["statistics"][obj.code]

    @extend_schema_field(AreaStatisticsSerializer)
    def get_statistics(self, obj):
        statistics = self._statistics(obj)
        return {name: TallySerializer(getattr(statistics, name)).data for name in STATISTICS}

    @extend_schema_field(IncidenceSerializer)
    def get_incidence(self, obj):
        return incidence_data(self._statistics(obj).incidence)


class CountySerializer(AreaSerializer):
    county_status = serializers.SerializerMethodField()

    class Meta(AreaSerializer.Meta):
        fields = [*AreaSerializer.Meta.fields, "county_status", "statistics", "incidence"]

    @extend_schema_field(CountyStatusSerializer(allow_null=True))
    def get_county_status(self, obj):
        status = getattr(obj, "county_status", None)
        return CountyStatusSerializer(status).data if status else None


class VillageSerializer(AreaSerializer):
    county_code = serializers.SerializerMethodField(help_text="6-digit GB/T 2260 code of the county.")
    county_name = serializers.CharField(source="parent.parent.name", read_only=True)
    village_status = serializers.SerializerMethodField()

    class Meta(AreaSerializer.Meta):
        fields = [
            *AreaSerializer.Meta.fields,
            "county_code",
            "county_name",
            "village_status",
            "statistics",
            "incidence",
        ]

    def get_county_code(self, obj) -> str:
        return obj.county_code

    @extend_schema_field(VillageStatusSerializer(allow_null=True))
    def get_village_status(self, obj):
        status = getattr(obj, "village_status", None)
        return VillageStatusSerializer(status).data if status else None


class WorkTeamMemberSerializer(serializers.ModelSerializer):
    role_label = ChoiceLabelField(source="role")

    class Meta:
        model = WorkTeamMember
        fields = ["id", "name", "role", "role_label", "title", "unit"]


class WorkTeamSerializer(serializers.ModelSerializer):
    village = serializers.CharField(source="village_id", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True)
    status_label = ChoiceLabelField(source="status")
    members = WorkTeamMemberSerializer(many=True, read_only=True)

    class Meta:
        model = WorkTeam
        fields = [
            "id",
            "village",
            "village_name",
            "dispatching_unit",
            "term_start",
            "term_end",
            "status",
            "status_label",
            "withdrawn_on",
            "withdrawal_reason",
            "members",
        ]
