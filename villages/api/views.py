"""Read endpoints for divisions and work teams; thin, scoped through the selectors."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from registry.api.errors import ErrorSerializer
from registry.api.schema import FORBIDDEN, READ_ERRORS, UNAUTHORIZED, error_response, ok_example, param
from villages import selectors
from villages.api.serializers import (
    CountySerializer,
    DivisionDetailSerializer,
    DivisionSerializer,
    VillageSerializer,
    WorkTeamSerializer,
)
from villages.choices import CountyExitStatus, VillageExitStatus
from villages.filtersets import CountyFilterSet, DivisionFilterSet, VillageFilterSet, WorkTeamFilterSet

ERRORS = {401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


@extend_schema_view(
    list=extend_schema(
        tags=["divisions"], responses={200: DivisionSerializer(many=True), 400: ErrorSerializer, **ERRORS}
    ),
    retrieve=extend_schema(
        tags=["divisions"],
        parameters=[OpenApiParameter("code", str, OpenApiParameter.PATH, description="12-digit division code")],
        responses={200: DivisionDetailSerializer, **ERRORS},
    ),
)
class DivisionViewSet(viewsets.ReadOnlyModelViewSet):
    """Divisions (行政区划) in the caller's jurisdiction, with poverty status."""

    filterset_class = DivisionFilterSet
    lookup_field = "code"
    lookup_value_regex = r"\d{12}"

    def get_queryset(self):
        return selectors.division_list(user=self.request.user)

    def get_serializer_class(self):
        return DivisionDetailSerializer if self.action == "retrieve" else DivisionSerializer


@extend_schema_view(
    list=extend_schema(
        tags=["work-teams"], responses={200: WorkTeamSerializer(many=True), 400: ErrorSerializer, **ERRORS}
    ),
    retrieve=extend_schema(tags=["work-teams"], responses={200: WorkTeamSerializer, **ERRORS}),
)
class WorkTeamViewSet(viewsets.ReadOnlyModelViewSet):
    """Village work teams (驻村工作队) in the caller's jurisdiction."""

    serializer_class = WorkTeamSerializer
    filterset_class = WorkTeamFilterSet

    def get_queryset(self):
        return selectors.work_team_list(user=self.request.user)


# Counties and villages -----------------------------------------------------------------


def _page_param() -> OpenApiParameter:
    return param("page_size", int, "每页条数（最多 500）", 50)


AREA_FILTERS = [
    param("q", str, "搜索：名称（包含）或代码（前缀）", "江华"),
    param("within", str, "所属区划代码（含下级），12 位", "431100000000"),
    param("poverty", bool, "是否贫困县 / 贫困村", True),
    param("deep_poverty", bool, "是否深度贫困县 / 深度贫困村", False),
]
COUNTY_FILTERS = [
    *AREA_FILTERS,
    param("exit_status", str, "摘帽状态", "not_exited", enum=CountyExitStatus.values),
    param("exit_year", int, "摘帽年度", 2019),
    param("planned_exit_year", int, "计划摘帽年度", 2019),
    _page_param(),
]
VILLAGE_FILTERS = [
    *AREA_FILTERS,
    param("exit_status", str, "出列状态", "exited", enum=VillageExitStatus.values),
    param("exit_year", int, "出列年度", 2018),
    _page_param(),
]
COUNTY_CODE = param("code", str, "县级区划代码（12 位）", "431129000000", location=OpenApiParameter.PATH)
VILLAGE_CODE = param("code", str, "村级区划代码（12 位）", "431129203201", location=OpenApiParameter.PATH)
BAD_AREA_FILTER = error_response(
    "A filter value is not valid.",
    (
        "Bad exit status",
        "invalid",
        "输入有误，请检查各字段。",
        {"exit_status": ["选择一个有效的选项。 bogus 不在可用的选项中。"]},
    ),
    ("Bad year", "invalid", "输入有误，请检查各字段。", {"exit_year": ["输入一个数字。"]}),
)
AREA_LIST_ERRORS = {400: BAD_AREA_FILTER, 401: UNAUTHORIZED, 403: FORBIDDEN}


def _statistics_example(registered, poor, exited, returned, removed=(0, 0), natural_decrease=(0, 0)) -> dict:
    tallies = {
        "registered": registered,
        "poor": poor,
        "exited": exited,
        "returned": returned,
        "removed": removed,
        "natural_decrease": natural_decrease,
    }
    return {name: {"households": h, "persons": p} for name, (h, p) in tallies.items()}


COUNTY_EXAMPLE = {
    "code": "431129000000",
    "name": "江华瑶族自治县",
    "level": "county",
    "level_label": "县/市/区",
    "parent": "431100000000",
    "parent_name": "永州市",
    "county_status": {
        "poverty_type": "national_key",
        "poverty_type_label": "国家扶贫开发工作重点县",
        "deep_poverty": False,
        "region_class": "central_east",
        "region_class_label": "中东部",
        "rural_population": 421000,
        "planned_exit_year": 2019,
        "exit_status": "not_exited",
        "exit_status_label": "未摘帽",
        "exit_year": None,
    },
    "statistics": _statistics_example((2122, 8382), (312, 1187), (1810, 7195), (8, 30), (6, 21), (14, 25)),
    "incidence": {
        "poor_persons": 1187,
        "rural_population": 421000,
        "rate": "0.28",
        "threshold": "2.00",
        "below_threshold": True,
    },
}
VILLAGE_EXAMPLE = {
    "code": "431129203201",
    "name": "栗安村",
    "level": "village",
    "level_label": "村/社区",
    "parent": "431129203000",
    "parent_name": "大锡乡",
    "county_code": "431129",
    "county_name": "江华瑶族自治县",
    "village_status": {
        "is_poverty_village": True,
        "identified_year": 2014,
        "deep_poverty": False,
        "rural_population": 689,
        "rural_households": 170,
        "exit_status": "exited",
        "exit_status_label": "已出列",
        "exit_year": 2018,
    },
    "statistics": _statistics_example((52, 203), (3, 7), (49, 196), (1, 3), (1, 4)),
    "incidence": {
        "poor_persons": 7,
        "rural_population": 689,
        "rate": "1.02",
        "threshold": "2.00",
        "below_threshold": True,
    },
}
STATISTICS_DESCRIPTION = (
    "Each row carries the poverty status and the registry's statistics, counted from the households "
    "for the whole page at once: households and persons (active members) registered (建档立卡: 已识别, "
    "返贫, 已脱贫), poor (未脱贫), exited (已脱贫), returned (返贫), removed (清退) and natural decrease "
    "(自然减少), and the poverty incidence (贫困发生率 = poor persons ÷ rural registered population) with "
    "the exit threshold of its region class (parameters, with province overrides)."
)


class AreaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Read-only counties or villages with their statistics, counted once per page."""

    lookup_field = "code"
    lookup_value_regex = r"\d{12}"

    def _serializer(self, divisions: list, **kwargs):
        """Return the serializer of ``divisions`` with their statistics, counted at once."""
        context = {**self.get_serializer_context(), "statistics": selectors.area_statistics_for(divisions)}
        return self.get_serializer_class()(context=context, **kwargs)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._serializer(page, instance=page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        division = self.get_object()
        return Response(self._serializer([division], instance=division).data)


@extend_schema_view(
    list=extend_schema(
        tags=["counties"],
        summary="List counties (县) with poverty status and statistics",
        description=f"County-level divisions in the caller's jurisdiction, by code. {STATISTICS_DESCRIPTION}",
        parameters=COUNTY_FILTERS,
        responses={200: CountySerializer(many=True), **AREA_LIST_ERRORS},
        examples=ok_example(COUNTY_EXAMPLE),
    ),
    retrieve=extend_schema(
        tags=["counties"],
        summary="One county with poverty status and statistics",
        description="A code outside the jurisdiction, unknown or not of a county is a 404.",
        parameters=[COUNTY_CODE],
        responses={200: CountySerializer, **READ_ERRORS},
        examples=ok_example(COUNTY_EXAMPLE),
    ),
)
class CountyViewSet(AreaViewSet):
    """Counties (县/市/区) in the caller's jurisdiction: poverty status (摘帽) and statistics."""

    serializer_class = CountySerializer
    filterset_class = CountyFilterSet

    def get_queryset(self):
        return selectors.county_list(user=self.request.user)

    def get_object(self):
        return selectors.county_get_for_user(user=self.request.user, code=self.kwargs["code"])


@extend_schema_view(
    list=extend_schema(
        tags=["villages"],
        summary="List villages (村) with poverty status and statistics",
        description=f"Villages in the caller's jurisdiction, by code. {STATISTICS_DESCRIPTION}",
        parameters=VILLAGE_FILTERS,
        responses={200: VillageSerializer(many=True), **AREA_LIST_ERRORS},
        examples=ok_example(VILLAGE_EXAMPLE),
    ),
    retrieve=extend_schema(
        tags=["villages"],
        summary="One village with poverty status and statistics",
        description="A code outside the jurisdiction, unknown or not of a village is a 404.",
        parameters=[VILLAGE_CODE],
        responses={200: VillageSerializer, **READ_ERRORS},
        examples=ok_example(VILLAGE_EXAMPLE),
    ),
)
class VillageViewSet(AreaViewSet):
    """Villages (村/社区) in the caller's jurisdiction: poverty status (出列) and statistics."""

    serializer_class = VillageSerializer
    filterset_class = VillageFilterSet

    def get_queryset(self):
        return selectors.village_list(user=self.request.user)

    def get_object(self):
        return selectors.village_get_for_user(user=self.request.user, code=self.kwargs["code"])
