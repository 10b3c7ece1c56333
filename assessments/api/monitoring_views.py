"""Monitoring flag endpoints (防止返贫监测): list, detail, raise, steps and return to poverty.

Thin, like :mod:`assessments.api.views`: reads go through the scoped reads of
:mod:`assessments.monitoring_views` (outside the jurisdiction is a 404); writes call
:mod:`assessments.monitoring`, which checks roles, jurisdiction, the transition period,
the step table, four-eyes and notices, and raises ``ApplicationError``, turned into the one
error format by the API's exception handler.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from assessments.api import monitoring_serializers as s
from assessments.api.serializers import step_data
from assessments.api.views import BAD_INPUT, LIST_ERRORS, ROW_FILTERS
from assessments.choices import FlagKind, FlagStatus
from assessments.filtersets import HouseholdRowFilterSet, _updated_since
from assessments.models import MonitoringFlag, MonitoringFlagStep
from assessments.monitoring import available_steps, monitoring_flag_raise, monitoring_flag_transition, return_to_poverty
from assessments.monitoring_views import flag_get_for_user, flag_list_for
from households.api.views import (
    COMMON_FILTERS,
    FORBIDDEN,
    READ_ERRORS,
    UNAUTHORIZED,
    ReadOnlyRolesCannotWrite,
    _error,
    _object_id,
    _ok,
    _param,
    _reference,
    _request,
    _validated,
)
from households.selectors import household_list
from registry.api.permissions import TokenAllowsWrite

FLAG_ID = _param("id", OpenApiTypes.INT, "监测对象 id", 7, location=OpenApiParameter.PATH)
FLAG_FILTERS = [
    *ROW_FILTERS,
    _param("status", str, "状态（可多选）", "active", enum=FlagStatus.values, many=True, explode=True),
    _param("kind", str, "监测对象类型", "sudden", enum=FlagKind.values),
    *COMMON_FILTERS,
]
CONFLICT = _error(
    "Refused by a rule of monitoring: the household is not exited or not in its transition period, or "
    "already has an open flag (`conflict`); a step out of order (`transition_not_allowed`); four-eyes "
    "(`four_eyes`); a notice not ended (`notice_not_ended`).",
    ("Not in transition", "conflict", "只有过渡期内的已脱贫户才能纳入防返贫监测；该户为“已识别（未脱贫）”。", None),
    ("Already open", "conflict", "该户已有未结束的监测记录。", None),
    ("Step out of order", "transition_not_allowed", "监测记录当前为“核实中”，不能执行“县级审批，纳入监测”。", None),
    ("Four eyes", "four_eyes", "四眼原则：前一环节的经办人不能办理后续审核环节。", None),
)
WRITE_ERRORS = {400: BAD_INPUT, **READ_ERRORS, 409: CONFLICT}
CREATE_ERRORS = {400: BAD_INPUT, 401: UNAUTHORIZED, 403: FORBIDDEN, 409: CONFLICT}

STEP_EXAMPLE = {
    "id": 31,
    "action": "raise",
    "action_display": "提出监测",
    "from_status": None,
    "from_status_display": None,
    "to_status": "proposed",
    "to_status_display": "核实中",
    "actor": "team_lian",
    "reason": "户主突发重病，住院费用远超家庭收入",
    "effective_date": "2021-03-02",
    "created_at": "2021-03-02T10:00:00+08:00",
}
FLAG_EXAMPLE = {
    "id": 7,
    "household": 5,
    "registry_number": "4311292032010005",
    "head_name": "盘金华",
    "household_status": "exited",
    "household_status_display": "已脱贫",
    "village": "431129203201",
    "village_name": "栗安村",
    "county_code": "431129",
    "kind": "sudden",
    "kind_display": "突发严重困难户",
    "status": "active",
    "status_display": "纳入监测",
    "trigger": "event",
    "trigger_display": "突发事件",
    "reason": "户主突发重病，住院费用远超家庭收入",
    "event": "重大疾病",
    "source_assessment": None,
    "raised_on": "2021-03-02",
    "notice_ends_on": None,
    "status_reason": "",
    "version": 4,
    "created_at": "2021-03-02T10:00:00+08:00",
    "updated_at": "2021-03-20T16:00:00+08:00",
    "steps": [
        STEP_EXAMPLE,
        {
            **STEP_EXAMPLE,
            "id": 34,
            "action": "approve",
            "action_display": "县级审批，纳入监测",
            "from_status": "in_notice",
            "from_status_display": "公示中",
            "to_status": "active",
            "to_status_display": "纳入监测",
            "actor": "county_jianghua",
            "reason": "",
            "effective_date": "2021-03-20",
            "created_at": "2021-03-20T16:00:00+08:00",
        },
    ],
}
PROPOSED_EXAMPLE = {
    **FLAG_EXAMPLE,
    "status": "proposed",
    "status_display": "核实中",
    "version": 1,
    "updated_at": FLAG_EXAMPLE["created_at"],
    "steps": [STEP_EXAMPLE],
}


class MonitoringFlagFilterSet(HouseholdRowFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=FlagStatus.choices, label=_("状态"), distinct=False)
    kind = django_filters.ChoiceFilter(choices=FlagKind.choices, label=_("监测对象类型"))
    updated_since = _updated_since()

    class Meta:
        model = MonitoringFlag
        fields = ["q", "within", "village", "household", "status", "kind", "updated_since"]


def _with_steps(queryset):
    """Return ``queryset`` with each flag's steps (and their actors) in one more query."""
    steps = MonitoringFlagStep.objects.select_related("actor").order_by("id")
    return queryset.prefetch_related(Prefetch("steps", queryset=steps))


@extend_schema_view(
    list=extend_schema(
        tags=["monitoring-flags"],
        summary="List monitoring flags (防返贫监测对象)",
        description="Flags of the households in the caller's jurisdiction, newest first, with their steps.",
        parameters=FLAG_FILTERS,
        responses={200: s.MonitoringFlagSerializer(many=True), **LIST_ERRORS},
        examples=_ok(FLAG_EXAMPLE),
    ),
    retrieve=extend_schema(
        tags=["monitoring-flags"],
        summary="One monitoring flag",
        parameters=[FLAG_ID],
        responses={200: s.MonitoringFlagSerializer, **READ_ERRORS},
        examples=_ok(FLAG_EXAMPLE),
    ),
    create=extend_schema(
        tags=["monitoring-flags"],
        summary="Propose a household for monitoring (突发事件纳入监测)",
        description=(
            "Work team only (403 otherwise). The household must be exited and in its transition period "
            "(409 `conflict`), with no open flag (409 `conflict`); the reason says what happened. Flags "
            "from an assessment below the monitoring threshold are raised by the assessment check."
        ),
        request=s.FlagRaiseSerializer,
        responses={201: s.MonitoringFlagSerializer, **CREATE_ERRORS},
        examples=[
            _request(
                "Sudden illness",
                {
                    "household": 5,
                    "kind": "sudden",
                    "reason": "户主突发重病，住院费用远超家庭收入",
                    "event": "重大疾病",
                    "on_date": "2021-03-02",
                },
            ),
            *_ok(PROPOSED_EXAMPLE, "Proposed"),
        ],
    ),
)
class MonitoringFlagViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Monitoring flags (防止返贫监测) in the caller's jurisdiction."""

    filterset_class = MonitoringFlagFilterSet
    serializer_class = s.MonitoringFlagSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, ReadOnlyRolesCannotWrite]
    parser_classes = [JSONParser]

    def get_queryset(self):
        return _with_steps(flag_list_for(user=self.request.user))

    def get_object(self):
        return flag_get_for_user(user=self.request.user, flag_id=_object_id(self.kwargs["pk"]))

    def _detail(self, flag, code=status.HTTP_200_OK) -> Response:
        flag = flag_get_for_user(user=self.request.user, flag_id=flag.pk)
        return Response(s.MonitoringFlagSerializer(flag, context=self.get_serializer_context()).data, code)

    def retrieve(self, request, pk=None):
        return Response(s.MonitoringFlagSerializer(self.get_object(), context=self.get_serializer_context()).data)

    def create(self, request):
        data = _validated(s.FlagRaiseSerializer, request)
        household = _reference(household_list(user=request.user), data.pop("household"), "household")
        flag = monitoring_flag_raise(actor=request.user, household=household, **data)
        return self._detail(flag, status.HTTP_201_CREATED)

    @extend_schema(
        tags=["monitoring-flags"],
        summary="Flag steps the caller may take now",
        description="The steps whose status and role fit the caller; four-eyes and notices are checked when applied.",
        parameters=[FLAG_ID],
        responses={200: s.AvailableFlagStepSerializer(many=True), **READ_ERRORS},
        examples=_ok(
            [
                {
                    "action": "approve",
                    "label": "县级审批，纳入监测",
                    "needs_reason": False,
                    "review": True,
                    "opens_notice": False,
                    "closes_notice": True,
                },
                {
                    "action": "reject",
                    "label": "县级审批不予纳入",
                    "needs_reason": True,
                    "review": True,
                    "opens_notice": False,
                    "closes_notice": False,
                },
            ]
        ),
    )
    @action(detail=True, methods=["get"], url_path="transitions", pagination_class=None, filterset_class=None)
    def transitions(self, request, pk=None):
        flag = self.get_object()
        data = [step_data(step) for step in available_steps(flag, request.user)]
        return Response(s.AvailableFlagStepSerializer(data, many=True).data)

    @extend_schema(
        tags=["monitoring-flags"],
        summary="Apply a flag step (监测流程操作)",
        description=(
            "appraise → open_notice → approve (or reject, with a reason) by the county; then "
            "propose_removal (reason) → appraise_removal → open_removal_notice → approve_removal (or "
            "reject_removal, with a reason). Refused with 409 when the step does not fit the status "
            "(`transition_not_allowed`), under four-eyes (`four_eyes`) or before the notice ends "
            "(`notice_not_ended`); with 403 when the caller's role may not take it."
        ),
        parameters=[FLAG_ID],
        request=s.FlagTransitionSerializer,
        responses={200: s.MonitoringFlagSerializer, **WRITE_ERRORS},
        examples=[
            _request("Appraise", {"action": "appraise", "on_date": "2021-03-05"}),
            _request("Reject", {"action": "reject", "reason": "经核实，医疗费用已由大病保险报销"}),
            *_ok(FLAG_EXAMPLE, "Moved"),
        ],
    )
    @transitions.mapping.post
    def transition_apply(self, request, pk=None):
        flag = self.get_object()
        data = _validated(s.FlagTransitionSerializer, request)
        flag = monitoring_flag_transition(actor=request.user, flag=flag, **data)
        return self._detail(flag)

    @extend_schema(
        tags=["monitoring-flags"],
        summary="Register a return to poverty (认定返贫)",
        description=(
            "County only (403 otherwise). The flag must be active (county-approved) and the household "
            "exited (409 `conflict`); the household is registered as poor again with the cause as its "
            "main cause, and the flag is closed (`returned`)."
        ),
        parameters=[FLAG_ID],
        request=s.ReturnToPovertySerializer,
        responses={200: s.MonitoringFlagSerializer, **WRITE_ERRORS},
        examples=[
            _request("Illness", {"cause": "illness", "reason": "医疗支出致人均纯收入低于扶贫标准"}),
            *_ok(
                {
                    **FLAG_EXAMPLE,
                    "household_status": "returned",
                    "household_status_display": "返贫",
                    "status": "returned",
                    "status_display": "已返贫，监测结束",
                    "status_reason": "医疗支出致人均纯收入低于扶贫标准",
                    "version": 5,
                },
                "Returned",
            ),
        ],
    )
    @action(detail=True, methods=["post"], url_path="return-to-poverty")
    def return_to_poverty(self, request, pk=None):
        flag = self.get_object()
        data = _validated(s.ReturnToPovertySerializer, request)
        return_to_poverty(actor=request.user, household=flag.household, **data)
        return self._detail(flag)
