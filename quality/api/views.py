"""Data-quality endpoints: findings (list, one, accept) and the rule catalogue.

Thin: reads through :mod:`quality.selectors` (scoped to the caller's jurisdiction), the
accept action through :func:`quality.services.finding_accept`, the same service the page
and the admin call.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from households.api.views import (
    BAD_FILTER,
    FORBIDDEN,
    READ_ERRORS,
    UNAUTHORIZED,
    WRITE_ERRORS,
    _object_id,
    _ok,
    _param,
    _request,
    _validated,
)
from quality import selectors, services
from quality.api import serializers as s
from quality.choices import FindingStatus, Severity
from quality.filtersets import FindingFilterSet
from quality.rules import RULES
from registry.api.permissions import TokenAllowsWrite
from registry.errors import PERMISSION_DENIED
from registry.roles import Capability, user_has_capability

FINDING_ID = _param("id", OpenApiTypes.INT, "数据质量问题 id", 17, location=OpenApiParameter.PATH)
FINDING_FILTERS = [
    _param("rule", str, "核查规则代码", "id_check_digit", enum=list(RULES)),
    _param("status", str, "状态", "open", enum=FindingStatus.values),
    _param("severity", str, "严重程度", "error", enum=Severity.values),
    _param("within", str, "所属区划代码（含下级），12 位", "431129203000"),
    _param("household", int, "贫困户 id", 5),
    _param("page_size", int, "每页条数（最多 500）", 50),
]
FINDING_EXAMPLE = {
    "id": 17,
    "rule": "id_check_digit",
    "rule_title": "身份证号校验位错误",
    "severity": "error",
    "household": 5,
    "registry_number": "4311292032010005",
    "member": 12,
    "member_name": "盘小妹",
    "county_code": "431129",
    "division_code": "431129203201",
    "values": {"name": "盘小妹", "id_number": "4311**********0021", "expected": "8"},
    "explanation": "盘小妹 的公民身份号码“4311**********0021”校验位错误，按前 17 位应为 8。",
    "status": "open",
    "status_display": "待整改",
    "first_found_at": "2019-03-02T01:00:00+08:00",
    "last_checked_at": "2019-03-09T01:00:00+08:00",
    "fixed_at": None,
    "accepted_by": None,
    "accepted_reason": "",
    "accepted_at": None,
}
ACCEPTED_EXAMPLE = {
    **FINDING_EXAMPLE,
    "rule": "cause_illness_all_healthy",
    "rule_title": "因病致贫但无人患病",
    "severity": "warning",
    "member": None,
    "member_name": None,
    "values": {"registry_number": "4311292032010005"},
    "explanation": "户 4311292032010005 主要致贫原因为因病，但在册成员无人患长期慢性病或大病。",
    "status": "accepted",
    "status_display": "已核实认可",
    "accepted_by": "township_daxi",
    "accepted_reason": "户主 2018 年病故，医疗欠债仍是主要负担，经乡镇核实。",
    "accepted_at": "2019-03-10T10:00:00+08:00",
}


class MayAcceptFindings(BasePermission):
    """Refuse an accept by a role that may not accept findings with 403, before the lookup."""

    message = PERMISSION_DENIED
    code = "permission_denied"

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return user_has_capability(request.user, Capability.ACCEPT_QUALITY_FINDINGS)


@extend_schema_view(
    list=extend_schema(
        tags=["quality"],
        summary="List data-quality findings (数据质量问题)",
        description=(
            "Findings of the data-quality rules in the caller's jurisdiction, oldest first; ID numbers in "
            "`values` and `explanation` masked unless the token may see personal data."
        ),
        parameters=FINDING_FILTERS,
        responses={200: s.FindingSerializer(many=True), 400: BAD_FILTER, 401: UNAUTHORIZED, 403: FORBIDDEN},
        examples=_ok(FINDING_EXAMPLE),
    ),
    retrieve=extend_schema(
        tags=["quality"],
        summary="One data-quality finding",
        parameters=[FINDING_ID],
        responses={200: s.FindingSerializer, **READ_ERRORS},
        examples=_ok(FINDING_EXAMPLE),
    ),
)
class FindingViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Data-quality findings (数据质量问题) in the caller's jurisdiction."""

    filterset_class = FindingFilterSet
    serializer_class = s.FindingSerializer
    permission_classes = [IsAuthenticated, TokenAllowsWrite, MayAcceptFindings]
    parser_classes = [JSONParser]

    def get_queryset(self):
        return selectors.finding_list(user=self.request.user)

    def get_object(self):
        return selectors.finding_get_for_user(user=self.request.user, finding_id=_object_id(self.kwargs["pk"]))

    def _detail(self, finding) -> Response:
        return Response(s.FindingSerializer(finding, context=self.get_serializer_context()).data)

    def retrieve(self, request, pk=None):
        return self._detail(self.get_object())

    @extend_schema(
        tags=["quality"],
        summary="Accept a finding as checked and true (核实认可)",
        description=(
            "Township and county officials (and administrators) may accept an open finding after checking "
            "it, with a reason. It stays accepted while the defect remains and becomes fixed when a later "
            "run no longer finds it. A finding that is not open is refused with 409 `conflict`."
        ),
        parameters=[FINDING_ID],
        request=s.AcceptSerializer,
        responses={200: s.FindingSerializer, **WRITE_ERRORS},
        examples=[
            _request("Accept", {"reason": "户主 2018 年病故，医疗欠债仍是主要负担，经乡镇核实。"}),
            *_ok(ACCEPTED_EXAMPLE, "Accepted"),
        ],
    )
    @action(detail=True, methods=["post"], url_path="accept")
    def accept(self, request, pk=None):
        finding = self.get_object()
        data = _validated(s.AcceptSerializer, request)
        finding = services.finding_accept(actor=request.user, finding=finding, reason=data["reason"])
        return self._detail(selectors.finding_get_for_user(user=request.user, finding_id=finding.pk))


class RuleListView(APIView):
    """The catalogue of data-quality rules (核查规则)."""

    permission_classes = [IsAuthenticated, TokenAllowsWrite]

    @extend_schema(
        tags=["quality"],
        summary="The data-quality rules (核查规则目录)",
        description="Every rule the runs apply, with its stable code, Chinese title and explanation and severity.",
        responses={200: s.RuleSerializer(many=True), 401: UNAUTHORIZED, 403: FORBIDDEN},
        examples=_ok(
            [
                {
                    "code": "id_check_digit",
                    "title": "身份证号校验位错误",
                    "explanation": "第 18 位是按 ISO 7064 MOD 11-2 由前 17 位算出的校验位，不符说明号码抄错。",
                    "severity": "error",
                    "severity_display": "错误",
                    "subject": "member",
                }
            ]
        ),
    )
    def get(self, request):
        return Response(s.RuleSerializer(list(RULES.values()), many=True).data)
