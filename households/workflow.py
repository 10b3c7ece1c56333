"""The household state machine (两公示一公告 and what follows), as one table.

Every transition a household can make is a row of :data:`TRANSITIONS`, declared to the
workflow engine (:mod:`registry.workflow`) as :data:`WORKFLOW`; the engine applies a row:
it checks the current status and step, the actor's role and jurisdiction, the four-eyes
rule, notice periods and objections, the exclusion checks where the row asks for them,
then moves the household, records a :class:`~households.models.StatusChange` and the
audit row, all in one transaction. A transition that is not in the table cannot happen.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from households import errors
from households.choices import (
    CLOSED_STATUSES,
    HouseholdStatus,
    IdentificationStep,
    NaturalDecreaseReason,
    ObjectionOutcome,
)
from households.models import Household, Member, Objection, StatusChange
from registry import parameters
from registry import workflow as engine
from registry.roles import Capability, Role, roles_with
from registry.workflow import Step, Workflow, check_not_future  # noqa: F401 - check_not_future: used from here

S = HouseholdStatus
P = IdentificationStep
ACTIVE_STATUSES = tuple(s for s in HouseholdStatus.values if s not in CLOSED_STATUSES)
NOTICE_STEPS = (P.VILLAGE_NOTICE, P.TOWNSHIP_NOTICE)


def _exclusions(household: Household, actor, on_date: date) -> None:
    """Refuse when a member is found on an exclusion list (财政供养人员 and the like), checked now."""
    from households.exclusions import refuse_hits, run_exclusion_checks
    from households.services import people_of

    refuse_hits(run_exclusion_checks(people_of(household), household_id=household.pk))


def _identified(household: Household, actor, on_date: date, reason: str):
    household.identified_year = on_date.year
    return ["identified_year"], {}


def Transition(
    action, label, from_statuses, from_steps, to_status, to_step, roles, *, exclusion_checks=False, **rest
) -> Step:
    """Return a household step: from (status, identification step) to (status, step); None keeps either."""
    return Step(
        action, label, tuple(from_statuses), to_status, roles, from_steps=from_steps, to_step=to_step,
        rechecks=(_exclusions,) if exclusion_checks else (), **rest,
    )  # fmt: skip


TRANSITIONS: dict[str, Step] = {
    t.action: t
    for t in [
        Transition(
            "appraise", _("民主评议通过"), (S.APPLIED,), (P.APPLICATION,), S.APPRAISED, P.APPRAISED,
            frozenset({Role.WORK_TEAM}),
        ),
        Transition(
            "appraisal_reject", _("民主评议未通过"), (S.APPLIED,), (P.APPLICATION,), S.REJECTED, P.REJECTED,
            frozenset({Role.WORK_TEAM}), needs_reason=True,
        ),
        Transition(
            "open_village_notice", _("村级公示"), (S.APPRAISED,), (P.APPRAISED,), S.IN_NOTICE, P.VILLAGE_NOTICE,
            frozenset({Role.WORK_TEAM}), opens_notice="village",
        ),
        Transition(
            "close_village_notice", _("村级公示期满，报乡镇审核"), (S.IN_NOTICE,), (P.VILLAGE_NOTICE,), None,
            P.TOWNSHIP_REVIEW, frozenset({Role.WORK_TEAM, Role.TOWNSHIP}), closes_notice=True,
        ),
        Transition(
            "township_approve", _("乡镇审核通过并公示"), (S.IN_NOTICE,), (P.TOWNSHIP_REVIEW,), None,
            P.TOWNSHIP_NOTICE, frozenset({Role.TOWNSHIP}), review=True, opens_notice="township",
        ),
        Transition(
            "township_reject", _("乡镇审核不通过"), (S.IN_NOTICE,), (P.TOWNSHIP_REVIEW,), S.REJECTED, P.REJECTED,
            frozenset({Role.TOWNSHIP}), needs_reason=True, review=True,
        ),
        Transition(
            "close_township_notice", _("乡镇公示期满，报县审批"), (S.IN_NOTICE,), (P.TOWNSHIP_NOTICE,), None,
            P.COUNTY_APPROVAL, frozenset({Role.TOWNSHIP}), closes_notice=True,
        ),
        Transition(
            "county_approve", _("县级审批并公告"), (S.IN_NOTICE,), (P.COUNTY_APPROVAL,), S.REGISTERED, P.ANNOUNCED,
            frozenset({Role.COUNTY}), review=True, exclusion_checks=True, before=_identified,
        ),
        Transition(
            "county_reject", _("县级审批不通过"), (S.IN_NOTICE,), (P.COUNTY_APPROVAL,), S.REJECTED, P.REJECTED,
            frozenset({Role.COUNTY}), needs_reason=True, review=True,
        ),
        Transition(
            "objection_return", _("异议成立，退回重新评议"), (S.IN_NOTICE,), NOTICE_STEPS, S.APPLIED, P.APPLICATION,
            frozenset(), internal=True,
        ),
        Transition(
            "objection_reject", _("异议成立，不予识别"), (S.IN_NOTICE,), NOTICE_STEPS, S.REJECTED, P.REJECTED,
            frozenset(), internal=True,
        ),
        Transition(
            "certify_exit", _("脱贫退出（县级审定）"), (S.REGISTERED, S.RETURNED), None, S.EXITED, None,
            frozenset(), internal=True,
        ),
        Transition(
            "revoke_exit", _("撤销脱贫（错退）"), (S.EXITED,), None, S.REGISTERED, None,
            frozenset(), internal=True,
        ),
        Transition(
            "return_to_poverty", _("返贫"), (S.EXITED,), None, S.RETURNED, None,
            frozenset(), internal=True,
        ),
        Transition(
            "remove", _("清退（错评）"), (S.REGISTERED, S.EXITED, S.RETURNED), None, S.REMOVED, None,
            frozenset({Role.COUNTY}), needs_reason=True,
        ),
        Transition(
            "natural_decrease", _("自然减少"), ACTIVE_STATUSES, None, S.NATURAL_DECREASE, None,
            frozenset({Role.COUNTY, Role.TOWNSHIP}), needs_reason=True,
            reason_choices=tuple(NaturalDecreaseReason.values),
        ),
    ]
}  # fmt: skip


def notice_days(kind: str, division_code: str = "") -> int:
    """Return the configured length of a notice period in days (a parameter, commonly 7)."""
    return parameters.notice_days(kind, division_code)


def set_members_current(household: Household) -> None:
    """Keep members' ``current`` flag in step with the household's status."""
    if household.status in CLOSED_STATUSES:
        Member.objects.filter(household=household, current=True).update(current=False)


def _on_move(household: Household, step: Step, on_date: date) -> list[str]:
    household.status_date = on_date
    set_members_current(household)
    return ["status_date"]


WORKFLOW = Workflow(
    name="household", model=Household, history=StatusChange, history_key="household", steps=TRANSITIONS,
    code=lambda household: household.village_id, notice_days=lambda kind, code: notice_days(kind, code),
    not_allowed=errors.TRANSITION_NOT_ALLOWED, round_starts=frozenset({"apply", "objection_return"}),
    objections=Objection, objection_key="household", objection_name="objection",
    objection_recorders=roles_with(Capability.ENTER_HOUSEHOLDS),
    objection_deciders=roles_with(Capability.DECIDE_OBJECTIONS),
    objection_outcomes={
        ObjectionOutcome.UPHELD_RETURN: "objection_return", ObjectionOutcome.UPHELD_REJECT: "objection_reject",
        ObjectionOutcome.DISMISSED: None,
    },
    objection_fields=lambda household: {"step": household.step},
    any_step_roles=frozenset({Role.ADMIN}), second_state="step", on_move=_on_move,
)  # fmt: skip


def available_transitions(household: Household, user) -> list[Step]:
    """Return the transitions ``user`` may take now (see :func:`registry.workflow.available_steps`)."""
    return engine.available_steps(WORKFLOW, household, user)


@transaction.atomic
def household_transition(
    *, actor, household: Household, action: str, reason: str = "", on_date: date | None = None
) -> Household:
    """Apply the transition ``action`` to ``household`` (see the module docstring)."""
    return engine.apply(WORKFLOW, actor=actor, obj=household, action=action, reason=reason, on_date=on_date)


def apply_transition(*, household: Household, t: Step, actor, reason: str, on_date: date) -> Household:
    """Take the internal step ``t`` on the locked ``household`` for another procedure, which has checked its rules."""
    return engine.move(WORKFLOW, household, t, actor, reason, on_date)
