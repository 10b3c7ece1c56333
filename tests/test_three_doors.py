"""The three doors agree (issue 15): every step of every procedure, taken through the pages, the
REST API and the admin, leaves the same state, the same history rows and the same audit rows.

For each procedure — identification, household exit, village exit, county exit, monitoring —
three identically prepared objects are walked along the procedure's main path, one through
each door, with the same users, effective dates and reasons; the three trails must then be
equal. A door that cannot take a step the others take fails the test naming the procedure,
the step and the door. Each door must also refuse, writing nothing, a step the service
refuses (four eyes, a notice not yet ended).

The door helpers post as a person (or a client) does: the page's step form, the API's
``transitions/`` (or a dedicated endpoint), the admin's changelist action with its form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages

from assessments.area_exits import (
    county_exit_apply,
    county_exit_draw_sample,
    county_exit_evaluate,
    county_exit_record_household_visit,
    county_exit_record_village_visit,
    county_exit_transition,
    village_exit_propose,
    village_exit_transition,
)
from assessments.exit_cases import exit_case_propose, exit_case_transition
from assessments.models import (
    CountyExitCase,
    CountyExitStep,
    ExitCase,
    ExitCaseStep,
    MonitoringFlag,
    MonitoringFlagStep,
    SampledHousehold,
    SampledVillage,
    VillageExitCase,
    VillageExitStep,
)
from assessments.monitoring import monitoring_flag_raise, monitoring_flag_transition
from assessments.parameters import parameter_set
from demo.loader import DAXI, LIAN
from households.models import Household, StatusChange
from households.workflow import household_transition
from registry.models import AuditEntry, User
from registry.roles import Role
from registry.services import user_create
from tests.factories import exit_through, make_applied, make_assessed, make_household, make_township, make_village
from villages.choices import PovertyCountyType
from villages.models import CountyStatus, VillageStatus
from villages.services import county_status_set, village_status_set

pytestmark = pytest.mark.slow

DOORS = ("page", "api", "admin")
HUNAN = "430000000000"
CHENZHOU = "431000000000"
#: Three counties of 郴州, prepared alike (one open county exit per county).
COUNTIES = ("431021000000", "431022000000", "431023000000")
CHECKLIST = {
    "hardened_road": {"met": True, "evidence": "通村水泥路竣工验收"},
    "collective_income": {"met": True, "evidence": "村集体光伏电站年收入 5.6 万元"},
    "public_services": {"met": True, "evidence": "村卫生室、文化活动室已建成"},
}


def ago(days: int) -> date:
    return date.today() - timedelta(days=days)


# The procedures: where each door takes a step, what a trail is ----------------------------------------


@dataclass(frozen=True)
class Procedure:
    name: str
    model: type
    history: type
    history_key: str
    page: str  # the page of an object ("{pk}" filled in); steps are posted to "<page>steps/<action>/"
    page_step: str  # "steps" or "transition"
    api: str
    admin: str
    admin_prefix: str  # an admin step's action name is prefix + action

    def history_rows(self, obj) -> list[tuple]:
        rows = self.history.objects.filter(**{self.history_key: obj}).select_related("actor").order_by("id")
        return [
            (
                r.action, r.from_status, r.to_status, getattr(r, "from_step", None), getattr(r, "to_step", None),
                r.actor.username if r.actor else None, r.effective_date, r.reason,
            )
            for r in rows
        ]  # fmt: skip

    def audit_rows(self, obj) -> list[tuple]:
        return audit_of(self.model, obj.pk)

    def count(self, obj) -> int:
        return self.history.objects.filter(**{self.history_key: obj}).count()


def audit_of(model, pk) -> list[tuple]:
    """The audit rows of one object: action, actor, status before and after, reason, date."""
    entries = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id=str(pk)
    ).order_by("id")
    return [
        (
            e.action, e.actor_username, (e.before or {}).get("status"), (e.after or {}).get("status"),
            (e.after or {}).get("step"), (e.after or {}).get("reason"), (e.after or {}).get("on_date"),
        )
        for e in entries
    ]  # fmt: skip


IDENTIFICATION = Procedure(
    "identification", Household, StatusChange, "household", "/households/{pk}/", "transition",
    "/api/v1/households/{pk}/", "/admin/households/household/", "transition_",
)  # fmt: skip
HOUSEHOLD_EXIT = Procedure(
    "household exit", ExitCase, ExitCaseStep, "case", "/assessments/cases/{pk}/", "steps",
    "/api/v1/exit-cases/{pk}/", "/admin/assessments/exitcase/", "step_",
)  # fmt: skip
VILLAGE_EXIT = Procedure(
    "village exit", VillageExitCase, VillageExitStep, "case", "/assessments/village-exits/{pk}/", "steps",
    "/api/v1/village-exit-cases/{pk}/", "/admin/assessments/villageexitcase/", "step_",
)  # fmt: skip
COUNTY_EXIT = Procedure(
    "county exit", CountyExitCase, CountyExitStep, "case", "/assessments/county-exits/{pk}/", "steps",
    "/api/v1/county-exit-cases/{pk}/", "/admin/assessments/countyexitcase/", "step_",
)  # fmt: skip
MONITORING = Procedure(
    "monitoring", MonitoringFlag, MonitoringFlagStep, "flag", "/assessments/monitoring/{pk}/", "steps",
    "/api/v1/monitoring-flags/{pk}/", "/admin/assessments/monitoringflag/", "step_",
)  # fmt: skip


# The doors ------------------------------------------------------------------------------------------------


def _messages(response) -> list[str]:
    request = getattr(response, "wsgi_request", None)
    return [str(m) for m in get_messages(request)] if request is not None else []


def _errors_in(response) -> list[str]:
    """The form errors a re-rendered page or admin form shows."""
    html = response.content.decode(errors="replace") if hasattr(response, "content") else ""
    return [
        re.sub(r"<[^>]+>", "", e).strip() for e in re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S)
    ]


class Door:
    """Take steps through one door as the named users; ``explain`` says what the door answered."""

    name = ""

    def __init__(self, client_for, api_for):
        self._make = client_for
        self._clients: dict[str, object] = {}

    def client(self, username: str):
        if username not in self._clients:
            self._clients[username] = self._make(username)
        return self._clients[username]

    def explain(self, response) -> str:
        if response is None:
            return "no response"
        parts = [f"HTTP {response.status_code}", *_messages(response), *_errors_in(response)]
        if response.get("Content-Type", "").startswith("application/json"):
            parts.append(response.content.decode())
        return "; ".join(p for p in parts if p)

    # What a door implements.
    def step(self, proc: Procedure, obj, action: str, username: str, day: date, reason: str): ...
    def sample(self, case, username: str, day: date, households: int, villages: int, seed: int): ...
    def evaluate(self, case, username: str, day: date): ...
    def household_visit(self, row, username: str, day: date, *, wrongly_exited: bool, approves: bool): ...
    def village_visit(self, row, username: str, day: date, *, missed_persons: int): ...


class PageDoor(Door):
    name = "page"

    def step(self, proc, obj, action, username, day, reason):
        url = proc.page.format(pk=obj.pk) + f"{proc.page_step}/{action}/"
        return self.client(username).post(url, {"reason": reason, "on_date": day.isoformat()})

    def sample(self, case, username, day, households, villages, seed):
        data = {"households": households, "villages": villages, "seed": seed, "on_date": day.isoformat()}
        return self.client(username).post(COUNTY_EXIT.page.format(pk=case.pk) + "sample/", data)

    def evaluate(self, case, username, day):
        return self.client(username).post(
            COUNTY_EXIT.page.format(pk=case.pk) + "evaluate/", {"on_date": day.isoformat()}
        )

    def household_visit(self, row, username, day, *, wrongly_exited, approves):
        data = {"visited_on": day.isoformat(), "note": ""}
        data |= {"wrongly_exited": "on"} if wrongly_exited else {}
        data |= {"approves": "on"} if approves else {}
        url = COUNTY_EXIT.page.format(pk=row.case_id) + f"households/{row.pk}/visit/"
        return self.client(username).post(url, data)

    def village_visit(self, row, username, day, *, missed_persons):
        data = {"visited_on": day.isoformat(), "missed_persons": missed_persons, "note": ""}
        url = COUNTY_EXIT.page.format(pk=row.case_id) + f"villages/{row.pk}/visit/"
        return self.client(username).post(url, data)


class ApiDoor(Door):
    name = "api"

    def __init__(self, client_for, api_for):
        super().__init__(client_for, api_for)
        self._make = api_for

    def _post(self, username, url, data):
        return self.client(username).post(url, data, format="json")

    def step(self, proc, obj, action, username, day, reason):
        data = {"action": action, "reason": reason, "on_date": day.isoformat()}
        return self._post(username, proc.api.format(pk=obj.pk) + "transitions/", data)

    def sample(self, case, username, day, households, villages, seed):
        data = {"households": households, "villages": villages, "seed": seed, "on_date": day.isoformat()}
        return self._post(username, COUNTY_EXIT.api.format(pk=case.pk) + "sample/", data)

    def evaluate(self, case, username, day):
        return self._post(username, COUNTY_EXIT.api.format(pk=case.pk) + "evaluate/", {"on_date": day.isoformat()})

    def household_visit(self, row, username, day, *, wrongly_exited, approves):
        data = {
            "sampled_household": row.pk, "wrongly_exited": wrongly_exited, "approves": approves,
            "visited_on": day.isoformat(), "note": "",
        }  # fmt: skip
        return self._post(username, COUNTY_EXIT.api.format(pk=row.case_id) + "household-visits/", data)

    def village_visit(self, row, username, day, *, missed_persons):
        data = {"sampled_village": row.pk, "missed_persons": missed_persons, "visited_on": day.isoformat(), "note": ""}
        return self._post(username, COUNTY_EXIT.api.format(pk=row.case_id) + "village-visits/", data)


class AdminDoor(Door):
    name = "admin"

    def _act(self, username, url, action, objects, **fields):
        data = {"action": action, "_selected_action": [o.pk for o in objects], "apply": "1", **fields}
        return self.client(username).post(url, data)

    def step(self, proc, obj, action, username, day, reason):
        return self._act(
            username, proc.admin, proc.admin_prefix + action, [obj], reason=reason, on_date=day.isoformat()
        )

    def sample(self, case, username, day, households, villages, seed):
        return self._act(
            username, COUNTY_EXIT.admin, "draw_sample", [case], households=households, villages=villages, seed=seed,
            on_date=day.isoformat(),
        )  # fmt: skip

    def evaluate(self, case, username, day):
        return self._act(username, COUNTY_EXIT.admin, "evaluate", [case], on_date=day.isoformat())

    def household_visit(self, row, username, day, *, wrongly_exited, approves):
        fields = {"visited_on": day.isoformat(), "note": ""}
        fields |= {"wrongly_exited": "on"} if wrongly_exited else {}
        fields |= {"approves": "on"} if approves else {}
        return self._act(username, "/admin/assessments/sampledhousehold/", "record_visit", [row], **fields)

    def village_visit(self, row, username, day, *, missed_persons):
        fields = {"visited_on": day.isoformat(), "missed_persons": missed_persons, "note": ""}
        return self._act(username, "/admin/assessments/sampledvillage/", "record_visit", [row], **fields)


@pytest.fixture
def doors(client_for, api_for) -> dict[str, Door]:
    return {cls.name: cls(client_for, api_for) for cls in (PageDoor, ApiDoor, AdminDoor)}


# Walking a path -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One step of a path: the action, who takes it, its effective date and reason (and a form's values)."""

    action: str
    user: str
    day: date
    reason: str = ""


def gap(proc: Procedure, door: Door, row: Row, response) -> None:
    pytest.fail(
        f"GAP: the {door.name} door did not take the {proc.name} step “{row.action}” "
        f"({row.user}, {row.day}): {door.explain(response)}"
    )


def take(proc: Procedure, door: Door, obj, row: Row, **form):
    """Take one step through ``door``; fail naming the gap unless the step was recorded."""
    before = proc.count(obj)
    if row.action == "draw_sample":
        response = door.sample(obj, row.user, row.day, **form)
    elif row.action == "evaluate":
        response = door.evaluate(obj, row.user, row.day)
    elif row.action == "visits":
        return visit_all(door, obj, row, **form)
    else:
        response = door.step(proc, obj, row.action, row.user, row.day, row.reason)
    if proc.count(obj) != before + 1:
        gap(proc, door, row, response)
    return type(obj).objects.get(pk=obj.pk)


def visit_all(door: Door, case, row: Row, *, approving: int, missed: dict[str, int]):
    """Record the visit of every sampled unit: none wrongly exited, the first ``approving`` approve."""
    for i, sampled in enumerate(case.sampled_households.order_by("position")):
        response = door.household_visit(sampled, row.user, row.day, wrongly_exited=False, approves=i < approving)
        if SampledHousehold.objects.get(pk=sampled.pk).visited_on != row.day:
            gap(COUNTY_EXIT, door, Row("visit_household", row.user, row.day), response)
    for sampled in case.sampled_villages.select_related("village").order_by("position"):
        response = door.village_visit(sampled, row.user, row.day, missed_persons=missed[sampled.village.name])
        if SampledVillage.objects.get(pk=sampled.pk).visited_on != row.day:
            gap(COUNTY_EXIT, door, Row("visit_village", row.user, row.day), response)
    return type(case).objects.get(pk=case.pk)


def walk(proc: Procedure, doors: dict[str, Door], objects: dict[str, object], path: list, forms=None) -> dict:
    """Walk one object per door along ``path``; return each door's trail (history, audit)."""
    forms = forms or {}
    for name, obj in objects.items():
        for row in path:
            obj = take(proc, doors[name], obj, row, **forms.get(row.action, {}))
        objects[name] = obj
    return {name: (proc.history_rows(obj), proc.audit_rows(obj)) for name, obj in objects.items()}


def assert_alike(trails: dict, states: dict) -> None:
    """The three doors left the same history, the same audit rows and the same state."""
    page = trails["page"]
    for name in ("api", "admin"):
        assert trails[name][0] == page[0], f"the {name} door's history differs from the page's"
        assert trails[name][1] == page[1], f"the {name} door's audit rows differ from the page's"
        assert states[name] == states["page"], f"the {name} door's final state differs from the page's"


# Identification (两公示一公告) ---------------------------------------------------------------------------

IDENTIFICATION_PATH = [
    Row("appraise", "team_lian", ago(30)),
    Row("open_village_notice", "team_lian", ago(30)),
    Row("close_village_notice", "team_lian", ago(22)),
    Row("township_approve", "township_daxi", ago(22), "经审核符合识别标准"),
    Row("close_township_notice", "township_daxi", ago(14)),
    Row("county_approve", "county_jianghua", ago(14), "县级审批通过"),
]


def applied_household(users, divisions):
    return make_applied(village=divisions[LIAN], actor=users["team_lian"], on_date=ago(31))


def household_state(household) -> tuple:
    household.refresh_from_db()
    return (household.status, household.step, household.identified_year, household.status_date, household.version)


def test_identification_through_the_three_doors(users, divisions, doors):
    objects = {name: applied_household(users, divisions) for name in DOORS}
    trails = walk(IDENTIFICATION, doors, objects, IDENTIFICATION_PATH)
    states = {name: household_state(h) for name, h in objects.items()}
    assert states["page"][:2] == ("registered", "announced")
    assert [r[0] for r in trails["page"][0]] == ["apply", *[r.action for r in IDENTIFICATION_PATH]]
    assert_alike(trails, states)


# Household exit (脱贫退出) ---------------------------------------------------------------------------------

EXIT_YEAR = 2018
HOUSEHOLD_EXIT_PATH = [
    Row("appraise", "team_lian", ago(20)),
    Row("verify", "team_lian", ago(20)),
    Row("acknowledge", "team_lian", ago(20), "户主盘秀英"),
    Row("open_notice", "team_lian", ago(20)),
    Row("close_notice", "team_lian", ago(12)),
    Row("township_approve", "township_daxi", ago(12), "乡镇审核通过"),
    Row("county_certify", "county_jianghua", ago(12)),
]


def proposed_exit(users, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN], year=EXIT_YEAR)
    return exit_case_propose(actor=users["team_lian"], household=household, year=EXIT_YEAR, on_date=ago(21))


def test_household_exit_through_the_three_doors(users, divisions, doors):
    objects = {name: proposed_exit(users, divisions) for name in DOORS}
    trails = walk(HOUSEHOLD_EXIT, doors, objects, HOUSEHOLD_EXIT_PATH)
    states = {}
    for name, case in objects.items():
        household = Household.objects.get(pk=case.household_id)
        states[name] = (
            case.status, case.certified_on, case.acknowledged_by, bool(case.certificate_code), household.status,
            household.status_date, [r[:3] + r[5:7] for r in IDENTIFICATION.history_rows(household)][-1],
        )  # fmt: skip
    assert states["page"][:5] == ("certified", ago(12), "户主盘秀英", True, "exited")
    assert_alike(trails, states)


# Village exit (贫困村出列) ---------------------------------------------------------------------------------

VILLAGE_EXIT_PATH = [
    Row("open_notice", "township_daxi", ago(10)),
    Row("close_notice", "township_daxi", ago(2)),
    Row("county_approve", "county_jianghua", ago(0), "出列条件全部达到"),
]


def exit_ready_village(divisions, number: int):
    """A poverty village of 大锡乡 with 400 rural residents and two registered households of 3 (1.50 %)."""
    village = make_village(parent=divisions[DAXI], number=number, name=f"出列村{number}")
    village_status_set(actor=None, village=village, is_poverty_village=True, identified_year=2014, rural_population=400)
    for _ in range(2):
        make_household(village=village, status="registered", persons=3)
    return village


def proposed_village_exit(users, divisions, number: int):
    village = exit_ready_village(divisions, number)
    return village_exit_propose(
        actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST, on_date=ago(10)
    )


def test_village_exit_through_the_three_doors(users, divisions, doors):
    objects = {name: proposed_village_exit(users, divisions, 20 + i) for i, name in enumerate(DOORS)}
    trails = walk(VILLAGE_EXIT, doors, objects, VILLAGE_EXIT_PATH)
    states = {}
    for name, case in objects.items():
        status = VillageStatus.objects.get(pk=case.village_id)
        states[name] = (case.status, case.approved_on, case.incidence, status.exit_status, status.exit_year)
    assert states["page"][0] == "approved"
    assert_alike(trails, states)


# County exit (贫困县摘帽) ----------------------------------------------------------------------------------

COUNTY_EXIT_PATH = [
    Row("prefecture_approve", "prefecture_chenzhou", ago(10), "初审通过"),
    Row("draw_sample", "province_hunan", ago(10)),
    Row("visits", "province_hunan", ago(10)),
    Row("evaluate", "province_hunan", ago(10)),
    Row("open_notice", "province_hunan", ago(10)),
    Row("close_notice", "province_hunan", ago(2)),
    Row("province_approve", "province_hunan_2", ago(0), "同意摘帽"),
]
COUNTY_EXIT_FORMS = {
    "draw_sample": {"households": 10, "villages": 2, "seed": 2017},
    "visits": {"approving": 9, "missed": {"甲村": 10, "乙村": 20}},
}


def chenzhou_officials(divisions) -> None:
    """One county official over the three counties, the prefecture, a second province official."""

    def user(username, role, *codes):
        user_create(
            actor=None, username=username, password=None, role=role, jurisdictions=[divisions[c] for c in codes]
        )

    user("county_three", Role.COUNTY, *COUNTIES)
    user("prefecture_chenzhou", Role.PREFECTURE, CHENZHOU)
    user("province_hunan_2", Role.PROVINCE, HUNAN)


def applied_county_exit(divisions, code: str):
    """The county of :func:`exit_ready_county` applies."""
    county = exit_ready_county(divisions, code)
    return county_exit_apply(actor=User.objects.get(username="county_three"), county=county, year=2017, on_date=ago(10))


def exit_ready_county(divisions, code: str):
    """A county as 桂东县 in tests/assessments/test_county_exit.py: 甲村 (512, ten exited one-person
    households and one registered of two) and 乙村 (1,000, none)."""
    county = divisions[code]
    county_status_set(
        actor=None, county=county, poverty_type=PovertyCountyType.CONTIGUOUS, planned_exit_year=2017,
        rural_population=10000,
    )  # fmt: skip
    township = make_township(county=county, number=1, name="测试镇")
    village_a = make_village(parent=township, number=2, name="甲村")
    village_b = make_village(parent=township, number=3, name="乙村")
    village_status_set(actor=None, village=village_a, is_poverty_village=True, rural_population=512)
    village_status_set(actor=None, village=village_b, rural_population=1000)
    for _ in range(10):
        make_household(village=village_a, status="exited", persons=1)
    make_household(village=village_a, status="registered", persons=2)
    return county


def county_state(case) -> tuple:
    status = CountyStatus.objects.get(pk=case.county_id)
    visits = sorted(
        (v.visited_on, v.wrongly_exited, v.approves, v.recorded_by.username) for v in case.sampled_households.all()
    )
    village_visits = [
        (v.village.name, v.visited_on, v.missed_persons, v.recorded_by.username)
        for v in case.sampled_villages.select_related("village", "recorded_by").order_by("village__name")
    ]
    return (
        case.status, case.approved_on, case.sample_seed, case.sampled_on, case.wrong_exit_rate, case.missed_rate,
        case.approval_rate, case.comprehensive_incidence, case.evaluation_passed, case.evaluation.get("counts"),
        status.exit_status, status.exit_year, visits, village_visits,
    )  # fmt: skip


def visit_audit(case) -> list[tuple]:
    """The audit rows of the visits, in the order of the sample rows (positions differ only by household)."""
    rows = []
    for model, related in ((SampledHousehold, case.sampled_households), (SampledVillage, case.sampled_villages)):
        for pk in related.order_by("position").values_list("pk", flat=True):
            rows += [(e[0], e[1]) for e in audit_of(model, pk)]
    return rows


def test_county_exit_through_the_three_doors(users, divisions, doors):
    chenzhou_officials(divisions)
    objects = {name: applied_county_exit(divisions, code) for name, code in zip(DOORS, COUNTIES, strict=True)}
    trails = walk(COUNTY_EXIT, doors, objects, COUNTY_EXIT_PATH, COUNTY_EXIT_FORMS)
    states = {name: (county_state(case), visit_audit(case)) for name, case in objects.items()}
    assert states["page"][0][0] == "approved" and states["page"][0][8] is True
    assert len(states["page"][1]) == 12
    assert_alike(trails, states)


# Monitoring (防止返贫监测): flag and risk removal ----------------------------------------------------------

MONITORING_PATH = [
    Row("appraise", "team_lian", ago(12)),
    Row("open_notice", "team_lian", ago(12)),
    Row("approve", "county_jianghua", ago(7), "核实属实，纳入监测"),
    Row("propose_removal", "team_lian", ago(6), "务工收入稳定，风险已消除"),
    Row("appraise_removal", "team_lian", ago(6)),
    Row("open_removal_notice", "team_lian", ago(6)),
    Row("approve_removal", "county_jianghua", ago(0), "同意风险消除"),
]


FLAG = {"kind": "sudden", "reason": "户主突发重病，住院费用远超家庭收入", "event": "重大疾病"}


def exited_household(users, divisions):
    """A household of 栗安村 whose 2018 exit was certified twelve days ago."""
    household, _assessment = make_assessed(village=divisions[LIAN], year=EXIT_YEAR)
    case = exit_case_propose(actor=users["team_lian"], household=household, year=EXIT_YEAR, on_date=ago(21))
    exit_through(case, users)
    return Household.objects.get(pk=household.pk)


def raised_flag(users, divisions):
    household = exited_household(users, divisions)
    return monitoring_flag_raise(actor=users["team_lian"], household=household, **FLAG, on_date=ago(12))


@pytest.fixture
def transition_reaches_today():
    """Hunan's transition period long enough to reach today (the demo's exit years are past)."""
    parameter_set(actor=None, key="transition_years", value=date.today().year - EXIT_YEAR, scope_code=HUNAN)


def test_monitoring_through_the_three_doors(users, divisions, doors, transition_reaches_today):
    objects = {name: raised_flag(users, divisions) for name in DOORS}
    trails = walk(MONITORING, doors, objects, MONITORING_PATH)
    states = {name: (f.status, f.notice_ends_on, f.status_reason, f.version) for name, f in objects.items()}
    assert states["page"][0] == "removed"
    assert_alike(trails, states)


# A step the service refuses is refused at every door, with nothing written --------------------------------


def _everything(proc: Procedure, obj) -> tuple:
    return (
        proc.model.objects.values().get(pk=obj.pk),
        proc.history.objects.count(),
        AuditEntry.objects.count(),
        Household.objects.values().order_by("pk").first(),
    )


def assert_refused(proc: Procedure, door: Door, obj, row: Row) -> None:
    door.client(row.user)  # an API token is made before the snapshot
    before = _everything(proc, obj)
    response = door.step(proc, obj, row.action, row.user, row.day, row.reason)
    assert _everything(proc, obj) == before, f"the {door.name} door wrote something for a refused step"
    assert response.status_code in (200, 302, 400, 403, 409), door.explain(response)
    if door.name == "api":
        assert response.status_code >= 400, door.explain(response)
    else:  # the page or the admin says why
        said = " ".join([*_messages(response), *_errors_in(response)])
        assert said, f"the {door.name} door refused silently"


@pytest.mark.parametrize("door", DOORS)
def test_identification_four_eyes_at_every_door(users, divisions, doors, door):
    household = applied_household(users, divisions)
    for row in IDENTIFICATION_PATH[:2]:
        household = household_transition(actor=users[row.user], household=household, action=row.action, on_date=row.day)
    household = household_transition(
        actor=users["township_daxi"], household=household, action="close_village_notice", on_date=ago(22)
    )
    # The township closed the village notice: it may not review the round it acted in.
    assert_refused(IDENTIFICATION, doors[door], household, Row("township_approve", "township_daxi", ago(22)))


@pytest.mark.parametrize("door", DOORS)
def test_household_exit_four_eyes_at_every_door(users, divisions, doors, door):
    case = exit_through(proposed_exit(users, divisions), users, until="open_notice", start=ago(20))
    case = exit_case_transition(actor=users["township_daxi"], case=case, action="close_notice", on_date=ago(12))
    assert_refused(HOUSEHOLD_EXIT, doors[door], case, Row("township_approve", "township_daxi", ago(12)))


@pytest.mark.parametrize("door", DOORS)
def test_village_exit_notice_at_every_door(users, divisions, doors, door):
    case = proposed_village_exit(users, divisions, 30)
    case = village_exit_transition(actor=users["township_daxi"], case=case, action="open_notice", on_date=ago(5))
    # The notice within the township has not ended.
    assert_refused(VILLAGE_EXIT, doors[door], case, Row("close_notice", "township_daxi", ago(0)))


@pytest.mark.parametrize("door", DOORS)
def test_county_exit_four_eyes_at_every_door(users, divisions, doors, door):
    chenzhou_officials(divisions)
    case = applied_county_exit(divisions, COUNTIES[0])
    province = users["province_hunan"]
    case = county_exit_transition(
        actor=User.objects.get(username="prefecture_chenzhou"), case=case, action="prefecture_approve", on_date=ago(10)
    )
    case = county_exit_draw_sample(actor=province, case=case, households=10, villages=2, seed=2017, on_date=ago(10))
    for i, row in enumerate(case.sampled_households.order_by("position")):
        county_exit_record_household_visit(
            actor=province, sampled=row, wrongly_exited=False, approves=i < 9, visited_on=ago(10)
        )
    for row in case.sampled_villages.select_related("village"):
        missed = {"甲村": 10, "乙村": 20}[row.village.name]
        county_exit_record_village_visit(actor=province, sampled=row, missed_persons=missed, visited_on=ago(10))
    case = county_exit_evaluate(actor=province, case=case, on_date=ago(10))
    case = county_exit_transition(actor=province, case=case, action="open_notice", on_date=ago(10))
    case = county_exit_transition(actor=province, case=case, action="close_notice", on_date=ago(2))
    # The verification team may not approve what it verified.
    assert_refused(COUNTY_EXIT, doors[door], case, Row("province_approve", "province_hunan", ago(0)))


@pytest.mark.parametrize("door", DOORS)
def test_monitoring_notice_at_every_door(users, divisions, doors, door, transition_reaches_today):
    flag = raised_flag(users, divisions)
    for action in ("appraise", "open_notice"):
        flag = monitoring_flag_transition(actor=users["team_lian"], flag=flag, action=action, on_date=ago(2))
    assert_refused(MONITORING, doors[door], flag, Row("approve", "county_jianghua", ago(0)))


# The first step (the application, proposal or flag) through every door -------------------------------------
#
# The walks above start from objects the services created, so that the steps after the first
# are compared even where a door cannot date the first one. Here the first step itself is taken
# through each door with the same explicit date.


def start_through(door: str, doors: dict[str, Door], username: str, page: tuple, api: tuple, admin: tuple):
    """Post the first step through ``door`` (each given as (url, data)); return the response."""
    client = doors[door].client(username)
    url, data = {"page": page, "api": api, "admin": admin}[door]
    return client.post(url, data, format="json") if door == "api" else client.post(url, data)


def assert_started_alike(proc: Procedure, doors: dict[str, Door], objects: dict[str, object], day: date) -> None:
    """Each door's first step is dated ``day``; the three leave the same first row and audit row."""
    firsts = {name: proc.history_rows(obj) for name, obj in objects.items()}
    undated = {name: rows[0][6] for name, rows in firsts.items() if rows[0][6] != day}
    assert not undated, (
        f"GAP: the {proc.name} procedure's first step “{firsts['page'][0][0]}” cannot be given an effective date "
        f"({day}) at the {', '.join(undated)} door: dated {', '.join(str(d) for d in undated.values())} instead"
    )
    for name in ("api", "admin"):
        assert firsts[name] == firsts["page"], f"the {name} door's first step differs from the page's"
        assert proc.audit_rows(objects[name]) == proc.audit_rows(objects["page"]), name


def started(proc: Procedure, door: Door, response, found):
    obj = found()
    if obj is None:
        pytest.fail(f"GAP: the {door.name} door did not take the {proc.name} procedure's first step: "
                    f"{door.explain(response)}")  # fmt: skip
    return obj


def test_household_exit_is_proposed_alike_at_every_door(users, divisions, doors):
    day = ago(21)
    objects = {}
    for name in DOORS:
        household, _assessment = make_assessed(village=divisions[LIAN], year=EXIT_YEAR)
        data = {"household": household.pk, "year": EXIT_YEAR, "on_date": day.isoformat()}
        response = start_through(
            name, doors, "team_lian",
            page=(f"/assessments/households/{household.pk}/{EXIT_YEAR}/propose/", {"on_date": day.isoformat()}),
            api=("/api/v1/exit-cases/", data), admin=(f"{HOUSEHOLD_EXIT.admin}add/", data),
        )  # fmt: skip
        objects[name] = started(
            HOUSEHOLD_EXIT, doors[name], response, lambda h=household: ExitCase.objects.filter(household=h).first()
        )
    assert_started_alike(HOUSEHOLD_EXIT, doors, objects, day)


def _checklist_fields() -> dict:
    fields = {}
    for item, entry in CHECKLIST.items():
        fields[f"{item}__evidence"] = entry["evidence"]
        fields |= {f"{item}__met": "on"} if entry["met"] else {}
    return fields


def test_village_exit_is_proposed_alike_at_every_door(users, divisions, doors):
    day = ago(10)
    objects = {}
    for i, name in enumerate(DOORS):
        village = exit_ready_village(divisions, 40 + i)
        form = {"year": 2019, "on_date": day.isoformat(), **_checklist_fields()}
        response = start_through(
            name, doors, "township_daxi",
            page=(f"/assessments/village-exits/propose/{village.code}/", form),
            api=("/api/v1/village-exit-cases/", {"village": village.code, "year": 2019, "checklist": CHECKLIST,
                                                 "on_date": day.isoformat()}),
            admin=(f"{VILLAGE_EXIT.admin}add/", {"village": village.code, **form}),
        )  # fmt: skip
        objects[name] = started(
            VILLAGE_EXIT, doors[name], response, lambda v=village: VillageExitCase.objects.filter(village=v).first()
        )
    assert_started_alike(VILLAGE_EXIT, doors, objects, day)


def test_county_exit_is_applied_for_alike_at_every_door(users, divisions, doors):
    chenzhou_officials(divisions)
    day = ago(10)
    objects = {}
    for name, code in zip(DOORS, COUNTIES, strict=True):
        county = exit_ready_county(divisions, code)
        data = {"county": county.code, "year": 2017, "on_date": day.isoformat()}
        response = start_through(
            name, doors, "county_three", page=("/assessments/county-exits/apply/", data),
            api=("/api/v1/county-exit-cases/", data), admin=(f"{COUNTY_EXIT.admin}add/", data),
        )  # fmt: skip
        objects[name] = started(
            COUNTY_EXIT, doors[name], response, lambda c=county: CountyExitCase.objects.filter(county=c).first()
        )
    assert_started_alike(COUNTY_EXIT, doors, objects, day)


def test_monitoring_flag_is_raised_alike_at_every_door(users, divisions, doors, transition_reaches_today):
    day = ago(12)
    objects = {}
    for name in DOORS:
        household = exited_household(users, divisions)
        data = {"household": household.pk, **FLAG, "on_date": day.isoformat()}
        response = start_through(
            name, doors, "team_lian", page=(f"/assessments/monitoring/raise/{household.pk}/", data),
            api=("/api/v1/monitoring-flags/", data), admin=(f"{MONITORING.admin}add/", data),
        )  # fmt: skip
        objects[name] = started(
            MONITORING, doors[name], response, lambda h=household: MonitoringFlag.objects.filter(household=h).first()
        )
    assert_started_alike(MONITORING, doors, objects, day)
