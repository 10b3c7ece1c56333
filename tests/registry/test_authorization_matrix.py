"""The authorization matrix (权限矩阵): every role × every page and API endpoint × an object
inside and outside the jurisdiction, with the answer each must get — and no 500 anywhere.

How to read it
--------------
``PAGES``, ``API`` and ``ADMIN`` map every URL name the resolver knows to a :class:`Door`:
the URL to try (``{placeholders}`` are objects of the one object graph built in 江华县, see
:func:`build_graph`) and, per HTTP method, the roles that may pass. Each role asks as a user
over 栗安村 and as one elsewhere (邵阳县, 菏泽, 山东; ``@outside``); the API is asked by
personal token and by session for every role, and by machine tokens (read-only, write, and
one narrowed to 邵阳县). An object is *outside* when the asker's scope (the token's, for a
token) does not cover the object's division, so a work team is outside a county's exit
case. Everyone gets the answer :func:`expected` derives:

* anonymous: ``LOGIN`` (a redirect to the login page; 401 on the API), unless the door is
  ``public``;
* a role not listed for the method: ``FORBIDDEN`` (403);
* a user whose jurisdiction does not hold the object: ``NOT_FOUND`` (404, as for an object
  that does not exist). Pages look the object up first (so a refused role also gets 404
  outside); the API's first gate checks the role of a write first (403 inside and outside,
  a read-only token too). Neither answer tells whether the object exists;
* otherwise ``ALLOW``: the request went through the door. The bodies sent are empty, so
  "through" may also be a form shown again, a 400 or a 409: the service's own refusals are
  tested beside each service, this matrix tests the doors.

Every refused attempt must leave the audit log unchanged, every request runs in a savepoint
that is rolled back (so one attempt cannot change the next), and a 200 answered to a user
outside the jurisdiction must not name 栗安村 or the household's registry number.

Decisions recorded here: a job (import, export, check) and its file are its creator's alone, others get 404; the logout
sends everyone to the login page; the public verification of a certificate needs no login;
finding a household to flag for monitoring and seeing its flags is a read; the admin asks a
non-staff user (an API client) to log in, and answers an object outside the jurisdiction
with its "does not exist" redirect to the index; staff see the users of their jurisdiction.

Adding a route
--------------
Add one line to ``PAGES`` or ``API`` (the key is the URL name, ``namespace:name``)::

    "quality:findings": page("/quality/", get=READERS),
    "api:finding-detail": api("/api/v1/quality/findings/{finding}/", get=READERS, patch=only(Role.COUNTY)),

Role groups (``READERS``, ``DATA_ENTRY``, ``only(...)``) come from ``registry.roles``; a new
object placeholder is one more key in :func:`build_graph`. A route without an entry fails
``test_every_route_has_an_entry`` with its name, and so does a viewset method the entry
does not try. The admin's own URLs (``admin/…``) are covered by representative entries in
``ADMIN``; the slow API test asks as everyone, ``test_api_fast`` as a few.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, timedelta
from string import Formatter

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.permissions import SAFE_METHODS
from rest_framework.test import APIClient

from assessments.area_exits import COUNTY_STEPS, VILLAGE_STEPS
from assessments.area_exits import COUNTY_WORKFLOW as COUNTY_EXIT
from assessments.area_exits import VILLAGE as VILLAGE_EXIT
from assessments.exit_cases import STEPS as EXIT_STEPS
from assessments.monitoring import STEPS as MONITORING_STEPS
from demo.loader import JIANGHUA, LIAN, SHAOYANG_COUNTY, SHETIAN
from registry.models import ApiToken, AuditEntry, User
from registry.roles import Capability, Role, roles_with

# Answers ------------------------------------------------------------------------------------------

ALLOW = "ALLOW"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
LOGIN = "LOGIN"
ERROR = "ERROR"

# Who may do what --------------------------------------------------------------------------------


def only(*roles: str) -> frozenset[str]:
    """Return ``roles`` and the system administrator, who may do everything."""
    return frozenset({*roles, Role.ADMIN})


#: Every role reads what lies inside its jurisdiction.
READERS = frozenset(Role.values)
#: Register households and members, record assessments, raise objections (驻村工作队, 乡镇, 县).
DATA_ENTRY = roles_with(Capability.ENTER_HOUSEHOLDS)
OBJECTION_DECIDERS = roles_with(Capability.DECIDE_OBJECTIONS)
HELPER_MANAGERS = roles_with(Capability.MANAGE_HELPERS)
AUDITORS = roles_with(Capability.READ_AUDIT)
#: Roles that take a step in village and county exits (the API's first gate).
AREA_WRITERS = only(Role.TOWNSHIP, Role.COUNTY, Role.PREFECTURE, Role.PROVINCE)


def step(steps: dict, action: str) -> frozenset[str]:
    """Return the roles that take ``action`` in a workflow's table of steps (and the administrator)."""
    return only(*steps[action].roles)


def recorders(workflow) -> frozenset[str]:
    """Return the roles that record objections raised during an area exit's notice."""
    return only(*workflow.objection_recorders)


METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Door:
    """One route: the URL to try and, per method, the roles that may pass."""

    kind: str  # "page", "api" or "admin"
    url: str
    roles: dict[str, frozenset[str]]
    public: bool = False
    #: The one subject (by key) besides the administrator who may reach the object, all
    #: others answering 404 (a job is its creator's alone).
    owner: str | None = None
    #: The answer everyone gets, whoever they are (a logout sends everyone to the login page).
    always: str | None = None
    #: API writes: the roles the view's first gate lets on to the object lookup, when wider
    #: than those the service then allows (those between get 404 outside, 403 inside).
    gate: frozenset[str] | None = None
    #: A read sent as POST (a search by ID number): read-only tokens may use it.
    read: bool = False
    note: str = ""

    @property
    def objects(self) -> list[str]:
        """Return the placeholders of the URL: the objects the door is about."""
        return [name for _text, name, _spec, _conv in Formatter().parse(self.url) if name]


def _door(kind: str, url: str, *, public=False, owner=None, always=None, gate=None, read=False, note="", **roles):
    unknown = set(roles) - set(METHODS)
    assert not unknown, unknown
    return Door(
        kind=kind, url=url, roles=roles, public=public, owner=owner, always=always, gate=gate, read=read, note=note
    )


def page(url: str, **kwargs) -> Door:
    return _door("page", url, **kwargs)


def api(url: str, **kwargs) -> Door:
    return _door("api", url, **kwargs)


def admin(url: str, **kwargs) -> Door:
    return _door("admin", url, **kwargs)


# The pages -------------------------------------------------------------------------------------

H = "/households/{household}"
A = "/assessments"

PAGES: dict[str, Door] = {
    "home": page("/", get=READERS),
    "login": page("/login/", get=READERS, public=True, note="a signed-in user is sent home"),
    "logout": page("/logout/", post=READERS, always=LOGIN, note="to the login page, signed in or not"),
    "set_language": page("/i18n/setlang/", post=READERS, public=True),
    "villages:division_index": page("/divisions/", get=READERS),
    "villages:division_detail": page("/divisions/{village}/", get=READERS),
    "households:list": page("/households/", get=READERS),
    "households:create": page("/households/new/", get=DATA_ENTRY, post=DATA_ENTRY),
    "households:detail": page(H + "/", get=READERS),
    "households:edit": page(H + "/edit/", get=DATA_ENTRY, post=DATA_ENTRY),
    "households:reveal": page(H + "/reveal/", post=roles_with(Capability.VIEW_PII)),
    "households:access_log": page("/households/access-log/", get=AUDITORS),
    "households:transition": page(H + "/transition/appraise/", post=DATA_ENTRY),
    "households:objection_raise": page("/households/{notice_household}/objections/", post=DATA_ENTRY),
    "households:objection_resolve": page(
        "/households/{notice_household}/objections/{objection}/resolve/", post=OBJECTION_DECIDERS
    ),
    "households:helper_pair": page(H + "/helper/", post=HELPER_MANAGERS),
    "households:member_add": page(H + "/members/new/", get=DATA_ENTRY, post=DATA_ENTRY),
    "households:member_edit": page(H + "/members/{member}/edit/", get=DATA_ENTRY, post=DATA_ENTRY),
    "households:member_leave": page(H + "/members/{member}/leave/", get=DATA_ENTRY, post=DATA_ENTRY),
    "household_transfer:import": page("/households/import/", get=DATA_ENTRY, post=DATA_ENTRY),
    "household_transfer:template": page("/households/import/template.csv", get=READERS),
    "household_transfer:job": page("/households/jobs/{job}/", get=READERS, owner="work_team"),
    "household_transfer:confirm": page("/households/jobs/{job}/confirm/", post=DATA_ENTRY, owner="work_team"),
    "household_transfer:export": page("/households/export.csv", get=READERS),
    "assessments:index": page(A + "/", get=READERS),
    "assessments:campaign": page(A + "/campaign/2018/", get=READERS),
    "assessments:campaign_village": page(A + "/campaign/2018/{village}/", get=READERS),
    "assessments:household": page(A + "/households/{household}/", get=READERS),
    "assessments:assessment": page(A + "/households/{household}/2018/", get=READERS, post=DATA_ENTRY),
    "assessments:propose": page(A + "/households/{household}/2018/propose/", post=only(Role.WORK_TEAM)),
    "assessments:exit_cases": page(A + "/cases/", get=READERS),
    "assessments:exit_case": page(A + "/cases/{exit_case}/", get=READERS),
    "assessments:exit_case_step": page(
        A + "/cases/{exit_case}/steps/close_notice/", post=step(EXIT_STEPS, "close_notice")
    ),
    "assessments:objection_raise": page(A + "/cases/{exit_case}/objections/", post=DATA_ENTRY),
    "assessments:objection_resolve": page(
        A + "/cases/{exit_case}/objections/{exit_objection}/resolve/", post=only(Role.TOWNSHIP, Role.COUNTY)
    ),
    "assessments:certificate": page(A + "/cases/{certified_case}/certificate/", get=READERS),
    "assessments:queue": page(A + "/queue/", get=READERS, post=only(Role.COUNTY)),
    "assessments:village_exits": page(A + "/village-exits/", get=READERS),
    "assessments:village_exit_choose": page(A + "/village-exits/propose/", get=READERS),
    "assessments:village_exit_propose": page(
        A + "/village-exits/propose/{poverty_village}/", get=only(Role.TOWNSHIP), post=only(Role.TOWNSHIP)
    ),
    "assessments:village_exit": page(A + "/village-exits/{village_case}/", get=READERS),
    "assessments:village_exit_step": page(
        A + "/village-exits/{village_case}/steps/close_notice/", post=step(VILLAGE_STEPS, "close_notice")
    ),
    "assessments:village_exit_resubmit": page(
        A + "/village-exits/{village_case}/resubmit/", post=step(VILLAGE_STEPS, "resubmit")
    ),
    "assessments:village_exit_objection_raise": page(
        A + "/village-exits/{village_case}/objections/", post=recorders(VILLAGE_EXIT)
    ),
    "assessments:village_exit_objection_resolve": page(
        A + "/village-exits/{village_case}/objections/{village_objection}/resolve/",
        post=only(*VILLAGE_EXIT.objection_deciders),
    ),
    "assessments:county_exits": page(A + "/county-exits/", get=READERS),
    "assessments:county_exit_apply": page(A + "/county-exits/apply/", post=only(Role.COUNTY)),
    "assessments:county_exit": page(A + "/county-exits/{county_case}/", get=READERS),
    "assessments:county_exit_step": page(
        A + "/county-exits/{county_case}/steps/open_notice/", post=step(COUNTY_STEPS, "open_notice")
    ),
    "assessments:county_exit_resubmit": page(
        A + "/county-exits/{county_case}/resubmit/", post=step(COUNTY_STEPS, "resubmit")
    ),
    "assessments:county_exit_sample": page(A + "/county-exits/{county_case}/sample/", post=only(Role.PROVINCE)),
    "assessments:county_exit_evaluate": page(
        A + "/county-exits/{county_case}/evaluate/", post=step(COUNTY_STEPS, "evaluate")
    ),
    "assessments:county_exit_household_visit": page(
        A + "/county-exits/{county_case}/households/{sampled_household}/visit/", post=only(Role.PROVINCE)
    ),
    "assessments:county_exit_village_visit": page(
        A + "/county-exits/{county_case}/villages/{sampled_village}/visit/", post=only(Role.PROVINCE)
    ),
    "assessments:county_exit_objection_raise": page(
        A + "/county-exits/{county_case}/objections/", post=recorders(COUNTY_EXIT)
    ),
    "assessments:county_exit_objection_resolve": page(
        A + "/county-exits/{county_case}/objections/{county_objection}/resolve/",
        post=only(*COUNTY_EXIT.objection_deciders),
    ),
    "assessments:plans": page(A + "/plans/", get=READERS),
    "assessments:plan": page(A + "/plans/{county}/2019/", get=READERS, post=only(Role.COUNTY)),
    "assessments:monitoring_flags": page(A + "/monitoring/", get=READERS),
    "assessments:monitoring_flag": page(A + "/monitoring/{flag}/", get=READERS),
    "assessments:monitoring_flag_step": page(
        A + "/monitoring/{flag}/steps/appraise/", post=step(MONITORING_STEPS, "appraise")
    ),
    "assessments:monitoring_flag_return": page(A + "/monitoring/{flag}/return-to-poverty/", post=only(Role.COUNTY)),
    # Finding a household and showing its flags is a read; only raising one is the work team's.
    "assessments:monitoring_raise_choose": page(A + "/monitoring/raise/", get=READERS),
    "assessments:monitoring_raise": page(
        A + "/monitoring/raise/{exited_household}/", get=READERS, post=only(Role.WORK_TEAM)
    ),
    "quality:index": page("/quality/", get=READERS),
    "quality:division": page("/quality/{village}/", get=READERS),
    "quality:run": page("/quality/{village}/run/", post=roles_with(Capability.RUN_QUALITY_CHECKS)),
    "quality:job": page("/quality/jobs/{quality_job}/", get=READERS, owner="work_team"),
    "quality:accept": page("/quality/findings/{finding}/accept/", post=roles_with(Capability.ACCEPT_QUALITY_FINDINGS)),
    "jobs:list": page("/jobs/", get=READERS, note="everyone's own jobs"),
    "jobs:detail": page("/jobs/{job}/", get=READERS, owner="work_team"),
    "jobs:download": page("/jobs/{export_job}/download/", get=READERS, owner="work_team"),
    "dashboards:home": page("/dashboard/", get=READERS),
    "dashboards:division": page("/dashboard/{village}/", get=READERS),
    # Any reader may make a report of what it reads; an empty form is sent back with its errors.
    "dashboards:report": page("/dashboard/{village}/report/", post=READERS),
    "audit:log": page("/audit/", get=AUDITORS),
    "audit:object": page("/audit/object/{household_type}/{household}/", get=AUDITORS),
    "audit:user": page("/audit/user/{audit_user}/", get=AUDITORS),
    "verify": page("/verify/", get=READERS, public=True),
    "verify_code": page("/verify/{certificate_code}/", get=READERS, public=True, note="public by design"),
}

# The API ---------------------------------------------------------------------------------------

V = "/api/v1"

API: dict[str, Door] = {
    "api:token": api(V + "/auth/token/", post=READERS, public=True, note="an empty body: 400, no password tried"),
    "api:changes": api(V + "/changes/", get=READERS),
    "api:export-households-ndjson": api(V + "/export/households.ndjson", get=READERS),
    "api:export-households-csv": api(V + "/export/households.csv", get=READERS),
    "api:division-list": api(V + "/divisions/", get=READERS),
    "api:division-detail": api(V + "/divisions/{village}/", get=READERS),
    "api:county-list": api(V + "/counties/", get=READERS),
    "api:county-detail": api(V + "/counties/{county}/", get=READERS),
    "api:village-list": api(V + "/villages/", get=READERS),
    "api:village-detail": api(V + "/villages/{village}/", get=READERS),
    "api:work-team-list": api(V + "/work-teams/", get=READERS),
    "api:work-team-detail": api(V + "/work-teams/{team}/", get=READERS),
    "api:household-list": api(V + "/households/", get=READERS, post=DATA_ENTRY),
    "api:household-detail": api(V + "/households/{household}/", get=READERS, patch=DATA_ENTRY),
    "api:household-helper": api(V + "/households/{household}/helper/", put=DATA_ENTRY),
    "api:household-members": api(V + "/households/{household}/members/", post=DATA_ENTRY),
    "api:household-objections": api(V + "/households/{notice_household}/objections/", post=DATA_ENTRY),
    "api:household-transitions": api(V + "/households/{household}/transitions/", get=READERS, post=DATA_ENTRY),
    # Searching by ID number is a read sent as POST, so the number never travels in a URL.
    "api:household-search": api(V + "/households/search/", post=READERS, read=True),
    "api:member-search": api(V + "/members/search/", post=READERS, read=True),
    "api:member-list": api(V + "/members/", get=READERS),
    "api:member-detail": api(V + "/members/{member}/", get=READERS, patch=DATA_ENTRY),
    "api:member-leave": api(V + "/members/{member}/leave/", post=DATA_ENTRY),
    "api:objection-detail": api(V + "/objections/{objection}/", get=READERS),
    "api:objection-resolve": api(V + "/objections/{objection}/resolve/", post=DATA_ENTRY),
    "api:exit-case-certificate": api(V + "/exit-cases/{certified_case}/certificate.pdf", get=READERS),
    "api:assessment-list": api(V + "/assessments/", get=READERS, post=DATA_ENTRY),
    "api:assessment-detail": api(V + "/assessments/{assessment}/", get=READERS, patch=DATA_ENTRY),
    "api:help-measure-list": api(V + "/help-measures/", get=READERS, post=DATA_ENTRY),
    "api:helper-visit-list": api(V + "/helper-visits/", get=READERS, post=DATA_ENTRY),
    "api:exit-case-list": api(V + "/exit-cases/", get=READERS, post=DATA_ENTRY),
    "api:exit-case-certify-batch": api(V + "/exit-cases/certify-batch/", post=step(EXIT_STEPS, "county_certify")),
    "api:exit-case-detail": api(V + "/exit-cases/{exit_case}/", get=READERS),
    "api:exit-case-objections": api(V + "/exit-cases/{exit_case}/objections/", post=DATA_ENTRY),
    "api:exit-case-transitions": api(V + "/exit-cases/{exit_case}/transitions/", get=READERS, post=DATA_ENTRY),
    "api:exit-objection-detail": api(V + "/exit-objections/{exit_objection}/", get=READERS),
    "api:exit-objection-resolve": api(V + "/exit-objections/{exit_objection}/resolve/", post=DATA_ENTRY),
    "api:village-exit-case-list": api(V + "/village-exit-cases/", get=READERS, post=AREA_WRITERS),
    "api:village-exit-case-detail": api(V + "/village-exit-cases/{village_case}/", get=READERS),
    "api:village-exit-case-resubmit": api(V + "/village-exit-cases/{village_case}/resubmit/", post=AREA_WRITERS),
    "api:village-exit-case-transitions": api(
        V + "/village-exit-cases/{village_case}/transitions/", get=READERS, post=AREA_WRITERS
    ),
    "api:county-exit-case-list": api(V + "/county-exit-cases/", get=READERS, post=AREA_WRITERS),
    "api:county-exit-case-detail": api(V + "/county-exit-cases/{county_case}/", get=READERS),
    # An empty body is a valid request here: past the first gate, the service's role check answers.
    "api:county-exit-case-evaluate": api(
        V + "/county-exit-cases/{county_case}/evaluate/", post=step(COUNTY_STEPS, "evaluate"), gate=AREA_WRITERS
    ),
    "api:county-exit-case-household-visits": api(
        V + "/county-exit-cases/{county_case}/household-visits/", post=AREA_WRITERS
    ),
    "api:county-exit-case-resubmit": api(V + "/county-exit-cases/{county_case}/resubmit/", post=AREA_WRITERS),
    "api:county-exit-case-sample": api(V + "/county-exit-cases/{county_case}/sample/", post=AREA_WRITERS),
    "api:county-exit-case-transitions": api(
        V + "/county-exit-cases/{county_case}/transitions/", get=READERS, post=AREA_WRITERS
    ),
    "api:county-exit-case-village-visits": api(
        V + "/county-exit-cases/{county_case}/village-visits/", post=AREA_WRITERS
    ),
    "api:reduction-plan-list": api(V + "/plans/", get=READERS, post=AREA_WRITERS),
    "api:reduction-plan-detail": api(V + "/plans/{plan}/", get=READERS, patch=only(Role.COUNTY), gate=AREA_WRITERS),
    "api:monitoring-flag-list": api(V + "/monitoring-flags/", get=READERS, post=DATA_ENTRY),
    "api:monitoring-flag-detail": api(V + "/monitoring-flags/{flag}/", get=READERS),
    "api:monitoring-flag-return-to-poverty": api(V + "/monitoring-flags/{flag}/return-to-poverty/", post=DATA_ENTRY),
    "api:monitoring-flag-transitions": api(V + "/monitoring-flags/{flag}/transitions/", get=READERS, post=DATA_ENTRY),
    "api:quality-rules": api(V + "/quality/rules/", get=READERS),
    "api:quality-finding-list": api(V + "/quality/findings/", get=READERS),
    "api:quality-finding-detail": api(V + "/quality/findings/{finding}/", get=READERS),
    "api:quality-finding-accept": api(
        V + "/quality/findings/{finding}/accept/", post=roles_with(Capability.ACCEPT_QUALITY_FINDINGS)
    ),
    "api:statistics": api(V + "/statistics/{village}/", get=READERS),
    "schema": api("/api/schema/", get=READERS, public=True),
    "api-docs": api("/api/docs/", get=READERS, public=True),
}

# The admin: representative entries (every admin route shares the one admin site's gate) ---------

#: The admin shows its pages to staff; an API client is no staff (the admin asks it to log in).
STAFF = READERS - {Role.API_CLIENT}
VIEW_ON_SITE = "admin/r/<int:content_type_id>/<path:object_id>/"

ADMIN: dict[str, Door] = {
    "admin:index": admin("/admin/", get=STAFF),
    "admin:households_household_changelist": admin("/admin/households/household/", get=STAFF),
    "admin:households_household_change": admin("/admin/households/household/{household}/change/", get=STAFF),
    "admin:registry_auditentry_changelist": admin("/admin/registry/auditentry/", get=roles_with(Capability.READ_AUDIT)),
    "admin:registry_user_changelist": admin("/admin/registry/user/", get=STAFF, note="the users of the jurisdiction"),
    "admin:registry_user_change": admin("/admin/registry/user/{team_user}/change/", get=STAFF),
    VIEW_ON_SITE: admin("/admin/r/{household_type}/{household}/", get=STAFF),
}

#: Routes the matrix leaves to representative entries: the admin's own URLs.
REPRESENTED_BY_ADMIN = ("admin/",)


# Who asks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Someone knocking: a role, inside or outside the object graph's jurisdiction, by some means."""

    key: str
    role: str | None  # None: anonymous
    username: str | None = None
    outside: bool = False
    auth: str = "session"  # "session", "token" or "none"
    token_write: bool = True
    token_division: str | None = None

    def __str__(self) -> str:
        return self.key


#: Per role: the user inside (over 栗安村) and the one outside it (demo users where they exist).
INSIDE = {
    Role.WORK_TEAM: "team_lian",
    Role.TOWNSHIP: "township_daxi",
    Role.COUNTY: "county_jianghua",
    Role.PREFECTURE: "prefecture_yongzhou",
    Role.PROVINCE: "province_hunan",
    Role.AUDITOR: "auditor_hunan",
    Role.API_CLIENT: "api_hunan",
    Role.ADMIN: "admin",
}
SHANDONG = "370000000000"
OUTSIDE = {
    Role.WORK_TEAM: ("team_shetian", SHETIAN),
    Role.TOWNSHIP: ("township_jinchengshi", "430523104000"),
    Role.COUNTY: ("county_shaoyang", SHAOYANG_COUNTY),
    Role.PREFECTURE: ("prefecture_heze", "371700000000"),
    Role.PROVINCE: ("province_shandong", SHANDONG),
    Role.AUDITOR: ("auditor_shandong", SHANDONG),
    Role.API_CLIENT: ("api_shandong", SHANDONG),
}

ANONYMOUS = Subject("anonymous", None, auth="none")


def people(auth: str) -> list[Subject]:
    """Return every role inside and (but the administrator, who sees everything) outside."""
    subjects = [Subject(role, role, INSIDE[role], auth=auth) for role in INSIDE]
    subjects += [
        Subject(f"{role}@outside", role, name, outside=True, auth=auth) for role, (name, _c) in OUTSIDE.items()
    ]
    return subjects


PAGE_SUBJECTS = [ANONYMOUS, *people("session")]
#: Machine clients (接口客户端): Hunan's read-only token and a write token (its role still only
#: reads), a county system's client that writes as the county office, and Hunan's client with
#: a token narrowed to 邵阳县 (so 栗安村 lies outside the token though inside its user).
MACHINES = [
    Subject("machine_read_only", Role.API_CLIENT, "api_hunan", auth="token", token_write=False),
    Subject("machine_write", Role.API_CLIENT, "api_hunan", auth="token"),
    Subject("machine_county_write", Role.COUNTY, "system_jianghua", auth="token"),
    Subject(
        "machine_narrowed@outside",
        Role.API_CLIENT,
        "api_hunan",
        outside=True,
        auth="token",
        token_write=False,
        token_division=SHAOYANG_COUNTY,
    ),
]
API_SUBJECTS = [ANONYMOUS, *people("token"), *people("session"), *MACHINES]


def expected(door: Door, method: str, subject: Subject, *, outside: bool) -> str:
    """Return the answer ``subject`` must get at ``door`` (see the module docstring).

    ``outside``: the door's object lies outside what ``subject`` may see.
    """
    if door.always:
        return door.always
    if door.public:
        return ALLOW
    if subject.role is None or (door.kind == "admin" and subject.role not in STAFF):
        return LOGIN
    allowed = subject.role in door.roles[method]
    if door.owner is not None and subject.role != Role.ADMIN and subject.key != door.owner:
        return NOT_FOUND if door.kind == "page" else FORBIDDEN
    if door.kind == "api":
        if method.upper() not in SAFE_METHODS and not door.read:
            read_only_token = subject.auth == "token" and not subject.token_write
            if read_only_token or subject.role not in (door.gate or door.roles[method]):
                return FORBIDDEN
        if outside:
            return NOT_FOUND
        return ALLOW if allowed else FORBIDDEN
    if outside:
        return NOT_FOUND
    return ALLOW if allowed else FORBIDDEN


# The object graph ------------------------------------------------------------------------------


def ago(days: int) -> date:
    return date.today() - timedelta(days=days)


def build_graph(users: dict, divisions) -> dict[str, object]:
    """Create one of everything in 江华县 (栗安村 and a poverty village of 大锡乡) through the services.

    Return the values of the URL placeholders.
    """
    from django.contrib.contenttypes.models import ContentType

    from assessments import area_exits as ax
    from assessments.exit_cases import exit_case_propose, exit_objection_raise
    from assessments.models import CountyExitObjection
    from assessments.monitoring import monitoring_flag_raise
    from assessments.parameters import parameter_set
    from assessments.plans import reduction_plan_create
    from households.models import Household
    from households.services import objection_raise
    from registry.models import Job
    from tests.assessments.test_village_exit import CHECKLIST
    from tests.factories import advance, exit_through, make_applied, make_assessed
    from tests.pages.test_area_exits import poverty_village
    from villages.models import WorkTeam

    lian = divisions[LIAN]
    # A registered household with its 2018 assessment, its exit in the village notice, objected to.
    household, assessment = make_assessed(village=lian)
    case = exit_case_propose(actor=users["team_lian"], household=household, year=2018, on_date=ago(21))
    case = exit_through(case, users, until="open_notice")
    exit_objection = exit_objection_raise(actor=users["team_lian"], case=case, objector="村民甲", content="收入不实")
    # A household that exited (certified in 2018), in its transition period, flagged for monitoring.
    parameter_set(actor=None, key="transition_years", value=date.today().year - 2018, scope_code="430000000000")
    exited, _assessment = make_assessed(village=lian)
    certified = exit_through(
        exit_case_propose(actor=users["team_lian"], household=exited, year=2018, on_date=ago(21)), users
    )
    flag = monitoring_flag_raise(
        actor=users["team_lian"],
        household=exited,
        kind="sudden",
        reason="户主突发重病",
        event="重大疾病",
        on_date=ago(12),
    )
    # A household in its first public notice, objected to.
    in_notice = advance(make_applied(village=lian, on_date=ago(31)), until="open_village_notice")
    objection = objection_raise(actor=users["team_lian"], household=in_notice, objector="村民乙", content="有车")
    # A village exit in its notice, objected to.
    village = poverty_village(divisions)
    village_case = ax.village_exit_propose(
        actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST, on_date=ago(10)
    )
    village_case = ax.village_exit_transition(
        actor=users["township_daxi"], case=village_case, action="open_notice", on_date=ago(10)
    )
    village_objection = ax.village_exit_objection_raise(
        actor=users["township_daxi"], case=village_case, objector="村民丙", content="道路未通"
    )
    # 江华县's exit, sampled by the province; an objection (recorded directly: the notice is far on).
    county_case = ax.county_exit_apply(actor=users["county_jianghua"], county=divisions[JIANGHUA], year=2019)
    county_case = ax.county_exit_transition(
        actor=users["prefecture_yongzhou"], case=county_case, action="prefecture_approve"
    )
    county_case = ax.county_exit_draw_sample(actor=users["province_hunan"], case=county_case, households=1, villages=1)
    county_objection = CountyExitObjection.objects.create(
        case=county_case,
        county_code=JIANGHUA[:6],
        objector="村民丁",
        content="漏评",
        raised_on=date.today(),
        recorded_by=users["province_hunan"],
    )
    plan = reduction_plan_create(
        actor=users["county_jianghua"], county=divisions[JIANGHUA], year=2019, persons_to_exit=10, villages_to_exit=1
    )
    job = Job.objects.create(
        kind="household_import", created_by=users["team_lian"], status=Job.Status.SUCCEEDED, params={"dry_run": True}
    )
    from quality.jobs import JOB_KIND as QUALITY_JOB
    from quality.models import Finding

    now = timezone.now()
    finding = Finding.objects.create(
        rule="no_helper", household=household, county_code=LIAN[:6], division_code=LIAN,
        first_found_at=now, last_checked_at=now,
    )  # fmt: skip
    quality_job = Job.objects.create(
        kind=QUALITY_JOB, created_by=users["team_lian"], status=Job.Status.SUCCEEDED, params={"division": LIAN}
    )
    export_job = Job.objects.create(
        kind="household_export",
        created_by=users["team_lian"],
        status=Job.Status.SUCCEEDED,
        finished_at=now,
        output=b"PK",
        output_name="贫困户名单.xlsx",
        output_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        output_size=2,
    )
    places = {
        "village": LIAN,
        "county": JIANGHUA,
        "team": WorkTeam.objects.get(village_id=LIAN).pk,
        "household": household.pk,
        "member": household.members.get(relationship="head").pk,
        "assessment": assessment.pk,
        "exit_case": case.pk,
        "exit_objection": exit_objection.pk,
        "certified_case": certified.pk,
        "certificate_code": certified.certificate_code,
        "exited_household": exited.pk,
        "flag": flag.pk,
        "notice_household": in_notice.pk,
        "objection": objection.pk,
        "poverty_village": village.code,
        "village_case": village_case.pk,
        "village_objection": village_objection.pk,
        "county_case": county_case.pk,
        "county_objection": county_objection.pk,
        "sampled_household": county_case.sampled_households.get().pk,
        "sampled_village": county_case.sampled_villages.get().pk,
        "plan": plan.pk,
        "job": job.pk,
        "quality_job": quality_job.pk,
        "export_job": export_job.pk,
        "finding": finding.pk,
        "audit_user": "team_lian",
        "registry_number": household.registry_number,
        "team_user": users["team_lian"].pk,
        "household_type": ContentType.objects.get_for_model(Household).pk,
    }
    # Where each object lies: what decides whether a user's jurisdiction holds it.
    codes = dict.fromkeys(places, LIAN)
    codes.update(dict.fromkeys(["poverty_village", "village_case", "village_objection"], village.code))
    codes.update(dict.fromkeys(["county", "county_case", "county_objection", "plan"], JIANGHUA))
    codes.update(dict.fromkeys(["sampled_household", "sampled_village"], JIANGHUA))
    codes["team_user"] = LIAN
    codes["household_type"] = codes["certificate_code"] = None  # not an object of a jurisdiction
    return {**places, "codes": codes}


def outside_users(divisions) -> None:
    """Create the users of ``OUTSIDE`` the demo does not have, and 江华县's writing machine client."""
    from registry.services import user_create
    from registry.tokens import api_client_create

    api_client_create(actor=None, name="system_jianghua", division=divisions[JIANGHUA], role=Role.COUNTY)
    for role, (username, code) in OUTSIDE.items():
        if not User.objects.filter(username=username).exists():
            user_create(actor=None, username=username, password=None, role=role, jurisdictions=[divisions[code]])


# Knocking ---------------------------------------------------------------------------------------


def client_for(subject: Subject, *, api_door: bool):
    """Return a client that asks as ``subject`` (signed in for pages, by token or session for the
    API) and the scope it asks with."""
    from registry.scoping import NO_SCOPE, user_scope
    from registry.tokens import api_token_create, token_scope

    client = APIClient() if api_door else Client()
    client.raise_request_exception = False
    if subject.role is None:
        return client, NO_SCOPE
    user = User.objects.get(username=subject.username)
    if subject.auth == "token":
        division = None
        if subject.token_division:
            from villages.models import Division

            division = Division.objects.get(pk=subject.token_division)
        kind = ApiToken.Kind.MACHINE if subject.key.startswith("machine") else ApiToken.Kind.PERSONAL
        token, key = api_token_create(
            actor=None, user=user, name="matrix", kind=kind, can_write=subject.token_write, division=division
        )
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client, token_scope(token)
    client.force_login(user)
    return client, user_scope(user)


def answer(door: Door, response) -> str:
    """Return the class of ``response``: what the door said, not what the service did."""
    status = response.status_code
    if status >= 500:
        return ERROR
    if status == 401:
        return LOGIN
    if status in (301, 302):
        location = response["Location"]
        if location.startswith(("/login/", "/admin/login/")):
            return LOGIN
        if door.kind == "admin" and location == "/admin/":
            return NOT_FOUND  # the admin's "does not exist or was deleted"
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return NOT_FOUND
    if status == 405:
        return f"METHOD NOT ALLOWED ({status})"
    return ALLOW


@dataclass
class Knock:
    subject: Subject
    route: str
    method: str
    url: str
    want: str
    got: str = ""
    status: int = 0
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        problems = "".join(f"; {problem}" for problem in self.problems)
        return (
            f"{self.subject!s:28} {self.method.upper():6} {self.route:45} {self.url:60} "
            f"expected {self.want:9} got {self.got} ({self.status}){problems}"
        )


def knock(client, scope, subject: Subject, route: str, door: Door, method: str, graph: dict) -> Knock:
    """Send one empty ``method`` request inside a savepoint that is rolled back afterwards."""
    url = door.url.format(**graph)
    codes = [graph["codes"][name] for name in door.objects]
    outside = any(code is not None and not scope.covers(code) for code in codes)
    attempt = Knock(subject, route, method, url, expected(door, method, subject, outside=outside))
    cookies = copy.deepcopy(client.cookies)
    depth = len(connection.savepoint_ids)
    with transaction.atomic():
        audit_before = AuditEntry.objects.count()
        if door.kind == "api":
            response = getattr(client, method)(url, {}, format="json") if method != "get" else client.get(url)
        else:
            response = getattr(client, method)(url, {}) if method != "get" else client.get(url)
        # A streamed export holds its snapshot (a savepoint) open until read to the end: read it
        # here, or the savepoint would outlive this block and unwind the test's transaction
        # whenever the garbage collector got to it.
        content = b"".join(response.streaming_content) if response.streaming else response.content
        try:
            wrote = AuditEntry.objects.count() != audit_before
        except Exception:
            wrote = False
        transaction.set_rollback(True)
    client.cookies = cookies  # a logout or a new session must not carry over to the next attempt
    if len(connection.savepoint_ids) != depth:
        attempt.problems.append("left a transaction open behind it")
    attempt.status = response.status_code
    attempt.got = answer(door, response)
    if attempt.got in (FORBIDDEN, NOT_FOUND, LOGIN) and wrote:
        attempt.problems.append("wrote an audit row although refused")
    if subject.outside and response.status_code == 200 and not door.public:
        leaked = [m for m in ("栗安村", graph["registry_number"]) if m.encode() in content]
        if leaked:
            attempt.problems.append(f"shows {', '.join(leaked)} to a user outside")
    return attempt


def run(doors: dict[str, Door], subjects: list[Subject], graph: dict) -> list[Knock]:
    """Try every method of every door as every subject; return the attempts that went wrong."""
    wrong = []
    for subject in subjects:
        client, scope = client_for(subject, api_door=any(d.kind == "api" for d in doors.values()))
        for route, door in doors.items():
            for method in door.roles:
                attempt = knock(client, scope, subject, route, door, method, graph)
                if attempt.got != attempt.want or attempt.problems:
                    wrong.append(attempt)
    return wrong


def report(wrong: list[Knock]) -> str:
    return f"{len(wrong)} answers differ from the matrix:\n" + "\n".join(str(k) for k in wrong)


@pytest.fixture
def graph(users, divisions):
    outside_users(divisions)
    return build_graph(users, divisions)


# The route list --------------------------------------------------------------------------------


def routes(patterns=None, prefix: str = "", namespace: str = ""):
    """Yield ``(name, pattern, callback)`` for every URL the resolver knows, recursively."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from routes(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else None
            yield name, prefix + str(entry.pattern), entry.callback


def test_every_route_has_an_entry():
    """A new route must say who may use it: it fails here until it has a line in the matrix."""
    table = {**PAGES, **API, **ADMIN}
    missing, methods = [], []
    for name, pattern, callback in routes():
        name = name or pattern
        if pattern.startswith(REPRESENTED_BY_ADMIN) and name not in table:
            continue
        if name not in table:
            missing.append(f"route {name or pattern!r} ({pattern}) has no entry in the authorization matrix")
            continue
        # A viewset route lists its methods: each must be in the matrix too.
        for method in getattr(callback, "actions", {}) or {}:
            if method not in table[name].roles and method not in ("head", "options"):
                methods.append(f"route {name!r} answers {method.upper()}, which the authorization matrix does not try")
    known = {name or pattern for name, pattern, _c in routes()}
    stale = [f"the matrix entry {name!r} names no route" for name in table if name not in known]
    assert not (missing + methods + stale), "\n".join(missing + methods + stale)


# The matrix -------------------------------------------------------------------------------------


# The two long runs are each cut in two halves (every subject is in exactly one), so that
# two test workers can share them.


@pytest.mark.parametrize("outside", [False, True], ids=["inside", "outside"])
def test_pages(graph, outside):
    wrong = run(PAGES, [s for s in PAGE_SUBJECTS if s.outside == outside], graph)
    assert not wrong, report(wrong)


#: Anonymous, the machine clients and one county office in and out by personal token: the
#: API's every door in a quarter of the time; the slow test asks as everyone else.
API_FAST = {"anonymous", "county", "county@outside", *(m.key for m in MACHINES)}


def test_api_fast(graph):
    wrong = run(API, [s for s in API_SUBJECTS if s.key in API_FAST and s.auth != "session"], graph)
    assert not wrong, report(wrong)


@pytest.mark.slow
@pytest.mark.parametrize("by_session", [False, True], ids=["token", "session"])
def test_api(graph, by_session):
    rest = [s for s in API_SUBJECTS if s.key not in API_FAST or s.auth == "session"]
    wrong = run(API, [s for s in rest if (s.auth == "session") == by_session], graph)
    assert not wrong, report(wrong)


def test_admin(graph):
    wrong = run(ADMIN, PAGE_SUBJECTS, graph)
    assert not wrong, report(wrong)
