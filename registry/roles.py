"""Roles (角色) and what each may do.

The role decides *what* a user may do; the jurisdiction (see ``registry.scoping``)
decides *where*. Both are checked by services, never by views alone.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.levels import DivisionLevel


class Role(models.TextChoices):
    WORK_TEAM = "work_team", _("驻村工作队")
    TOWNSHIP = "township", _("乡镇审核员")
    COUNTY = "county", _("县扶贫办")
    PREFECTURE = "prefecture", _("市（州）扶贫办")
    PROVINCE = "province", _("省扶贫办")
    AUDITOR = "auditor", _("纪检审计")
    API_CLIENT = "api_client", _("接口客户端")
    ADMIN = "admin", _("系统管理员")


#: The division level a user of each role is bound to; ``None``: any level.
ROLE_DIVISION_LEVEL = {
    Role.WORK_TEAM: DivisionLevel.VILLAGE,
    Role.TOWNSHIP: DivisionLevel.TOWNSHIP,
    Role.COUNTY: DivisionLevel.COUNTY,
    Role.PREFECTURE: DivisionLevel.PREFECTURE,
    Role.PROVINCE: DivisionLevel.PROVINCE,
    Role.AUDITOR: None,
    Role.API_CLIENT: None,
    Role.ADMIN: None,
}


class Capability(models.TextChoices):
    """Things a role may do, checked by services through ``user_has_capability``."""

    MANAGE_WORK_TEAMS = "manage_work_teams", _("管理驻村工作队")
    MANAGE_HELPERS = "manage_helpers", _("管理帮扶责任人")
    MANAGE_POVERTY_STATUS = "manage_poverty_status", _("维护贫困县、贫困村状态")
    MANAGE_DIVISIONS = "manage_divisions", _("维护行政区划")
    MANAGE_USERS = "manage_users", _("管理用户")
    MANAGE_CROSSCHECK = "manage_crosscheck", _("导入部门比对名单")
    ENTER_HOUSEHOLDS = "enter_households", _("登记和维护贫困户信息")
    DECIDE_OBJECTIONS = "decide_objections", _("处理公示异议")
    READ_AUDIT = "read_audit", _("查看审计日志")
    RUN_QUALITY_CHECKS = "run_quality_checks", _("运行数据质量核查")
    ACCEPT_QUALITY_FINDINGS = "accept_quality_findings", _("认可数据质量问题（核实无误）")
    VIEW_PII = "view_pii", _("查看完整身份证号和电话（须说明理由，逐次记录）")


#: ``VIEW_PII`` (SPEC §9): the work team, township and county meet the people and check
#: their documents when registering and reviewing them, so they may reveal a full number
#: (with a reason, logged); prefecture and province read aggregates and do without. An
#: auditor reads the access log and masked records; an inquiry that needs a full number
#: goes through the county. API clients get full numbers only from a token granted the
#: personal-data scope (see ``user_can_see_pii``).
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.WORK_TEAM: frozenset(
        {Capability.MANAGE_HELPERS, Capability.ENTER_HOUSEHOLDS, Capability.RUN_QUALITY_CHECKS, Capability.VIEW_PII}
    ),
    Role.TOWNSHIP: frozenset(
        {
            Capability.MANAGE_HELPERS,
            Capability.ENTER_HOUSEHOLDS,
            Capability.DECIDE_OBJECTIONS,
            Capability.RUN_QUALITY_CHECKS,
            Capability.ACCEPT_QUALITY_FINDINGS,
            Capability.VIEW_PII,
        }
    ),
    Role.COUNTY: frozenset(
        {
            Capability.MANAGE_WORK_TEAMS,
            Capability.MANAGE_HELPERS,
            Capability.MANAGE_POVERTY_STATUS,
            Capability.MANAGE_DIVISIONS,
            Capability.MANAGE_CROSSCHECK,
            Capability.ENTER_HOUSEHOLDS,
            Capability.DECIDE_OBJECTIONS,
            Capability.RUN_QUALITY_CHECKS,
            Capability.ACCEPT_QUALITY_FINDINGS,
            Capability.VIEW_PII,
        }
    ),
    Role.PREFECTURE: frozenset(),
    Role.PROVINCE: frozenset({Capability.MANAGE_POVERTY_STATUS}),
    Role.AUDITOR: frozenset({Capability.READ_AUDIT}),
    Role.API_CLIENT: frozenset(),
    Role.ADMIN: frozenset(Capability.values),
}


def roles_with(capability: str) -> frozenset[str]:
    """Return the roles whose capabilities include ``capability``."""
    return frozenset(role for role, capabilities in ROLE_CAPABILITIES.items() if capability in capabilities)


def user_has_capability(user, capability: str) -> bool:
    """Return whether an active user's role grants ``capability``."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    return capability in ROLE_CAPABILITIES.get(user.role, frozenset())


def user_can_see_pii(user) -> bool:
    """Return whether an API response to ``user`` shows full ID numbers and phone numbers.

    Only a request made with a token granted the personal-data scope does (each response
    that disclosed them is written to the personal-data access log); every other API
    response shows them masked (4311**********123X). Pages and page exports reveal them
    only on an explicit request with a reason, to a role with ``Capability.VIEW_PII``.
    """
    token = getattr(user, "_api_token", None)
    return bool(token is not None and token.can_see_pii and user.is_active)
