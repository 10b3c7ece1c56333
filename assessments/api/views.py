"""Assessment, help-measure, helper-visit and exit-case endpoints (年度核查、帮扶、脱贫退出).

Thin, like :mod:`households.api.views`: validate the input, call a selector or service,
render. Reads go through :mod:`assessments.selectors` or
:func:`registry.scoping.scope_queryset` (outside the jurisdiction is a 404); writes go
through the same services as the pages — :mod:`assessments.services` and
:mod:`assessments.exit_cases` — which check roles, jurisdiction, versions, the eligibility
rules, the order of the steps and four-eyes, and raise ``ApplicationError``, turned into
the one error format by the API's exception handler.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from assessments import selectors, services
from assessments.api import serializers as s
from assessments.certificates import NOT_CERTIFIED, certificate_issue
from assessments.choices import ExitCaseStatus, FiveBatches, MeasureCategory
from assessments.exit_cases import (
    STEPS,
    available_steps,
    exit_case_certify_batch,
    exit_case_propose,
    exit_case_transition,
    exit_objection_raise,
    exit_objection_resolve,
)
from assessments.filtersets import AssessmentFilterSet, ExitCaseFilterSet, HelperVisitFilterSet, HelpMeasureFilterSet
from assessments.models import ExitCaseStep, HelperVisit, HelpMeasure
from households.api.views import (
    BAD_FILTER,
    COMMON_FILTERS,
    FORBIDDEN,
    NOT_FOUND_RESPONSE,
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
from registry.api.errors import NOT_FOUND
from registry.api.permissions import TokenAllowsWrite
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.scoping import scope_queryset
from registry.workflow import check_not_future

ASSESSMENT_EXISTS = _("该户 %(year)s 年度已有核查记录，请修改该记录（PATCH /api/v1/assessments/{id}/）。")

# Schema: parameters, examples and error responses --------------------------------------


ASSESSMENT_ID = _param("id", OpenApiTypes.INT, "年度核查 id", 21, location=OpenApiParameter.PATH)
CASE_ID = _param("id", OpenApiTypes.INT, "退出申请 id", 9, location=OpenApiParameter.PATH)
EXIT_OBJECTION_ID = _param("id", OpenApiTypes.INT, "退出公示异议 id", 4, location=OpenApiParameter.PATH)

ROW_FILTERS = [
    _param(
        "q",
        str,
        "搜索：户主或成员姓名、户编号前缀。完整身份证号会被拒绝（400）：先用 POST /api/v1/households/search/ "
        "找到贫困户，再按 household 筛选",
        "盘",
    ),
    _param("village", str, "村代码（12 位）", "431129203201"),
    _param("household", int, "贫困户 id", 5),
]
ASSESSMENT_FILTERS = [*ROW_FILTERS, _param("year", int, "核查年度", 2018), *COMMON_FILTERS]
EXIT_CASE_FILTERS = [
    *ROW_FILTERS,
    _param("year", int, "退出年度", 2018),
    _param("status", str, "状态（可多选）", "township_reviewed", enum=ExitCaseStatus.values, many=True, explode=True),
    *COMMON_FILTERS,
]
PAGING = [p for p in COMMON_FILTERS if p.name != "updated_since"]
HELP_MEASURE_FILTERS = [
    *ROW_FILTERS,
    _param("category", str, "措施类别", "industry", enum=MeasureCategory.values),
    _param("five_batches", str, "五个一批", "production", enum=FiveBatches.values),
    _param("year", int, "措施日期所在年度", 2018),
    _param("updated_since", OpenApiTypes.DATETIME, "登记时间起（增量同步）", "2019-01-01T00:00:00+08:00"),
    *PAGING,
]
HELPER_VISIT_FILTERS = [
    *ROW_FILTERS,
    _param("helper", int, "帮扶责任人 id", 2),
    _param("year", int, "走访年度", 2018),
    *PAGING,
]

FAILED_RULE_EXAMPLE = "收入稳定超过扶贫标准：人均纯收入 3000.00 元，未超过 2018 年扶贫标准 3535 元（须高于标准）。"
LIST_ERRORS = {400: BAD_FILTER, 401: UNAUTHORIZED, 403: FORBIDDEN}
BAD_INPUT = _error(
    "Bad input; ``fields`` holds the messages per field (nested ones as ``transfers.<item>``).",
    ("Missing field", "invalid", "输入有误，请检查各字段。", {"year": ["该字段是必填项。"]}),
    ("Negative amount", "invalid", "金额不能为负数：工资性收入", {"wage_income": ["金额不能为负数：工资性收入"]}),
    ("Household out of scope", "invalid", "输入有误，请检查各字段。", {"household": [str(NOT_FOUND)]}),
    ("Date in the future", "invalid", "生效日期不能晚于今天。", {"on_date": ["生效日期不能晚于今天。"]}),
)
CONFLICT = _error(
    "Refused by a rule of the registry: the eligibility rules (`rules_failed`, each failed rule in "
    "`fields.rules`), a step out of order (`transition_not_allowed`), four-eyes (`four_eyes`), a notice "
    "not ended (`notice_not_ended`), a pending objection (`objection_pending`), a stale version or an "
    "existing record (`conflict`), an assessment a certified exit relies on (`locked`).",
    (
        "Rules failed",
        "rules_failed",
        f"不符合退出标准（1 项未达到）：{FAILED_RULE_EXAMPLE}",
        {"rules": [FAILED_RULE_EXAMPLE]},
    ),
    ("Step out of order", "transition_not_allowed", "当前状态“村提名 / 2018”下不能执行“乡镇审核通过”。", None),
    ("Four eyes", "four_eyes", "四眼原则：前一环节的经办人不能办理后续审核环节。", None),
    (
        "Stale version",
        "conflict",
        "该记录已被他人修改（当前版本 3，您打开时为版本 2）。请刷新后重新编辑。",
        None,
    ),
)
WRITE_ERRORS = {400: BAD_INPUT, **READ_ERRORS, 409: CONFLICT}
CREATE_ERRORS = {400: BAD_INPUT, 401: UNAUTHORIZED, 403: FORBIDDEN, 409: CONFLICT}
NOT_CERTIFIED_RESPONSE = _error(
    "The case is not certified (or its certificate was revoked).",
    ("Not certified", "not_certified", NOT_CERTIFIED, None),
)

ASSESSMENT_EXAMPLE = {
    "id": 21,
    "household": 5,
    "registry_number": "4311292032010005",
    "head_name": "盘金华",
    "village": "431129203201",
    "village_name": "栗安村",
    "county_code": "431129",
    "year": 2018,
    "assessed_on": "2018-11-01",
    "assessed_by": "team_lian",
    "household_size": 3,
    "wage_income": "12000.00",
    "operating_income": "3000.00",
    "operating_cost": "800.00",
    "property_income": "0.00",
    "transfers": {"dibao": "1200.00", "ecological": "300.00"},
    "transfers_display": {"dibao": "低保金", "ecological": "生态补偿金"},
    "transfer_income": "1500.00",
    "net_income": "15700.00",
    "per_capita_net_income": "5233.33",
    "food_secure": True,
    "clothing_secure": True,
    "water_litres_per_person_day": 60,
    "water_fetch_minutes": 10,
    "water_quality_safe": True,
    "education_exempt_members": [],
    "notes": "",
    "version": 1,
    "created_at": "2018-11-01T10:12:00+08:00",
    "updated_at": "2018-11-01T10:12:00+08:00",
}
ASSESSMENT_INPUT = {
    "assessed_on": "2018-11-01",
    "wage_income": "12000",
    "operating_income": "3000",
    "operating_cost": "800",
    "transfers": {"dibao": "1200", "ecological": "300"},
    "water_litres_per_person_day": 60,
    "water_fetch_minutes": 10,
}
HELP_MEASURE_EXAMPLE = {
    "id": 8,
    "household": 5,
    "registry_number": "4311292032010005",
    "village": "431129203201",
    "village_name": "栗安村",
    "county_code": "431129",
    "category": "industry",
    "category_display": "产业扶贫",
    "five_batches": "production",
    "five_batches_display": "发展生产脱贫一批",
    "measure_date": "2018-04-10",
    "amount": "2000.00",
    "fund_source": "财政专项扶贫资金",
    "responsible_unit": "县农业农村局",
    "description": "发放油茶苗 200 株",
    "recorded_by": "team_lian",
    "created_at": "2018-04-10T15:00:00+08:00",
}
HELPER_VISIT_EXAMPLE = {
    "id": 14,
    "household": 5,
    "registry_number": "4311292032010005",
    "village": "431129203201",
    "village_name": "栗安村",
    "county_code": "431129",
    "helper": {"id": 2, "name": "李晓东", "unit": "江华瑶族自治县农业农村局", "title": "科员", "phone": "1397***4321"},
    "visited_on": "2018-06-02",
    "note": "了解油茶长势，宣讲小额信贷政策。",
    "recorded_by": "team_lian",
}
RULE_RESULTS_EXAMPLE = [
    {
        "rule": "income",
        "label": "收入稳定超过扶贫标准",
        "passed": True,
        "values": {"per_capita_net_income": "5233.33", "poverty_line": "3535", "year": 2018},
        "explanation": "人均纯收入 5233.33 元，高于 2018 年扶贫标准 3535 元。",
    },
    {
        "rule": "housing",
        "label": "住房安全有保障",
        "passed": True,
        "values": {"housing_grade": "B", "renovated": False},
        "explanation": "住房安全等级 B 级。",
    },
]
EXIT_OBJECTION_EXAMPLE = {
    "id": 4,
    "case": 9,
    "objector": "匿名",
    "content": "该户工资收入未如实申报。",
    "raised_on": "2018-12-03",
    "recorded_by": "team_lian",
    "outcome": "dismissed",
    "outcome_display": "异议不成立",
    "resolved_by": "township_daxi",
    "resolved_at": "2018-12-05T10:00:00+08:00",
    "resolution": "经核实，收入申报属实。",
}
PENDING_OBJECTION_EXAMPLE = {
    **EXIT_OBJECTION_EXAMPLE,
    "outcome": "pending",
    "outcome_display": "待处理",
    "resolved_by": None,
    "resolved_at": None,
    "resolution": "",
}
EXIT_CASE_EXAMPLE = {
    "id": 9,
    "household": 5,
    "registry_number": "4311292032010005",
    "head_name": "盘金华",
    "village": "431129203201",
    "village_name": "栗安村",
    "township": "431129203000",
    "township_name": "大锡乡",
    "county_code": "431129",
    "year": 2018,
    "assessment": 21,
    "status": "township_reviewed",
    "status_display": "乡镇审核通过",
    "eligible": True,
    "rule_set_version": "2016.1",
    "rule_results": RULE_RESULTS_EXAMPLE,
    "figures": {
        "per_capita_net_income": "5233.33",
        "poverty_line": "3535.00",
        "net_income": "15700.00",
        "household_size": 3,
        "assessed_on": "2018-11-01",
        "assessment_version": 1,
    },
    "acknowledged_by": "盘金华",
    "notice_ends_on": None,
    "status_reason": "",
    "certified_on": None,
    "certificate_code": None,
    "revoked": False,
    "revoked_reason": "",
    "version": 7,
    "created_at": "2018-11-20T09:00:00+08:00",
    "updated_at": "2018-12-12T16:00:00+08:00",
    "steps": [
        {
            "id": 40,
            "action": "propose",
            "action_display": "村提名",
            "from_status": None,
            "from_status_display": None,
            "to_status": "proposed",
            "to_status_display": "村提名",
            "actor": "team_lian",
            "reason": "",
            "effective_date": "2018-11-20",
            "created_at": "2018-11-20T09:00:00+08:00",
        },
        {
            "id": 46,
            "action": "township_approve",
            "action_display": "乡镇审核通过",
            "from_status": "notice_ended",
            "from_status_display": "公示无异议，报乡镇审核",
            "to_status": "township_reviewed",
            "to_status_display": "乡镇审核通过",
            "actor": "township_daxi",
            "reason": "",
            "effective_date": "2018-12-12",
            "created_at": "2018-12-12T16:00:00+08:00",
        },
    ],
}
EXIT_CASE_DETAIL_EXAMPLE = {**EXIT_CASE_EXAMPLE, "objections": [EXIT_OBJECTION_EXAMPLE]}
CERTIFIED_EXAMPLE = {
    **EXIT_CASE_DETAIL_EXAMPLE,
    "status": "certified",
    "status_display": "县级审定，已脱贫",
    "certified_on": "2018-12-20",
    "certificate_code": "K7M2Q9XR4TBD",
    "version": 8,
}


def _cases_with_steps(queryset):
    """Return ``queryset`` with each case's steps (and their actors) in one more query."""
    steps = ExitCaseStep.objects.select_related("actor").order_by("id")
    return queryset.prefetch_related(Prefetch("steps", queryset=steps))


class PDFRenderer(BaseRenderer):
    """Lets a client ask for ``application/pdf``; the certificate view answers with the bytes itself."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


# Assessments ---------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=["assessments"],
        summary="List assessments (年度核查列表)",
        description="Assessments of the households in the caller's jurisdiction, latest year first.",
        parameters=ASSESSMENT_FILTERS,
        responses={200: s.AssessmentSerializer(many=True), **LIST_ERRORS},
        examples=_ok(ASSESSMENT_EXAMPLE),
    ),
    retrieve=extend_schema(
        tags=["assessments"],
        summary="One assessment",
        parameters=[ASSESSMENT_ID],
        responses={200: s.AssessmentSerializer, **READ_ERRORS},
        examples=_ok(ASSESSMENT_EXAMPLE),
    ),
    create=extend_schema(
        tags=["assessments"],
        summary="Record a household's reassessment for a year (年度核查)",
        description=(
            "Income by source and costs, transfers by item and the 两不愁 and drinking-water indicators. "
            "`transfer_income`, `net_income`, `household_size` and `per_capita_net_income` are computed "
            "(which transfer items count is a parameter). Refused with 409 `conflict` when the household "
            "already has one for the year (edit it with PATCH) or is not registered."
        ),
        request=s.AssessmentCreateSerializer,
        responses={201: s.AssessmentSerializer, **CREATE_ERRORS},
        examples=[
            _request("Assessment", {"household": 5, "year": 2018, **ASSESSMENT_INPUT}),
            *_ok(ASSESSMENT_EXAMPLE, "Recorded"),
        ],
    ),
    partial_update=extend_schema(
        tags=["assessments"],
        summary="Correct an assessment",
        description=(
            "Only the fields sent change (`transfers` is replaced whole); the figures are recomputed. "
            "`version` is the one the client read (stale: 409 `conflict`); an assessment a certified "
            "exit relies on cannot change (409 `locked`)."
        ),
        parameters=[ASSESSMENT_ID],
        request=s.AssessmentUpdateSerializer,
        responses={200: s.AssessmentSerializer, **WRITE_ERRORS},
        examples=[
            _request("Correct wages", {"version": 1, "wage_income": "13500"}),
            *_ok(
                {
                    **ASSESSMENT_EXAMPLE,
                    "wage_income": "13500.00",
                    "net_income": "17200.00",
                    "per_capita_net_income": "5733.33",
                    "version": 2,
                },
                "Corrected",
            ),
        ],
    ),
)
class AssessmentViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Annual reassessments (年度核查) of the households in the caller's jurisdiction."""

    filterset_class = AssessmentFilterSet
    serializer_class = s.AssessmentSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, ReadOnlyRolesCannotWrite]
    parser_classes = [JSONParser]

    def get_queryset(self):
        return selectors.assessment_list(user=self.request.user)

    def get_object(self):
        return selectors.assessment_get_for_user(user=self.request.user, assessment_id=_object_id(self.kwargs["pk"]))

    def _detail(self, assessment, code=status.HTTP_200_OK) -> Response:
        assessment = selectors.assessment_get_for_user(user=self.request.user, assessment_id=assessment.pk)
        return Response(s.AssessmentSerializer(assessment, context=self.get_serializer_context()).data, code)

    def retrieve(self, request, pk=None):
        return Response(s.AssessmentSerializer(self.get_object(), context=self.get_serializer_context()).data)

    def create(self, request):
        data = _validated(s.AssessmentCreateSerializer, request)
        household = _reference(household_list(user=request.user), data.pop("household"), "household")
        year = data.pop("year")
        if selectors.assessment_get(user=request.user, household=household, year=year) is not None:
            message = ASSESSMENT_EXISTS % {"year": year}
            raise ApplicationError(message, code="conflict", fields={"year": [message]}, status=409)
        # Version 0: "there was none when I looked" — a concurrent first record is a stale version.
        assessment = services.assessment_record(
            actor=request.user, household=household, year=year, data=data, expected_version=0
        )
        return self._detail(assessment, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        assessment = self.get_object()
        data = _validated(s.AssessmentUpdateSerializer, request)
        version = data.pop("version")
        assessment = services.assessment_record(
            actor=request.user,
            household=assessment.household,
            year=assessment.year,
            data=data,
            expected_version=version,
        )
        return self._detail(assessment)


# Help measures and helper visits -------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=["help-measures"],
        summary="List help measures (帮扶措施)",
        description="Help measures received by the households in the caller's jurisdiction, latest first.",
        parameters=HELP_MEASURE_FILTERS,
        responses={200: s.HelpMeasureSerializer(many=True), **LIST_ERRORS},
        examples=_ok(HELP_MEASURE_EXAMPLE),
    ),
    create=extend_schema(
        tags=["help-measures"],
        summary="Record a help measure",
        request=s.HelpMeasureCreateSerializer,
        responses={201: s.HelpMeasureSerializer, **CREATE_ERRORS},
        examples=[
            _request(
                "Industry",
                {
                    "household": 5,
                    "category": "industry",
                    "five_batches": "production",
                    "measure_date": "2018-04-10",
                    "amount": "2000",
                    "fund_source": "财政专项扶贫资金",
                    "responsible_unit": "县农业农村局",
                    "description": "发放油茶苗 200 株",
                },
            ),
            *_ok(HELP_MEASURE_EXAMPLE, "Recorded"),
        ],
    ),
)
class HelpMeasureViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Help measures (帮扶措施) of the households in the caller's jurisdiction."""

    filterset_class = HelpMeasureFilterSet
    serializer_class = s.HelpMeasureSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, ReadOnlyRolesCannotWrite]
    parser_classes = [JSONParser]

    def get_queryset(self):
        queryset = HelpMeasure.objects.select_related("household__village", "recorded_by")
        return scope_queryset(queryset, self.request.user).order_by("-measure_date", "-id")

    def create(self, request):
        data = _validated(s.HelpMeasureCreateSerializer, request)
        household = _reference(household_list(user=request.user), data.pop("household"), "household")
        measure = services.help_measure_add(actor=request.user, household=household, data=data)
        measure = self.get_queryset().get(pk=measure.pk)
        return Response(self.get_serializer(measure).data, status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        tags=["helper-visits"],
        summary="List helper visits (走访记录)",
        description="Visits to the households in the caller's jurisdiction, latest first; helpers' phones masked.",
        parameters=HELPER_VISIT_FILTERS,
        responses={200: s.HelperVisitSerializer(many=True), **LIST_ERRORS},
        examples=_ok(HELPER_VISIT_EXAMPLE),
    ),
    create=extend_schema(
        tags=["helper-visits"],
        summary="Record a visit by the household's paired helper",
        description="The helper recorded is the one paired with the household at the time (none if unpaired).",
        request=s.HelperVisitCreateSerializer,
        responses={201: s.HelperVisitSerializer, **CREATE_ERRORS},
        examples=[
            _request("Visit", {"household": 5, "visited_on": "2018-06-02", "note": "了解油茶长势，宣讲小额信贷政策。"}),
            *_ok(HELPER_VISIT_EXAMPLE, "Recorded"),
        ],
    ),
)
class HelperVisitViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Helper visits (走访记录) to the households in the caller's jurisdiction."""

    filterset_class = HelperVisitFilterSet
    serializer_class = s.HelperVisitSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, ReadOnlyRolesCannotWrite]
    parser_classes = [JSONParser]

    def get_queryset(self):
        queryset = HelperVisit.objects.select_related("household__village", "helper", "recorded_by")
        return scope_queryset(queryset, self.request.user).order_by("-visited_on", "-id")

    def create(self, request):
        data = _validated(s.HelperVisitCreateSerializer, request)
        household = _reference(household_list(user=request.user), data.pop("household"), "household")
        visit = services.helper_visit_add(actor=request.user, household=household, **data)
        visit = self.get_queryset().get(pk=visit.pk)
        return Response(self.get_serializer(visit).data, status.HTTP_201_CREATED)


# Exit cases ----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=["exit-cases"],
        summary="List exit cases (脱贫退出)",
        description=(
            "Exit cases in the caller's jurisdiction, latest year first, each with the rule results it "
            "was judged on, the key figures of its snapshot and its steps."
        ),
        parameters=EXIT_CASE_FILTERS,
        responses={200: s.ExitCaseSerializer(many=True), **LIST_ERRORS},
        examples=_ok(EXIT_CASE_EXAMPLE),
    ),
    retrieve=extend_schema(
        tags=["exit-cases"],
        summary="One exit case",
        description="Rule results, snapshot figures, steps and the objections raised during its notice.",
        parameters=[CASE_ID],
        responses={200: s.ExitCaseDetailSerializer, **READ_ERRORS},
        examples=_ok(EXIT_CASE_DETAIL_EXAMPLE),
    ),
    create=extend_schema(
        tags=["exit-cases"],
        summary="Propose a household's exit (村提名)",
        description=(
            "Judges the year's assessment with the eligibility rules (一收入两不愁三保障) and stores the "
            "result and a snapshot of the judged data with the case. Refused with 409 `rules_failed` "
            "listing each failed rule in `fields.rules`; only a village work team proposes."
        ),
        request=s.ExitCaseProposeSerializer,
        responses={201: s.ExitCaseDetailSerializer, **CREATE_ERRORS},
        examples=[
            _request("Proposal", {"household": 5, "year": 2018, "on_date": "2018-11-20"}),
            *_ok(
                {
                    **EXIT_CASE_DETAIL_EXAMPLE,
                    "status": "proposed",
                    "status_display": "村提名",
                    "acknowledged_by": "",
                    "steps": EXIT_CASE_EXAMPLE["steps"][:1],
                    "objections": [],
                    "version": 1,
                },
                "Proposed",
            ),
        ],
    ),
)
class ExitCaseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Household exit cases (脱贫退出) in the caller's jurisdiction."""

    filterset_class = ExitCaseFilterSet
    serializer_class = s.ExitCaseSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, ReadOnlyRolesCannotWrite]
    parser_classes = [JSONParser]

    def get_queryset(self):
        return _cases_with_steps(selectors.exit_case_list(user=self.request.user))

    def get_object(self):
        return selectors.exit_case_get_for_user(user=self.request.user, case_id=_object_id(self.kwargs["pk"]))

    def get_renderers(self):
        if self.action == "certificate":
            return [JSONRenderer(), PDFRenderer()]
        return super().get_renderers()

    def finalize_response(self, request, response, *args, **kwargs):
        # A refusal is JSON in the one error format, even to a client that asked only for the PDF.
        if isinstance(response, Response) and isinstance(getattr(request, "accepted_renderer", None), PDFRenderer):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def _detail(self, case, code=status.HTTP_200_OK) -> Response:
        case = selectors.exit_case_get_for_user(user=self.request.user, case_id=case.pk)
        return Response(s.ExitCaseDetailSerializer(case, context=self.get_serializer_context()).data, code)

    def retrieve(self, request, pk=None):
        return Response(s.ExitCaseDetailSerializer(self.get_object(), context=self.get_serializer_context()).data)

    def create(self, request):
        data = _validated(s.ExitCaseProposeSerializer, request)
        household = _reference(household_list(user=request.user), data["household"], "household")
        case = exit_case_propose(
            actor=request.user, household=household, year=data["year"], on_date=data.get("on_date")
        )
        return self._detail(case, status.HTTP_201_CREATED)

    @extend_schema(
        tags=["exit-cases"],
        summary="Exit steps the caller may take now",
        description=(
            "The steps whose status and role fit the caller. Four-eyes, notice periods and pending "
            "objections are checked when the step is applied."
        ),
        parameters=[CASE_ID],
        responses={200: s.AvailableExitStepSerializer(many=True), **READ_ERRORS},
        examples=_ok(
            [
                {
                    "action": "county_certify",
                    "label": "县级审定并公告退出",
                    "needs_reason": False,
                    "review": True,
                    "opens_notice": False,
                    "closes_notice": False,
                },
                {
                    "action": "county_return",
                    "label": "县级退回修改",
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
        case = self.get_object()
        data = [s.step_data(step) for step in available_steps(case, request.user)]
        return Response(s.AvailableExitStepSerializer(data, many=True).data)

    @extend_schema(
        tags=["exit-cases"],
        summary="Apply an exit step (退出流程操作)",
        description=(
            "propose → appraise → verify → acknowledge → open_notice → close_notice → township_approve → "
            "county_certify; township and county may return (`*_return`) or `reject`, the work team may "
            "`withdraw` or `resubmit` (judged anew). Refused with 409 when the step does not fit the status "
            "(`transition_not_allowed`), under four-eyes (`four_eyes`), before the notice ends "
            "(`notice_not_ended`), with a pending objection (`objection_pending`), when a resubmission fails "
            "the rules (`rules_failed`), or — at township review and county certification, which judge the data "
            "as it is now — when any input of the rules changed since the proposal (`data_changed`, each change "
            "named in `fields.changes`; return the case and resubmit it); with "
            "403 when the caller's role may not take it."
        ),
        parameters=[CASE_ID],
        request=s.ExitCaseTransitionSerializer,
        responses={200: s.ExitCaseDetailSerializer, **WRITE_ERRORS},
        examples=[
            _request("Appraise", {"action": "appraise", "on_date": "2018-11-25"}),
            _request("Acknowledge", {"action": "acknowledge", "reason": "盘金华"}),
            _request("Return", {"action": "county_return", "reason": "缺走访记录"}),
            *_ok(EXIT_CASE_DETAIL_EXAMPLE, "Moved"),
        ],
    )
    @transitions.mapping.post
    def transition_apply(self, request, pk=None):
        case = self.get_object()
        data = _validated(s.ExitCaseTransitionSerializer, request)
        case = exit_case_transition(actor=request.user, case=case, **data)
        return self._detail(case)

    @extend_schema(
        tags=["exit-cases"],
        summary="Certify a batch of cases (县级批量审定)",
        description=(
            "Each id is checked and certified on its own, exactly as one `county_certify` step; the answer "
            "lists every id sent, in order, as `certified`, `refused` (with the reason) or `not_found` "
            "(unknown or outside the caller's jurisdiction) — none is skipped. Only a county official "
            "certifies (403 otherwise)."
        ),
        request=s.CertifyBatchSerializer,
        responses={200: s.CertifyBatchResultSerializer, **CREATE_ERRORS},
        examples=[
            _request("Batch", {"ids": [9, 10, 404], "on_date": "2018-12-20"}),
            *_ok(
                {
                    "results": [
                        {
                            "id": 9,
                            "outcome": "certified",
                            "outcome_display": "已审定脱贫",
                            "status": "certified",
                            "status_display": "县级审定，已脱贫",
                            "certificate_code": "K7M2Q9XR4TBD",
                            "message": "",
                        },
                        {
                            "id": 10,
                            "outcome": "refused",
                            "outcome_display": "未审定（见原因）",
                            "status": "township_reviewed",
                            "status_display": "乡镇审核通过",
                            "certificate_code": None,
                            "message": "提出后以下信息已修改：住房安全等级 B级→D级（整栋危房）。请退回后重新提交。",
                        },
                        {
                            "id": 404,
                            "outcome": "not_found",
                            "outcome_display": "未找到，或不在您的管辖范围内",
                            "status": None,
                            "status_display": None,
                            "certificate_code": None,
                            "message": str(NOT_FOUND),
                        },
                    ],
                    "certified": 1,
                    "refused": 1,
                    "not_found": 1,
                }
            ),
        ],
    )
    @action(detail=False, methods=["post"], url_path="certify-batch", pagination_class=None, filterset_class=None)
    def certify_batch(self, request):
        user = request.user
        # The step table decides who certifies; a role that never may is refused as a whole,
        # before its request is read.
        if not (user.is_superuser or user.role in STEPS["county_certify"].roles):
            raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)
        data = _validated(s.CertifyBatchSerializer, request)
        on_date = data.get("on_date")
        if on_date is not None:
            check_not_future(on_date)
        ids = list(dict.fromkeys(data["ids"]))
        found = {case.pk: case for case in selectors.exit_case_list(user=user).filter(pk__in=ids)}
        outcome = exit_case_certify_batch(actor=user, cases=[found[i] for i in ids if i in found], on_date=on_date)
        by_id = {case.pk: (case, error) for case, error in outcome}
        results = [_batch_row(case_id, *by_id.get(case_id, (None, NOT_FOUND))) for case_id in ids]
        counts = {o: sum(r["outcome"] == o for r in results) for o in s.BatchOutcome.values}
        return Response(s.CertifyBatchResultSerializer({"results": results, **counts}).data)

    @extend_schema(
        tags=["exit-cases"],
        summary="Record an objection during the village notice (退出公示异议)",
        description="Only while the case is in its village notice; it blocks closing the notice until decided.",
        parameters=[CASE_ID],
        request=s.ExitObjectionRaiseSerializer,
        responses={201: s.ExitObjectionSerializer, **WRITE_ERRORS},
        examples=[
            _request("Objection", {k: EXIT_OBJECTION_EXAMPLE[k] for k in ("objector", "content", "raised_on")}),
            *_ok(PENDING_OBJECTION_EXAMPLE, "Recorded"),
        ],
    )
    @action(detail=True, methods=["post"], url_path="objections")
    def objections(self, request, pk=None):
        case = self.get_object()
        data = _validated(s.ExitObjectionRaiseSerializer, request)
        objection = exit_objection_raise(
            actor=request.user,
            case=case,
            objector=data.get("objector", ""),
            content=data["content"],
            raised_on=data.get("raised_on"),
        )
        objection = selectors.exit_objection_get_for_user(user=request.user, objection_id=objection.pk)
        return Response(s.ExitObjectionSerializer(objection, context=self.get_serializer_context()).data, 201)

    @extend_schema(
        tags=["exit-cases"],
        summary="Download the exit certificate (脱贫证明, PDF)",
        operation_id="v1_exit_cases_certificate_retrieve",
        description=(
            "The certificate of a certified case: a Chinese PDF with its verification code. Refused with "
            "409 `not_certified` (JSON, the one error format) before county certification."
        ),
        parameters=[CASE_ID],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The certificate (PDF)."),
            (401, "application/json"): UNAUTHORIZED,
            (403, "application/json"): FORBIDDEN,
            (404, "application/json"): NOT_FOUND_RESPONSE,
            (409, "application/json"): NOT_CERTIFIED_RESPONSE,
        },
    )
    def certificate(self, request, pk=None):
        """Routed as ``exit-cases/<id>/certificate.pdf`` (see ``urls.py``), without a trailing slash."""
        case = self.get_object()
        pdf = certificate_issue(actor=request.user, case=case)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"脱贫证明-{case.household.registry_number}-{case.year}.pdf"
        )
        response["Cache-Control"] = "private, no-store"
        return response


def _batch_row(case_id: int, case, error) -> dict:
    """Return one row of a batch certification's answer (``case`` None: not found in scope)."""
    if case is None:
        outcome = s.BatchOutcome.NOT_FOUND
    else:
        outcome = s.BatchOutcome.REFUSED if error else s.BatchOutcome.CERTIFIED
    return {
        "id": case_id,
        "outcome": outcome.value,
        "outcome_display": str(outcome.label),
        "status": case.status if case else None,
        "status_display": case.get_status_display() if case else None,
        "certificate_code": case.certificate_code if case else None,
        "message": str(error or ""),
    }


# Exit objections -----------------------------------------------------------------------


@extend_schema_view(
    retrieve=extend_schema(
        tags=["exit-objections"],
        summary="One exit objection (退出公示异议)",
        parameters=[EXIT_OBJECTION_ID],
        responses={200: s.ExitObjectionSerializer, **READ_ERRORS},
        examples=_ok(EXIT_OBJECTION_EXAMPLE),
    ),
)
class ExitObjectionViewSet(viewsets.GenericViewSet):
    """Objections raised during exit notices; raised through ``/exit-cases/{id}/objections/``."""

    serializer_class = s.ExitObjectionSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, ReadOnlyRolesCannotWrite]
    parser_classes = [JSONParser]
    pagination_class = None

    def get_object(self):
        return selectors.exit_objection_get_for_user(user=self.request.user, objection_id=_object_id(self.kwargs["pk"]))

    def _detail(self, objection) -> Response:
        return Response(s.ExitObjectionSerializer(objection, context=self.get_serializer_context()).data)

    def retrieve(self, request, pk=None):
        return self._detail(self.get_object())

    @extend_schema(
        tags=["exit-objections"],
        summary="Decide an exit objection",
        description=(
            "`upheld` returns the case for amendment (then resubmitted and judged anew); `dismissed` lets "
            "the notice close. Township or county only; the person who recorded it cannot decide it "
            "(409 `four_eyes`)."
        ),
        parameters=[EXIT_OBJECTION_ID],
        request=s.ExitObjectionResolveSerializer,
        responses={200: s.ExitObjectionSerializer, **WRITE_ERRORS},
        examples=[
            _request("Dismiss", {"outcome": "dismissed", "resolution": "经核实，收入申报属实。"}),
            _request("Uphold", {"outcome": "upheld", "resolution": "工资收入需重新核实。"}),
            *_ok(EXIT_OBJECTION_EXAMPLE, "Decided"),
        ],
    )
    @action(detail=True, methods=["post"], url_path="resolve")
    def resolve(self, request, pk=None):
        objection = self.get_object()
        data = _validated(s.ExitObjectionResolveSerializer, request)
        objection = exit_objection_resolve(
            actor=request.user,
            objection=objection,
            upheld=data["outcome"] == s.ExitObjectionDecision.UPHELD,
            resolution=data["resolution"],
        )
        return self._detail(selectors.exit_objection_get_for_user(user=request.user, objection_id=objection.pk))
