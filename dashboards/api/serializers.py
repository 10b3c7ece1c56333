"""The dashboard's figures as JSON (read from the dataclasses of :mod:`dashboards.selectors`)."""

from rest_framework import serializers

from villages.api.serializers import AreaStatisticsSerializer, IncidenceSerializer


class StatisticsSerializer(AreaStatisticsSerializer):
    """The registry's figures for the area (as for counties and villages), with its incidence."""

    incidence = IncidenceSerializer()


class AreaFiguresSerializer(serializers.Serializer):
    code = serializers.CharField(source="division.code")
    name = serializers.CharField(source="division.name")
    statistics = StatisticsSerializer()


class BreakdownSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    households = serializers.IntegerField()
    persons = serializers.IntegerField()
    poor_households = serializers.IntegerField()
    poor_persons = serializers.IntegerField()


class MeasureSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    measures = serializers.IntegerField(help_text="措施数")
    households = serializers.IntegerField(help_text="受益户数")
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="金额（元）")


class PlanCountySerializer(serializers.Serializer):
    county = serializers.CharField(source="plan.county_id")
    persons_to_exit = serializers.IntegerField(source="plan.persons_to_exit")
    persons_exited = serializers.IntegerField()
    households_exited = serializers.IntegerField()
    villages_to_exit = serializers.IntegerField(source="plan.villages_to_exit")
    villages_exited = serializers.IntegerField()
    county_exits = serializers.BooleanField(source="plan.county_exits")
    county_exited = serializers.BooleanField()


class PlanSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    counties_with_plan = serializers.IntegerField()
    persons_to_exit = serializers.IntegerField()
    persons_exited = serializers.IntegerField()
    households_exited = serializers.IntegerField()
    villages_to_exit = serializers.IntegerField()
    villages_exited = serializers.IntegerField()
    counties_to_exit = serializers.IntegerField()
    counties_exited = serializers.IntegerField()
    counties = PlanCountySerializer(source="rows", many=True)


class YearSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    identified_households = serializers.IntegerField()
    identified_persons = serializers.IntegerField()
    exited_households = serializers.IntegerField()
    exited_persons = serializers.IntegerField()
    returned_households = serializers.IntegerField()


class ReassessmentSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    deadline = serializers.DateField()
    due = serializers.IntegerField()
    assessed = serializers.IntegerField()
    overdue = serializers.IntegerField()


class QualitySerializer(serializers.Serializer):
    open = serializers.IntegerField()
    open_errors = serializers.IntegerField()
    open_warnings = serializers.IntegerField()
    accepted = serializers.IntegerField()
    fixed = serializers.IntegerField()


class DashboardSerializer(serializers.Serializer):
    code = serializers.CharField(source="division.code")
    name = serializers.CharField(source="division.name")
    level = serializers.CharField(source="division.level")
    year = serializers.IntegerField()
    statistics = StatisticsSerializer()
    areas = AreaFiguresSerializer(many=True, help_text="县级及以下为各村，市、省为各县")
    by_cause = BreakdownSerializer(many=True)
    by_attribute = BreakdownSerializer(many=True)
    by_measure = MeasureSerializer(many=True)
    by_five_batches = MeasureSerializer(many=True)
    plan = PlanSerializer()
    years = YearSerializer(many=True)
    reassessment = ReassessmentSerializer()
    quality = QualitySerializer()
