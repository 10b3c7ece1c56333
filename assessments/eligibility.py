"""The eligibility engine (一收入两不愁三保障): named rules over a snapshot, versioned, replayable.

A household may exit for year Y only if its per-capita net income for Y *exceeds* the
standard for Y and food, clothing, drinking water, compulsory education, basic medical
insurance and safe housing are all assured. Each rule reads only the snapshot (the data
judged, with the parameters in force copied in), returns pass or fail with the values it
used and a Chinese explanation, and never touches the database, so a stored case can be
replayed exactly by :func:`evaluate` on its stored snapshot.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import FieldDoesNotExist
from django.db.models import BigIntegerField, BooleanField, F, Func, Q, Value
from django.utils import translation

from registry.errors import ApplicationError

RULE_SET_VERSION = "2016.1"
#: The language every result is written in, whoever looks at it.
RECORD_LANGUAGE = "zh-hans"
_RECORD_TEXTS: dict[str, str] = {}


def _(message: str) -> str:
    """Return ``message`` translated into the record's language (:data:`RECORD_LANGUAGE`), memoised.

    The rules' texts are kept in Chinese whatever language is active, so each message
    has one translation: looked up once, not through Django's per-call catalogue search
    (some ten microseconds a call, most of what judging a household cost).
    """
    try:
        return _RECORD_TEXTS[message]
    except KeyError:
        with translation.override(RECORD_LANGUAGE):
            text = _RECORD_TEXTS[message] = translation.gettext(message)
        return text


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
    version = version or snapshot.get("rule_set_version") or RULE_SET_VERSION
    return [func(snapshot) for _name, _label, func in RULE_SETS[version]]  # in Chinese: see _()


def all_passed(results: list[RuleResult]) -> bool:
    return all(r.passed for r in results)


#: The fields a snapshot copies, as :func:`build_snapshot` and :func:`build_snapshots` read them.
HOUSEHOLD_FIELDS = (
    "id", "registry_number", "county_code", "village_id", "status", "housing_grade", "housing_renovated",
    "drinking_water_safe",
)  # fmt: skip
ASSESSMENT_FIELDS = (
    "id", "version", "year", "assessed_on", "household_size", "net_income", "per_capita_net_income", "food_secure",
    "clothing_secure", "water_litres_per_person_day", "water_fetch_minutes", "water_quality_safe",
    "education_exempt_members",
)  # fmt: skip
MEMBER_FIELDS = ("id", "name", "birth_date", "student_status", "basic_medical_insurance")


def _member_entry(member_id, name, birth_date, student_status, basic_medical_insurance) -> dict:
    """Return one member as a snapshot lists it (the values of :data:`MEMBER_FIELDS`, in order)."""
    return {
        "id": member_id,
        "name": name,
        "birth_date": birth_date.isoformat(),
        "student_status": student_status,
        "basic_medical_insurance": basic_medical_insurance,
    }


def _standards(year: int, code: str, parameter) -> dict:
    """Return the standards in force for ``year`` in the province of ``code``, read with ``parameter``.

    ``parameter(key, year=, division_code=)`` is :func:`assessments.parameters.parameter`
    or a :class:`~assessments.parameters.ParameterTable`'s ``get``: the same values, and
    the same refusal when one is missing.
    """
    from assessments.choices import ParameterKey

    return {
        "poverty_line": str(Decimal(str(parameter(ParameterKey.POVERTY_LINE, year=year, division_code=code)))),
        "water_min_litres": int(parameter(ParameterKey.WATER_MIN_LITRES, year=year, division_code=code)),
        "water_max_fetch_minutes": int(parameter(ParameterKey.WATER_MAX_FETCH_MINUTES, year=year, division_code=code)),
        "compulsory_education_ages": list(
            parameter(ParameterKey.COMPULSORY_EDUCATION_AGES, year=year, division_code=code)
        ),
    }


def _snapshot(household: dict, assessment: dict, members: list[dict], standards: dict) -> dict:
    """Return the snapshot of one assessment from its field values, member entries and standards."""
    return {
        "rule_set_version": RULE_SET_VERSION,
        "household": {
            "id": household["id"],
            "registry_number": household["registry_number"],
            "village": household["village_id"],
            "housing_grade": household["housing_grade"],
            "housing_renovated": household["housing_renovated"],
            "drinking_water_safe": household["drinking_water_safe"],
        },
        "assessment": {
            "id": assessment["id"],
            "version": assessment["version"],
            "year": assessment["year"],
            "assessed_on": assessment["assessed_on"].isoformat(),
            "household_size": assessment["household_size"],
            "net_income": str(assessment["net_income"]),
            "per_capita_net_income": str(assessment["per_capita_net_income"]),
            "food_secure": assessment["food_secure"],
            "clothing_secure": assessment["clothing_secure"],
            "water_litres_per_person_day": assessment["water_litres_per_person_day"],
            "water_fetch_minutes": assessment["water_fetch_minutes"],
            "water_quality_safe": assessment["water_quality_safe"],
            "education_exempt_members": list(assessment["education_exempt_members"] or []),
        },
        "members": members,
        "standards": standards,
    }


def build_snapshot(assessment) -> dict:
    """Return the data an exit decision judges, with the standards in force copied in."""
    from assessments.parameters import parameter
    from assessments.services import members_on

    household = assessment.household
    members = members_on(household, assessment.assessed_on)
    return _snapshot(
        {f: getattr(household, f) for f in HOUSEHOLD_FIELDS},
        {f: getattr(assessment, f) for f in ASSESSMENT_FIELDS},
        [_member_entry(*(getattr(m, f) for f in MEMBER_FIELDS)) for m in members],
        _standards(assessment.year, household.village_id, parameter),
    )


#: Assessments per chunk of :func:`build_snapshots`: their members and events are read together.
SNAPSHOT_CHUNK = 2000


def _one_of(field: str, ids: list[int]) -> Q:
    """Return ``field IN ids`` as one array parameter (``= ANY(%s)``).

    Django prepares an ``__in`` list element by element, some ten milliseconds for a
    chunk of 2,000 ids: half a minute of a province's sweep.
    """
    from django.contrib.postgres.fields import ArrayField

    array = Value(ids, output_field=ArrayField(BigIntegerField()))
    return Q(Func(F(field), array, template="%(expressions)s)", arg_joiner=" = ANY(", output_field=BooleanField()))


def snapshot_sources(assessments, *, chunk_size: int = SNAPSHOT_CHUNK) -> Iterator[tuple[list, dict, dict]]:
    """Yield, per chunk of a queryset's assessments (id order), what their snapshots are made of.

    ``(rows, members, events)``: the assessments' rows with their households' fields
    (``household__id`` …); every member of those households (``household_id →
    [(household_id, status, status_date, *MEMBER_FIELDS)]`` in id order) and their
    incoming membership events (``household_id → [(member_id, date)]``). The reading
    half of :func:`build_snapshots`.

    The queryset is read once for its ids (narrow rows, planned for the whole result:
    a streamed cursor would be planned for its first rows, and walk the whole table in
    id order), then three queries per chunk read the chunk's rows by id.
    """
    from households.choices import INCOMING_EVENTS
    from households.models import Member, MemberEvent

    fields = (*ASSESSMENT_FIELDS, *(f"household__{f}" for f in HOUSEHOLD_FIELDS))
    ids = array("q", sorted(assessments.order_by().values_list("pk", flat=True)))
    model = assessments.model
    for start in range(0, len(ids), chunk_size):
        chunk_ids = ids[start : start + chunk_size].tolist()
        chunk = list(model.objects.filter(_one_of("pk", chunk_ids)).order_by("pk").values(*fields))
        household_ids = sorted({row["household__id"] for row in chunk})
        members: dict[int, list[tuple]] = {}
        for values in (
            Member.objects.filter(_one_of("household_id", household_ids))
            .order_by("household_id", "id")
            .values_list("household_id", "status", "status_date", *MEMBER_FIELDS)
        ):
            members.setdefault(values[0], []).append(values)
        events: dict[int, list[tuple]] = {}
        for household_id, member_id, day in MemberEvent.objects.filter(
            _one_of("household_id", household_ids), kind__in=INCOMING_EVENTS
        ).values_list("household_id", "member_id", "event_date"):
            events.setdefault(household_id, []).append((member_id, day))
        yield chunk, members, events


def build_snapshots(assessments, *, chunk_size: int = SNAPSHOT_CHUNK) -> Iterator[tuple[dict, dict | None]]:
    """Yield ``(row, snapshot)`` for every assessment of a queryset, in id order, as :func:`build_snapshot` would.

    For sweeps over a county or the province: the assessments' ids are read at once, and
    per chunk of ``chunk_size`` assessments their rows with their households, their
    members and membership events in three queries (:func:`snapshot_sources`); the
    standards are read once. So the cost in queries grows with the number of chunks, not
    of households, and memory with the chunk (and eight bytes an id). ``row`` holds the
    assessment's fields (:data:`ASSESSMENT_FIELDS`) and its household's (``household__id``
    …); ``snapshot`` is ``None`` where a standard of the year is not set (where
    :func:`build_snapshot` refuses).
    """
    from assessments.choices import ParameterKey
    from assessments.parameters import ParameterTable
    from assessments.services import was_member_on

    keys = [ParameterKey.POVERTY_LINE, ParameterKey.WATER_MIN_LITRES, ParameterKey.WATER_MAX_FETCH_MINUTES]
    table = ParameterTable([*keys, ParameterKey.COMPULSORY_EDUCATION_AGES])  # those _standards reads
    in_force: dict[tuple[int, str], dict | None] = {}  # by year and province (parameters are per province)
    household_keys = [(f"household__{f}", f) for f in HOUSEHOLD_FIELDS]
    for chunk, members, events in snapshot_sources(assessments, chunk_size=chunk_size):
        for row in chunk:
            household_id, day, year = row["household__id"], row["assessed_on"], row["year"]
            village = row["household__village_id"]
            if (year, village[:2]) not in in_force:
                try:
                    in_force[year, village[:2]] = _standards(year, village, table.get)
                except ApplicationError:
                    in_force[year, village[:2]] = None
            standards = in_force[year, village[:2]]
            if standards is None:
                yield row, None
                continue
            joined_after = {member_id for member_id, event_date in events.get(household_id, ()) if event_date > day}
            present = [
                _member_entry(*values[3:])
                for values in members.get(household_id, ())
                if values[3] not in joined_after and was_member_on(values[5], values[1], values[2], day)
            ]
            household = {f: row[key] for key, f in household_keys}
            standards = {**standards, "compulsory_education_ages": list(standards["compulsory_education_ages"])}
            yield row, _snapshot(household, row, present, standards)


# What changed since a decision was judged ------------------------------------------------------------


def _shown(field, value) -> str:
    """Return ``value`` of a model ``field`` as a person reads it: choice labels, 是/否, 未填 for nothing."""
    if value is None or value == "" or value == []:
        return _("未填")
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    choices = dict(field.flatchoices) if field is not None and field.choices else {}
    return str(choices.get(value, value))


def _field(model, name: str):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:  # a snapshot key with no model field is labelled by its key
        return None


def _label(field, name: str) -> str:
    return str(field.verbose_name) if field is not None else name


def snapshot_changes(before: dict, after: dict) -> list[str]:
    """Return, in Chinese, each input of the rules that differs between two snapshots of one decision.

    Compared: the household's, the assessment's and each member's fields the rules read,
    who the members were, the standards in force and the rule-set version; identifiers
    and the assessment's version number are not inputs. An empty list means the decision
    judged exactly the data as it is now, so what is certified is what was reviewed.
    """
    from assessments.choices import ParameterKey
    from assessments.models import Assessment
    from households.models import Household, Member

    changes: list[str] = []

    def compare(model, name: str, old, new, prefix: str = "") -> None:
        if old != new:
            field = _field(model, name)
            changes.append(f"{prefix}{_label(field, name)} {_shown(field, old)}→{_shown(field, new)}")

    if before.get("rule_set_version") != after.get("rule_set_version"):
        changes.append(f"{_('规则版本')} {before.get('rule_set_version')}→{after.get('rule_set_version')}")
    old_household, new_household = before.get("household") or {}, after.get("household") or {}
    for name in ("housing_grade", "housing_renovated", "drinking_water_safe"):
        compare(Household, name, old_household.get(name), new_household.get(name))
    old_assessment, new_assessment = before.get("assessment") or {}, after.get("assessment") or {}
    for name in ASSESSMENT_FIELDS:
        if name not in ("id", "version", "education_exempt_members"):
            compare(Assessment, name, old_assessment.get(name), new_assessment.get(name))
    old_members = {m["id"]: m for m in before.get("members") or []}
    new_members = {m["id"]: m for m in after.get("members") or []}
    names = {**{i: m["name"] for i, m in old_members.items()}, **{i: m["name"] for i, m in new_members.items()}}
    old_exempt = set(old_assessment.get("education_exempt_members") or [])
    new_exempt = set(new_assessment.get("education_exempt_members") or [])
    if old_exempt != new_exempt:
        field = _field(Assessment, "education_exempt_members")
        shown = ["、".join(names.get(i, f"#{i}") for i in sorted(ids)) or _("无") for ids in (old_exempt, new_exempt)]
        changes.append(f"{_label(field, 'education_exempt_members')} {shown[0]}→{shown[1]}")
    for member_id in sorted(old_members.keys() - new_members.keys()):
        changes.append(_("成员 %(name)s 已不在户内") % {"name": old_members[member_id]["name"]})
    for member_id in sorted(new_members.keys() - old_members.keys()):
        changes.append(_("新增成员 %(name)s") % {"name": new_members[member_id]["name"]})
    for member_id in sorted(old_members.keys() & new_members.keys()):
        old, new = old_members[member_id], new_members[member_id]
        prefix = _("成员 %(name)s 的") % {"name": names[member_id]}
        for name in MEMBER_FIELDS[1:]:
            compare(Member, name, old.get(name), new.get(name), prefix)
    old_standards, new_standards = before.get("standards") or {}, after.get("standards") or {}
    labels = dict(ParameterKey.choices)
    for key in sorted(old_standards.keys() | new_standards.keys()):
        old, new = old_standards.get(key), new_standards.get(key)
        if old != new:
            changes.append(f"{labels.get(key, key)} {_shown(None, old)}→{_shown(None, new)}")
    return changes
