"""Read endpoints for divisions and work teams; thin, scoped through the selectors."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets

from registry.api.errors import ErrorSerializer
from villages import selectors
from villages.api.serializers import DivisionDetailSerializer, DivisionSerializer, WorkTeamSerializer
from villages.filtersets import DivisionFilterSet, WorkTeamFilterSet

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
