"""The data-quality rules (数据质量核查规则), SPEC §9: named, versioned, one query each.

Each rule is a small function from a :class:`Context` (the open households and active
members of one division, and the day of the check) to the defects it finds, as
:class:`Hit` rows: the household, the member where the defect is a person's, and the
values that offend. Every rule but one is a single SQL query over the division (its
household or member rows filtered by the division-code range), so a run costs one query
per rule whatever the size of the division; only :func:`exited_fails_exit_rules` walks
its households, because it reuses the exit rules of :mod:`assessments.eligibility`,
which are Python functions over a snapshot (see its docstring).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import reduce

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Length, Substr
from django.utils.translation import gettext_lazy as _

from assessments.models import Assessment
from households import id_checks
from households.choices import (
    CLOSED_STATUSES,
    POOR_NOT_EXITED,
    REGISTERED_EVER,
    Attribute,
    Cause,
    CrossCheckCategory,
    Ethnicity,
    HouseholdStatus,
    LabourAbility,
    MemberEventKind,
    MemberStatus,
    MigrantWork,
    Relationship,
    Sex,
    StudentStatus,
)
from households.id_checks import expected_check_char
from households.models import CrossCheckEntry, Household, Member, MemberEvent
from quality.choices import DeathSource, Severity, Subject
from registry.scoping import prefix_q

RULE_SET_VERSION = "2026.1"

#: Household statuses the rules look at: every household still in the registry.
OPEN_HOUSEHOLD_STATUSES = tuple(s for s in HouseholdStatus.values if s not in CLOSED_STATUSES)
#: Bounds of a plausible per-capita net income (元/人·年), SPEC §9.
INCOME_MIN_EXCLUSIVE = Decimal("0")
INCOME_MAX = Decimal("100000")
#: Beyond these a household's land or distance to the road is a typing error, not a fact.
LAND_MAX_CULTIVATED_MU = Decimal("100")
LAND_MAX_FOREST_MU = Decimal("2000")
ROAD_MAX_KM = Decimal("50")
#: Ages (in whole years, inclusive) at which the fields are required.
STUDENT_AGES = (6, 23)
LABOUR_AGES = (16, 65)
EDUCATION_MIN_AGE = 6
#: Ages (inclusive) at which each level of schooling is plausible.
STUDENT_LEVEL_AGES = {
    StudentStatus.PRESCHOOL: (2, 7),
    StudentStatus.PRIMARY: (5, 16),
    StudentStatus.JUNIOR: (10, 19),
    StudentStatus.SENIOR: (13, 23),
    StudentStatus.SECONDARY_VOCATIONAL: (13, 30),
    StudentStatus.HIGHER_VOCATIONAL: (16, 40),
    StudentStatus.UNDERGRADUATE: (16, 50),
}
IN_SCHOOL = tuple(s for s in StudentStatus.values if s != StudentStatus.NOT_STUDENT)


@dataclass(frozen=True)
class Hit:
    """One defect: in a household, of a member (or ``None``), with the values that offend."""

    household_id: int
    member_id: int | None
    county_code: str
    division_code: str
    values: dict


@dataclass(frozen=True)
class Context:
    """What a run checks: the division (its code prefix, ``""`` for everything) on a day."""

    prefix: str
    today: date

    def _scoped(self, queryset: QuerySet, village_path: str) -> QuerySet:
        if not self.prefix:
            return queryset
        queryset = queryset.filter(prefix_q(village_path, self.prefix))
        if len(self.prefix) >= 6:  # lets PostgreSQL (or a shard) prune by county first
            queryset = queryset.filter(county_code=self.prefix[:6])
        return queryset

    @property
    def households(self) -> QuerySet:
        """Return the households still in the registry in this division."""
        return self._scoped(Household.objects.filter(status__in=OPEN_HOUSEHOLD_STATUSES), "village_id")

    @property
    def members(self) -> QuerySet:
        """Return the active members of those households."""
        queryset = Member.objects.filter(status=MemberStatus.ACTIVE, household__status__in=OPEN_HOUSEHOLD_STATUSES)
        return self._scoped(queryset, "household__village_id")

    @property
    def latest_assessments(self) -> QuerySet:
        """Return each household's latest annual assessment (the one that describes it now)."""
        later = Assessment.objects.filter(household=OuterRef("household"), year__gt=OuterRef("year"))
        queryset = Assessment.objects.filter(household__status__in=OPEN_HOUSEHOLD_STATUSES).filter(~Exists(later))
        return self._scoped(queryset, "household__village_id")

    def born_by(self, age: int) -> date:
        """Return the last birth date of someone at least ``age`` years old today."""
        try:
            return self.today.replace(year=self.today.year - age)
        except ValueError:  # 29 February
            return self.today.replace(year=self.today.year - age, day=28)

    def aged(self, low: int, high: int, path: str = "birth_date") -> Q:
        """Return a filter for people aged ``low`` to ``high`` whole years (inclusive) today."""
        return Q(**{f"{path}__lte": self.born_by(low), f"{path}__gt": self.born_by(high + 1)})


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    explanation: str
    message: str
    severity: str
    subject: str
    find: Callable[[Context], Iterable[Hit]]
    #: Value keys shown through a choice set's labels (``sex`` "1" → 男).
    labels: dict = field(default_factory=dict)
    #: Judged in Python household by household (not one query): a run may overlap it with the others.
    walks: bool = False

    @property
    def severity_label(self) -> str:
        return Severity(self.severity).label

    def describe(self, values: dict) -> str:
        """Return the Chinese sentence that explains one finding from its (masked) values."""
        shown = {key: "—" if value is None else value for key, value in values.items()}  # no helper: —, not None
        for key, choices in self.labels.items():
            if key in shown and shown[key] in choices.values:
                shown[key] = choices(shown[key]).label
        try:
            return str(self.message) % shown
        except (KeyError, TypeError, ValueError):
            return str(self.title)


#: Every rule by code, in the order pages list them.
RULES: dict[str, Rule] = {}


def rule(
    code: str, *, title, explanation, message, severity=Severity.ERROR, subject=Subject.MEMBER, labels=None, walks=False
):
    """Register a rule function under ``code``."""

    def register(func):
        RULES[code] = Rule(code, title, explanation, message, severity, subject, func, labels or {}, walks)
        return func

    return register


def _jsonable(values: dict) -> dict:
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def member_hits(queryset: QuerySet, *fields: str, **expressions) -> Iterator[Hit]:
    """Return the hits of a member query: name and ID number, plus ``fields`` and ``expressions``."""
    keys = ["name", "id_number", *fields, *expressions]
    rows = queryset.order_by().values(
        "pk", "household_id", "county_code", "household__village_id", *keys[:2], *fields, **expressions
    )
    for row in rows:
        values = _jsonable({key: row[key] for key in keys})
        yield Hit(row["household_id"], row["pk"], row["county_code"], row["household__village_id"], values)


def household_hits(queryset: QuerySet, *fields: str, **expressions) -> Iterator[Hit]:
    """Return the hits of a household query: registry number, plus ``fields`` and ``expressions``."""
    keys = ["registry_number", *fields, *expressions]
    rows = queryset.order_by().values("pk", "county_code", "village_id", *keys[:1], *fields, **expressions)
    for row in rows:
        values = _jsonable({key: row[key] for key in keys})
        yield Hit(row["pk"], None, row["county_code"], row["village_id"], values)


def assessment_hits(queryset: QuerySet, *fields: str) -> Iterator[Hit]:
    """Return household hits of an assessment query: registry number, year, plus ``fields``."""
    keys = ["registry_number", "year", *fields]
    rows = queryset.order_by().values(
        "household_id",
        "county_code",
        "household__village_id",
        "year",
        *fields,
        registry_number=F("household__registry_number"),
    )
    for row in rows:
        values = _jsonable({key: row[key] for key in keys})
        yield Hit(row["household_id"], None, row["county_code"], row["household__village_id"], values)


def active_members_of(*either: Q, household_path: str = "pk", **conditions) -> Exists:
    """Return "the household has an active member matching ``conditions``" (and one of ``either``)."""
    members = Member.objects.filter(household=OuterRef(household_path), status=MemberStatus.ACTIVE, **conditions)
    if either:  # one subquery, one pass over the members, rather than an EXISTS per alternative
        members = members.filter(reduce(lambda a, b: a | b, either))
    return Exists(members)


# Resident ID numbers (公民身份号码, GB 11643) -------------------------------------------------


@rule(
    "id_length",
    title=_("身份证号位数或字符错误"),
    explanation=_("公民身份号码应为 18 位：前 17 位是数字，最后一位是数字或 X。"),
    message=_("%(name)s 的公民身份号码“%(id_number)s”共 %(length)s 位，不是 17 位数字加 1 位数字或 X。"),
)
def id_length(ctx: Context):
    return member_hits(ctx.members.filter(id_checks.bad_shape()), length=Length("id_number"))


@rule(
    "id_check_digit",
    title=_("身份证号校验位错误"),
    explanation=_("第 18 位是按 ISO 7064 MOD 11-2 由前 17 位算出的校验位，不符说明号码抄错。"),
    message=_("%(name)s 的公民身份号码“%(id_number)s”校验位错误，按前 17 位应为 %(expected)s。"),
)
def id_check_digit(ctx: Context):
    # The same condition as the partial index member_id_check_defect_idx, which PostgreSQL
    # then reads instead of computing the check character of every member.
    return member_hits(ctx.members.filter(id_checks.bad_check_char()), expected=expected_check_char())


@rule(
    "id_birth_mismatch",
    title=_("出生日期与身份证号不符"),
    explanation=_("身份证号第 7–14 位是出生日期，应与登记的出生日期一致。"),
    message=_("%(name)s 登记的出生日期 %(birth_date)s 与身份证号中的 %(id_birth)s 不一致。"),
)
def id_birth_mismatch(ctx: Context):
    queryset = ctx.members.filter(id_checks.birth_mismatch())  # see member_id_birth_defect_idx
    return member_hits(queryset, "birth_date", id_birth=Substr("id_number", 7, 8))


@rule(
    "id_sex_mismatch",
    title=_("性别与身份证号不符"),
    explanation=_("身份证号第 17 位奇数为男、偶数为女，应与登记的性别一致。"),
    message=_("%(name)s 登记的性别为“%(sex)s”，与身份证号“%(id_number)s”第 17 位不符。"),
    labels={"sex": Sex},
)
def id_sex_mismatch(ctx: Context):
    return member_hits(ctx.members.filter(id_checks.sex_mismatch()), "sex")  # see member_id_sex_defect_idx


@rule(
    "duplicate_id_active",
    title=_("同一身份证号在两户在册"),
    explanation=_("一个人只能在一个有效户中在册（SPEC：整户识别，一人一户）。"),
    message=_("%(name)s 的身份证号“%(id_number)s”同时在户 %(other_registry_number)s 中在册。"),
)
def duplicate_id_active(ctx: Context):
    # Of two active members with one ID number at most one is current (the unique index
    # member_id_number_one_current_household), so every duplicate has an active member that
    # is not current: the rule looks up only those ID numbers (few; an index scan each),
    # not a self-join of every member on its ID number.
    registered = Member.objects.filter(status=MemberStatus.ACTIVE, household__status__in=OPEN_HOUSEHOLD_STATUSES)
    candidates = registered.filter(current=False).values("id_number")
    others = registered.filter(id_number=OuterRef("id_number")).exclude(household=OuterRef("household"))
    queryset = ctx.members.filter(id_number__in=candidates).filter(Exists(others))
    return member_hits(queryset, other_registry_number=Subquery(others.values("household__registry_number")[:1]))


# Required fields (必填项) ---------------------------------------------------------------------


@rule(
    "missing_head",
    title=_("缺少户主"),
    explanation=_("每户必须有且只有一名在册户主。"),
    message=_("户 %(registry_number)s 没有在册的户主。"),
    subject=Subject.HOUSEHOLD,
)
def missing_head(ctx: Context):
    return household_hits(ctx.households.filter(~active_members_of(relationship=Relationship.HEAD)))


@rule(
    "missing_ethnicity",
    title=_("民族未填或无效"),
    explanation=_("民族按 GB 3304 填写两位代码。"),
    message=_("%(name)s 的民族未填写或代码“%(ethnicity)s”无效。"),
)
def missing_ethnicity(ctx: Context):
    return member_hits(ctx.members.exclude(ethnicity__in=Ethnicity.values), "ethnicity")


@rule(
    "missing_education",
    title=_("非在校生未填文化程度"),
    explanation=_("6 岁以上的非在校生必须填写文化程度。"),
    message=_("%(name)s（出生于 %(birth_date)s，非在校生）未填写文化程度。"),
)
def missing_education(ctx: Context):
    queryset = ctx.members.filter(
        student_status=StudentStatus.NOT_STUDENT, education="", birth_date__lte=ctx.born_by(EDUCATION_MIN_AGE)
    )
    return member_hits(queryset, "birth_date")


@rule(
    "missing_student_status",
    title=_("6–23 岁未填在校生状况"),
    explanation=_("6 至 23 岁的成员必须填写在校生状况（含“非在校生”）。"),
    message=_("%(name)s（出生于 %(birth_date)s）未填写在校生状况。"),
)
def missing_student_status(ctx: Context):
    queryset = ctx.members.filter(ctx.aged(*STUDENT_AGES)).exclude(student_status__in=StudentStatus.values)
    return member_hits(queryset, "birth_date", "student_status")


@rule(
    "missing_labour_ability",
    title=_("16–65 岁未填劳动技能"),
    explanation=_("16 至 65 岁的成员必须填写劳动技能。"),
    message=_("%(name)s（出生于 %(birth_date)s）未填写劳动技能。"),
)
def missing_labour_ability(ctx: Context):
    return member_hits(
        ctx.members.filter(ctx.aged(*LABOUR_AGES)).exclude(labour_ability__in=LabourAbility.values), "birth_date"
    )


@rule(
    "missing_main_cause",
    title=_("未填主要致贫原因"),
    explanation=_("每户必须有且只有一个主要致贫原因。"),
    message=_("户 %(registry_number)s 未填写主要致贫原因（“%(main_cause)s”）。"),
    subject=Subject.HOUSEHOLD,
)
def missing_main_cause(ctx: Context):
    return household_hits(ctx.households.exclude(main_cause__in=Cause.values), "main_cause")


# Causes and attributes against the members (致贫原因、属性与成员情况) ------------------------


@rule(
    "cause_illness_all_healthy",
    title=_("因病致贫但无人患病"),
    explanation=_("主要致贫原因为因病的户，应有在册成员患长期慢性病或大病。"),
    message=_("户 %(registry_number)s 主要致贫原因为因病，但在册成员无人患长期慢性病或大病。"),
    severity=Severity.WARNING,
    subject=Subject.HOUSEHOLD,
)
def cause_illness_all_healthy(ctx: Context):
    ill = active_members_of(Q(chronic_disease=True), Q(serious_illness=True))
    return household_hits(ctx.households.filter(main_cause=Cause.ILLNESS).filter(~ill))


@rule(
    "cause_school_no_student",
    title=_("因学致贫但无在校生"),
    explanation=_("主要致贫原因为因学的户，应有在册成员在校就读。"),
    message=_("户 %(registry_number)s 主要致贫原因为因学，但在册成员中没有在校生。"),
    severity=Severity.WARNING,
    subject=Subject.HOUSEHOLD,
)
def cause_school_no_student(ctx: Context):
    queryset = ctx.households.filter(main_cause=Cause.EDUCATION).filter(
        ~active_members_of(student_status__in=IN_SCHOOL)
    )
    return household_hits(queryset)


@rule(
    "cause_disability_no_disabled",
    title=_("因残致贫但无残疾人"),
    explanation=_("主要致贫原因为因残的户，应有在册成员残疾。"),
    message=_("户 %(registry_number)s 主要致贫原因为因残，但在册成员中没有残疾人。"),
    severity=Severity.WARNING,
    subject=Subject.HOUSEHOLD,
)
def cause_disability_no_disabled(ctx: Context):
    return household_hits(ctx.households.filter(main_cause=Cause.DISABILITY).filter(~active_members_of(disabled=True)))


@rule(
    "dibao_without_benefit",
    title=_("低保贫困户无人享受低保"),
    explanation=_("属性为低保贫困户的户，应有在册成员享受低保。"),
    message=_("户 %(registry_number)s 属性为低保贫困户，但在册成员无人享受低保。"),
    subject=Subject.HOUSEHOLD,
)
def dibao_without_benefit(ctx: Context):
    return household_hits(
        ctx.households.filter(attribute=Attribute.DIBAO).filter(~active_members_of(dibao_recipient=True))
    )


@rule(
    "tekun_without_benefit",
    title=_("特困供养贫困户无人享受特困供养"),
    explanation=_("属性为特困供养贫困户的户，应有在册成员享受特困供养。"),
    message=_("户 %(registry_number)s 属性为特困供养贫困户，但在册成员无人享受特困供养。"),
    subject=Subject.HOUSEHOLD,
)
def tekun_without_benefit(ctx: Context):
    return household_hits(
        ctx.households.filter(attribute=Attribute.TEKUN).filter(~active_members_of(tekun_recipient=True))
    )


@rule(
    "benefit_without_attribute",
    title=_("享受低保或特困供养但属性为一般贫困户"),
    explanation=_("有成员享受低保或特困供养的户，属性应为低保贫困户或特困供养贫困户。"),
    message=_("户 %(registry_number)s 属性为一般贫困户，但有在册成员享受低保或特困供养。"),
    severity=Severity.WARNING,
    subject=Subject.HOUSEHOLD,
)
def benefit_without_attribute(ctx: Context):
    benefits = active_members_of(Q(dibao_recipient=True), Q(tekun_recipient=True))
    return household_hits(ctx.households.filter(attribute=Attribute.GENERAL).filter(benefits))


@rule(
    "healthy_working_age_no_labour",
    title=_("健康劳动年龄人口登记为无劳动力"),
    explanation=_("16–65 岁、无慢性病、大病和残疾、不在校的成员，一般不应登记为丧失劳动力或无劳动力。"),
    message=_("%(name)s（出生于 %(birth_date)s）健康、不在校，劳动技能却登记为“%(labour_ability)s”。"),
    severity=Severity.WARNING,
    labels={"labour_ability": LabourAbility},
)
def healthy_working_age_no_labour(ctx: Context):
    queryset = ctx.members.filter(
        ctx.aged(*LABOUR_AGES),
        chronic_disease=False,
        serious_illness=False,
        disabled=False,
        labour_ability__in=[LabourAbility.LOST, LabourAbility.NONE],
    ).exclude(student_status__in=IN_SCHOOL)
    return member_hits(queryset, "birth_date", "labour_ability")


# Income and work (收入与务工) -----------------------------------------------------------------


@rule(
    "income_out_of_range",
    title=_("人均纯收入不合理"),
    explanation=_("最近一次年度核查的人均纯收入应大于 0 元且不超过 100000 元。"),
    message=_(
        "户 %(registry_number)s %(year)s 年人均纯收入 %(per_capita_net_income)s 元，不在 0（不含）至 %(max)s 元之间。"
    ),
    subject=Subject.HOUSEHOLD,
)
def income_out_of_range(ctx: Context):
    queryset = ctx.latest_assessments.filter(
        Q(per_capita_net_income__lte=INCOME_MIN_EXCLUSIVE) | Q(per_capita_net_income__gt=INCOME_MAX)
    ).annotate(max=Value(str(INCOME_MAX)))
    return assessment_hits(queryset, "per_capita_net_income", "max")


@rule(
    "operating_income_without_costs",
    title=_("有生产经营性收入而无支出"),
    explanation=_("生产经营性收入应扣除生产经营性支出；有收入而支出为 0，多为漏填。"),
    message=_("户 %(registry_number)s %(year)s 年生产经营性收入 %(operating_income)s 元，生产经营性支出却为 0。"),
    severity=Severity.WARNING,
    subject=Subject.HOUSEHOLD,
)
def operating_income_without_costs(ctx: Context):
    return assessment_hits(ctx.latest_assessments.filter(operating_income__gt=0, operating_cost=0), "operating_income")


@rule(
    "migrant_months_out_of_range",
    title=_("务工时间与务工状况不符"),
    explanation=_("务工时间为 0–12 个月；外出务工的应至少 1 个月，未外出务工的应为 0。"),
    message=_("%(name)s 务工状况为“%(migrant_work)s”，务工时间 %(migrant_months)s 个月。"),
    labels={"migrant_work": MigrantWork},
)
def migrant_months_out_of_range(ctx: Context):
    away = ~Q(migrant_work=MigrantWork.NONE)
    wrong = Q(migrant_months__gt=12) | (away & Q(migrant_months=0)) | (~away & Q(migrant_months__gt=0))
    return member_hits(ctx.members.filter(wrong), "migrant_work", "migrant_months")


@rule(
    "migrant_without_wage",
    title=_("外出务工但无工资性收入"),
    explanation=_("有成员外出务工的户，最近一次年度核查应有工资性收入。"),
    message=_("%(name)s 外出务工 %(migrant_months)s 个月，但该户 %(year)s 年核查的工资性收入为 0。"),
    severity=Severity.WARNING,
)
def migrant_without_wage(ctx: Context):
    # The households whose latest assessment has no wage, as a set the members are matched
    # against (a semi-join), not a subquery run for every migrant worker; the year is read
    # for the hits only.
    later = Assessment.objects.filter(household=OuterRef("household"), year__gt=OuterRef("year"))
    no_wage = Assessment.objects.filter(wage_income=0).filter(~Exists(later)).values("household_id")
    latest_year = Assessment.objects.filter(household=OuterRef("household")).order_by("-year").values("year")[:1]
    queryset = (
        ctx.members.exclude(migrant_work=MigrantWork.NONE)
        .filter(migrant_months__gt=0, household_id__in=no_wage)
        .annotate(year=Subquery(latest_year))
    )
    return member_hits(queryset, "migrant_months", "year")


# Helpers (帮扶责任人) -------------------------------------------------------------------------


@rule(
    "no_helper",
    title=_("无帮扶责任人"),
    explanation=_("每个建档立卡户（含过渡期内的已脱贫户）都要有在岗的结对帮扶责任人。"),
    message=_("户 %(registry_number)s 没有在岗的帮扶责任人（%(helper_name)s）。"),
    subject=Subject.HOUSEHOLD,
)
def no_helper(ctx: Context):
    queryset = ctx.households.filter(status__in=REGISTERED_EVER).filter(
        Q(helper__isnull=True) | Q(helper__active=False)
    )
    return household_hits(queryset, helper_name=F("helper__name"))


@rule(
    "helper_is_poor",
    title=_("帮扶责任人是贫困人口"),
    explanation=_("帮扶责任人不能是未脱贫的建档立卡贫困人口。"),
    message=_("户 %(registry_number)s 的帮扶责任人 %(helper_name)s 本人在户 %(helper_household)s 中登记为贫困人口。"),
    subject=Subject.HOUSEHOLD,
)
def helper_is_poor(ctx: Context):
    poor = Member.objects.filter(
        id_number=OuterRef("helper__id_number"), status=MemberStatus.ACTIVE, household__status__in=POOR_NOT_EXITED
    )
    queryset = ctx.households.filter(helper__isnull=False).exclude(helper__id_number="").filter(Exists(poor))
    return household_hits(
        queryset,
        helper_name=F("helper__name"),
        helper_household=Subquery(poor.values("household__registry_number")[:1]),
    )


# Plausibility (合理性) ------------------------------------------------------------------------


@rule(
    "relationship_sex_mismatch",
    title=_("与户主关系和性别不符"),
    explanation=_("“子”应为男性，“女”应为女性，配偶与户主性别应不同。"),
    message=_("%(name)s 与户主关系为“%(relationship)s”，性别却为“%(sex)s”。"),
    severity=Severity.WARNING,
    labels={"relationship": Relationship, "sex": Sex},
)
def relationship_sex_mismatch(ctx: Context):
    head_sex = (
        Member.objects.filter(
            household=OuterRef("household"), relationship=Relationship.HEAD, status=MemberStatus.ACTIVE
        )
        .order_by()  # the one active head (a unique index): no join to sort by registry number
        .values("sex")[:1]
    )
    queryset = ctx.members.annotate(head_sex=Subquery(head_sex)).filter(
        Q(relationship=Relationship.SON, sex=Sex.FEMALE)
        | Q(relationship=Relationship.DAUGHTER, sex=Sex.MALE)
        | Q(relationship=Relationship.SPOUSE, sex=F("head_sex"))
    )
    return member_hits(queryset, "relationship", "sex")


@rule(
    "implausible_land",
    title=_("耕地、林地面积不合理"),
    explanation=_("耕地超过 100 亩或林地超过 2000 亩，多为单位（亩、平方米）或小数点录错。"),
    message=_(
        "户 %(registry_number)s 耕地 %(cultivated_land_mu)s 亩、林地 %(forest_land_mu)s 亩，超过合理上限"
        "（耕地 %(max_cultivated)s 亩，林地 %(max_forest)s 亩）。"
    ),
    severity=Severity.WARNING,
    subject=Subject.HOUSEHOLD,
)
def implausible_land(ctx: Context):
    queryset = ctx.households.filter(
        Q(cultivated_land_mu__gt=LAND_MAX_CULTIVATED_MU) | Q(forest_land_mu__gt=LAND_MAX_FOREST_MU)
    )
    return household_hits(
        queryset,
        "cultivated_land_mu",
        "forest_land_mu",
        max_cultivated=Value(str(LAND_MAX_CULTIVATED_MU)),
        max_forest=Value(str(LAND_MAX_FOREST_MU)),
    )


@rule(
    "implausible_road_distance",
    title=_("距主干路距离不合理"),
    explanation=_("距村主干路超过 50 公里，多为单位（公里、米）录错。"),
    message=_("户 %(registry_number)s 距村主干路 %(road_distance_km)s 公里，超过 %(max_km)s 公里。"),
    severity=Severity.WARNING,
    subject=Subject.HOUSEHOLD,
)
def implausible_road_distance(ctx: Context):
    queryset = ctx.households.filter(road_distance_km__gt=ROAD_MAX_KM)
    return household_hits(queryset, "road_distance_km", max_km=Value(str(ROAD_MAX_KM)))


@rule(
    "student_level_age",
    title=_("在校学段与年龄不符"),
    explanation=_(
        "学前 2–7 岁，小学 5–16 岁，初中 10–19 岁，高中 13–23 岁，中职 13–30 岁，高职/大专 16–40 岁，"
        "本科及以上 16–50 岁；超出多为学段或出生日期录错。"
    ),
    message=_("%(name)s 出生于 %(birth_date)s，在校生状况“%(student_status)s”与年龄不符。"),
    severity=Severity.WARNING,
    labels={"student_status": StudentStatus},
)
def student_level_age(ctx: Context):
    wrong = reduce(
        lambda a, b: a | b,
        [Q(student_status=level) & ~ctx.aged(low, high) for level, (low, high) in STUDENT_LEVEL_AGES.items()],
    )
    return member_hits(ctx.members.filter(wrong), "birth_date", "student_status")


# Exit, insurance, deaths (退出、保险、死亡) ---------------------------------------------------


@rule(
    "exited_fails_exit_rules",
    title=_("已脱贫户不符合退出标准（错退风险）"),
    explanation=_("已脱贫户最近一次年度核查应仍符合一收入两不愁三保障；不符合的有错退风险。"),
    message=_("户 %(registry_number)s 已脱贫，但 %(year)s 年核查不符合退出标准：%(failed)s"),
    subject=Subject.HOUSEHOLD,
    walks=True,
)
def exited_fails_exit_rules(ctx: Context):
    """Judge each exited household's latest assessment by the exit rules themselves.

    The one rule that is not a single query: the exit rules are Python functions over a
    snapshot, kept that way so a certified exit can be replayed, and a second copy in
    SQL would drift from them. The snapshots are read in bulk
    (:func:`assessments.eligibility.build_snapshots`: one streamed query, two more per
    chunk of households), so the rule costs a few queries per thousand exited households.
    A year without a poverty line cannot be judged and is left out.
    """
    from assessments.eligibility import build_snapshots, evaluate

    latest = ctx.latest_assessments.filter(household__status=HouseholdStatus.EXITED)
    for row, snapshot in build_snapshots(latest):
        if snapshot is None:
            continue
        failed = [r for r in evaluate(snapshot) if not r.passed]
        if failed:
            values = {
                "registry_number": row["household__registry_number"],
                "year": row["year"],
                "failed_rules": [r.rule for r in failed],
                "failed": "".join(r.explanation for r in failed),
            }
            yield Hit(row["household__id"], None, row["household__county_code"], row["household__village_id"], values)


@rule(
    "illness_without_insurance",
    title=_("因病致贫户患病成员未参加大病保险"),
    explanation=_("因病致贫户中患长期慢性病或大病的成员，应参加大病保险。"),
    message=_("%(name)s 患病，所在户因病致贫，但未参加大病保险。"),
    severity=Severity.WARNING,
)
def illness_without_insurance(ctx: Context):
    queryset = ctx.members.filter(household__main_cause=Cause.ILLNESS, serious_illness_insurance=False).filter(
        Q(chronic_disease=True) | Q(serious_illness=True)
    )
    return member_hits(queryset)


@rule(
    "deceased_still_active",
    title=_("已死亡人员仍在册"),
    explanation=_("有死亡变动记录、或在公安部门死亡名单上的人，不应仍是在册成员。"),
    message=_("%(name)s（%(id_number)s）已有死亡记录（%(source)s），仍为在册成员。"),
    labels={"source": DeathSource},
)
def deceased_still_active(ctx: Context):
    death_event = Exists(MemberEvent.objects.filter(member=OuterRef("pk"), kind=MemberEventKind.DEATH))
    on_death_list = Exists(
        CrossCheckEntry.objects.filter(id_number=OuterRef("id_number"), category=CrossCheckCategory.DEATH)
    )
    queryset = ctx.members.filter(death_event | on_death_list).annotate(
        source=Case(
            When(death_event, then=Value(DeathSource.MEMBER_EVENT.value)),
            default=Value(DeathSource.CROSSCHECK.value),
            output_field=CharField(),
        )
    )
    return member_hits(queryset, "source")
