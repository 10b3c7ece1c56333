"""The eligibility engine (一收入两不愁三保障): named rules over a snapshot, versioned, replayable.

A household may exit for year Y only if its per-capita net income for Y *exceeds* the
standard for Y and food, clothing, drinking water, compulsory education, basic medical
insurance and safe housing are all assured. Each rule reads only the snapshot (the data
judged, with the parameters in force copied in), returns pass or fail with the values it
used and a Chinese explanation, and never touches the database, so a stored case can be
replayed exactly by :func:`evaluate` on its stored snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

RULE_SET_VERSION = "2016.1"


@dataclass(frozen=True)
class RuleResult:
    rule: str
    label: str
    passed: bool
    values: dict
    explanation: str

    def as_dict(self) -> dict:
        return asdict(self)


Rule = Callable[[dict], RuleResult]
RULE_SETS: dict[str, list[tuple[str, str, Rule]]] = {RULE_SET_VERSION: []}


def rule(name: str, label: str, versions: tuple[str, ...] = (RULE_SET_VERSION,)):
    """Register a rule under ``name`` in the given rule-set versions."""

    def register(func: Rule) -> Rule:
        for version in versions:
            RULE_SETS.setdefault(version, []).append((name, label, func))
        return func

    return register


def _result(name, label, passed, values, explanation) -> RuleResult:
    return RuleResult(rule=name, label=label, passed=bool(passed), values=values, explanation=explanation)


@rule("income", "收入稳定超过扶贫标准")
def income_above_standard(s: dict) -> RuleResult:
    income = Decimal(s["assessment"]["per_capita_net_income"])
    line = Decimal(s["standards"]["poverty_line"])
    year = s["assessment"]["year"]
    values = {"per_capita_net_income": str(income), "poverty_line": str(line), "year": year}
    if income > line:
        text = _("人均纯收入 %(income)s 元，高于 %(year)s 年扶贫标准 %(line)s 元。")
    else:
        text = _("人均纯收入 %(income)s 元，未超过 %(year)s 年扶贫标准 %(line)s 元（须高于标准）。")
    return _result(
        "income", "收入稳定超过扶贫标准", income > line, values, text % {"income": income, "line": line, "year": year}
    )


@rule("food", "不愁吃")
def food(s: dict) -> RuleResult:
    ok = s["assessment"]["food_secure"]
    text = _("家庭口粮和营养有保障。") if ok else _("核查认定家庭吃饭仍有困难。")
    return _result("food", "不愁吃", ok, {"food_secure": ok}, text)


@rule("clothing", "不愁穿")
def clothing(s: dict) -> RuleResult:
    ok = s["assessment"]["clothing_secure"]
    text = _("四季衣被有保障。") if ok else _("核查认定家庭穿衣仍有困难。")
    return _result("clothing", "不愁穿", ok, {"clothing_secure": ok}, text)


@rule("water", "饮水安全")
def drinking_water(s: dict) -> RuleResult:
    a, std = s["assessment"], s["standards"]
    litres, minutes = a.get("water_litres_per_person_day"), a.get("water_fetch_minutes")
    problems = []
    if not a.get("water_quality_safe", True) or not s["household"].get("drinking_water_safe", True):
        problems.append(_("水质不达标或饮水不安全"))
    if litres is not None and litres < std["water_min_litres"]:
        problems.append(
            _("人均日供水 %(litres)s 升，少于 %(min)s 升") % {"litres": litres, "min": std["water_min_litres"]}
        )
    if minutes is not None and minutes > std["water_max_fetch_minutes"]:
        problems.append(
            _("取水往返 %(minutes)s 分钟，超过 %(max)s 分钟")
            % {"minutes": minutes, "max": std["water_max_fetch_minutes"]}
        )
    values = {"litres": litres, "fetch_minutes": minutes, "quality_safe": a.get("water_quality_safe", True)}
    text = "；".join(problems) + "。" if problems else _("饮水水量、水质和取水方便程度达标。")
    return _result("water", "饮水安全", not problems, values, text)


def _age(birth: str, on: str) -> int:
    b, d = date.fromisoformat(birth), date.fromisoformat(on)
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


@rule("education", "义务教育有保障")
def education(s: dict) -> RuleResult:
    low, high = s["standards"]["compulsory_education_ages"]
    on = s["assessment"]["assessed_on"]
    exempt = set(s["assessment"].get("education_exempt_members") or [])
    out_of_school = [
        m["name"]
        for m in s["members"]
        if low <= _age(m["birth_date"], on) <= high
        and m["student_status"] in ("not_student", "preschool")
        and m["id"] not in exempt
    ]
    values = {"ages": [low, high], "out_of_school": out_of_school, "exempt_member_ids": sorted(exempt)}
    if out_of_school:
        text = _("%(names)s 处于 %(low)s–%(high)s 岁义务教育阶段但未在校。") % {
            "names": "、".join(out_of_school),
            "low": low,
            "high": high,
        }
    else:
        text = _("义务教育阶段（%(low)s–%(high)s 岁）成员均在校或因身体原因送教上门。") % {"low": low, "high": high}
    return _result("education", "义务教育有保障", not out_of_school, values, text)


@rule("medical", "基本医疗有保障")
def medical_insurance(s: dict) -> RuleResult:
    uninsured = [m["name"] for m in s["members"] if not m["basic_medical_insurance"]]
    values = {"uninsured": uninsured, "members": len(s["members"])}
    if uninsured:
        text = _("%(names)s 未参加城乡居民基本医疗保险。") % {"names": "、".join(uninsured)}
    else:
        text = _("全家 %(count)s 人均参加城乡居民基本医疗保险。") % {"count": len(s["members"])}
    return _result("medical", "基本医疗有保障", not uninsured, values, text)


@rule("housing", "住房安全有保障")
def housing(s: dict) -> RuleResult:
    grade, renovated = s["household"].get("housing_grade") or "", s["household"].get("housing_renovated", False)
    ok = grade in ("A", "B") or (grade in ("C", "D") and renovated)
    values = {"housing_grade": grade, "renovated": renovated}
    if not grade:
        text = _("住房安全等级未鉴定。")
    elif ok:
        text = _("住房安全等级 %(grade)s 级%(renovated)s。") % {
            "grade": grade,
            "renovated": "（危房已改造）" if grade in "CD" else "",
        }
    else:
        text = _("住房为 %(grade)s 级危房，尚未改造。") % {"grade": grade}
    return _result("housing", "住房安全有保障", ok, values, text)


def evaluate(snapshot: dict, version: str | None = None) -> list[RuleResult]:
    """Return the result of every rule of ``version`` (the snapshot's own by default)."""
    from django.utils import translation

    version = version or snapshot.get("rule_set_version") or RULE_SET_VERSION
    with translation.override("zh-hans"):  # the record is kept in Chinese whoever looks at it
        return [func(snapshot) for _name, _label, func in RULE_SETS[version]]


def all_passed(results: list[RuleResult]) -> bool:
    return all(r.passed for r in results)


def build_snapshot(assessment) -> dict:
    """Return the data an exit decision judges, with the standards in force copied in."""
    from assessments.choices import ParameterKey
    from assessments.parameters import parameter, poverty_line
    from assessments.services import members_on

    household = assessment.household
    code = household.village_id
    members = members_on(household, assessment.assessed_on)
    return {
        "rule_set_version": RULE_SET_VERSION,
        "household": {
            "id": household.pk,
            "registry_number": household.registry_number,
            "village": code,
            "housing_grade": household.housing_grade,
            "housing_renovated": household.housing_renovated,
            "drinking_water_safe": household.drinking_water_safe,
        },
        "assessment": {
            "id": assessment.pk,
            "version": assessment.version,
            "year": assessment.year,
            "assessed_on": assessment.assessed_on.isoformat(),
            "household_size": assessment.household_size,
            "net_income": str(assessment.net_income),
            "per_capita_net_income": str(assessment.per_capita_net_income),
            "food_secure": assessment.food_secure,
            "clothing_secure": assessment.clothing_secure,
            "water_litres_per_person_day": assessment.water_litres_per_person_day,
            "water_fetch_minutes": assessment.water_fetch_minutes,
            "water_quality_safe": assessment.water_quality_safe,
            "education_exempt_members": list(assessment.education_exempt_members or []),
        },
        "members": [
            {
                "id": m.pk,
                "name": m.name,
                "birth_date": m.birth_date.isoformat(),
                "student_status": m.student_status,
                "basic_medical_insurance": m.basic_medical_insurance,
            }
            for m in members
        ],
        "standards": {
            "poverty_line": str(poverty_line(assessment.year, code)),
            "water_min_litres": int(parameter(ParameterKey.WATER_MIN_LITRES, year=assessment.year, division_code=code)),
            "water_max_fetch_minutes": int(
                parameter(ParameterKey.WATER_MAX_FETCH_MINUTES, year=assessment.year, division_code=code)
            ),
            "compulsory_education_ages": list(
                parameter(ParameterKey.COMPULSORY_EDUCATION_AGES, year=assessment.year, division_code=code)
            ),
        },
    }
