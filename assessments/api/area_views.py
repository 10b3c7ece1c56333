"""Village exit, county exit and reduction plan endpoints (贫困村出列、贫困县摘帽、年度减贫计划).

Thin, like :mod:`assessments.api.views`: reads go through the scoped reads of
:mod:`assessments.area_views` (outside the jurisdiction is a 404); writes call
:mod:`assessments.area_exits` and :mod:`assessments.plans`, which check roles,
jurisdiction, the step table, four-eyes, notices, vetoes, and raise ``ApplicationError``,
turned into the one error format by the API's exception handler.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from assessments import area_exits as ax
from assessments import plans
from assessments.api import area_serializers as s
from assessments.api.views import CONFLICT, CREATE_ERRORS, LIST_ERRORS, PAGING, WRITE_ERRORS
from assessments.choices import CountyExitCaseStatus, VillageExitCaseStatus
from assessments.filtersets import CountyExitCaseFilterSet, ReductionPlanFilterSet, VillageExitCaseFilterSet
from assessments.selectors import (
    county_exit_case_get_for_user,
    county_exit_case_list,
    plan_progress_for,
    sampled_household_get,
    sampled_village_get,
    village_exit_case_get_for_user,
    village_exit_case_list,
)
from households.api.views import READ_ERRORS, _object_id, _ok, _param, _reference, _request, _validated
from registry.api.errors import NOT_FOUND
from registry.api.permissions import TokenAllowsWrite
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.roles import Role
from registry.scoping import scope_queryset
from villages.models import Division

#: Roles that take steps in these procedures; the others (auditor, API client, work team) only read.
AREA_WRITERS = frozenset({Role.TOWNSHIP, Role.COUNTY, Role.PREFECTURE, Role.PROVINCE})


class AreaWriters(BasePermission):
    """Refuse every write by a role that takes no step in these procedures, with 403 (the services check again)."""

    message = PERMISSION_DENIED
    code = "permission_denied"

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return bool(request.user.is_superuser or request.user.role in AREA_WRITERS)


CASE_ID = _param("id", OpenApiTypes.INT, "申请 id", 3, location=OpenApiParameter.PATH)
PLAN_ID = _param("id", OpenApiTypes.INT, "减贫计划 id", 2, location=OpenApiParameter.PATH)
YEAR = _param("year", int, "年度", 2019)

CHECK_EXAMPLE = {
    "rule": "incidence",
    "label": "贫困发生率",
    "passed": True,
    "values": {"poor_persons": 6, "rural_population": 400, "rate": "1.50", "threshold": "2"},
    "explanation": "贫困发生率 1.50%（6 ÷ 400）< 退出标准 2.00%。",
}
STEP_EXAMPLE = {
    "id": 11,
    "action": "propose",
    "action_display": "乡镇提出出列",
    "from_status": None,
    "to_status": "proposed",
    "to_status_display": "乡镇提出",
    "actor": "township_daxi",
    "reason": "",
    "effective_date": "2019-10-08",
    "created_at": "2019-10-08T09:00:00+08:00",
}
VILLAGE_CASE_EXAMPLE = {
    "id": 3,
    "village": "431129203207",
    "village_name": "石枧村",
    "township": "431129203000",
    "township_name": "大锡乡",
    "county_code": "431129",
    "year": 2019,
    "status": "proposed",
    "status_display": "乡镇提出",
    "poor_persons": 6,
    "rural_population": 400,
    "incidence": "1.50",
    "region_class": "central_east",
    "region_class_display": "中部、东部",
    "threshold": "2.00",
    "checklist": [
        {"item": "hardened_road", "label": "通硬化路", "met": True, "evidence": "2018 年通村水泥路 4.2 公里竣工验收"}
    ],
    "check_results": [CHECK_EXAMPLE],
    "notice_ends_on": None,
    "status_reason": "",
    "approved_on": None,
    "version": 1,
    "created_at": "2019-10-08T09:00:00+08:00",
    "updated_at": "2019-10-08T09:00:00+08:00",
    "steps": [STEP_EXAMPLE],
}
VILLAGE_DETAIL_EXAMPLE = {**VILLAGE_CASE_EXAMPLE, "objections": []}
CHECKLIST_INPUT = {
    "hardened_road": {"met": True, "evidence": "2018 年通村水泥路 4.2 公里竣工验收"},
    "collective_income": {"met": True, "evidence": "村集体光伏电站年收入 5.6 万元"},
    "public_services": {"met": True, "evidence": "村卫生室、文化活动室已建成并验收"},
}
COUNTY_CASE_EXAMPLE = {
    "id": 2,
    "county": "431027000000",
    "county_name": "桂东县",
    "county_code": "431027",
    "year": 2017,
    "status": "evaluated",
    "status_display": "核查评估完成",
    "region_class": "central_east",
    "region_class_display": "中部、东部",
    "rural_population": 10000,
    "poor_persons": 2,
    "incidence": "0.02",
    "threshold": "2.00",
    "sample": {
        "seed": 2017,
        "households": 10,
        "villages": 2,
        "sampled_on": "2017-10-20",
        "frame": {"households": 10, "villages": 2, "algorithm": "python3 random.Random(seed).sample(frame, size)"},
    },
    "wrong_exit_rate": "0.00",
    "missed_rate": "2.00",
    "approval_rate": "90.00",
    "comprehensive_incidence": "0.32",
    "evaluation_passed": True,
    "evaluation_checks": [
        {
            "rule": "wrong_exit_rate",
            "label": "错退率",
            "passed": True,
            "values": {"numerator": 0, "denominator": 10, "rate": "0.00", "limit": "2"},
            "explanation": "错退率 0.00%（0 ÷ 10）≤ 上限 2.00%。",
        }
    ],
    "evaluation_counts": {"sampled_households": 10, "approving_households": 9, "missed_persons": 30},
    "notice_ends_on": None,
    "status_reason": "",
    "approved_on": None,
    "version": 4,
    "created_at": "2017-10-01T09:00:00+08:00",
    "updated_at": "2017-10-25T09:00:00+08:00",
    "steps": [{**STEP_EXAMPLE, "action": "apply", "action_display": "县级申请摘帽", "to_status": "applied"}],
}
SAMPLED_HOUSEHOLD_EXAMPLE = {
    "id": 7,
    "position": 1,
    "household": 5,
    "registry_number": "4310270010020003",
    "village": "431027001002",
    "village_name": "甲村",
    "persons": 1,
    "visited_on": "2017-10-22",
    "wrongly_exited": False,
    "approves": True,
    "note": "",
    "recorded_by": "province_hunan",
}
SAMPLED_VILLAGE_EXAMPLE = {
    "id": 4,
    "position": 1,
    "village": "431027001002",
    "village_name": "甲村",
    "rural_population": 512,
    "registered_persons": 12,
    "unregistered_population": 500,
    "visited_on": "2017-10-22",
    "missed_persons": 10,
    "note": "",
    "recorded_by": "province_hunan",
}
COUNTY_DETAIL_EXAMPLE = {
    **COUNTY_CASE_EXAMPLE,
    "sampled_households": [SAMPLED_HOUSEHOLD_EXAMPLE],
    "sampled_villages": [SAMPLED_VILLAGE_EXAMPLE],
    "objections": [],
}
PLAN_EXAMPLE = {
    "id": 2,
    "county": "431027000000",
    "county_name": "桂东县",
    "county_code": "431027",
    "year": 2017,
    "persons_to_exit": 12,
    "villages_to_exit": 1,
    "county_exits": True,
    "note": "时间倒逼、任务倒排",
    "created_by": "county_guidong",
    "created_at": "2017-02-01T09:00:00+08:00",
    "updated_at": "2017-02-01T09:00:00+08:00",
    "progress": {
        "persons_exited": 10,
        "households_exited": 10,
        "persons_percent": "83.3",
        "villages_exited": 1,
        "villages_percent": "100.0",
        "county_exit_year": None,
        "county_exited": False,
        "county_exit_done": False,
    },
}
UPDATED_SINCE = _param("updated_since", OpenApiTypes.DATETIME, "更新时间起（增量同步）", "2019-01-01T00:00:00+08:00")
VILLAGE_LIST_FILTERS = [
    _param("q", str, "搜索：村名（包含）或村代码（前缀）", "石枧"),
    _param("status", str, "状态（可多选）", "proposed", enum=VillageExitCaseStatus.values, many=True, explode=True),
    YEAR,
    UPDATED_SINCE,
    *PAGING,
]
COUNTY_LIST_FILTERS = [
    _param("q", str, "搜索：县名（包含）或县代码（前缀）", "桂东"),
    _param("status", str, "状态（可多选）", "verifying", enum=CountyExitCaseStatus.values, many=True, explode=True),
    YEAR,
    UPDATED_SINCE,
    *PAGING,
]
PLAN_LIST_FILTERS = [_param("q", str, "搜索：县名（包含）或县代码（前缀）", "桂东"), YEAR, UPDATED_SINCE, *PAGING]


def _detail_response(serializer_class, case, code=status.HTTP_200_OK) -> Response:
    return Response(serializer_class(case).data, code)


# Village exit ----------------------------------------------------------------------------------------


VILLAGE_TAG = ["village-exit-cases"]


@extend_schema_view(
    list=extend_schema(
        tags=VILLAGE_TAG,
        summary="List village exit cases (贫困村出列)",
        description="Cases in the caller's jurisdiction, latest year first, with their checks and steps.",
        parameters=VILLAGE_LIST_FILTERS,
        responses={200: s.VillageExitCaseSerializer(many=True), **LIST_ERRORS},
        examples=_ok(VILLAGE_CASE_EXAMPLE),
    ),
    retrieve=extend_schema(
        tags=VILLAGE_TAG,
        summary="One village exit case",
        parameters=[CASE_ID],
        responses={200: s.VillageExitCaseDetailSerializer, **READ_ERRORS},
        examples=_ok(VILLAGE_DETAIL_EXAMPLE),
    ),
    create=extend_schema(
        tags=VILLAGE_TAG,
        summary="Propose a village's exit (乡镇提出出列)",
        description=(
            "The village's poverty incidence, counted from the registry, must be below its region-class "
            "threshold and every checklist item met with evidence; refused with 409 `checks_failed` listing "
            "each failed check in `fields.checks`. Only a township official proposes (403 otherwise)."
        ),
        request=s.VillageExitProposeSerializer,
        responses={201: s.VillageExitCaseDetailSerializer, **CREATE_ERRORS},
        examples=[
            _request("Proposal", {"village": "431129203207", "year": 2019, "checklist": CHECKLIST_INPUT}),
            *_ok(VILLAGE_DETAIL_EXAMPLE, "Proposed"),
        ],
    ),
)
class VillageExitCaseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Village exit cases (贫困村出列) in the caller's jurisdiction."""

    serializer_class = s.VillageExitCaseSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, AreaWriters]
    parser_classes = [JSONParser]
    filterset_class = VillageExitCaseFilterSet

    def get_queryset(self):
        return village_exit_case_list(user=self.request.user)

    def get_object(self):
        return village_exit_case_get_for_user(user=self.request.user, case_id=_object_id(self.kwargs["pk"]))

    def _detail(self, case, code=status.HTTP_200_OK):
        case = village_exit_case_get_for_user(user=self.request.user, case_id=case.pk)
        return _detail_response(s.VillageExitCaseDetailSerializer, case, code)

    def retrieve(self, request, pk=None):
        return _detail_response(s.VillageExitCaseDetailSerializer, self.get_object())

    def create(self, request):
        data = _validated(s.VillageExitProposeSerializer, request)
        village = _reference(scope_queryset(Division.objects.all(), request.user), data["village"], "village")
        case = ax.village_exit_propose(
            actor=request.user,
            village=village,
            year=data["year"],
            checklist={k: dict(v) for k, v in data["checklist"].items()},
            on_date=data.get("on_date"),
        )
        return self._detail(case, status.HTTP_201_CREATED)

    @extend_schema(
        tags=VILLAGE_TAG,
        summary="Village exit steps the caller may take now",
        description="Status and role fit; four-eyes, the notice and pending objections are checked when applied.",
        parameters=[CASE_ID],
        responses={200: s.AvailableVillageExitStepSerializer(many=True), **READ_ERRORS},
        examples=_ok(
            [
                {
                    "action": "open_notice",
                    "label": "乡镇内公示",
                    "needs_reason": False,
                    "review": False,
                    "endpoint": "transitions/",
                }
            ]
        ),
    )
    @action(detail=True, methods=["get"], url_path="transitions", pagination_class=None)
    def transitions(self, request, pk=None):
        case = self.get_object()
        return Response(s.AvailableVillageExitStepSerializer(_available(case, request.user), many=True).data)

    @extend_schema(
        tags=VILLAGE_TAG,
        summary="Apply a village exit step",
        description=(
            "open_notice → close_notice → county_approve; the county may `county_return` or `reject` (with a "
            "reason), the township may `withdraw`. Approval counts the incidence again and marks the village "
            "exited with the year. 409 when out of order (`transition_not_allowed`), under four-eyes "
            "(`four_eyes`), before the notice ends (`notice_not_ended`), with a pending objection "
            "(`objection_pending`) or when the checks now fail (`checks_failed`); 403 for the wrong role."
        ),
        parameters=[CASE_ID],
        request=s.VillageExitTransitionSerializer,
        responses={200: s.VillageExitCaseDetailSerializer, **WRITE_ERRORS},
        examples=[
            _request("Open the notice", {"action": "open_notice", "on_date": "2019-10-09"}),
            _request("Return", {"action": "county_return", "reason": "集体经济收入佐证不足"}),
            *_ok(VILLAGE_DETAIL_EXAMPLE, "Moved"),
        ],
    )
    @transitions.mapping.post
    def transition_apply(self, request, pk=None):
        case = self.get_object()
        data = _validated(s.VillageExitTransitionSerializer, request)
        case = ax.village_exit_transition(actor=request.user, case=case, **data)
        return self._detail(case)

    @extend_schema(
        tags=VILLAGE_TAG,
        summary="Resubmit a returned village exit case",
        description="With an amended checklist; judged anew (409 `checks_failed`) and a new round of four-eyes begins.",
        parameters=[CASE_ID],
        request=s.VillageExitResubmitSerializer,
        responses={200: s.VillageExitCaseDetailSerializer, **WRITE_ERRORS},
        examples=[_request("Resubmit", {"checklist": CHECKLIST_INPUT}), *_ok(VILLAGE_DETAIL_EXAMPLE, "Resubmitted")],
    )
    @action(detail=True, methods=["post"], url_path="resubmit")
    def resubmit(self, request, pk=None):
        case = self.get_object()
        data = _validated(s.VillageExitResubmitSerializer, request)
        checklist = {k: dict(v) for k, v in data["checklist"].items()}
        case = ax.village_exit_resubmit(actor=request.user, case=case, checklist=checklist, on_date=data.get("on_date"))
        return self._detail(case)


#: The endpoint that applies each step a client may take (relative to the case).
ENDPOINTS = {"resubmit": "resubmit/", "draw_sample": "sample/", "evaluate": "evaluate/"}


def _available(case, user) -> list[dict]:
    return [
        {
            "action": step.action,
            "label": str(step.label),
            "needs_reason": step.needs_reason,
            "review": step.review,
            "endpoint": ENDPOINTS.get(step.action, "transitions/"),
        }
        for step in ax.available_steps(case, user)
    ]


# County exit -----------------------------------------------------------------------------------------


COUNTY_TAG = ["county-exit-cases"]


@extend_schema_view(
    list=extend_schema(
        tags=COUNTY_TAG,
        summary="List county exit cases (贫困县摘帽)",
        description="Cases in the caller's jurisdiction, latest year first, with the sample, rates and steps.",
        parameters=COUNTY_LIST_FILTERS,
        responses={200: s.CountyExitCaseSerializer(many=True), **LIST_ERRORS},
        examples=_ok(COUNTY_CASE_EXAMPLE),
    ),
    retrieve=extend_schema(
        tags=COUNTY_TAG,
        summary="One county exit case",
        description="With the sampled households and villages, their visits, and the objections to the notice.",
        parameters=[CASE_ID],
        responses={200: s.CountyExitCaseDetailSerializer, **READ_ERRORS},
        examples=_ok(COUNTY_DETAIL_EXAMPLE),
    ),
    create=extend_schema(
        tags=COUNTY_TAG,
        summary="Apply for a county's exit (县级申请摘帽)",
        description=(
            "Refused with 409 `checks_failed` when the county's incidence is not below its threshold, "
            "`conflict` when it is no poverty county, has exited or has a live case. County office only."
        ),
        request=s.CountyExitApplySerializer,
        responses={201: s.CountyExitCaseDetailSerializer, **CREATE_ERRORS},
        examples=[
            _request("Application", {"county": "431027000000", "year": 2017}),
            *_ok(COUNTY_DETAIL_EXAMPLE, "Applied"),
        ],
    ),
)
class CountyExitCaseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """County exit cases (贫困县摘帽) in the caller's jurisdiction."""

    serializer_class = s.CountyExitCaseSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, AreaWriters]
    parser_classes = [JSONParser]
    filterset_class = CountyExitCaseFilterSet

    def get_queryset(self):
        return county_exit_case_list(user=self.request.user)

    def get_object(self):
        return county_exit_case_get_for_user(user=self.request.user, case_id=_object_id(self.kwargs["pk"]))

    def _detail(self, case, code=status.HTTP_200_OK):
        case = county_exit_case_get_for_user(user=self.request.user, case_id=case.pk)
        return _detail_response(s.CountyExitCaseDetailSerializer, case, code)

    def retrieve(self, request, pk=None):
        return _detail_response(s.CountyExitCaseDetailSerializer, self.get_object())

    def create(self, request):
        data = _validated(s.CountyExitApplySerializer, request)
        county = _reference(scope_queryset(Division.objects.all(), request.user), data["county"], "county")
        case = ax.county_exit_apply(actor=request.user, county=county, year=data["year"], on_date=data.get("on_date"))
        return self._detail(case, status.HTTP_201_CREATED)

    @extend_schema(
        tags=COUNTY_TAG,
        summary="County exit steps the caller may take now",
        description="Each with the endpoint that applies it: `transitions/`, `resubmit/`, `sample/` or `evaluate/`.",
        parameters=[CASE_ID],
        responses={200: s.AvailableCountyExitStepSerializer(many=True), **READ_ERRORS},
        examples=_ok(
            [
                {
                    "action": "draw_sample",
                    "label": "省级核查：抽样",
                    "needs_reason": False,
                    "review": True,
                    "endpoint": "sample/",
                },
                {
                    "action": "reject",
                    "label": "不予摘帽",
                    "needs_reason": True,
                    "review": True,
                    "endpoint": "transitions/",
                },
            ]
        ),
    )
    @action(detail=True, methods=["get"], url_path="transitions", pagination_class=None)
    def transitions(self, request, pk=None):
        case = self.get_object()
        return Response(s.AvailableCountyExitStepSerializer(_available(case, request.user), many=True).data)

    @extend_schema(
        tags=COUNTY_TAG,
        summary="Apply a county exit step",
        description=(
            "prefecture_approve / prefecture_return (市级初审) → [sample/, visits, evaluate/] → open_notice → "
            "close_notice → province_approve; the province may `reject`, the county may `withdraw`. A vetoed "
            "evaluation refuses the notice and the approval with 409 `vetoed` naming each rate and its limit. "
            "The approver must not have drawn, visited or evaluated (409 `four_eyes`)."
        ),
        parameters=[CASE_ID],
        request=s.CountyExitTransitionSerializer,
        responses={200: s.CountyExitCaseDetailSerializer, **WRITE_ERRORS},
        examples=[
            _request("Prefecture review", {"action": "prefecture_approve"}),
            _request("Reject", {"action": "reject", "reason": "错退率超过 2%"}),
            *_ok(COUNTY_DETAIL_EXAMPLE, "Moved"),
        ],
    )
    @transitions.mapping.post
    def transition_apply(self, request, pk=None):
        case = self.get_object()
        data = _validated(s.CountyExitTransitionSerializer, request)
        case = ax.county_exit_transition(actor=request.user, case=case, **data)
        return self._detail(case)

    @extend_schema(
        tags=COUNTY_TAG,
        summary="Resubmit a returned application",
        description="The incidence is counted anew (409 `checks_failed`); a new round begins.",
        parameters=[CASE_ID],
        request=s.OnDateSerializer,
        responses={200: s.CountyExitCaseDetailSerializer, **WRITE_ERRORS},
        examples=[_request("Resubmit", {"on_date": "2017-10-05"}), *_ok(COUNTY_DETAIL_EXAMPLE, "Resubmitted")],
    )
    @action(detail=True, methods=["post"], url_path="resubmit")
    def resubmit(self, request, pk=None):
        case = self.get_object()
        data = _validated(s.OnDateSerializer, request)
        return self._detail(ax.county_exit_resubmit(actor=request.user, case=case, on_date=data.get("on_date")))

    @extend_schema(
        tags=COUNTY_TAG,
        summary="Draw the verification sample (省级核查抽样)",
        description=(
            "Draws exited households and villages of the county with the seed (random if none, stored either "
            "way): the same seed over the same frames gives the same sample. Province only; 400 when a size "
            "does not fit its frame."
        ),
        parameters=[CASE_ID],
        request=s.CountyExitSampleSerializer,
        responses={200: s.CountyExitCaseDetailSerializer, **WRITE_ERRORS},
        examples=[
            _request("Draw", {"households": 10, "villages": 2, "seed": 2017}),
            *_ok(COUNTY_DETAIL_EXAMPLE, "Drawn"),
        ],
    )
    @action(detail=True, methods=["post"], url_path="sample")
    def sample(self, request, pk=None):
        case = self.get_object()
        data = _validated(s.CountyExitSampleSerializer, request)
        case = ax.county_exit_draw_sample(
            actor=request.user,
            case=case,
            households=data["households"],
            villages=data["villages"],
            seed=data.get("seed"),
            on_date=data.get("on_date"),
        )
        return self._detail(case)

    @extend_schema(
        tags=COUNTY_TAG,
        summary="Record the visit to a sampled household (入户核查)",
        description="During the verification only (409 otherwise); may be recorded again until the evaluation.",
        parameters=[CASE_ID],
        request=s.HouseholdVisitSerializer,
        responses={200: s.SampledHouseholdSerializer, **WRITE_ERRORS},
        examples=[
            _request(
                "Visit", {"sampled_household": 7, "wrongly_exited": False, "approves": True, "visited_on": "2017-10-22"}
            ),
            *_ok(SAMPLED_HOUSEHOLD_EXAMPLE, "Recorded"),
        ],
    )
    @action(detail=True, methods=["post"], url_path="household-visits")
    def household_visits(self, request, pk=None):
        case = self.get_object()
        data = _validated(s.HouseholdVisitSerializer, request)
        row = _sampled(sampled_household_get, request.user, case, data.pop("sampled_household"), "sampled_household")
        ax.county_exit_record_household_visit(actor=request.user, sampled=row, **data)
        row = sampled_household_get(user=request.user, case=case, row_id=row.pk)
        return Response(s.SampledHouseholdSerializer(row).data)

    @extend_schema(
        tags=COUNTY_TAG,
        summary="Record the survey of a sampled village (漏评核查)",
        description="Persons found missed, at most the village's unregistered rural population (400 otherwise).",
        parameters=[CASE_ID],
        request=s.VillageVisitSerializer,
        responses={200: s.SampledVillageSerializer, **WRITE_ERRORS},
        examples=[
            _request("Survey", {"sampled_village": 4, "missed_persons": 10, "visited_on": "2017-10-22"}),
            *_ok(SAMPLED_VILLAGE_EXAMPLE, "Recorded"),
        ],
    )
    @action(detail=True, methods=["post"], url_path="village-visits")
    def village_visits(self, request, pk=None):
        case = self.get_object()
        data = _validated(s.VillageVisitSerializer, request)
        row = _sampled(sampled_village_get, request.user, case, data.pop("sampled_village"), "sampled_village")
        ax.county_exit_record_village_visit(actor=request.user, sampled=row, **data)
        row = sampled_village_get(user=request.user, case=case, row_id=row.pk)
        return Response(s.SampledVillageSerializer(row).data)

    @extend_schema(
        tags=COUNTY_TAG,
        summary="Evaluate: 错退率, 漏评率, 群众认可度 and the comprehensive incidence",
        description=(
            "Once every sampled unit is visited (409 `visits_incomplete` otherwise). The result, passed or "
            "vetoed, is stored with each check's values and explanation."
        ),
        parameters=[CASE_ID],
        request=s.OnDateSerializer,
        responses={200: s.CountyExitCaseDetailSerializer, **WRITE_ERRORS},
        examples=[_request("Evaluate", {}), *_ok(COUNTY_DETAIL_EXAMPLE, "Evaluated")],
    )
    @action(detail=True, methods=["post"], url_path="evaluate")
    def evaluate(self, request, pk=None):
        case = self.get_object()
        data = _validated(s.OnDateSerializer, request)
        return self._detail(ax.county_exit_evaluate(actor=request.user, case=case, on_date=data.get("on_date")))


def _sampled(getter, user, case, row_id, field):
    try:
        return getter(user=user, case=case, row_id=row_id)
    except Http404:
        raise ApplicationError(NOT_FOUND, code="invalid", fields={field: [str(NOT_FOUND)]}) from None


# Reduction plans ------------------------------------------------------------------------------------


PLAN_TAG = ["plans"]


@extend_schema_view(
    list=extend_schema(
        tags=PLAN_TAG,
        summary="List annual reduction plans (年度减贫计划)",
        description="Plans in the caller's jurisdiction with their progress, counted for each page at once.",
        parameters=PLAN_LIST_FILTERS,
        responses={200: s.ReductionPlanSerializer(many=True), **LIST_ERRORS},
        examples=_ok(PLAN_EXAMPLE),
    ),
    retrieve=extend_schema(
        tags=PLAN_TAG,
        summary="One reduction plan with its progress",
        parameters=[PLAN_ID],
        responses={200: s.ReductionPlanSerializer, **READ_ERRORS},
        examples=_ok(PLAN_EXAMPLE),
    ),
    create=extend_schema(
        tags=PLAN_TAG,
        summary="Enter a county's plan for a year",
        description="County office only (403 otherwise); one plan per county and year (409 `conflict`).",
        request=s.ReductionPlanCreateSerializer,
        responses={201: s.ReductionPlanSerializer, **CREATE_ERRORS},
        examples=[
            _request(
                "Plan",
                {
                    "county": "431027000000",
                    "year": 2017,
                    "persons_to_exit": 12,
                    "villages_to_exit": 1,
                    "county_exits": True,
                },
            ),
            *_ok(PLAN_EXAMPLE, "Entered"),
        ],
    ),
    partial_update=extend_schema(
        tags=PLAN_TAG,
        summary="Change a plan's targets or note",
        parameters=[PLAN_ID],
        request=s.ReductionPlanUpdateSerializer,
        responses={200: s.ReductionPlanSerializer, **WRITE_ERRORS, 409: CONFLICT},
        examples=[_request("Change", {"persons_to_exit": 15}), *_ok(PLAN_EXAMPLE, "Changed")],
    ),
)
class ReductionPlanViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Annual reduction plans per county and year, with progress."""

    serializer_class = s.ReductionPlanSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, AreaWriters]
    parser_classes = [JSONParser]
    filterset_class = ReductionPlanFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        queryset = plans.reduction_plan_list(user=self.request.user)
        return queryset.select_related("created_by").order_by("-year", "county_id")

    def get_object(self):
        return plans.reduction_plan_get_for_user(user=self.request.user, plan_id=_object_id(self.kwargs["pk"]))

    def _render(self, plan, code=status.HTTP_200_OK):
        plan = plans.reduction_plan_get_for_user(user=self.request.user, plan_id=plan.pk)
        return Response(s.ReductionPlanSerializer(plan, context={"progress": plan_progress_for([plan])}).data, code)

    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        context = {"progress": plan_progress_for(page)}
        return self.get_paginated_response(s.ReductionPlanSerializer(page, many=True, context=context).data)

    def retrieve(self, request, pk=None):
        return self._render(self.get_object())

    def create(self, request):
        data = _validated(s.ReductionPlanCreateSerializer, request)
        county = _reference(scope_queryset(Division.objects.all(), request.user), data.pop("county"), "county")
        plan = plans.reduction_plan_create(actor=request.user, county=county, **data)
        return self._render(plan, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        plan = self.get_object()
        data = _validated(s.ReductionPlanUpdateSerializer, request)
        plan = plans.reduction_plan_update(actor=request.user, plan=plan, **data)
        return self._render(plan)
