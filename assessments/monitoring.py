"""After exit: the transition period, monitoring flags (防止返贫监测) and return to poverty (返贫).

A household exited in year Y stays in the transition period (过渡期, parameter
``transition_years``, 5 by default) through year Y + 5. It is flagged for monitoring
(脱贫不稳定户, 边缘易致贫户, 突发严重困难户) when an assessment puts its per-capita income
below the monitoring threshold, or when a sudden event (serious illness, disaster,
accident) strikes. Flagging and risk removal (风险消除) each follow one table of steps:
verify → appraise → notice (``notice_days("monitoring")``) → county approval, with
rejection (with a reason) at the county step, four eyes at the county step, and every
step recorded and audited. A flagged household that falls below the line returns to
poverty: it is registered again (返贫) with a cause and a date, and its flag is closed.
"""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from assessments.choices import ExitCaseStatus, FlagKind, FlagStatus, ParameterKey
from assessments.models import FLAG_CLOSED_STATUSES, Assessment, ExitCase, MonitoringFlag, MonitoringFlagStep
from assessments.parameters import monitoring_threshold, notice_days, parameter
from households.choices import Cause, HouseholdStatus
from households.models import Household
from households.services import household_update
from households.workflow import TRANSITIONS as HOUSEHOLD_TRANSITIONS
from households.workflow import apply_transition
from registry import workflow as engine
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.roles import Capability, Role
from registry.scoping import scope_queryset
from registry.services import (
    REASON_MAX_LENGTH,
    clean_reason,
    full_clean_or_raise,
    require_capability,
    require_in_scope,
)
from registry.workflow import REASON_TOO_LONG, Step, Workflow, check_not_future, invalid

F = FlagStatus
NOTICE_PROCEDURE = "monitoring"

FLAG_NOT_IN_TRANSITION = _("只有过渡期内的已脱贫户才能纳入防返贫监测；该户为“%(status)s”。")
FLAG_ALREADY_OPEN = _("该户已有未结束的监测记录。")
FLAG_REASON_REQUIRED = _("请说明纳入监测的理由（如重大疾病、自然灾害、意外事故及其开支）。")
FLAG_KIND_UNKNOWN = _("未知的监测对象类型：%(kind)s")
FLAG_STEP_NOT_ALLOWED = _("监测记录当前为“%(status)s”，不能执行“%(action)s”。")
FLAG_DATA_CHANGED = _("纳入监测后以下信息已修改：%(changes)s。请不予纳入，或重新核实。")
FLAG_INCOME_NOW = _("%(year)s 年人均纯收入现为 %(income)s 元，已不低于监测标准 %(threshold)s 元")
RETURN_NO_ACTIVE_FLAG = _("只有已纳入监测（县级审批）的已脱贫户才能认定返贫。")
RETURN_CAUSE_UNKNOWN = _("请选择返贫原因。")
RETURN_REASON_REQUIRED = _("认定返贫必须说明理由。")


# The transition period (过渡期) ------------------------------------------------------------


def transition_years(division_code: str = "") -> int:
    """Return the length of the transition period in years (a parameter)."""
    return int(parameter(ParameterKey.TRANSITION_YEARS, division_code=division_code))


def _certified_exits() -> QuerySet:
    return ExitCase.objects.filter(status=ExitCaseStatus.CERTIFIED, revoked=False)


def exit_year(household: Household) -> int | None:
    """Return the year of the household's standing (certified, not revoked) exit, or None."""
    return _certified_exits().filter(household=household).order_by("-year").values_list("year", flat=True).first()


def in_transition(household: Household, year: int) -> bool:
    """Return whether an exited household is in its transition period in ``year`` (exit year Y … Y + N)."""
    if household.status != HouseholdStatus.EXITED:
        return False
    exited = exit_year(household)
    return exited is not None and exited <= year <= exited + transition_years(household.village_id)


def households_in_transition(*, user, year: int, years: int | None = None) -> QuerySet:
    """Return the exited households ``user`` may see that are in the transition period in ``year``.

    ``years`` defaults to the national transition length (a province's own value, where
    it set one, is honoured by :func:`in_transition` one household at a time).
    """
    years = transition_years() if years is None else years
    exits = _certified_exits().filter(household=OuterRef("pk"), year__lte=year, year__gte=year - years)
    queryset = Household.objects.filter(Exists(exits), status=HouseholdStatus.EXITED)
    return scope_queryset(queryset, user) if user is not None else queryset


# The steps of a flag -----------------------------------------------------------------------


def _still_due(flag: MonitoringFlag, actor, on_date: date) -> None:
    """Judge again, at approval, what the flag was raised on: the household exited and in its
    transition period, and (for a flag raised by an assessment) its income below the threshold."""
    household = flag.household
    if not in_transition(household, flag.raised_on.year):
        message = FLAG_NOT_IN_TRANSITION % {"status": household.get_status_display()}
        raise invalid(message, status=409, code="conflict")
    assessment = flag.source_assessment
    if flag.trigger == "assessment" and assessment is not None:
        assessment.refresh_from_db()
        threshold = monitoring_threshold(assessment.year, household.village_id)
        if assessment.per_capita_net_income >= threshold:
            change = FLAG_INCOME_NOW % {
                "year": assessment.year, "income": assessment.per_capita_net_income, "threshold": threshold,
            }  # fmt: skip
            raise engine.refuse_changed([change], FLAG_DATA_CHANGED)


BY_TEAM = frozenset({Role.WORK_TEAM})
BY_COUNTY = frozenset({Role.COUNTY})

STEPS: dict[str, Step] = {
    s.action: s
    for s in [
        Step("appraise", _("核实后民主评议通过"), (F.PROPOSED,), F.APPRAISED, BY_TEAM),
        Step("open_notice", _("村内公示"), (F.APPRAISED,), F.IN_NOTICE, BY_TEAM, opens_notice=NOTICE_PROCEDURE),
        Step(
            "approve", _("县级审批，纳入监测"), (F.IN_NOTICE,), F.ACTIVE, BY_COUNTY, review=True, closes_notice=True,
            rechecks=(_still_due,),
        ),
        Step("reject", _("县级审批不予纳入"), (F.IN_NOTICE,), F.REJECTED, BY_COUNTY, needs_reason=True, review=True),
        Step(
            "propose_removal", _("提出风险消除"), (F.ACTIVE,), F.REMOVAL_PROPOSED, BY_TEAM, needs_reason=True,
            starts_round=True,
        ),
        Step("appraise_removal", _("风险消除核实后民主评议通过"), (F.REMOVAL_PROPOSED,), F.REMOVAL_APPRAISED, BY_TEAM),
        Step(
            "open_removal_notice", _("风险消除村内公示"), (F.REMOVAL_APPRAISED,), F.REMOVAL_IN_NOTICE, BY_TEAM,
            opens_notice=NOTICE_PROCEDURE,
        ),
        Step(
            "approve_removal", _("县级审批，风险消除"), (F.REMOVAL_IN_NOTICE,), F.REMOVED, BY_COUNTY, review=True,
            closes_notice=True,
        ),
        Step(
            "reject_removal", _("县级审批不予消除，继续监测"), (F.REMOVAL_IN_NOTICE,), F.ACTIVE, BY_COUNTY,
            needs_reason=True, review=True,
        ),
        Step("return_to_poverty", _("认定返贫，监测结束"), (F.ACTIVE,), F.RETURNED, frozenset(), internal=True),
    ]
}  # fmt: skip


WORKFLOW = Workflow(
    name="monitoring_flag", model=MonitoringFlag, history=MonitoringFlagStep, history_key="flag", steps=STEPS,
    code=lambda flag: flag.household.village_id, notice_days=notice_days, not_allowed=FLAG_STEP_NOT_ALLOWED,
    round_starts=frozenset({"raise"}), related=("household",),
)  # fmt: skip


def available_steps(flag: MonitoringFlag, user) -> list[Step]:
    """Return the steps ``user`` may take on ``flag`` now (see :func:`registry.workflow.available_steps`)."""
    return engine.available_steps(WORKFLOW, flag, user)


def _clean_reason(reason: str, *, required) -> str:
    return clean_reason(reason, required=required, too_long=REASON_TOO_LONG, limit=REASON_MAX_LENGTH)


# Raising a flag ----------------------------------------------------------------------------


def _create_flag(*, actor, household: Household, kind: str, reason: str, on_date: date, **extra) -> MonitoringFlag:
    flag = MonitoringFlag(
        household=household, county_code=household.county_code, kind=kind, reason=reason, raised_on=on_date, **extra
    )
    full_clean_or_raise(flag, validate_constraints=False)
    try:
        with transaction.atomic():
            flag.save(force_insert=True)
    except IntegrityError as error:
        raise invalid(FLAG_ALREADY_OPEN, status=409, code="conflict") from error
    engine.record(WORKFLOW, flag, "raise", None, actor, reason, on_date)
    return flag


def _require_raiser(actor) -> None:
    if actor is not None and not (actor.is_superuser or actor.role == Role.WORK_TEAM):
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)


@transaction.atomic
def monitoring_flag_raise(
    *, actor, household: Household, kind: str, reason: str, event: str = "", on_date: date | None = None
) -> MonitoringFlag:
    """Propose a household for monitoring after a sudden event (突发事件); the reason says what happened.

    Work team; the household must be exited and in its transition period.
    """
    _require_raiser(actor)
    require_in_scope(actor, household.village_id)
    if kind not in FlagKind.values:
        raise invalid(FLAG_KIND_UNKNOWN % {"kind": kind}, "kind")
    reason = _clean_reason(reason, required=FLAG_REASON_REQUIRED)
    on_date = on_date or date.today()
    check_not_future(on_date)
    household = Household.objects.select_for_update().get(pk=household.pk)
    if not in_transition(household, on_date.year):
        raise invalid(FLAG_NOT_IN_TRANSITION % {"status": household.get_status_display()}, status=409, code="conflict")
    return _create_flag(
        actor=actor, household=household, kind=kind, reason=reason, on_date=on_date, trigger="event",
        event=(event or "").strip(),
    )  # fmt: skip


def flags_from_assessment(*, actor, assessment: Assessment, on_date: date | None = None) -> MonitoringFlag | None:
    """Propose an UNSTABLE flag when an exited household in transition falls below the monitoring threshold.

    Return the new flag, or None when none is due (not exited, not in transition, at or
    above the threshold) or the household already has an open flag. Call inside a service's
    transaction (:func:`monitoring_check_assessment`); never from a signal.
    """
    household = Household.objects.select_for_update().get(pk=assessment.household_id)
    if not in_transition(household, assessment.year):
        return None
    threshold = monitoring_threshold(assessment.year, household.village_id)
    income = assessment.per_capita_net_income
    if income >= threshold:
        return None
    if MonitoringFlag.objects.filter(household=household).exclude(status__in=FLAG_CLOSED_STATUSES).exists():
        return None
    reason = _("%(year)s 年人均纯收入 %(income)s 元，低于监测标准 %(threshold)s 元。") % {
        "year": assessment.year,
        "income": income,
        "threshold": threshold,
    }
    return _create_flag(
        actor=actor, household=household, kind=FlagKind.UNSTABLE, reason=str(reason), on_date=on_date or date.today(),
        trigger="assessment", source_assessment=assessment,
    )  # fmt: skip


@transaction.atomic
def monitoring_check_assessment(*, actor, assessment: Assessment, on_date: date | None = None) -> MonitoringFlag | None:
    """Check one assessment against the monitoring threshold and propose a flag if it is below."""
    require_capability(actor, Capability.ENTER_HOUSEHOLDS)
    require_in_scope(actor, assessment.household.village_id)
    if on_date is not None:
        check_not_future(on_date)
    return flags_from_assessment(actor=actor, assessment=assessment, on_date=on_date)


# Moving a flag -----------------------------------------------------------------------------


@transaction.atomic
def monitoring_flag_transition(
    *, actor, flag: MonitoringFlag, action: str, reason: str = "", on_date: date | None = None
) -> MonitoringFlag:
    """Apply one step of the flag or removal procedure (see the module docstring and :data:`STEPS`)."""
    return engine.apply(WORKFLOW, actor=actor, obj=flag, action=action, reason=reason, on_date=on_date)


# Return to poverty (返贫) ------------------------------------------------------------------


@transaction.atomic
def return_to_poverty(
    *, actor, household: Household, cause: str, reason: str, on_date: date | None = None
) -> Household:
    """Register a flagged exited household as returned to poverty (返贫) with its cause and date.

    County; the household must be exited with an active (county-approved) flag, which is
    closed by a recorded step. The household counts as poor again from then on.
    """
    if actor is not None and not (actor.is_superuser or actor.role == Role.COUNTY):
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)
    require_in_scope(actor, household.village_id)
    if cause not in Cause.values:
        raise invalid(RETURN_CAUSE_UNKNOWN, "cause")
    reason = _clean_reason(reason, required=RETURN_REASON_REQUIRED)
    on_date = on_date or date.today()
    check_not_future(on_date)
    household = Household.objects.select_for_update().get(pk=household.pk)
    flag = (
        MonitoringFlag.objects.select_for_update()
        .select_related("household")
        .filter(household=household, status=F.ACTIVE)
        .first()
    )
    if household.status != HouseholdStatus.EXITED or flag is None:
        raise invalid(RETURN_NO_ACTIVE_FLAG, status=409, code="conflict")
    engine.check_date(WORKFLOW, flag, on_date)
    household = apply_transition(
        household=household, t=HOUSEHOLD_TRANSITIONS["return_to_poverty"], actor=actor, reason=reason, on_date=on_date
    )
    household = household_update(actor=actor, household=household, changes={"main_cause": cause})
    engine.move(WORKFLOW, flag, STEPS["return_to_poverty"], actor, reason, on_date)
    return household
