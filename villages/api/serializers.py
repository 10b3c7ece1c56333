"""API representations of divisions and work teams."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry.api.fields import ChoiceLabelField
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

        incidence = poverty_incidence(obj)
        return IncidenceSerializer(
            {
                "poor_persons": incidence.poor_persons,
                "rural_population": incidence.rural_population,
                "rate": incidence.rate,
                "threshold": incidence.threshold,
                "below_threshold": incidence.below_threshold,
            }
        ).data


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
