"""Village exit (贫困村出列) and county exit (贫困县摘帽), each one table of steps.

Village: the township proposes — the village's poverty incidence, counted from the
registry, below the county's region-class threshold, and every item of the configurable
checklist met with evidence — → notice within the township (objections block) → the county
approves (four eyes) → the village is marked exited with the year.

County: the county applies — comprehensive incidence below the threshold — → the
prefecture's preliminary review (初审) → the province's verification (核查): a seeded,
reproducible sample of exited households and of villages, one recorded visit per sampled
unit, 错退率, 漏评率 and 群众认可度 and their vetoes → public notice (objections send the
case back to verification) → the province approves → the county is marked exited.

Every step is recorded and audited inside its transaction. Separation of duties (四眼原则):
a review step may not be taken by anyone who acted at an earlier *stage* of the same round
(the verification team may draw, visit and evaluate; the approver must be someone else).
Thresholds, vetoes, the checklist and notice periods are parameters, never literals.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from assessments.choices import CountyExitCaseStatus, ParameterKey, VillageExitCaseStatus
from assessments.eligibility import RuleResult
from assessments.models import (
    CountyExitCase,
    CountyExitObjection,
    CountyExitStep,
    SampledHousehold,
    SampledVillage,
    VillageExitCase,
    VillageExitObjection,
    VillageExitStep,
)
from assessments.parameters import decimal_parameter, incidence_threshold, notice_days, parameter
from households.choices import REGISTERED_EVER, HouseholdStatus, MemberStatus
from households.models import Household, Member
from registry import workflow as engine
from registry.audit import audit_record, snapshot
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.roles import Role
from registry.scoping import prefix_q
from registry.services import REASON_MAX_LENGTH, full_clean_or_raise, require_in_scope
from registry.workflow import Step, Workflow, check_not_future, invalid, refuse_changed
from villages.choices import CountyExitStatus, DivisionLevel, RegionClass, VillageExitStatus
from villages.models import CountyStatus, Division, VillageStatus
from villages.selectors import poverty_incidence
from villages.services import county_exit_record, village_exit_record

V = VillageExitCaseStatus
C = CountyExitCaseStatus

# Messages (tests import them) ----------------------------------------------------------------

NOT_A_VILLAGE = _("只有村级区划才能申请出列。")
NOT_A_POVERTY_VILLAGE = _("%(village)s 不是贫困村，无需出列。")
VILLAGE_ALREADY_EXITED = _("%(village)s 已于 %(year)s 年出列。")
VILLAGE_CASE_OPEN = _("%(village)s 已有在办或已批准的出列申请。")
CHECKLIST_UNKNOWN_ITEMS = _("出列指标清单中没有这些指标：%(items)s")
VILLAGE_CHECKS_FAILED = _("不符合出列条件（%(count)d 项未达到）：%(checks)s")
NOT_A_COUNTY = _("只有县级区划才能申请摘帽。")
NOT_A_POVERTY_COUNTY = _("%(county)s 不是贫困县，无需摘帽。")
COUNTY_ALREADY_EXITED = _("%(county)s 已于 %(year)s 年摘帽。")
COUNTY_CASE_OPEN = _("%(county)s 已有在办或已批准的摘帽申请。")
COUNTY_POPULATION_UNKNOWN = _("%(county)s 未录入农村户籍人口，无法计算贫困发生率。")
COUNTY_CHECKS_FAILED = _("不符合摘帽条件（%(count)d 项未达到）：%(checks)s")
SAMPLE_SIZE_INVALID = _("%(what)s抽样数 %(size)d 无效：抽样范围内共有 %(available)d 个（至少抽 1 个）。")
SAMPLE_SEED_INVALID = _("抽样种子必须是 0 到 2^63−1 之间的整数。")
SAMPLE_NOT_IN_VERIFICATION = _("只能在省级核查期间（已抽样、未评估）登记核查记录。")
MISSED_EXCEEDS_UNREGISTERED = _("发现漏评人口 %(missed)d 人超过该村非建档立卡农村人口 %(unregistered)d 人。")
VISIT_BEFORE_SAMPLE = _("核查日期不能早于抽样日期 %(sampled)s。")
VISITS_INCOMPLETE = _("尚有 %(households)d 户、%(villages)d 个村未登记核查记录，不能评估。")
EVALUATION_VETOED = _("专项评估未通过（一票否决 %(count)d 项）：%(checks)s")
OBJECTION_NOT_IN_NOTICE = engine.OBJECTION_ONLY_IN_NOTICE
CASE_STEP_NOT_ALLOWED = _("申请当前为“%(status)s”，不能执行“%(action)s”。")

#: Labels of the usual checklist items; an item the parameter adds shows as its key.
CHECKLIST_LABELS = {
    "hardened_road": _("通硬化路"),
    "collective_income": _("有村集体经济收入"),
    "public_services": _("基本公共服务（卫生室、文化室等）达标"),
}

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


# What the approvals check again and do ---------------------------------------------------------


def _not_vetoed(case: CountyExitCase, actor, on_date: date) -> None:
    """Refuse while the evaluation has a veto (一票否决)."""
    if not case.evaluation_passed:
        raise _failed([RuleResult(**c) for c in case.evaluation["checks"]], EVALUATION_VETOED, "vetoed")


def _same(then, now) -> bool:
    """Return whether two figures are equal, as numbers where they are numbers (2.00 is 2)."""
    try:
        return Decimal(str(then)) == Decimal(str(now))
    except InvalidOperation:
        return then == now


def _changed(labels: dict, then: dict, now: dict) -> list[str]:
    return [f"{labels[key]} {then.get(key)}→{now[key]}" for key in labels if not _same(then.get(key), now[key])]


def _village_unchanged(case: VillageExitCase, actor, on_date: date) -> None:
    """Count the incidence again: refused if the village no longer qualifies, or, naming each figure,
    if the figures are not the ones proposed and noticed."""
    figures, results = village_exit_judge(village=case.village, checklist=case.checklist)
    if not all(r.passed for r in results):
        raise _failed(results, VILLAGE_CHECKS_FAILED, "checks_failed")
    then = {name: getattr(case, name) for name in VILLAGE_FIGURES}
    labels = {name: VillageExitCase._meta.get_field(name).verbose_name for name in VILLAGE_FIGURES}
    changes = _changed(labels, then, figures)
    if changes:
        raise refuse_changed(changes)


def _village_approve(case: VillageExitCase, actor, on_date: date, reason: str):
    village_exit_record(actor=actor, village=case.village, year=case.year)
    case.approved_on = on_date
    return ["approved_on"], {"incidence_at_approval": str(case.incidence)}


def _county_unchanged(case: CountyExitCase, actor, on_date: date) -> None:
    """Count the evaluation again: refused, naming each count, if the registry or the visits changed since."""
    _county_status(case.county)
    counts, _checks = county_exit_checks(case)
    changes = _changed(COUNT_LABELS, (case.evaluation or {}).get("counts", {}), counts)
    if changes:
        raise refuse_changed(changes)


def _county_approve(case: CountyExitCase, actor, on_date: date, reason: str):
    county_exit_record(actor=actor, county=case.county, year=case.year)
    case.approved_on = on_date
    return ["approved_on"], {}


#: The figures a village's exit is proposed on, counted again at approval.
VILLAGE_FIGURES = ("poor_persons", "rural_population", "region_class", "threshold")
#: The evaluation's counts, counted again at approval.
COUNT_LABELS = {
    "sampled_households": _("抽查脱贫户数"),
    "wrongly_exited_households": _("错退户数"),
    "wrongly_exited_persons": _("错退户人口"),
    "approving_households": _("认可户数"),
    "sampled_villages": _("抽查村数"),
    "unregistered_population": _("抽查村非建档立卡人口"),
    "missed_persons": _("漏评人口"),
    "poor_persons": _("未脱贫人口"),
    "rural_population": _("农村户籍人口"),
}


# The tables of steps ---------------------------------------------------------------------------


BY_TOWNSHIP = frozenset({Role.TOWNSHIP})
BY_COUNTY = frozenset({Role.COUNTY})
BY_PREFECTURE = frozenset({Role.PREFECTURE})
BY_PROVINCE = frozenset({Role.PROVINCE})

VILLAGE_STEPS: dict[str, Step] = {
    s.action: s
    for s in [
        Step("propose", _("乡镇提出出列"), (), V.PROPOSED, BY_TOWNSHIP, "township", internal=True),
        Step(
            "open_notice", _("乡镇内公示"), (V.PROPOSED,), V.IN_NOTICE, BY_TOWNSHIP, "township",
            opens_notice="village_exit",
        ),
        Step(
            "close_notice", _("公示期满无异议，报县审批"), (V.IN_NOTICE,), V.NOTICE_ENDED, BY_TOWNSHIP, "township",
            closes_notice=True,
        ),
        Step(
            "county_approve", _("县级批准出列"), (V.NOTICE_ENDED,), V.APPROVED, BY_COUNTY, "county", review=True,
            rechecks=(_village_unchanged,), before=_village_approve,
        ),
        Step(
            "county_return", _("县级退回修改"), (V.NOTICE_ENDED,), V.RETURNED, BY_COUNTY, "county",
            needs_reason=True, review=True,
        ),
        Step(
            "reject", _("不予出列"), (V.NOTICE_ENDED,), V.REJECTED, BY_COUNTY, "county", needs_reason=True, review=True
        ),
        Step(
            "withdraw", _("撤回出列申请"), (V.PROPOSED, V.RETURNED), V.WITHDRAWN, BY_TOWNSHIP, "township",
            needs_reason=True,
        ),
        Step(
            "resubmit", _("修改后重新提出"), (V.RETURNED,), V.PROPOSED, BY_TOWNSHIP, "township", internal=True,
            own_form=True,
        ),
        Step(
            "objection_return", _("异议成立，退回修改"), (V.IN_NOTICE,), V.RETURNED, frozenset(), "township",
            internal=True,
        ),
    ]
}  # fmt: skip

COUNTY_STEPS: dict[str, Step] = {
    s.action: s
    for s in [
        Step("apply", _("县级申请摘帽"), (), C.APPLIED, BY_COUNTY, "application", internal=True),
        Step(
            "prefecture_approve", _("市级初审通过"), (C.APPLIED,), C.PREFECTURE_REVIEWED, BY_PREFECTURE, "prefecture",
            review=True,
        ),
        Step(
            "prefecture_return", _("市级初审退回"), (C.APPLIED,), C.RETURNED, BY_PREFECTURE, "prefecture",
            needs_reason=True, review=True,
        ),
        Step(
            "draw_sample", _("省级核查：抽样"), (C.PREFECTURE_REVIEWED,), C.VERIFYING, BY_PROVINCE, "verification",
            review=True, internal=True, own_form=True,
        ),
        Step(
            "evaluate", _("省级核查：计算评估结果"), (C.VERIFYING,), C.EVALUATED, BY_PROVINCE, "verification",
            review=True, internal=True, own_form=True,
        ),
        Step(
            "open_notice", _("摘帽公示"), (C.EVALUATED,), C.IN_NOTICE, BY_PROVINCE, "verification",
            opens_notice="county_exit", checks=(_not_vetoed,),
        ),
        Step(
            "close_notice", _("公示期满无异议，报省审批"), (C.IN_NOTICE,), C.NOTICE_ENDED, BY_PROVINCE, "verification",
            closes_notice=True,
        ),
        Step(
            "province_approve", _("省级批准摘帽"), (C.NOTICE_ENDED,), C.APPROVED, BY_PROVINCE, "approval",
            review=True, checks=(_not_vetoed,), rechecks=(_county_unchanged,), before=_county_approve,
        ),
        Step(
            "reject", _("不予摘帽"), (C.VERIFYING, C.EVALUATED, C.NOTICE_ENDED), C.REJECTED, BY_PROVINCE, "approval",
            needs_reason=True, review=True,
        ),
        Step(
            "withdraw", _("撤回摘帽申请"), (C.APPLIED, C.RETURNED), C.WITHDRAWN, BY_COUNTY, "application",
            needs_reason=True,
        ),
        Step(
            "resubmit", _("修改后重新申请"), (C.RETURNED,), C.APPLIED, BY_COUNTY, "application", internal=True,
            own_form=True,
        ),
        Step(
            "objection_return", _("异议成立，重新核查"), (C.IN_NOTICE,), C.VERIFYING, frozenset(), "verification",
            internal=True,
        ),
    ]
}  # fmt: skip


def _notice_days(procedure: str, code: str) -> int:
    return notice_days(procedure, code)


def _verification_actors(case: CountyExitCase) -> list[tuple[str, int | None]]:
    """The verification team's visits count as its stage's acts."""
    return [
        ("verification", actor)
        for model in (SampledHousehold, SampledVillage)
        for actor in model.objects.filter(case=case, recorded_by__isnull=False).values_list("recorded_by", flat=True)
    ]


#: The offices along each procedure record what the public objects during the notice; the
#: roles that only read (auditor, API client) and the village work team do not.
VILLAGE = Workflow(
    name="village_exit", model=VillageExitCase, history=VillageExitStep, history_key="case", steps=VILLAGE_STEPS,
    code=lambda case: case.village_id, notice_days=_notice_days, not_allowed=CASE_STEP_NOT_ALLOWED,
    round_starts=frozenset({"propose", "resubmit"}), objections=VillageExitObjection,
    objection_recorders=frozenset({Role.TOWNSHIP, Role.COUNTY}),
    objection_deciders=frozenset({Role.TOWNSHIP, Role.COUNTY}), related=("village",),
)  # fmt: skip
COUNTY_WORKFLOW = Workflow(
    name="county_exit", model=CountyExitCase, history=CountyExitStep, history_key="case", steps=COUNTY_STEPS,
    code=lambda case: case.county_id, notice_days=_notice_days, not_allowed=CASE_STEP_NOT_ALLOWED,
    round_starts=frozenset({"apply", "resubmit"}), objections=CountyExitObjection,
    objection_recorders=frozenset({Role.COUNTY, Role.PREFECTURE, Role.PROVINCE}),
    objection_deciders=frozenset({Role.PROVINCE}), related=("county",), more_round_actors=_verification_actors,
)  # fmt: skip


def available_steps(case, user) -> list[Step]:
    """Return the steps ``user`` may take on ``case`` now (see :func:`registry.workflow.available_steps`)."""
    workflow = VILLAGE if isinstance(case, VillageExitCase) else COUNTY_WORKFLOW
    return engine.available_steps(workflow, case, user)


# Checks, each with its values and a Chinese explanation -------------------------------------------


def _pct(value: Decimal) -> str:
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP)}%"


def rate(numerator: int, denominator: int) -> Decimal:
    """Return ``numerator ÷ denominator`` in percent, rounded to two decimals (0 when nothing was counted)."""
    if not denominator:
        return Decimal("0.00")
    return (Decimal(numerator) * HUNDRED / Decimal(denominator)).quantize(CENT, rounding=ROUND_HALF_UP)


def _result(rule: str, label, passed: bool, values: dict, explanation) -> RuleResult:
    return RuleResult(rule=rule, label=str(label), passed=bool(passed), values=values, explanation=str(explanation))


def incidence_check(*, label: str, parts: dict[str, int], population: int, threshold: Decimal) -> RuleResult:
    """Pass when the persons in ``parts`` ÷ ``population`` is *below* ``threshold`` percent (compared exactly)."""
    persons = sum(parts.values())
    value = rate(persons, population)
    passed = Decimal(persons) * HUNDRED < threshold * Decimal(population)
    values = {**parts, "rural_population": population, "rate": str(value), "threshold": str(threshold)}
    sign = "<" if passed else "≥"
    text = _("%(label)s %(rate)s（%(persons)d ÷ %(population)d）%(sign)s 退出标准 %(threshold)s。") % {
        "label": label,
        "rate": _pct(value),
        "persons": persons,
        "population": population,
        "sign": sign,
        "threshold": _pct(threshold),
    }
    return _result("incidence", label, passed, values, text)


def _limit_check(rule: str, label, numerator: int, denominator: int, limit: Decimal, *, at_most: bool) -> RuleResult:
    """Pass when the rate is at most (or at least) ``limit`` percent, compared exactly."""
    value = rate(numerator, denominator)
    exact = Decimal(numerator) * HUNDRED
    passed = exact <= limit * denominator if at_most else exact >= limit * denominator
    bound = _("上限") if at_most else _("下限")
    sign = ("≤" if passed else ">") if at_most else ("≥" if passed else "<")
    text = _("%(label)s %(rate)s（%(n)d ÷ %(d)d）%(sign)s %(bound)s %(limit)s。") % {
        "label": label,
        "rate": _pct(value),
        "n": numerator,
        "d": denominator,
        "sign": sign,
        "bound": bound,
        "limit": _pct(limit),
    }
    values = {"numerator": numerator, "denominator": denominator, "rate": str(value), "limit": str(limit)}
    return _result(rule, label, passed, values, text)


def checklist_items(division_code: str) -> list[str]:
    """Return the keys of the village exit checklist in force (parameter VILLAGE_EXIT_CHECKLIST)."""
    return list(parameter(ParameterKey.VILLAGE_EXIT_CHECKLIST, division_code=division_code))


def checklist_label(item: str) -> str:
    return str(CHECKLIST_LABELS.get(item, item))


def checklist_checks(checklist: dict, items: list[str]) -> list[RuleResult]:
    """Return one check per required item: met, with evidence text."""
    results = []
    for item in items:
        entry = checklist.get(item) or {}
        met, evidence = bool(entry.get("met")), str(entry.get("evidence") or "").strip()
        label = checklist_label(item)
        if met and evidence:
            text = _("已达标，佐证：%(evidence)s") % {"evidence": evidence}
        elif met:
            text = _("记为达标，但未填写佐证材料。")
        else:
            text = _("未达标。")
        results.append(_result(item, label, met and bool(evidence), {"met": met, "evidence": evidence}, text))
    return results


def _failed(results: list[RuleResult], message, code: str) -> ApplicationError:
    failed = [r for r in results if not r.passed]
    lines = [f"{r.label}：{r.explanation}" for r in failed]
    return ApplicationError(
        message % {"count": len(failed), "checks": "；".join(lines)}, code=code, fields={"checks": lines}, status=409
    )


def _region_class(county_code: str) -> str:
    """Return the county's region class; a county without a status row is central/east (the model default)."""
    status = CountyStatus.objects.filter(pk=county_code[:6] + "000000").first()
    return status.region_class if status is not None else RegionClass.CENTRAL_EAST


# Shared machinery ---------------------------------------------------------------------------------


def _require_role(actor, roles: frozenset[str]) -> None:
    if actor is not None and not (actor.is_superuser or actor.role in roles):
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)


def _start(workflow: Workflow, actor, case, action: str, on_date: date | None):
    """Check scope, lock the case and check an internal step (one that takes data); return (case, step, on_date)."""
    step = workflow.step(action, internal=True)
    require_in_scope(actor, workflow.code(case))
    case = engine.lock(workflow, case)
    on_date = on_date or date.today()
    engine.check(workflow, step, case, actor, "", on_date)
    return case, step, on_date


# Village exit (贫困村出列) ----------------------------------------------------------------------------


def village_exit_judge(*, village: Division, checklist: dict) -> tuple[dict, list[RuleResult]]:
    """Return the incidence figures and the checks (incidence, then each checklist item) for ``village``."""
    items = checklist_items(village.code)
    unknown = sorted(set(checklist) - set(items))
    if unknown:
        raise invalid(CHECKLIST_UNKNOWN_ITEMS % {"items": "、".join(unknown)}, "checklist")
    incidence = poverty_incidence(village)
    region_class = _region_class(village.code)
    threshold = incidence_threshold(region_class, village.code)
    population = incidence.rural_population or 0
    check = incidence_check(
        label=str(_("贫困发生率")), parts={"poor_persons": incidence.poor_persons}, population=population,
        threshold=threshold,
    )  # fmt: skip
    if not population:
        check = _result(
            "incidence", check.label, False, check.values, _("未录入该村农村户籍人口，无法计算贫困发生率。")
        )
    figures = {
        "poor_persons": incidence.poor_persons,
        "rural_population": population,
        "incidence": rate(incidence.poor_persons, population),
        "region_class": region_class,
        "threshold": threshold,
    }
    return figures, [check, *checklist_checks(checklist, items)]


def _clean_checklist(checklist: dict) -> dict:
    return {
        str(item): {"met": bool((entry or {}).get("met")), "evidence": str((entry or {}).get("evidence") or "").strip()}
        for item, entry in checklist.items()
    }


@transaction.atomic
def village_exit_propose(*, actor, village: Division, year: int, checklist: dict, on_date: date | None = None):
    """Propose a village's exit for ``year`` (乡镇提出); refused, naming each failing check and its values."""
    _require_role(actor, BY_TOWNSHIP)
    require_in_scope(actor, village.code)
    if village.level != DivisionLevel.VILLAGE:
        raise invalid(NOT_A_VILLAGE, "village")
    status = VillageStatus.objects.select_for_update().filter(pk=village.pk).first()
    if status is None or not status.is_poverty_village:
        raise invalid(NOT_A_POVERTY_VILLAGE % {"village": village.name}, status=409, code="conflict")
    if status.exit_status == VillageExitStatus.EXITED:
        raise invalid(
            VILLAGE_ALREADY_EXITED % {"village": village.name, "year": status.exit_year}, status=409, code="conflict"
        )
    on_date = on_date or date.today()
    check_not_future(on_date)
    checklist = _clean_checklist(checklist)
    figures, results = village_exit_judge(village=village, checklist=checklist)
    if not all(r.passed for r in results):
        raise _failed(results, VILLAGE_CHECKS_FAILED, "checks_failed")
    case = VillageExitCase(
        village=village,
        county_code=village.code[:6],
        year=year,
        checklist=checklist,
        check_results=[r.as_dict() for r in results],
        **figures,
    )
    full_clean_or_raise(case, validate_constraints=False)
    try:
        with transaction.atomic():
            case.save(force_insert=True)
    except IntegrityError as error:
        raise invalid(VILLAGE_CASE_OPEN % {"village": village.name}, status=409, code="conflict") from error
    engine.record(VILLAGE, case, "propose", None, actor, "", on_date, checks=case.check_results)
    return case


@transaction.atomic
def village_exit_resubmit(*, actor, case: VillageExitCase, checklist: dict, on_date: date | None = None):
    """Resubmit a returned case with an amended checklist; it is judged anew and a new round begins."""
    case, step, on_date = _start(VILLAGE, actor, case, "resubmit", on_date)
    checklist = _clean_checklist(checklist)
    figures, results = village_exit_judge(village=case.village, checklist=checklist)
    if not all(r.passed for r in results):
        raise _failed(results, VILLAGE_CHECKS_FAILED, "checks_failed")
    for name, value in figures.items():
        setattr(case, name, value)
    case.checklist, case.check_results = checklist, [r.as_dict() for r in results]
    fields = [*figures, "checklist", "check_results"]
    return engine.move(VILLAGE, case, step, actor, "", on_date, fields, checks=case.check_results)


@transaction.atomic
def village_exit_transition(*, actor, case: VillageExitCase, action: str, reason: str = "", on_date=None):
    """Apply one step of the village exit procedure (see ``VILLAGE_STEPS``)."""
    return engine.apply(VILLAGE, actor=actor, obj=case, action=action, reason=reason, on_date=on_date)


# County exit (贫困县摘帽) ------------------------------------------------------------------------------


def _county_status(county: Division) -> CountyStatus:
    status = CountyStatus.objects.select_for_update().filter(pk=county.pk).first()
    if status is None or not status.is_poverty_county:
        raise invalid(NOT_A_POVERTY_COUNTY % {"county": county.name}, status=409, code="conflict")
    if status.exit_status == CountyExitStatus.EXITED:
        raise invalid(
            COUNTY_ALREADY_EXITED % {"county": county.name, "year": status.exit_year}, status=409, code="conflict"
        )
    if status.rural_population is None:
        raise invalid(COUNTY_POPULATION_UNKNOWN % {"county": county.name}, status=409, code="conflict")
    return status


def _county_application_figures(county: Division, status: CountyStatus) -> tuple[dict, RuleResult]:
    poor = poverty_incidence(county).poor_persons
    threshold = incidence_threshold(status.region_class, county.code)
    check = incidence_check(
        label=str(_("贫困发生率")), parts={"poor_persons": poor}, population=status.rural_population,
        threshold=threshold,
    )  # fmt: skip
    figures = {
        "poor_persons": poor,
        "rural_population": status.rural_population,
        "incidence": rate(poor, status.rural_population),
        "region_class": status.region_class,
        "threshold": threshold,
    }
    return figures, check


@transaction.atomic
def county_exit_apply(*, actor, county: Division, year: int, on_date: date | None = None) -> CountyExitCase:
    """Apply for a county's exit (县级申请); refused when its incidence is not below the threshold.

    At application nobody has been found missed or wrongly exited yet, so the comprehensive
    incidence is the registry's own; the evaluation adds its findings.
    """
    _require_role(actor, BY_COUNTY)
    require_in_scope(actor, county.code)
    if county.level != DivisionLevel.COUNTY:
        raise invalid(NOT_A_COUNTY, "county")
    status = _county_status(county)
    on_date = on_date or date.today()
    check_not_future(on_date)
    figures, check = _county_application_figures(county, status)
    if not check.passed:
        raise _failed([check], COUNTY_CHECKS_FAILED, "checks_failed")
    case = CountyExitCase(county=county, county_code=county.code[:6], year=year, **figures)
    full_clean_or_raise(case, validate_constraints=False)
    try:
        with transaction.atomic():
            case.save(force_insert=True)
    except IntegrityError as error:
        raise invalid(COUNTY_CASE_OPEN % {"county": county.name}, status=409, code="conflict") from error
    engine.record(COUNTY_WORKFLOW, case, "apply", None, actor, "", on_date, checks=[check.as_dict()])
    return case


@transaction.atomic
def county_exit_resubmit(*, actor, case: CountyExitCase, on_date: date | None = None) -> CountyExitCase:
    """Resubmit a returned application; the incidence is counted anew and a new round begins."""
    case, step, on_date = _start(COUNTY_WORKFLOW, actor, case, "resubmit", on_date)
    figures, check = _county_application_figures(case.county, _county_status(case.county))
    if not check.passed:
        raise _failed([check], COUNTY_CHECKS_FAILED, "checks_failed")
    for name, value in figures.items():
        setattr(case, name, value)
    return engine.move(COUNTY_WORKFLOW, case, step, actor, "", on_date, list(figures), checks=[check.as_dict()])


# The sample (抽样) ----------------------------------------------------------------------------


#: How :func:`draw` draws, stored with each sample so it can be redrawn elsewhere.
SAMPLE_ALGORITHM = "python3 random.Random(seed).sample(frame, size), frames sorted by registry number / code"


def draw(frame: list, size: int, seed: int) -> list:
    """Return ``size`` members of the ordered ``frame`` drawn with ``seed``: same inputs, same sample.

    Python's Mersenne Twister seeded with an integer, and ``Random.sample`` over it, give
    the same draw on every platform and Python 3 version (the algorithm is recorded with
    the sample); that is what reproducibility needs — not secrecy, the seed is published.
    """
    return random.Random(seed).sample(frame, size)  # noqa: S311 - a reproducible draw, not a secret


def _digest(keys: list[str]) -> str:
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()


def household_frame(county_code: str) -> list[str]:
    """Return the registry numbers of the county's exited households, in order (the household frame)."""
    return list(
        Household.objects.filter(prefix_q("village_id", county_code[:6]), status=HouseholdStatus.EXITED)
        .order_by("registry_number")
        .values_list("registry_number", flat=True)
    )


def village_frame(county_code: str) -> list[str]:
    """Return the codes of the county's villages with a recorded rural population, in order (the village frame)."""
    return list(
        VillageStatus.objects.filter(prefix_q("village_id", county_code[:6]), rural_population__gt=0)
        .order_by("village_id")
        .values_list("village_id", flat=True)
    )


def _registered_persons(village_codes: list[str]) -> dict[str, int]:
    rows = (
        Member.objects.filter(
            status=MemberStatus.ACTIVE, household__village_id__in=village_codes, household__status__in=REGISTERED_EVER
        )
        .values("household__village_id")
        .annotate(n=Count("id"))
        .values_list("household__village_id", "n")
    )
    return dict(rows)


@transaction.atomic
def county_exit_draw_sample(
    *, actor, case: CountyExitCase, households: int, villages: int, seed: int | None = None, on_date=None
) -> CountyExitCase:
    """Begin the province's verification: draw the sample of exited households and of villages.

    Without a ``seed`` one is chosen at random; either way it is stored with the sizes of
    the frames and their digests, so anyone holding the frames can redraw the same sample.
    """
    if seed is None:
        seed = secrets.randbelow(2**63)
    if not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise invalid(SAMPLE_SEED_INVALID, "seed")
    case, step, on_date = _start(COUNTY_WORKFLOW, actor, case, "draw_sample", on_date)
    frames = {"households": household_frame(case.county_code), "villages": village_frame(case.county_code)}
    for what, label, size in (("households", _("脱贫户"), households), ("villages", _("村"), villages)):
        if not 1 <= size <= len(frames[what]):
            raise invalid(SAMPLE_SIZE_INVALID % {"what": label, "size": size, "available": len(frames[what])}, what)
    drawn_households = draw(frames["households"], households, seed)
    drawn_villages = draw(frames["villages"], villages, seed)
    persons = dict(
        Household.objects.filter(registry_number__in=drawn_households)
        .annotate(n=Count("members", filter=Q(members__status=MemberStatus.ACTIVE)))
        .values_list("registry_number", "n")
    )
    ids = dict(Household.objects.filter(registry_number__in=drawn_households).values_list("registry_number", "pk"))
    SampledHousehold.objects.bulk_create(
        SampledHousehold(
            case=case, county_code=case.county_code, position=i, household_id=ids[number], persons=persons[number]
        )
        for i, number in enumerate(drawn_households, start=1)
    )
    registered = _registered_persons(drawn_villages)
    population = dict(VillageStatus.objects.filter(pk__in=drawn_villages).values_list("pk", "rural_population"))
    SampledVillage.objects.bulk_create(
        SampledVillage(
            case=case,
            county_code=case.county_code,
            position=i,
            village_id=code,
            rural_population=population[code],
            registered_persons=registered.get(code, 0),
            unregistered_population=max(population[code] - registered.get(code, 0), 0),
        )
        for i, code in enumerate(drawn_villages, start=1)
    )
    case.sample_seed, case.sample_household_count, case.sample_village_count = seed, households, villages
    case.sampled_on = on_date
    case.sample_frame = {
        "algorithm": SAMPLE_ALGORITHM,
        "households": len(frames["households"]),
        "households_sha256": _digest(frames["households"]),
        "villages": len(frames["villages"]),
        "villages_sha256": _digest(frames["villages"]),
    }
    fields = ["sample_seed", "sample_household_count", "sample_village_count", "sampled_on", "sample_frame"]
    sample = {"seed": seed, "households": drawn_households, "villages": drawn_villages}
    return engine.move(COUNTY_WORKFLOW, case, step, actor, "", on_date, fields, sample=sample)


# Verification visits (入户核查、漏评核查) --------------------------------------------------------


def _visit_start(actor, row, visited_on: date, scope_code: str):
    _require_role(actor, BY_PROVINCE)
    require_in_scope(actor, scope_code)
    row = type(row).objects.select_for_update().select_related("case").get(pk=row.pk)
    if row.case.status != C.VERIFYING:
        raise invalid(SAMPLE_NOT_IN_VERIFICATION, status=409, code="transition_not_allowed")
    check_not_future(visited_on, "visited_on")
    if visited_on < row.case.sampled_on:
        raise invalid(VISIT_BEFORE_SAMPLE % {"sampled": row.case.sampled_on}, "visited_on")
    return row


def _visit_save(actor, row, changes: dict, action: str, scope_code: str):
    fields = list(changes)
    before = snapshot(row, fields)
    for name, value in changes.items():
        setattr(row, name, value)
    row.recorded_by = actor if actor is not None and actor.pk else None
    full_clean_or_raise(row)
    row.save(update_fields=[*fields, "recorded_by"])
    audit_record(
        actor=actor, action=f"county_exit.{action}", instance=row, scope_code=scope_code,
        before=before if before.get("visited_on") else None, after=snapshot(row, fields),
    )  # fmt: skip
    return row


@transaction.atomic
def county_exit_record_household_visit(
    *, actor, sampled: SampledHousehold, wrongly_exited: bool, approves: bool, visited_on: date, note: str = ""
) -> SampledHousehold:
    """Record the visit to a sampled exited household: wrongly exited (错退)? approving the work (认可)?

    A visit may be recorded again (corrected) until the evaluation; each record is audited.
    """
    scope_code = sampled.household.village_id
    row = _visit_start(actor, sampled, visited_on, scope_code)
    changes = {
        "visited_on": visited_on, "wrongly_exited": bool(wrongly_exited), "approves": bool(approves),
        "note": note.strip(),
    }  # fmt: skip
    return _visit_save(actor, row, changes, "visit_household", scope_code)


@transaction.atomic
def county_exit_record_village_visit(
    *, actor, sampled: SampledVillage, missed_persons: int, visited_on: date, note: str = ""
) -> SampledVillage:
    """Record the survey of a sampled village: persons found missed (漏评) among its unregistered population."""
    row = _visit_start(actor, sampled, visited_on, sampled.village_id)
    if missed_persons < 0 or missed_persons > row.unregistered_population:
        raise invalid(
            MISSED_EXCEEDS_UNREGISTERED % {"missed": missed_persons, "unregistered": row.unregistered_population},
            "missed_persons",
        )
    changes = {"visited_on": visited_on, "missed_persons": missed_persons, "note": note.strip()}
    return _visit_save(actor, row, changes, "visit_village", sampled.village_id)


# The evaluation (专项评估) ---------------------------------------------------------------------------


def county_exit_checks(case: CountyExitCase) -> tuple[dict, list[RuleResult]]:
    """Return the evaluation's counts and its four checks: 错退率, 漏评率, 群众认可度, comprehensive incidence.

    - 错退率 = households found wrongly exited ÷ sampled exited households (≤ WRONG_EXIT_MAX)
    - 漏评率 = persons found missed ÷ unregistered rural population of the sampled villages (≤ MISSED_MAX)
    - 群众认可度 = households approving ÷ surveyed households (≥ APPROVAL_MIN)
    - 综合贫困发生率 = (poor not exited + missed found + members of the wrongly exited households)
      ÷ the county's rural population (< the region-class threshold)
    """
    households = list(case.sampled_households.all())
    villages = list(case.sampled_villages.all())
    code, year = case.county.code, case.year
    counts = {
        "sampled_households": len(households),
        "wrongly_exited_households": sum(1 for h in households if h.wrongly_exited),
        "wrongly_exited_persons": sum(h.persons for h in households if h.wrongly_exited),
        "approving_households": sum(1 for h in households if h.approves),
        "sampled_villages": len(villages),
        "unregistered_population": sum(v.unregistered_population for v in villages),
        "missed_persons": sum(v.missed_persons or 0 for v in villages),
        "poor_persons": poverty_incidence(case.county).poor_persons,
        "rural_population": CountyStatus.objects.get(pk=case.county_id).rural_population or 0,
    }
    limit = {
        key: decimal_parameter(key, year=year, division_code=code)
        for key in (ParameterKey.WRONG_EXIT_MAX, ParameterKey.MISSED_MAX, ParameterKey.APPROVAL_MIN)
    }
    threshold = incidence_threshold(case.region_class, code)
    checks = [
        _limit_check(
            "wrong_exit_rate", _("错退率"), counts["wrongly_exited_households"], counts["sampled_households"],
            limit[ParameterKey.WRONG_EXIT_MAX], at_most=True,
        ),
        _limit_check(
            "missed_rate", _("漏评率"), counts["missed_persons"], counts["unregistered_population"],
            limit[ParameterKey.MISSED_MAX], at_most=True,
        ),
        _limit_check(
            "approval_rate", _("群众认可度"), counts["approving_households"], counts["sampled_households"],
            limit[ParameterKey.APPROVAL_MIN], at_most=False,
        ),
        incidence_check(
            label=str(_("综合贫困发生率")),
            parts={
                "poor_persons": counts["poor_persons"], "missed_persons": counts["missed_persons"],
                "wrongly_exited_persons": counts["wrongly_exited_persons"],
            },
            population=counts["rural_population"], threshold=threshold,
        ),
    ]  # fmt: skip
    return counts, checks


def _evaluate(case: CountyExitCase):
    unvisited_households = case.sampled_households.filter(visited_on__isnull=True).count()
    unvisited_villages = case.sampled_villages.filter(visited_on__isnull=True).count()
    if unvisited_households or unvisited_villages:
        raise invalid(
            VISITS_INCOMPLETE % {"households": unvisited_households, "villages": unvisited_villages},
            status=409,
            code="visits_incomplete",
        )
    counts, checks = county_exit_checks(case)
    rates = {c.rule: Decimal(c.values["rate"]) for c in checks}
    case.wrong_exit_rate, case.missed_rate = rates["wrong_exit_rate"], rates["missed_rate"]
    case.approval_rate, case.comprehensive_incidence = rates["approval_rate"], rates["incidence"]
    case.evaluation = {"counts": counts, "checks": [c.as_dict() for c in checks]}
    case.evaluation_passed = all(c.passed for c in checks)
    fields = ["wrong_exit_rate", "missed_rate", "approval_rate", "comprehensive_incidence"]
    return [*fields, "evaluation", "evaluation_passed"], {"evaluation": case.evaluation}


@transaction.atomic
def county_exit_evaluate(*, actor, case: CountyExitCase, on_date: date | None = None) -> CountyExitCase:
    """Compute the three rates and the comprehensive incidence once every sampled unit is visited.

    The result, passed or vetoed, is stored and audited; a vetoed evaluation refuses the
    notice and the approval, naming each rate and its limit, and the case can only be rejected.
    """
    case, step, on_date = _start(COUNTY_WORKFLOW, actor, case, "evaluate", on_date)
    fields, extra = _evaluate(case)
    summary = "；".join(c["explanation"] for c in case.evaluation["checks"])
    return engine.move(COUNTY_WORKFLOW, case, step, actor, summary[:REASON_MAX_LENGTH], on_date, fields, **extra)


@transaction.atomic
def county_exit_transition(*, actor, case: CountyExitCase, action: str, reason: str = "", on_date=None):
    """Apply one step of the county exit procedure (see ``COUNTY_STEPS``)."""
    return engine.apply(COUNTY_WORKFLOW, actor=actor, obj=case, action=action, reason=reason, on_date=on_date)


# Objections during a notice (公示异议) -------------------------------------------------------------


@transaction.atomic
def village_exit_objection_raise(*, actor, case: VillageExitCase, objector: str, content: str, raised_on=None):
    """Record an objection raised during the notice within the township; it blocks closing the notice."""
    return engine.objection_raise(
        VILLAGE, actor=actor, obj=case, objector=objector, content=content, raised_on=raised_on
    )


@transaction.atomic
def village_exit_objection_resolve(*, actor, objection: VillageExitObjection, upheld: bool, resolution: str):
    """Decide an objection: upheld returns the case to the township; dismissed lets the notice close."""
    outcome = "upheld" if upheld else "dismissed"
    return engine.objection_resolve(VILLAGE, actor=actor, objection=objection, outcome=outcome, resolution=resolution)


@transaction.atomic
def county_exit_objection_raise(*, actor, case: CountyExitCase, objector: str, content: str, raised_on=None):
    """Record an objection raised during the county's public notice; it blocks closing the notice."""
    return engine.objection_raise(
        COUNTY_WORKFLOW, actor=actor, obj=case, objector=objector, content=content, raised_on=raised_on
    )


@transaction.atomic
def county_exit_objection_resolve(*, actor, objection: CountyExitObjection, upheld: bool, resolution: str):
    """Decide an objection: upheld sends the case back to verification (visits corrected, evaluated again)."""
    outcome = "upheld" if upheld else "dismissed"
    return engine.objection_resolve(
        COUNTY_WORKFLOW, actor=actor, objection=objection, outcome=outcome, resolution=resolution
    )
