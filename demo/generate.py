"""A synthetic province registry at scale (合成省级建档立卡数据), written with PostgreSQL ``COPY``.

``generate_registry(households=N, seed=S)`` draws a province from ``random.Random(S)``:
counties (the reference ones under the province that hold nothing yet), invented
townships and villages (about one village per 250 households), county and village
poverty statuses whose rural populations make the incidence meaningful, work teams
in the poverty villages, helpers, households of one to nine members with valid and
unique ID numbers, their identification trail (两公示一公告), yearly assessments from
identification to 2020, certified exit cases with their eight steps, returns (返贫),
removals (清退), help measures fitting the cause, and county reduction plans. Every row
is what the services would have written (statuses, steps, versions, registry numbers,
rule results judged by ``assessments.eligibility``), ids and timestamps included, so the
same N, seed and as-of date give byte-identical tables.

It lives in ``registry`` (not ``households``): it writes the tables of every app and
the project's audit and change feed, as ``demo.demo_registry`` does.

Triggers. The change-feed triggers (``registry.0005_change_feed``) are statement
triggers with transition tables, so COPY fires them once per statement; but the
member trigger also touches every household of the batch, doubling the feed rows,
and the foreign keys are checked row by row. The load therefore runs with
``SET LOCAL session_replication_role = replica`` (ordinary and foreign-key triggers
off, CHECK and UNIQUE constraints still enforced), then switches back, validates
every foreign key of the new rows with one anti-join per key, and writes the change
feed itself: one ``c`` change per household, member, assessment and exit case, and the
transaction's ``registry_changecommit`` row, whose deferred trigger numbers it at
commit as for any other transaction. A feed client therefore sees the load as one
commit. The household tables' indexes that back no constraint are dropped for the load
and built once after it (they are empty before: no household exists). Without the
privilege to set the role the load runs with the triggers and indexes on (slower).
One audit entry (``registry.generate``) describes the load; the audit chain trigger
chains it at commit. ``ANALYZE`` runs after the commit.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, transaction

from assessments.choices import ParameterKey
from assessments.eligibility import RULE_SET_VERSION, evaluate
from assessments.exit_cases import CERTIFICATE_ALPHABET
from assessments.parameters import NATIONAL_POVERTY_LINES, parameter, parameter_set
from demo.demo_registry import CAUSE_MEASURES, GIVEN, MEASURES
from registry.errors import ApplicationError
from registry.idnumber import check_char
from registry.settings import env_bool
from villages.reference import read_reference_divisions

FIRST_YEAR, LAST_YEAR = 2014, 2020
HOUSEHOLDS_PER_VILLAGE = 250
VILLAGES_PER_COUNTY = 40
VILLAGES_PER_TOWNSHIP = 10
DEFAULT_PROVINCE = "430000000000"

SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"  # noqa: E501
PLACE = "石桥塘坪溪岭山田冲湾坳口寨岗源江河洞湖村阳新光明兴隆安宁丰和平太青龙凤白马金竹枫桃李杉松梅兰云"
SIZE_WEIGHTS = {1: 8, 2: 14, 3: 22, 4: 26, 5: 17, 6: 8, 7: 3, 8: 1.5, 9: 0.5}
CAUSE_WEIGHTS = {
    "illness": 40,
    "lack_capital": 14,
    "lack_skills": 12,
    "lack_labour": 10,
    "education": 8,
    "disability": 6,
    "disaster": 3,
    "lack_land": 2,
    "poor_transport": 2,
    "lack_motivation": 2,
    "lack_water": 1,
}
EXIT_YEAR_WEIGHTS = {2015: 8, 2016: 14, 2017: 20, 2018: 24, 2019: 26, 2020: 8}
ETHNICITY = {"01": 84, "15": 7, "06": 5, "12": 2, "13": 1.5, "03": 0.5}
ETHNICITY_WEST = {"15": 40, "06": 33, "01": 25, "12": 1, "13": 1}  # 湘西州
HOUSING_GRADES = {"A": 35, "B": 35, "C": 18, "D": 12}
STRUCTURES = {"brick_concrete": 40, "brick_wood": 30, "earth_wood": 20, "concrete": 8, "other": 2}
UNITS = ["县财政局", "县教育局", "县人社局", "县农业农村局", "县交通运输局", "县卫健局", "县民政局", "县水利局"]
UNITS += ["县林业局", "县住建局", "县自然资源局", "县审计局", "县税务局", "县供电公司", "县农商银行", "县委组织部"]
REMOVAL_REASONS = ["家庭成员有财政供养人员", "家庭在城镇购有商品房", "家庭有登记注册的企业", "家庭拥有小汽车"]
RETURN_REASONS = ["因病返贫", "因灾返贫", "因残返贫", "务工收入中断返贫"]
EXIT_STEPS = [
    ("propose", "", "proposed"),
    ("appraise", "proposed", "appraised"),
    ("verify", "appraised", "verified"),
    ("acknowledge", "verified", "acknowledged"),
    ("open_notice", "acknowledged", "in_notice"),
    ("close_notice", "in_notice", "notice_ended"),
    ("township_approve", "notice_ended", "township_reviewed"),
    ("county_certify", "township_reviewed", "certified"),
]
NULL = r"\N"

# (table, columns) in load order; a row is a tuple of strings in column order.
TABLES = {
    "division": ("villages_division", "code, name, level, parent_id"),
    "village_status": (
        "villages_villagestatus",
        "village_id, is_poverty_village, identified_year, deep_poverty, rural_population, rural_households, "
        "exit_status, exit_year",
    ),
    "county_status": (
        "villages_countystatus",
        "county_id, poverty_type, deep_poverty, region_class, rural_population, planned_exit_year, exit_status, "
        "exit_year",
    ),
    "helper": (
        "villages_helper",
        "id, division_id, county_code, name, id_number, unit, title, phone, active, created_at, updated_at",
    ),
    "work_team": (
        "villages_workteam",
        "id, village_id, dispatching_unit, term_start, term_end, status, withdrawn_on, withdrawal_reason, "
        "created_at, updated_at",
    ),
    "team_member": ("villages_workteammember", "id, team_id, name, role, title, unit, phone, user_id, active, left_on"),
    "household": (
        "households_household",
        "id, registry_number, county_code, village_id, group_id, identification_standard, attribute, main_cause, "
        "other_causes, identified_year, housing_area, housing_structure, housing_grade, housing_renovated, "
        "drinking_water_safe, electricity, road_distance_km, cultivated_land_mu, forest_land_mu, relocated, phone, "
        "helper_id, status, step, notice_ends_on, status_reason, status_date, version, created_at, updated_at",
    ),
    "member": (
        "households_member",
        "id, household_id, county_code, name, id_number, sex, birth_date, ethnicity, relationship, education, "
        "student_status, chronic_disease, serious_illness, disabled, disability_certificate, labour_ability, "
        "migrant_work, migrant_months, basic_medical_insurance, serious_illness_insurance, pension_insurance, "
        "dibao_recipient, tekun_recipient, status, status_date, current, version, created_at, updated_at",
    ),
    "status_change": (
        "households_statuschange",
        "id, household_id, county_code, action, from_status, to_status, from_step, to_step, actor_id, reason, "
        "effective_date, created_at",
    ),
    "assessment": (
        "assessments_assessment",
        "id, household_id, county_code, year, assessed_on, assessed_by_id, household_size, wage_income, "
        "operating_income, operating_cost, property_income, transfers, transfer_income, net_income, "
        "per_capita_net_income, food_secure, clothing_secure, water_litres_per_person_day, water_fetch_minutes, "
        "water_quality_safe, education_exempt_members, notes, version, created_at, updated_at",
    ),
    "exit_case": (
        "assessments_exitcase",
        "id, household_id, county_code, year, assessment_id, status, rule_set_version, rule_results, snapshot, "
        "eligible, acknowledged_by, notice_ends_on, status_reason, certified_on, certificate_code, revoked, "
        "revoked_reason, version, created_at, updated_at",
    ),
    "exit_step": (
        "assessments_exitcasestep",
        "id, case_id, county_code, action, from_status, to_status, actor_id, reason, effective_date, created_at",
    ),
    "measure": (
        "assessments_helpmeasure",
        "id, household_id, county_code, category, five_batches, measure_date, amount, fund_source, "
        "responsible_unit, description, recorded_by_id, created_at",
    ),
    "plan": (
        "assessments_reductionplan",
        "id, county_id, county_code, year, persons_to_exit, villages_to_exit, county_exits, note, created_by_id, "
        "created_at, updated_at",
    ),
}
#: Tables with a serial id: (key in TABLES, sequence owner table).
SERIAL = ["helper", "work_team", "team_member", "household", "member", "status_change", "assessment"]
SERIAL += ["exit_case", "exit_step", "measure", "plan"]
#: Foreign keys validated after a load with the triggers off: (table, column, referenced table, key).
FOREIGN_KEYS = [
    ("villages_division", "parent_id", "villages_division", "code"),
    ("villages_villagestatus", "village_id", "villages_division", "code"),
    ("villages_countystatus", "county_id", "villages_division", "code"),
    ("villages_helper", "division_id", "villages_division", "code"),
    ("villages_workteam", "village_id", "villages_division", "code"),
    ("villages_workteammember", "team_id", "villages_workteam", "id"),
    ("households_household", "village_id", "villages_division", "code"),
    ("households_household", "helper_id", "villages_helper", "id"),
    ("households_member", "household_id", "households_household", "id"),
    ("households_statuschange", "household_id", "households_household", "id"),
    ("assessments_assessment", "household_id", "households_household", "id"),
    ("assessments_exitcase", "household_id", "households_household", "id"),
    ("assessments_exitcase", "assessment_id", "assessments_assessment", "id"),
    ("assessments_exitcasestep", "case_id", "assessments_exitcase", "id"),
    ("assessments_helpmeasure", "household_id", "households_household", "id"),
    ("assessments_reductionplan", "county_id", "villages_division", "code"),
]
#: Change-feed kinds written after a load with the triggers off: (kind, table, village code SQL, join).
FEED = [
    ("household", "households_household", "t.village_id", ""),
    ("member", "households_member", "h.village_id", "JOIN households_household h ON h.id = t.household_id"),
    ("assessment", "assessments_assessment", "h.village_id", "JOIN households_household h ON h.id = t.household_id"),
    ("exit_case", "assessments_exitcase", "h.village_id", "JOIN households_household h ON h.id = t.household_id"),
]


class GenerationRefused(Exception):
    """The database is not one to generate into (it holds households, or is production)."""


def _b(value: bool) -> str:
    return "t" if value else "f"


def _n(value) -> str:
    return NULL if value is None else str(value)


@lru_cache(maxsize=8192)
def _ts(day: date, hour: int = 9) -> str:
    return f"{day.isoformat()} {hour:02d}:00:00+08"


def _yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _per_capita_cents(net_cents: int, size: int) -> int:
    """Return ``net / size`` rounded half-even to the cent, as ``Decimal.quantize`` does."""
    q, r = divmod(net_cents, size)
    if 2 * r > size or (2 * r == size and q % 2):
        q += 1
    return q


@dataclass
class Person:
    relationship: str
    sex: str
    birth: date
    name: str = ""
    id_number: str = ""
    row: dict = field(default_factory=dict)


@dataclass
class CountyPlan:
    code: str
    name: str
    west: bool
    villages: list = field(default_factory=list)  # [(code, name, township code, households)]
    townships: list = field(default_factory=list)  # [(code, name)]
    exit_year: int = 2019
    persons_exited: dict = field(default_factory=dict)
    villages_exited: dict = field(default_factory=dict)
    population: int = 0


class Generator:
    """Draw the province and write it table by table, one county at a time."""

    def __init__(self, *, households: int, seed: int, province_code: str, as_of: date):
        self.total = households
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by design
        self.province = province_code
        self.as_of = as_of
        self.next_id = {}
        self.buffers = {key: [] for key in TABLES}
        self.counts = dict.fromkeys(TABLES, 0)
        self.seconds = dict.fromkeys(TABLES, 0.0)
        self.ids_used: dict[str, int] = {}
        self.lines = {}
        self.standards = {}
        self._pending_snapshot = self._pending_case = None
        self._copier = ThreadPoolExecutor(max_workers=1)
        self._copying = None
        connection.ensure_connection()
        self._raw = connection.connection

    # Setup ------------------------------------------------------------------------------

    def _start_ids(self) -> None:
        with connection.cursor() as cursor:
            for key in SERIAL:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {TABLES[key][0]}")  # noqa: S608 - constant names
                self.next_id[key] = cursor.fetchone()[0] + 1

    def _id(self, key: str) -> int:
        value = self.next_id[key]
        self.next_id[key] = value + 1
        return value

    def _load_standards(self) -> None:
        """Read the poverty line and water and schooling standards per year (adding missing lines)."""
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            try:
                line = parameter(ParameterKey.POVERTY_LINE, year=year, division_code=self.province)
            except ApplicationError:  # no line for the year: add the national one
                parameter_set(
                    actor=None,
                    key=ParameterKey.POVERTY_LINE,
                    year=year,
                    value=str(NATIONAL_POVERTY_LINES[year]),
                    note="国家扶贫标准（现价）",
                )
                line = parameter(ParameterKey.POVERTY_LINE, year=year, division_code=self.province)
            self.lines[year] = str(line)
            self.standards[year] = {
                "poverty_line": str(line),
                "water_min_litres": int(
                    parameter(ParameterKey.WATER_MIN_LITRES, year=year, division_code=self.province)
                ),
                "water_max_fetch_minutes": int(
                    parameter(ParameterKey.WATER_MAX_FETCH_MINUTES, year=year, division_code=self.province)
                ),
                "compulsory_education_ages": list(
                    parameter(ParameterKey.COMPULSORY_EDUCATION_AGES, year=year, division_code=self.province)
                ),
            }

    def _plan_geography(self) -> list[CountyPlan]:
        """Pick the counties (reference ones still empty) and invent their townships and villages."""
        from villages.models import CountyStatus, Division

        existing = dict(Division.objects.filter(code__startswith=self.province[:2]).values_list("code", "level"))
        if self.province not in existing:
            name = "湖南省" if self.province == DEFAULT_PROVINCE else f"{self.province[:2]}省"
            self.buffers["division"].append((self.province, name, "province", NULL))
            existing[self.province] = "province"
        names = dict(Division.objects.filter(code__startswith=self.province[:2]).values_list("code", "name"))
        for row in read_reference_divisions():
            if row["code"][:2] == self.province[:2] and row["level"] != "province" and row["code"] not in existing:
                self.buffers["division"].append((row["code"], row["name"], row["level"], row["parent_code"]))
                existing[row["code"]] = row["level"]
                names[row["code"]] = row["name"]
        taken = set(CountyStatus.objects.values_list("county_id", flat=True))
        used_prefixes = {code[:6] for code, level in existing.items() if level in ("township", "village")}
        counties = sorted(c for c, level in existing.items() if level == "county")
        rural = [c for c in counties if not names[c].endswith("区")]
        free = [c for c in rural if c not in taken and c[:6] not in used_prefixes]
        candidates = free or rural or counties
        if not candidates:
            prefecture = self.province[:2] + "9900000000"
            self.buffers["division"].append((prefecture, "合成市", "prefecture", self.province))
            candidates = [self.province[:2] + f"99{i:02d}000000" for i in range(1, 41)]
            for code in candidates:
                self.buffers["division"].append((code, f"合成{code[4:6]}县", "county", prefecture))
                names[code] = f"合成{code[4:6]}县"
        villages = max(1, round(self.total / HOUSEHOLDS_PER_VILLAGE))
        count = min(len(candidates), max(1, math.ceil(villages / VILLAGES_PER_COUNTY)))
        chosen = sorted(self.rng.sample(candidates, count))
        plans = [CountyPlan(code=c, name=names[c], west=c.startswith("4331")) for c in chosen]
        sizes = self._split(self.total, villages)
        used_codes = set(existing)
        for i, size in enumerate(sizes):
            county = plans[i % count]
            if len(county.villages) % VILLAGES_PER_TOWNSHIP == 0:
                number = 100 + len(county.townships) + 1
                while f"{county.code[:6]}{number:03d}000" in used_codes:
                    number += 1
                code = f"{county.code[:6]}{number:03d}000"
                used_codes.add(code)
                county.townships.append((code, self._place() + self.rng.choice("镇乡")))
            township = county.townships[-1][0]
            village = f"{township[:9]}{200 + len(county.villages) % VILLAGES_PER_TOWNSHIP + 1:03d}"
            county.villages.append((village, self._place() + "村", township, size))
        for county in plans:
            county.exit_year = _weighted(self.rng, {2017: 15, 2018: 35, 2019: 40, 2020: 10})
        return plans

    def _split(self, total: int, parts: int) -> list[int]:
        weights = [self.rng.uniform(0.6, 1.4) for _ in range(parts)]
        scale = total / sum(weights)
        sizes = [int(w * scale) for w in weights]
        for i in range(total - sum(sizes)):
            sizes[i % parts] += 1
        return sizes

    def _place(self) -> str:
        return self.rng.choice(PLACE) + self.rng.choice(PLACE)

    # People -----------------------------------------------------------------------------

    def _id_number(self, county: str, birth: date, sex: str) -> str:
        """Return a valid ID number unique in the load: the county code, birth date and a counter."""
        while True:
            key = (birth, sex)
            k = self.ids_used.get(key, 0)
            if k < 499:
                self.ids_used[key] = k + 1
                first17 = f"{county[:6]}{birth:%Y%m%d}{2 * k + (1 if sex == '1' else 2):03d}"
                return first17 + check_char(first17)
            birth += timedelta(days=1)

    def _name(self, surname: str, sex: str, born: int) -> str:
        generation = "old" if born < 1960 else "mid" if born < 1995 else "young"
        chars = GIVEN[(sex, generation)]
        rng = self.rng
        return surname + rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.6 else "")

    def _birth(self, year: int) -> date:
        return date(year, 1, 1) + timedelta(days=self.rng.randrange(365))

    def _compose(self, size: int, applied: date) -> list[Person]:
        """Return the members: head, spouse of the other sex, children 20–40 years younger, parents older."""
        rng = self.rng
        year = applied.year
        head_age = _weighted(rng, {rng.randint(25, 39): 20, rng.randint(40, 59): 45, rng.randint(60, 80): 35})
        if size >= 4:
            head_age = min(head_age, rng.randint(32, 58))
        head_sex = "1" if rng.random() < 0.85 else "2"
        head_birth = self._birth(year - head_age - 1)
        people = [Person("head", head_sex, head_birth)]
        if size >= 2 and rng.random() < 0.9:
            spouse_birth = self._birth(min(year - 19, head_birth.year + rng.randint(-3, 5)))
            people.append(Person("spouse", "2" if head_sex == "1" else "1", spouse_birth))
        children = []
        while len(people) < size and head_age - len(children) * 2 >= 22 and len(children) < 4:
            born = min(year - 1, head_birth.year + rng.randint(20, 40))
            child = Person(rng.choice(("son", "daughter")), "", self._birth(born))
            child.sex = "1" if child.relationship == "son" else "2"
            children.append(child)
            people.append(child)
            if len(people) >= size or rng.random() < 0.35:
                break
        parents = 0
        while len(people) < size and head_age <= 55 and parents < 2:
            born = head_birth.year - rng.randint(22, 35)
            people.append(Person("parent", "1" if parents == 0 and rng.random() < 0.5 else "2", self._birth(born)))
            parents += 1
        adult_children = [c for c in children if _age(c.birth, applied) >= 20]
        while len(people) < size and adult_children:
            parent = rng.choice(adult_children)
            born = min(year - 1, parent.birth.year + rng.randint(20, 30))
            people.append(Person("grandchild", rng.choice("12"), self._birth(born)))
        while len(people) < size:
            if children or head_age < 22:
                born = head_birth.year + rng.randint(-8, 8)
                people.append(Person("sibling", rng.choice("12"), self._birth(min(born, year - 1))))
            else:
                born = min(year - 1, head_birth.year + rng.randint(20, 40))
                child = Person(rng.choice(("son", "daughter")), "", self._birth(born))
                child.sex = "1" if child.relationship == "son" else "2"
                children.append(child)
                people.append(child)
        return people

    def _student_status(self, age: int, must_attend: bool) -> str:
        if age < 3:
            status = "not_student"
        elif age < 6:
            status = "preschool"
        elif age < 12:
            status = "primary"
        elif age < 15:
            status = "junior"
        elif age < 18:
            status = "senior" if self.rng.random() < 0.7 else "secondary_vocational"
        elif age < 23 and self.rng.random() < 0.4:
            status = self.rng.choice(("higher_vocational", "undergraduate"))
        else:
            status = "not_student"
        if must_attend and status in ("not_student", "preschool"):
            status = "undergraduate" if age >= 16 else "primary"
        return status

    def _education(self, person: Person, age: int, student: str) -> str:
        if student != "not_student" or age < 6:
            return ""
        rng, born = self.rng, person.birth.year
        if born < 1950:
            return rng.choice(("illiterate", "illiterate", "primary"))
        if born < 1966:
            return rng.choice(("primary", "primary", "junior"))
        if born < 1981:
            return rng.choice(("primary", "junior", "junior", "junior"))
        return rng.choice(("junior", "junior", "senior", "college"))

    def _fill(self, person: Person, *, county: str, surname: str, ethnicity: dict, must_attend: bool) -> None:
        rng = self.rng
        age = _age(person.birth, self.as_of)
        person.name = self._name(surname if person.relationship != "spouse" else rng.choice(SURNAMES),
                                 person.sex, person.birth.year)  # fmt: skip
        person.id_number = self._id_number(county, person.birth, person.sex)
        student = self._student_status(age, must_attend)
        chronic = age >= 50 and rng.random() < 0.12
        labour = ""
        if 16 <= age <= 65:
            labour = "none" if student != "not_student" else _weighted(rng, {"ordinary": 65, "skilled": 20, "weak": 15})
        elif age > 65:
            labour = _weighted(rng, {"weak": 50, "lost": 30, "none": 20})
        migrant = "none"
        if labour in ("ordinary", "skilled") and rng.random() < 0.4:
            migrant = _weighted(rng, {"in_county": 30, "in_province": 30, "out_of_province": 40})
        person.row = {
            "ethnicity": _weighted(rng, ethnicity),
            "education": self._education(person, age, student),
            "student_status": student,
            "chronic_disease": chronic,
            "serious_illness": False,
            "disabled": False,
            "disability_certificate": "",
            "labour_ability": labour,
            "migrant_work": migrant,
            "migrant_months": 0 if migrant == "none" else rng.randint(3, 12),
            "pension_insurance": age >= 16 and student == "not_student" and rng.random() < 0.85,
            "dibao_recipient": False,
            "tekun_recipient": False,
        }

    def _make_ill(self, person: Person) -> None:
        row = person.row
        if self.rng.random() < 0.3:
            row["serious_illness"] = True
        else:
            row["chronic_disease"] = True
        if row["labour_ability"] in ("ordinary", "skilled"):
            row["labour_ability"] = "weak"
            row["migrant_work"], row["migrant_months"] = "none", 0

    def _make_disabled(self, person: Person) -> None:
        row = person.row
        row["disabled"] = True
        row["disability_certificate"] = f"{person.id_number}{self.rng.randint(1, 7)}{self.rng.randint(1, 4)}"
        if row["labour_ability"] in ("ordinary", "skilled", "weak"):
            row["labour_ability"] = self.rng.choice(("weak", "lost"))
            row["migrant_work"], row["migrant_months"] = "none", 0

    # One household ----------------------------------------------------------------------

    def _household(self, county: CountyPlan, village: str, helper_id: int, sequence: int) -> int:
        """Write one household with its members, history, assessments, exit and measures; return its size."""
        rng = self.rng
        household_id = self._id("household")
        cc = county.code[:6]
        ident_year = _weighted(rng, {2014: 80, 2015: 12, 2016: 8})
        applied = date(ident_year, rng.randint(3, 6), rng.randint(1, 28))
        size = _weighted(rng, SIZE_WEIGHTS)
        people = self._compose(size, applied)
        # The fate decides how long the household is assessed (and so which children must be at school).
        r = rng.random()
        exit_year = return_year = removal_year = None
        if r < 0.01 and ident_year < 2019:
            fate, removal_year = "removed", rng.randint(ident_year + 1, 2019)
        elif r < 0.04:
            fate = "registered"
        elif r < 0.055 and ident_year < 2018:
            fate = "returned"
            exit_year = rng.randint(ident_year + 1, 2018)
            return_year = rng.randint(exit_year + 1, LAST_YEAR)
        else:
            fate = "exited"
            years = {y: w for y, w in EXIT_YEAR_WEIGHTS.items() if y > ident_year}
            exit_year = min(_weighted(rng, years), max(county.exit_year, ident_year + 1))
        last_year = removal_year - 1 if removal_year else LAST_YEAR
        # A child of compulsory age on the exit assessment or the latest one is at school
        # (the exit rules judge the members as they are now).
        judged = {y for y in (exit_year, last_year) if y}
        ethnicity = ETHNICITY_WEST if county.west else ETHNICITY
        surname = rng.choice(SURNAMES)
        for person in people:
            attend = any(self._compulsory_age(person.birth, year) for year in judged)
            self._fill(person, county=county.code, surname=surname, ethnicity=ethnicity, must_attend=attend)
        head = people[0]
        # Cause and attribute, made true of the members.
        cause = _weighted(rng, CAUSE_WEIGHTS)
        if cause == "education" and not any(p.row["student_status"] != "not_student" for p in people):
            cause = "lack_capital"
        if cause == "illness":
            self._make_ill(max(people, key=lambda p: _age(p.birth, applied) + rng.randint(0, 30)))
        elif cause == "disability":
            self._make_disabled(rng.choice(people))
        others = rng.sample([c for c in CAUSE_WEIGHTS if c not in (cause, "illness", "education", "disability")],
                            rng.choice((0, 1, 1, 2)))  # fmt: skip
        old = _age(head.birth, applied) >= 60
        attribute = "general"
        if size <= 2 and old and rng.random() < 0.35:
            attribute, head.row["tekun_recipient"] = "tekun", True
        elif rng.random() < (0.3 if cause in ("illness", "disability", "lack_labour") else 0.1):
            attribute, head.row["dibao_recipient"] = "dibao", True
        # Housing: exited households live safely (the exit rules ask it).
        grade = _weighted(rng, HOUSING_GRADES)
        renovated = grade in "CD" and (fate in ("exited", "returned", "removed") or rng.random() < 0.5)
        relocated = rng.random() < 0.08
        water_safe = fate != "registered" or rng.random() < 0.9
        # Identification (两公示一公告), as households.workflow writes it.
        changes = []
        day = applied
        changes.append(("apply", "applied", "applied", "application", "application", "", day))
        day += timedelta(days=rng.randint(3, 15))
        changes.append(("appraise", "applied", "appraised", "application", "appraised", "", day))
        day += timedelta(days=rng.randint(0, 2))
        changes.append(("open_village_notice", "appraised", "in_notice", "appraised", "village_notice", "", day))
        day += timedelta(days=7 + rng.randint(0, 3))
        changes.append(("close_village_notice", "in_notice", "in_notice", "village_notice", "township_review", "",
                        day))  # fmt: skip
        day += timedelta(days=rng.randint(1, 7))
        changes.append(("township_approve", "in_notice", "in_notice", "township_review", "township_notice", "", day))
        day += timedelta(days=7 + rng.randint(0, 3))
        changes.append(("close_township_notice", "in_notice", "in_notice", "township_notice", "county_approval", "",
                        day))  # fmt: skip
        day += timedelta(days=rng.randint(1, 10))
        changes.append(("county_approve", "in_notice", "registered", "county_approval", "announced", "", day))
        identified = day
        # Assessments, yearly from identification.
        assessments = {}
        ratio = rng.uniform(0.5, 0.92)
        target = rng.uniform(1.08, 1.6)
        for year in range(ident_year, last_year + 1):
            if exit_year and year < exit_year:
                steps = exit_year - year
                ratio += (target - ratio) / (steps + 1) * rng.uniform(0.6, 1.2)
                ratio = min(ratio, 0.98)
            elif exit_year and year == exit_year:
                ratio = target
            elif return_year and year == return_year:
                ratio = rng.uniform(0.6, 0.95)
            elif return_year and year > return_year:
                ratio = min(0.98, ratio * rng.uniform(1.0, 1.1))
            elif exit_year:
                ratio = max(1.05, ratio * rng.uniform(1.0, 1.12))
            else:
                ratio = min(0.98, ratio * rng.uniform(1.0, 1.08))
            assessed_on = identified + timedelta(days=1) if year == ident_year else date(year, 9, rng.randint(1, 20))
            assessments[year] = self._assessment(household_id, cc, year, assessed_on, people, attribute, ratio)
        status = "registered"
        version = 1 + 6 + 1  # apply, six transitions, the helper's pairing
        reason = ""
        status_date = identified
        case_code = None
        if exit_year:
            case_code, certified = self._exit_case(household_id, cc, village, assessments[exit_year], people)
            reason = f"{exit_year} 年脱贫退出（{case_code}）"
            changes.append(("certify_exit", "registered", "exited", "announced", "announced", reason, certified))
            status, status_date, version = "exited", certified, version + 1
            county.persons_exited[exit_year] = county.persons_exited.get(exit_year, 0) + size
        if return_year:
            returned_on = date(return_year, rng.randint(3, 8), rng.randint(1, 28))
            reason = rng.choice(RETURN_REASONS)
            changes.append(("return_to_poverty", "exited", "returned", "announced", "announced", reason, returned_on))
            status, status_date, version = "returned", returned_on, version + 1
        if removal_year:
            removed_on = date(removal_year, rng.randint(2, 11), rng.randint(1, 28))
            reason = "清退（错评）：" + rng.choice(REMOVAL_REASONS)
            changes.append(("remove", status, "removed", "announced", "announced", reason, removed_on))
            status, status_date, version = "removed", removed_on, version + 1
        current = status != "removed"
        for action, from_status, to_status, from_step, to_step, why, on in changes:
            self.buffers["status_change"].append(
                (self._id("status_change"), household_id, cc, action, from_status, to_status, from_step, to_step,
                 NULL, why, on.isoformat(), _ts(on))
            )  # fmt: skip
        self._measures(household_id, cc, cause, relocated, grade, renovated, identified, size)
        created, updated = _ts(applied), _ts(status_date, 17)
        registry_number = f"{village}{sequence:04d}"
        self.buffers["household"].append(
            (household_id, registry_number, cc, village, NULL, "national", attribute, cause,
             json.dumps(others), ident_year, f"{rng.randint(40, 160)}.{rng.randint(0, 99):02d}",
             _weighted(rng, STRUCTURES), grade, _b(renovated), _b(water_safe), "t",
             f"{rng.uniform(0, 8):.2f}", f"{rng.randint(0, 80) / 10:.2f}", f"{rng.randint(0, 300) / 10:.2f}",
             _b(relocated), f"1{rng.choice('3578')}{rng.randrange(10**9):09d}", helper_id, status, "announced",
             NULL, reason, status_date.isoformat(), version, created, updated)
        )  # fmt: skip
        for person in people:
            row = person.row
            self.buffers["member"].append(
                (person.member_id, household_id, cc, person.name, person.id_number, person.sex,
                 person.birth.isoformat(), row["ethnicity"], person.relationship, row["education"],
                 row["student_status"], _b(row["chronic_disease"]), _b(row["serious_illness"]), _b(row["disabled"]),
                 row["disability_certificate"], row["labour_ability"], row["migrant_work"], row["migrant_months"],
                 "t", "t", _b(row["pension_insurance"]), _b(row["dibao_recipient"]), _b(row["tekun_recipient"]),
                 "active", NULL, _b(current), 1, created, created)
            )  # fmt: skip
        if self._pending_case is not None:
            self._finish_case()
        return size

    def _compulsory_age(self, birth: date, year: int) -> bool:
        """Return whether ``birth`` is of compulsory school age on some day of the year's assessment window."""
        low, high = self.standards[year]["compulsory_education_ages"]
        return _age(birth, date(year, 9, 20)) >= low and _age(birth, date(year, 9, 1)) <= high

    def _assessment(self, household_id, cc, year, assessed_on, people, attribute, ratio) -> dict:
        """Write one assessment whose per-capita income is ``ratio`` × the year's line; return its snapshot."""
        rng = self.rng
        if not hasattr(people[0], "member_id"):
            for person in people:
                person.member_id = self._id("member")
        present = [p for p in people if p.birth <= assessed_on]
        size = len(present)
        line = int(float(self.lines[year]))
        net = max(size * 300, int(line * ratio * size))
        transfers = {}
        if attribute == "dibao":
            transfers["dibao"] = 100 * rng.randint(15, 40)
        if attribute == "tekun":
            transfers["tekun"] = 100 * rng.randint(40, 55)
        elderly = sum(1 for p in present if _age(p.birth, assessed_on) >= 60)
        if elderly:
            transfers["pension"] = 12 * 80 * elderly
        if rng.random() < 0.2:
            transfers["ecological"] = 10 * rng.randint(20, 80)
        transfer = sum(transfers.values())
        if transfer > net * 0.7:
            scale = net * 0.7 / transfer
            transfers = {k: max(1, int(v * scale)) for k, v in transfers.items()}
            transfer = sum(transfers.values())
        rest = net - transfer
        prop = rng.randint(0, rest // 10) if rng.random() < 0.2 else 0
        wage = int((rest - prop) * rng.uniform(0.45, 0.9))
        if wage <= 0:
            wage = rest - prop
        op_net = rest - prop - wage
        cost = max(1, int(op_net * rng.uniform(0.2, 0.5))) if op_net > 0 else 0
        operating = op_net + cost if op_net > 0 else 0
        wage = rest - prop - (operating - cost)
        per_capita = _per_capita_cents(net * 100, size)
        litres, minutes = rng.randint(40, 120), rng.randint(0, 20)
        assessment_id = self._id("assessment")
        transfers_json = json.dumps({k: f"{v}.00" for k, v in transfers.items()})
        self.buffers["assessment"].append(
            (assessment_id, household_id, cc, year, assessed_on.isoformat(), NULL, size, f"{wage}.00",
             f"{operating}.00", f"{cost}.00", f"{prop}.00", transfers_json, f"{transfer}.00", f"{net}.00",
             _yuan(per_capita), "t", "t", litres, minutes, "t", "[]", "", 1, _ts(assessed_on), _ts(assessed_on))
        )  # fmt: skip
        return {
            "id": assessment_id,
            "version": 1,
            "year": year,
            "assessed_on": assessed_on.isoformat(),
            "household_size": size,
            "net_income": f"{net}.00",
            "per_capita_net_income": _yuan(per_capita),
            "food_secure": True,
            "clothing_secure": True,
            "water_litres_per_person_day": litres,
            "water_fetch_minutes": minutes,
            "water_quality_safe": True,
            "education_exempt_members": [],
            "present": present,
        }

    def _exit_case(self, household_id, cc, village, assessment: dict, people) -> tuple[str, date]:
        """Write the certified exit case of the assessment's year with its eight steps."""
        rng = self.rng
        year = assessment["year"]
        present = assessment.pop("present")
        case_id = self._id("exit_case")
        snapshot = {
            "rule_set_version": RULE_SET_VERSION,
            "household": {
                "id": household_id,
                "registry_number": None,  # these four are filled in by _finish_case
                "village": village,
                "housing_grade": None,
                "housing_renovated": None,
                "drinking_water_safe": True,
            },
            "assessment": assessment,
            "members": [
                {
                    "id": p.member_id,
                    "name": p.name,
                    "birth_date": p.birth.isoformat(),
                    "student_status": p.row["student_status"],
                    "basic_medical_insurance": True,
                }
                for p in present
            ],
            "standards": self.standards[year],
        }
        self._pending_snapshot = snapshot
        code = self._certificate_code(case_id)
        day = date.fromisoformat(assessment["assessed_on"]) + timedelta(days=rng.randint(3, 10))
        steps = []
        head = people[0].name
        for action, from_status, to_status in EXIT_STEPS:
            if action == "close_notice":
                day += timedelta(days=7 + rng.randint(0, 3))
            elif action != "propose":
                day += timedelta(days=rng.randint(0, 5) if action != "county_certify" else rng.randint(3, 15))
            steps.append((action, from_status, to_status, head if action == "acknowledge" else "", day))
        for action, from_status, to_status, why, on in steps:
            self.buffers["exit_step"].append(
                (self._id("exit_step"), case_id, cc, action, from_status, to_status, NULL, why, on.isoformat(), _ts(on))
            )
        proposed, certified = steps[0][4], steps[-1][4]
        self._pending_case = [case_id, household_id, cc, year, assessment["id"], "certified", RULE_SET_VERSION,
                              None, None, "t", head, NULL, "", certified.isoformat(), code, "f", "",
                              len(EXIT_STEPS), _ts(proposed), _ts(certified, 17)]  # fmt: skip
        return code, certified

    def _certificate_code(self, case_id: int) -> str:
        """Return a 12-character code unique per case id (an odd multiplier is a bijection mod 32¹²)."""
        value = (case_id * 0x9E3779B97F4A7C15 + self.seed) % (32**12)
        chars = []
        for _ in range(12):
            value, digit = divmod(value, 32)
            chars.append(CERTIFICATE_ALPHABET[digit])
        return "".join(chars)

    def _finish_case(self) -> None:
        """Complete the exit case with the household's row (number, housing) and judge it."""
        snapshot = self._pending_snapshot
        row = self.buffers["household"][-1]
        snapshot["household"].update(registry_number=row[1], housing_grade=row[12],
                                     housing_renovated=row[13] == "t", drinking_water_safe=row[14] == "t")  # fmt: skip
        # RuleResult.as_dict() (dataclasses.asdict) deep-copies; the same dict, built directly.
        results = [
            {"rule": r.rule, "label": r.label, "passed": r.passed, "values": r.values, "explanation": r.explanation}
            for r in evaluate(snapshot)
        ]
        case = self._pending_case
        case[7] = json.dumps(results, cls=DjangoJSONEncoder, ensure_ascii=False)
        case[8] = json.dumps(snapshot, cls=DjangoJSONEncoder, ensure_ascii=False)
        self.buffers["exit_case"].append(tuple(case))
        self._pending_snapshot = self._pending_case = None

    def _measures(self, household_id, cc, cause, relocated, grade, renovated, identified, size) -> None:
        rng = self.rng
        keys = list(CAUSE_MEASURES.get(cause, ("industry", "training", "transport")))
        chosen = rng.sample(keys, rng.randint(1, 3))
        if relocated:
            chosen[-1] = "relocation"
        elif grade in "CD" and renovated:
            chosen[-1] = "housing"
        for key in chosen:
            kind = MEASURES[key]
            low, high = kind.amounts
            amount = 12000 * size if key == "relocation" else rng.randint(low // 100, high // 100) * 100
            day = identified + timedelta(days=rng.randint(30, 700))
            day = min(day, date(LAST_YEAR, 12, 31))
            self.buffers["measure"].append(
                (self._id("measure"), household_id, cc, kind.category, kind.five_batches, day.isoformat(),
                 f"{amount}.00", kind.fund_source, "县" + kind.unit, kind.description, NULL, _ts(day))
            )  # fmt: skip

    # Villages and counties --------------------------------------------------------------

    def _county(self, county: CountyPlan) -> None:
        rng = self.rng
        cc = county.code[:6]
        self.ids_used = {}
        for code, name in county.townships:
            self.buffers["division"].append((code, name, "township", county.code))
        for village, name, township, _count in county.villages:
            self.buffers["division"].append((village, name, "village", township))
        for village, _name, _township, count in county.villages:
            poor = count >= HOUSEHOLDS_PER_VILLAGE * 0.8 or rng.random() < 0.5
            helpers = []
            for _ in range(max(1, math.ceil(count / 4))):
                helper_id = self._id("helper")
                sex = "1" if rng.random() < 0.7 else "2"
                birth = self._birth(rng.randint(1960, 1994))
                unit = rng.choice(UNITS)
                self.buffers["helper"].append(
                    (helper_id, village, cc, self._name(rng.choice(SURNAMES), sex, birth.year),
                     self._id_number(cc, birth, sex), unit, rng.choice(("科员", "副局长", "股长", "干部")),
                     f"13{rng.randrange(10**9):09d}", "t", _ts(date(2015, 3, 1)), _ts(date(2015, 3, 1)))
                )  # fmt: skip
                helpers.append(helper_id)
            persons = 0
            for sequence in range(1, count + 1):
                persons += self._household(county, village, helpers[(sequence - 1) // 4], sequence)
            incidence = rng.uniform(0.15, 0.35) if poor else rng.uniform(0.04, 0.1)
            population = max(persons, int(persons / incidence))
            county.population += population
            exit_year = None
            if poor:
                exit_year = min(county.exit_year, rng.choice((2016, 2017, 2018, 2019, 2020)))
                county.villages_exited[exit_year] = county.villages_exited.get(exit_year, 0) + 1
                self._work_teams(village, rng.choice(UNITS))
            self.buffers["village_status"].append(
                (village, _b(poor), 2014 if poor else NULL, _b(poor and rng.random() < 0.1), population,
                 int(population / 3.6), "exited" if poor else "not_exited", _n(exit_year))
            )  # fmt: skip
        county.population = int(county.population * rng.uniform(1.05, 1.2))
        self.buffers["county_status"].append(
            (county.code, rng.choice(("national_key", "contiguous", "provincial")), _b(county.west),
             "west" if county.west else "central_east", county.population, county.exit_year, "exited",
             county.exit_year)
        )  # fmt: skip
        for year in range(2015, LAST_YEAR + 1):
            actual = county.persons_exited.get(year, 0)
            self.buffers["plan"].append(
                (self._id("plan"), county.code, cc, year, int(actual * rng.uniform(0.95, 1.05)),
                 county.villages_exited.get(year, 0), _b(year == county.exit_year), "", NULL,
                 _ts(date(year, 1, 15)), _ts(date(year, 1, 15)))
            )  # fmt: skip

    def _work_teams(self, village: str, unit: str) -> None:
        rng = self.rng
        first = self._id("work_team")
        self.buffers["work_team"].append(
            (first, village, unit, "2015-03-01", "2018-02-28", "withdrawn", "2018-03-05", "任期届满轮换",
             _ts(date(2015, 3, 1)), _ts(date(2018, 3, 5)))
        )  # fmt: skip
        second = self._id("work_team")
        self.buffers["work_team"].append(
            (second, village, rng.choice(UNITS), "2018-03-01", "2021-02-28", "stationed", NULL, "",
             _ts(date(2018, 3, 1)), _ts(date(2018, 3, 1)))
        )  # fmt: skip
        for team, active, left in ((first, "f", "2018-03-05"), (second, "t", NULL)):
            for i in range(3):
                sex = "1" if rng.random() < 0.7 else "2"
                self.buffers["team_member"].append(
                    (self._id("team_member"), team, self._name(rng.choice(SURNAMES), sex, rng.randint(1965, 1992)),
                     "leader" if i == 0 else "member", "第一书记" if i == 0 else "", unit,
                     f"13{rng.randrange(10**9):09d}", NULL, active, left)
                )  # fmt: skip

    # Writing ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Hand the buffered rows to the COPY thread as CSV, in load order, and empty the buffers.

        The thread copies one batch while this one draws the next (PostgreSQL on one core,
        Python on the other); it waits for the previous batch first, so at most two are held.
        """
        batch = []
        for key, (table, columns) in TABLES.items():
            rows = self.buffers[key]
            if rows:
                buffer = io.StringIO()
                csv.writer(buffer, lineterminator="\n").writerows(rows)
                buffer.seek(0)
                batch.append((key, table, columns, buffer, len(rows)))
                self.buffers[key] = []
        self.wait()
        self._copying = self._copier.submit(self._copy, batch)

    def wait(self) -> None:
        """Wait for the batch being copied (and raise its error, if any)."""
        if self._copying is not None:
            copying, self._copying = self._copying, None
            copying.result()

    def _copy(self, batch) -> None:
        with self._raw.cursor() as cursor:
            for key, table, columns, buffer, count in batch:
                started = time.perf_counter()
                cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
                self.seconds[key] += time.perf_counter() - started
                self.counts[key] += count


def _set_triggers_off() -> bool:
    """Turn ordinary and foreign-key triggers off for the transaction; return whether it worked."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        return True
    except DatabaseError:
        return False


def _validate_foreign_keys() -> None:
    with connection.cursor() as cursor:
        for table, column, target, key in FOREIGN_KEYS:
            orphan = f"NOT EXISTS (SELECT 1 FROM {target} r WHERE r.{key} = t.{column})"  # noqa: S608
            sql = f"SELECT COUNT(*) FROM {table} t WHERE t.{column} IS NOT NULL AND {orphan}"  # noqa: S608 - constants
            cursor.execute(sql)
            orphans = cursor.fetchone()[0]
            if orphans:
                raise RuntimeError(f"{orphans} rows of {table}.{column} reference no {target}")


def _write_feed(first_ids: dict[str, int]) -> None:
    """Record one 'c' change per new household, member, assessment and exit case (the triggers were off)."""
    insert = "INSERT INTO registry_change (txid, kind, object_id, op, scope_code, old_scope_code, changed_at)"
    with connection.cursor() as cursor:
        for kind, table, scope, join in FEED:
            select = f"SELECT txid_current(), %s, t.id, 'c', {scope}, '', now() FROM {table} t {join}"  # noqa: S608
            cursor.execute(f"{insert} {select} WHERE t.id >= %s ORDER BY t.id", [kind, first_ids[kind]])
        cursor.execute("INSERT INTO registry_changecommit (txid) VALUES (txid_current()) ON CONFLICT DO NOTHING")


#: The household tables: empty when no household exists, so their indexes can be built after the load.
HOUSEHOLD_TABLES = [TABLES[key][0] for key in ("household", "member", "status_change", "assessment", "exit_case")]
HOUSEHOLD_TABLES += [TABLES[key][0] for key in ("exit_step", "measure")]


def _drop_indexes() -> list[str]:
    """Drop the household tables' indexes that back no constraint; return their definitions.

    Building an index once over the loaded rows is several times faster than updating
    it row by row. Unique partial indexes (one head, one current ID number, one open
    exit case) are among them: rebuilding one checks every row, so nothing slips by.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
            "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass) "
            "ORDER BY i.indexname",
            [HOUSEHOLD_TABLES],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return [definition for _name, definition in indexes]


def _create_indexes(definitions: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in definitions:
            cursor.execute(definition)


def _reset_sequences() -> None:
    with connection.cursor() as cursor:
        for key in SERIAL:
            table = TABLES[key][0]
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"  # noqa: S608
            )


def is_production() -> bool:
    """Return whether this is a production deployment (``DJANGO_DEBUG`` off, as the settings read it).

    ``settings.DEBUG`` itself is no guide: the test runner turns it off.
    """
    return not env_bool("DJANGO_DEBUG", True)


def generate_registry(
    *,
    households: int,
    seed: int,
    province_code: str = DEFAULT_PROVINCE,
    as_of: date | None = None,
    force: bool = False,
    analyze: bool = True,
    progress=None,
) -> dict:
    """Generate ``households`` households under the province from ``seed``; return counts and timings.

    Refuses (:class:`GenerationRefused`) when households exist, or in production settings
    unless ``force``. ``as_of`` (default today) is the day ages and schooling are judged on.
    """
    from households.models import Household
    from villages.models import Division

    if is_production() and not force:
        raise GenerationRefused("Refusing to generate into a production database (DEBUG is off); pass --force.")
    if Household.objects.exists():
        raise GenerationRefused("The database already holds households; generate into an empty registry.")
    if households < 1:
        raise GenerationRefused("--households must be at least 1.")
    started = time.perf_counter()
    phases = {}
    mark = [started]

    def phase(name: str) -> None:
        now = time.perf_counter()
        phases[name] = round(now - mark[0], 2)
        mark[0] = now

    generator = Generator(households=households, seed=seed, province_code=province_code, as_of=as_of or date.today())
    with transaction.atomic():
        generator._load_standards()
        generator._start_ids()
        first_ids = {kind: generator.next_id[kind] for kind in ("household", "member", "assessment", "exit_case")}
        triggers_off = _set_triggers_off()
        # With the triggers on, Django's deferred foreign-key checks are pending at the end of
        # the load, and PostgreSQL refuses to build an index on a table with pending events.
        indexes = _drop_indexes() if triggers_off else []
        plans = generator._plan_geography()
        phase("setup")
        try:
            generator.flush()
            for i, county in enumerate(plans, 1):
                generator._county(county)
                generator.flush()
                if progress:
                    progress(f"{i}/{len(plans)} counties drawn")
            generator.wait()
        finally:
            generator._copier.shutdown(wait=True)
        phase("draw_and_copy")
        _create_indexes(indexes)
        phase("indexes")
        if triggers_off:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")
            _validate_foreign_keys()
            phase("foreign_keys")
            _write_feed(first_ids)
            phase("change_feed")
        _reset_sequences()
        from registry.audit import audit_record

        summary = {
            "households": households,
            "seed": seed,
            "province": province_code,
            "as_of": generator.as_of.isoformat(),
            "triggers_off": triggers_off,
            "counts": dict(generator.counts),
        }
        audit_record(
            actor=None,
            action="registry.generate",
            instance=Division.objects.get(pk=province_code),
            scope_code=province_code,
            after=summary,
        )
    phase("commit")
    summary["seconds"] = {k: round(v, 2) for k, v in generator.seconds.items()}
    summary["load_seconds"] = round(time.perf_counter() - started, 2)
    if analyze and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            for table, _columns in TABLES.values():
                cursor.execute(f"ANALYZE {table}")
            cursor.execute("ANALYZE registry_change")
        phase("analyze")
    summary["phases"] = phases
    summary["total_seconds"] = round(time.perf_counter() - started, 2)
    return summary
