"""The dashboard's figures for machine clients: ``GET /api/v1/statistics/{code}/?year=``.

Thin: the division is fetched through the caller's scope (404 outside it) and the
figures come from :func:`dashboards.selectors.dashboard`, as on the page.
"""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboards import selectors
from dashboards.api.serializers import DashboardSerializer
from households.api.views import BAD_FILTER, READ_ERRORS, _param
from registry.api.permissions import TokenAllowsWrite
from registry.errors import ApplicationError
from villages.selectors import division_get_for_user

YEAR_INVALID = _("年度须为 2014 至今年之间的整数。")


class StatisticsView(APIView):
    """One division's statistics (统计看板的数据)."""

    permission_classes = [IsAuthenticated, TokenAllowsWrite]

    @extend_schema(
        tags=["statistics"],
        summary="A division's statistics (统计)",
        description=(
            "The figures of the division's dashboard: households and persons registered, poor, exited, "
            "returned and removed; the poverty incidence against the exit threshold; the same for each "
            "village (county and below) or county (prefecture, province); breakdowns by main cause, "
            "attribute, help-measure category and 五个一批; the year's reduction plans against what was "
            "done; progress over the years; the reassessment campaign and the data-quality findings."
        ),
        parameters=[
            _param("code", str, "区划代码（12 位）", "431129000000", location=OpenApiParameter.PATH),
            _param("year", OpenApiTypes.INT, "年度（计划、帮扶措施；默认最近有计划的年度）", 2018),
        ],
        responses={200: DashboardSerializer, 400: BAD_FILTER, **READ_ERRORS},
    )
    def get(self, request, code):
        division = division_get_for_user(user=request.user, code=code)
        year = request.query_params.get("year")
        if year is None:
            year = selectors.dashboard_year_default(user=request.user, division=division)
        elif not year.isdigit() or not selectors.FIRST_YEAR <= int(year) <= date.today().year:
            raise ApplicationError(YEAR_INVALID, code="invalid", fields={"year": [YEAR_INVALID]})
        board = selectors.dashboard(user=request.user, division=division, year=int(year))
        return Response(DashboardSerializer(board).data)
