"""Household, member and objection endpoints (建档立卡); thin: validate, call a selector or service, render.

Reads come from :mod:`households.selectors` (scoped to the caller's jurisdiction); writes
go through the same services and workflow function as the pages, which check roles,
jurisdiction, four-eyes and every domain rule and raise ``ApplicationError`` — turned
into the one error format by the API's exception handler.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from households import selectors, services
from households.api import serializers as s
from households.choices import (
    Attribute,
    Cause,
    HouseholdStatus,
    IdentificationStep,
    MemberStatus,
)
from households.filtersets import (
    HouseholdFilterSet,
    MemberFilterSet,
    households_with_id_number,
    members_with_id_number,
)
from households.models import Member
from households.workflow import available_transitions, household_transition
from registry.api.errors import NOT_FOUND
from registry.api.permissions import TokenAllowsWrite
from registry.api.schema import FORBIDDEN, READ_ERRORS, UNAUTHORIZED
from registry.api.schema import NOT_FOUND_RESPONSE as NOT_FOUND_RESPONSE
from registry.api.schema import error_response as _error
from registry.api.schema import ok_example as _ok
from registry.api.schema import param as _param
from registry.api.schema import request_example as _request
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.scoping import scope_queryset
from villages.models import VillagerGroup
from villages.selectors import division_list, helper_list


class ReadOnlyRolesCannotWrite(BasePermission):
    """Refuse every write by a read-only role (prefecture, province, auditor, API client) with 403.

    A first gate so such a caller gets 403 whatever it sends; the services stay the
    authority on who may do what, with the same role set.
    """

    message = PERMISSION_DENIED
    code = "permission_denied"

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        user = request.user
        return bool(user.is_superuser or user.role in services.DATA_ENTRY_ROLES)


def _object_id(value) -> int:
    """Return a path id as an int, or 404 (``abc`` or an out-of-range number is not found)."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise Http404 from None
    if not 0 < pk <= s.MAX_ID:
        raise Http404
    return pk


def _reference(queryset, pk, field: str):
    """Return the object ``pk`` of a (scoped) queryset named by the body field ``field``, or a 400."""
    if pk is None:
        return None
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise ApplicationError(NOT_FOUND, code="invalid", fields={field: [str(NOT_FOUND)]})
    return obj


def _with_group(user, data: dict) -> dict:
    """Return household data with the villager-group id replaced by the group (scoped lookup)."""
    if "group" in data:
        data["group"] = _reference(scope_queryset(VillagerGroup.objects.all(), user), data["group"], "group")
    return data


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# Schema: parameters, examples and error responses --------------------------------------


BAD_FILTER = _error(
    "A filter value is not valid.",
    (
        "Bad filter",
        "invalid",
        "输入有误，请检查各字段。",
        {"status": ["选择一个有效的选项。 bogus 不在可用的选项中。"]},
    ),
)
BAD_INPUT = _error(
    "Bad input; ``fields`` holds the messages per field (members as ``members.<i>.<field>``).",
    (
        "Bad ID number",
        "invalid",
        "公民身份号码校验位错误，请核对。",
        {"members.0.id_number": ["公民身份号码校验位错误，请核对。"]},
    ),
    ("Missing field", "invalid", "输入有误，请检查各字段。", {"attribute": ["该字段是必填项。"]}),
)
CONFLICT = _error(
    "Refused by a rule of the registry: stale version, transition not allowed now, four-eyes, "
    "pending objection, notice not ended, exclusion hit, person already registered.",
    (
        "Stale version",
        "conflict",
        "该记录已被他人修改（当前版本 3，您打开时为版本 2）。请刷新后重新编辑。",
        None,
    ),
    (
        "Transition not allowed",
        "transition_not_allowed",
        "当前状态“申请 / 农户申请”下不能执行“县级审批并公告”。",
        None,
    ),
    ("Four eyes", "four_eyes", "四眼原则：前一环节的经办人不能办理后续审核环节。", None),
)
WRITE_ERRORS = {400: BAD_INPUT, **READ_ERRORS, 409: CONFLICT}
CREATE_ERRORS = {400: BAD_INPUT, 401: UNAUTHORIZED, 403: FORBIDDEN, 409: CONFLICT}


#: The most rows a search by ID number returns (a person is in one active household at a time).
ID_SEARCH_LIMIT = 50

HOUSEHOLD_ID = _param("id", OpenApiTypes.INT, "贫困户 id", 5, location=OpenApiParameter.PATH)
MEMBER_ID = _param("id", OpenApiTypes.INT, "家庭成员 id", 12, location=OpenApiParameter.PATH)
OBJECTION_ID = _param("id", OpenApiTypes.INT, "异议 id", 3, location=OpenApiParameter.PATH)


COMMON_FILTERS = [
    _param("within", str, "所属区划代码（含下级），12 位", "431129203000"),
    _param("updated_since", OpenApiTypes.DATETIME, "更新时间起（增量同步）", "2019-01-01T00:00:00+08:00"),
    _param("page_size", int, "每页条数（最多 500）", 50),
]
HOUSEHOLD_FILTERS = [
    _param(
        "q",
        str,
        "搜索：户主或成员姓名、户编号前缀。完整身份证号会被拒绝（400），请用 POST /api/v1/households/search/",
        "盘",
    ),
    _param("village", str, "村代码（12 位）", "431129203201"),
    _param("group", int, "村民小组 id", 1),
    _param("status", str, "状态（可多选）", "registered", enum=HouseholdStatus.values, many=True, explode=True),
    _param("step", str, "识别环节", "county_approval", enum=IdentificationStep.values),
    _param("attribute", str, "贫困户属性", "dibao", enum=Attribute.values),
    _param("cause", str, "主要致贫原因", "illness", enum=Cause.values),
    _param("year", int, "识别年度", 2016),
    *COMMON_FILTERS,
]
MEMBER_FILTERS = [
    _param("q", str, "搜索：姓名。完整身份证号会被拒绝（400），请用 POST /api/v1/members/search/", "盘"),
    _param("household", int, "贫困户 id", 1),
    _param("status", str, "成员状态", "active", enum=MemberStatus.values),
    _param(
        "household_status", str, "户状态（可多选）", "registered", enum=HouseholdStatus.values, many=True, explode=True
    ),
    *COMMON_FILTERS,
]

MEMBER_EXAMPLE = {
    "id": 12,
    "name": "盘小妹",
    "id_number": "4311**********0028",
    "sex": "2",
    "sex_display": "女",
    "birth_date": "2008-06-01",
    "ethnicity": "13",
    "ethnicity_display": "瑶族",
    "relationship": "daughter",
    "relationship_display": "女",
    "education": "junior",
    "education_display": "初中",
    "student_status": "junior",
    "student_status_display": "初中",
    "chronic_disease": False,
    "serious_illness": False,
    "disabled": False,
    "disability_certificate": "",
    "labour_ability": "",
    "labour_ability_display": "",
    "migrant_work": "none",
    "migrant_work_display": "未外出务工",
    "migrant_months": 0,
    "basic_medical_insurance": True,
    "serious_illness_insurance": False,
    "pension_insurance": False,
    "dibao_recipient": True,
    "tekun_recipient": False,
    "status": "active",
    "status_display": "在册",
    "status_date": None,
    "version": 1,
    "updated_at": "2019-03-02T09:30:00+08:00",
}
HEAD_EXAMPLE = {
    **MEMBER_EXAMPLE,
    "id": 11,
    "name": "盘金华",
    "id_number": "4311**********0015",
    "sex": "1",
    "sex_display": "男",
    "birth_date": "1975-03-12",
    "relationship": "head",
    "relationship_display": "户主",
    "education": "primary",
    "education_display": "小学",
    "student_status": "not_student",
    "student_status_display": "非在校生",
    "chronic_disease": True,
    "labour_ability": "weak",
    "labour_ability_display": "弱劳动力或半劳动力",
}
MEMBER_LIST_EXAMPLE = {
    "id": 12,
    "household": 5,
    "registry_number": "4311292032010005",
    "household_status": "registered",
    "household_status_display": "已识别（未脱贫）",
    "village": "431129203201",
    "village_name": "栗安村",
    "county_code": "431129",
    **{k: v for k, v in MEMBER_EXAMPLE.items() if k != "id"},
}
HOUSEHOLD_EXAMPLE = {
    "id": 5,
    "registry_number": "4311292032010005",
    "county_code": "431129",
    "village": "431129203201",
    "village_name": "栗安村",
    "township": "431129203000",
    "township_name": "大锡乡",
    "group": 3,
    "group_name": "第三村民小组",
    "identification_standard": "national",
    "identification_standard_display": "国家标准",
    "attribute": "dibao",
    "attribute_display": "低保贫困户",
    "main_cause": "illness",
    "main_cause_display": "因病",
    "other_causes": ["lack_skills"],
    "other_causes_display": ["缺技术"],
    "identified_year": 2019,
    "housing_area": "68.00",
    "housing_structure": "earth_wood",
    "housing_structure_display": "土木",
    "housing_grade": "C",
    "housing_grade_display": "C级（局部危房）",
    "housing_renovated": False,
    "drinking_water_safe": True,
    "electricity": True,
    "road_distance_km": "1.20",
    "cultivated_land_mu": "2.50",
    "forest_land_mu": "10.00",
    "relocated": False,
    "phone": "1387***5678",
    "helper": {"id": 2, "name": "李晓东", "unit": "江华瑶族自治县农业农村局", "title": "科员", "phone": "1397***4321"},
    "status": "registered",
    "status_display": "已识别（未脱贫）",
    "step": "announced",
    "step_display": "县级公告（已识别）",
    "status_reason": "",
    "status_date": "2019-03-20",
    "notice_ends_on": None,
    "head_name": "盘金华",
    "member_count": 2,
    "version": 8,
    "created_at": "2019-02-15T10:02:11+08:00",
    "updated_at": "2019-03-20T16:40:00+08:00",
    "members": [HEAD_EXAMPLE, MEMBER_EXAMPLE],
}
OBJECTION_EXAMPLE = {
    "id": 3,
    "household": 5,
    "step": "village_notice",
    "step_display": "村级公示",
    "objector": "匿名",
    "content": "该户有人在县城开店。",
    "raised_on": "2019-03-01",
    "recorded_by": "team_lian",
    "outcome": "dismissed",
    "outcome_display": "异议不成立",
    "resolved_by": "township_daxi",
    "resolved_at": "2019-03-04T11:00:00+08:00",
    "resolution": "经核实，店铺为他人所有。",
}
HOUSEHOLD_DETAIL_EXAMPLE = {
    **HOUSEHOLD_EXAMPLE,
    "history": [
        {
            "id": 40,
            "action": "county_approve",
            "action_display": "县级审批并公告",
            "from_status": "in_notice",
            "from_status_display": "公示",
            "to_status": "registered",
            "to_status_display": "已识别（未脱贫）",
            "from_step": "county_approval",
            "from_step_display": "县级审批",
            "to_step": "announced",
            "to_step_display": "县级公告（已识别）",
            "actor": "county_jianghua",
            "reason": "",
            "effective_date": "2019-03-20",
            "created_at": "2019-03-20T16:40:00+08:00",
        }
    ],
    "objections": [OBJECTION_EXAMPLE],
    "member_events": [
        {
            "id": 7,
            "member": 12,
            "member_name": "盘小妹",
            "kind": "birth",
            "kind_display": "出生",
            "event_date": "2008-06-01",
            "note": "",
        }
    ],
}


NEW_MEMBERS = [
    {
        "name": "盘金华",
        "id_number": "11010519491231002X",
        "relationship": "head",
        "ethnicity": "13",
        "education": "primary",
        "labour_ability": "weak",
        "chronic_disease": True,
    },
    {
        "name": "盘小妹",
        "id_number": "431129200806010028",
        "relationship": "daughter",
        "ethnicity": "13",
        "student_status": "junior",
        "dibao_recipient": True,
    },
]


# Households ----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=["households"],
        summary="List households (贫困户列表)",
        description="Households in the caller's jurisdiction, with their members; ID numbers and phones masked.",
        parameters=HOUSEHOLD_FILTERS,
        responses={200: s.HouseholdSerializer(many=True), 400: BAD_FILTER, 401: UNAUTHORIZED, 403: FORBIDDEN},
        examples=_ok(HOUSEHOLD_EXAMPLE),
    ),
    retrieve=extend_schema(
        tags=["households"],
        summary="One household (贫困户详情)",
        description="Members, status history, objections and membership events.",
        parameters=[HOUSEHOLD_ID],
        responses={200: s.HouseholdDetailSerializer, **READ_ERRORS},
        examples=_ok(HOUSEHOLD_DETAIL_EXAMPLE),
    ),
    create=extend_schema(
        tags=["households"],
        summary="Register an application (农户申请)",
        description=(
            "Household fields and all members (exactly one head). ID numbers are checked (GB 11643), "
            "against sex and birth date, and against every other current household; the exclusion "
            "checks run. Member errors are keyed `members.<i>.<field>`."
        ),
        request=s.HouseholdApplySerializer,
        responses={201: s.HouseholdDetailSerializer, **CREATE_ERRORS},
        examples=[
            _request(
                "Application",
                {
                    "village": "431129203201",
                    "group": 3,
                    "attribute": "dibao",
                    "main_cause": "illness",
                    "other_causes": ["lack_skills"],
                    "housing_area": "68.00",
                    "housing_structure": "earth_wood",
                    "housing_grade": "C",
                    "phone": "13873335678",
                    "on_date": "2019-02-15",
                    "members": NEW_MEMBERS,
                },
            ),
            *_ok(HOUSEHOLD_DETAIL_EXAMPLE, "Registered application"),
        ],
    ),
    partial_update=extend_schema(
        tags=["households"],
        summary="Edit a household's registration fields",
        description=(
            "Only the fields sent change; `version` is the one the client read and a stale one is "
            "refused with 409 `conflict`. Status changes only through transitions."
        ),
        parameters=[HOUSEHOLD_ID],
        request=s.HouseholdUpdateSerializer,
        responses={200: s.HouseholdDetailSerializer, **WRITE_ERRORS},
        examples=[
            _request("Change housing", {"version": 7, "housing_grade": "B", "housing_renovated": True}),
            *_ok(HOUSEHOLD_DETAIL_EXAMPLE, "Edited"),
        ],
    ),
)
class HouseholdViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Registered households (建档立卡贫困户) in the caller's jurisdiction."""

    filterset_class = HouseholdFilterSet
    serializer_class = s.HouseholdSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, ReadOnlyRolesCannotWrite]
    parser_classes = [JSONParser]

    def get_queryset(self):
        members = Prefetch("members", queryset=Member.objects.order_by("status", "id"))
        return selectors.household_list(user=self.request.user).prefetch_related(members)

    def get_object(self):
        return selectors.household_get_for_user(user=self.request.user, household_id=_object_id(self.kwargs["pk"]))

    def _detail(self, household, code=status.HTTP_200_OK) -> Response:
        household = selectors.household_get_for_user(user=self.request.user, household_id=household.pk)
        return Response(s.HouseholdDetailSerializer(household, context=self.get_serializer_context()).data, code)

    def retrieve(self, request, pk=None):
        return Response(s.HouseholdDetailSerializer(self.get_object(), context=self.get_serializer_context()).data)

    def create(self, request):
        data = _validated(s.HouseholdApplySerializer, request)
        village = _reference(division_list(user=request.user), data.pop("village"), "village")
        members = data.pop("members")
        on_date = data.pop("on_date", None)
        household = services.household_apply(
            actor=request.user,
            village=village,
            household=_with_group(request.user, data),
            members=members,
            on_date=on_date,
        )
        return self._detail(household, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        household = self.get_object()
        data = _validated(s.HouseholdUpdateSerializer, request)
        version = data.pop("version")
        household = services.household_update(
            actor=request.user, household=household, changes=_with_group(request.user, data), expected_version=version
        )
        return self._detail(household)

    @extend_schema(
        tags=["households"],
        summary="Workflow actions the caller may take now",
        description=(
            "The transitions whose status, step and role fit the caller. Four-eyes, notice periods "
            "and pending objections are checked when the action is applied."
        ),
        parameters=[HOUSEHOLD_ID],
        responses={200: s.AvailableTransitionSerializer(many=True), **READ_ERRORS},
        examples=_ok(
            [
                {
                    "action": "close_village_notice",
                    "label": "村级公示期满，报乡镇审核",
                    "needs_reason": False,
                    "reason_choices": [],
                    "review": False,
                    "opens_notice": False,
                    "closes_notice": True,
                },
                {
                    "action": "natural_decrease",
                    "label": "自然减少",
                    "needs_reason": True,
                    "reason_choices": [
                        {"value": "deceased", "label": "整户死亡"},
                        {"value": "moved_out", "label": "整户迁出"},
                        {"value": "merged", "label": "合户"},
                    ],
                    "review": False,
                    "opens_notice": False,
                    "closes_notice": False,
                },
            ]
        ),
    )
    @action(detail=True, methods=["get"], url_path="transitions", pagination_class=None, filterset_class=None)
    def transitions(self, request, pk=None):
        household = self.get_object()
        data = [s.transition_data(t) for t in available_transitions(household, request.user)]
        return Response(s.AvailableTransitionSerializer(data, many=True).data)

    @extend_schema(
        tags=["households"],
        summary="Apply a workflow action (流程操作)",
        description=(
            "Moves the household along the identification procedure (两公示一公告) or its lifecycle. "
            "Refused with 409 when the action does not fit the current status and step "
            "(`transition_not_allowed`), under four-eyes (`four_eyes`), before a notice ends "
            "(`notice_not_ended`), with a pending objection (`objection_pending`) or an exclusion "
            "hit (`exclusion`); with 403 when the caller's role may not take it."
        ),
        parameters=[HOUSEHOLD_ID],
        request=s.TransitionSerializer,
        responses={200: s.HouseholdDetailSerializer, **WRITE_ERRORS},
        examples=[
            _request("Appraise", {"action": "appraise", "on_date": "2019-02-20"}),
            _request("Reject", {"action": "township_reject", "reason": "家庭成员有财政供养人员"}),
            _request("Natural decrease", {"action": "natural_decrease", "reason": "deceased"}),
            *_ok(HOUSEHOLD_DETAIL_EXAMPLE, "Moved"),
        ],
    )
    @transitions.mapping.post
    def transition_apply(self, request, pk=None):
        household = self.get_object()
        data = _validated(s.TransitionSerializer, request)
        household = household_transition(actor=request.user, household=household, **data)
        return self._detail(household)

    @extend_schema(
        tags=["households"],
        summary="Add a member (出生、婚入、迁入)",
        parameters=[HOUSEHOLD_ID],
        request=s.MemberAddSerializer,
        responses={201: s.MemberListSerializer, **WRITE_ERRORS},
        examples=[
            _request(
                "Birth",
                {
                    "name": "盘小宝",
                    "id_number": "431129201901150013",
                    "relationship": "grandchild",
                    "ethnicity": "13",
                    "student_status": "preschool",
                    "kind": "birth",
                    "event_date": "2019-01-15",
                },
            ),
            *_ok(MEMBER_LIST_EXAMPLE, "Added"),
        ],
    )
    @action(detail=True, methods=["post"], url_path="members")
    def members(self, request, pk=None):
        household = self.get_object()
        data = _validated(s.MemberAddSerializer, request)
        kind, event_date, note = data.pop("kind"), data.pop("event_date"), data.pop("note", "")
        member = services.member_add(
            actor=request.user, household=household, data=data, kind=kind, event_date=event_date, note=note
        )
        member = selectors.member_get_for_user(user=request.user, member_id=member.pk)
        return Response(s.MemberListSerializer(member, context=self.get_serializer_context()).data, 201)

    @extend_schema(
        tags=["households"],
        summary="Record an objection during a notice (异议)",
        description="Only while the household is in a public notice; it blocks the next step until resolved.",
        parameters=[HOUSEHOLD_ID],
        request=s.ObjectionRaiseSerializer,
        responses={201: s.ObjectionSerializer, **WRITE_ERRORS},
        examples=[
            _request("Objection", {"objector": "匿名", "content": "该户有人在县城开店。", "raised_on": "2019-03-01"}),
            *_ok({**OBJECTION_EXAMPLE, "outcome": "pending", "outcome_display": "待处理", "resolved_by": None,
                  "resolved_at": None, "resolution": ""}, "Recorded"),
        ],
    )  # fmt: skip
    @action(detail=True, methods=["post"], url_path="objections")
    def objections(self, request, pk=None):
        household = self.get_object()
        data = _validated(s.ObjectionRaiseSerializer, request)
        objection = services.objection_raise(
            actor=request.user,
            household=household,
            objector=data.get("objector", ""),
            content=data["content"],
            raised_on=data.get("raised_on"),
        )
        objection = selectors.objection_get_for_user(user=request.user, objection_id=objection.pk)
        return Response(s.ObjectionSerializer(objection, context=self.get_serializer_context()).data, 201)

    @extend_schema(
        tags=["households"],
        summary="Find households by ID number (按身份证号检索)",
        description=(
            "The households in the caller's jurisdiction with a member (any status) holding this ID "
            "number. A POST, so that the number never appears in a URL, a browser history or an "
            "access log; `GET /api/v1/households/?q=<ID number>` is refused with 400. At most "
            f"{ID_SEARCH_LIMIT} households, masked like the list."
        ),
        request=s.IdNumberSearchSerializer,
        responses={200: s.HouseholdSearchResultSerializer, 400: BAD_INPUT, 401: UNAUTHORIZED},
        examples=[_request("By ID number", {"id_number": "11010519491231002X"})],
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="search",
        permission_classes=[IsAuthenticated],
        filterset_class=None,
        pagination_class=None,
    )
    def search(self, request):
        data = _validated(s.IdNumberSearchSerializer, request)
        households = households_with_id_number(self.get_queryset(), data["id_number"])[:ID_SEARCH_LIMIT]
        return Response({"results": self.get_serializer(households, many=True).data})

    @extend_schema(
        tags=["households"],
        summary="Pair a helper (结对帮扶责任人)",
        description="`helper` is a helper id in the caller's jurisdiction, or null to unpair.",
        parameters=[HOUSEHOLD_ID],
        request=s.HelperPairSerializer,
        responses={200: s.HouseholdDetailSerializer, **WRITE_ERRORS},
        examples=[
            _request("Pair", {"helper": 2}),
            _request("Unpair", {"helper": None}),
            *_ok(HOUSEHOLD_DETAIL_EXAMPLE),
        ],
    )
    @action(detail=True, methods=["put"], url_path="helper")
    def helper(self, request, pk=None):
        household = self.get_object()
        data = _validated(s.HelperPairSerializer, request)
        helper = _reference(helper_list(user=request.user), data["helper"], "helper")
        household = services.household_pair_helper(actor=request.user, household=household, helper=helper)
        return self._detail(household)


# Members -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=["members"],
        summary="List members (家庭成员列表)",
        description="Members of the households in the caller's jurisdiction; ID numbers masked.",
        parameters=MEMBER_FILTERS,
        responses={200: s.MemberListSerializer(many=True), 400: BAD_FILTER, 401: UNAUTHORIZED, 403: FORBIDDEN},
        examples=_ok(MEMBER_LIST_EXAMPLE),
    ),
    retrieve=extend_schema(
        tags=["members"],
        summary="One member",
        parameters=[MEMBER_ID],
        responses={200: s.MemberListSerializer, **READ_ERRORS},
        examples=_ok(MEMBER_LIST_EXAMPLE),
    ),
    partial_update=extend_schema(
        tags=["members"],
        summary="Edit a member's details",
        description=(
            "Only the fields sent change; `version` is the one the client read (stale: 409). The "
            "relationship changes only through member events (a leaving head names the new head)."
        ),
        parameters=[MEMBER_ID],
        request=s.MemberUpdateSerializer,
        responses={200: s.MemberListSerializer, **WRITE_ERRORS},
        examples=[
            _request("Change education", {"version": 1, "education": "senior", "student_status": "senior"}),
            *_ok(MEMBER_LIST_EXAMPLE, "Edited"),
        ],
    ),
)
class MemberViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Household members (家庭成员) in the caller's jurisdiction."""

    filterset_class = MemberFilterSet
    serializer_class = s.MemberListSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, ReadOnlyRolesCannotWrite]
    parser_classes = [JSONParser]

    def get_queryset(self):
        return selectors.member_list(user=self.request.user)

    def get_object(self):
        return selectors.member_get_for_user(user=self.request.user, member_id=_object_id(self.kwargs["pk"]))

    def _detail(self, member) -> Response:
        member = selectors.member_list(user=self.request.user).get(pk=member.pk)
        return Response(s.MemberListSerializer(member, context=self.get_serializer_context()).data)

    def retrieve(self, request, pk=None):
        return self._detail(self.get_object())

    def partial_update(self, request, pk=None):
        member = self.get_object()
        data = _validated(s.MemberUpdateSerializer, request)
        version = data.pop("version")
        member = services.member_update(actor=request.user, member=member, changes=data, expected_version=version)
        return self._detail(member)

    @extend_schema(
        tags=["members"],
        summary="Find members by ID number (按身份证号检索)",
        description=(
            "The members in the caller's jurisdiction holding this ID number (every household they "
            "were ever registered in). A POST, so that the number stays out of URLs and logs; "
            "`GET /api/v1/members/?q=<ID number>` is refused with 400."
        ),
        request=s.IdNumberSearchSerializer,
        responses={200: s.MemberSearchResultSerializer, 400: BAD_INPUT, 401: UNAUTHORIZED},
        examples=[_request("By ID number", {"id_number": "11010519491231002X"})],
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="search",
        permission_classes=[IsAuthenticated],
        filterset_class=None,
        pagination_class=None,
    )
    def search(self, request):
        data = _validated(s.IdNumberSearchSerializer, request)
        members = members_with_id_number(self.get_queryset(), data["id_number"]).order_by("pk")[:ID_SEARCH_LIMIT]
        return Response({"results": self.get_serializer(members, many=True).data})

    @extend_schema(
        tags=["members"],
        summary="A member leaves (死亡、婚出、迁出)",
        description="A leaving head must name `new_head`, another active member of the household.",
        parameters=[MEMBER_ID],
        request=s.MemberLeaveSerializer,
        responses={200: s.MemberListSerializer, **WRITE_ERRORS},
        examples=[
            _request("Death", {"kind": "death", "event_date": "2019-05-03", "note": "病故"}),
            _request("Head moves out", {"kind": "move_out", "event_date": "2019-05-03", "new_head": 12}),
            *_ok({**MEMBER_LIST_EXAMPLE, "status": "deceased", "status_display": "死亡", "status_date": "2019-05-03"}),
        ],
    )
    @action(detail=True, methods=["post"], url_path="leave")
    def leave(self, request, pk=None):
        member = self.get_object()
        data = _validated(s.MemberLeaveSerializer, request)
        new_head = _reference(selectors.member_list(user=request.user), data.pop("new_head", None), "new_head")
        member = services.member_leave(actor=request.user, member=member, new_head=new_head, **data)
        return self._detail(member)


# Objections ----------------------------------------------------------------------------


@extend_schema_view(
    retrieve=extend_schema(
        tags=["objections"],
        summary="One objection (异议)",
        parameters=[OBJECTION_ID],
        responses={200: s.ObjectionSerializer, **READ_ERRORS},
        examples=_ok(OBJECTION_EXAMPLE),
    ),
)
class ObjectionViewSet(viewsets.GenericViewSet):
    """Objections raised during public notices; raised through ``/households/{id}/objections/``."""

    serializer_class = s.ObjectionSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, ReadOnlyRolesCannotWrite]
    parser_classes = [JSONParser]
    pagination_class = None

    def get_object(self):
        return selectors.objection_get_for_user(user=self.request.user, objection_id=_object_id(self.kwargs["pk"]))

    def _detail(self, objection) -> Response:
        return Response(s.ObjectionSerializer(objection, context=self.get_serializer_context()).data)

    def retrieve(self, request, pk=None):
        return self._detail(self.get_object())

    @extend_schema(
        tags=["objections"],
        summary="Decide an objection",
        description=(
            "`upheld_return` sends the case back to appraisal, `upheld_reject` rejects it, `dismissed` "
            "lets it continue. The person who recorded the objection cannot decide it (409 `four_eyes`)."
        ),
        parameters=[OBJECTION_ID],
        request=s.ObjectionResolveSerializer,
        responses={200: s.ObjectionSerializer, **WRITE_ERRORS},
        examples=[
            _request("Dismiss", {"outcome": "dismissed", "resolution": "经核实，店铺为他人所有。"}),
            *_ok(OBJECTION_EXAMPLE, "Decided"),
        ],
    )
    @action(detail=True, methods=["post"], url_path="resolve")
    def resolve(self, request, pk=None):
        objection = self.get_object()
        data = _validated(s.ObjectionResolveSerializer, request)
        objection = services.objection_resolve(actor=request.user, objection=objection, **data)
        return self._detail(selectors.objection_get_for_user(user=request.user, objection_id=objection.pk))
