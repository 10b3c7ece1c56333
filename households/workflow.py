"""The household state machine (两公示一公告 and what follows), as one table.

Every transition a household can make is a row of :data:`TRANSITIONS`; the one function
:func:`household_transition` applies a row: it checks the current status and step, the
actor's role and jurisdiction, the four-eyes rule, notice periods and objections, the
exclusion checks where the row asks for them, then moves the household, records a
:class:`~households.models.StatusChange` and the audit row, all in one transaction.
A transition that is not in the table cannot happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

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
from households.models import Household, Member, StatusChange
from registry.audit import audit_record
from registry.errors import ApplicationError
from registry.roles import Role
from registry.services import REASON_MAX_LENGTH, ensure_four_eyes, require_in_scope

S = HouseholdStatus
P = IdentificationStep
ACTIVE_STATUSES = tuple(s for s in HouseholdStatus.values if s not in CLOSED_STATUSES)
NOTICE_STEPS = (P.VILLAGE_NOTICE, P.TOWNSHIP_NOTICE)
#: Longest reason a transition records (the status_reason and StatusChange.reason columns).


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    from_statuses: tuple[str, ...]
    from_steps: tuple[str, ...] | None  # None: any step
    to_status: str | None  # None: keep
    to_step: str | None  # None: keep
    roles: frozenset[str]
    needs_reason: bool = False
    review: bool = False  # four-eyes: nobody who acted earlier in this round may do it
    opens_notice: str | None = None  # which notice period starts
    closes_notice: bool = False  # notice must have ended with no pending objection
    exclusion_checks: bool = False
    reason_choices: tuple[str, ...] = field(default=())
    internal: bool = False  # applied only by another service (an objection decision, an exit case)


TRANSITIONS: dict[str, Transition] = {
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
            frozenset({Role.COUNTY}), review=True, exclusion_checks=True,
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


def available_transitions(household: Household, user) -> list[Transition]:
    """Return the transitions ``user`` could try now (status, step and role fit)."""
    return [t for t in TRANSITIONS.values() if not t.internal and _fits(t, household) and _role_allows(t, user)]


def _fits(t: Transition, household: Household) -> bool:
    return household.status in t.from_statuses and (t.from_steps is None or household.step in t.from_steps)


def _role_allows(t: Transition, user) -> bool:
    if user is None:
        return True
    return user.is_superuser or user.role == Role.ADMIN or user.role in t.roles


def notice_days(kind: str, division_code: str = "") -> int:
    """Return the configured length of a notice period in days (a parameter, commonly 7)."""
    from assessments.parameters import notice_days as configured

    return configured(kind, division_code)


def _round_actors(household: Household) -> list:
    """Return the actors of the current identification round (since the last return to application)."""
    changes = list(household.status_changes.order_by("id").values_list("action", "actor_id"))
    start = max((i for i, (action, _a) in enumerate(changes) if action in {"apply", "objection_return"}), default=0)
    return [actor for _action, actor in changes[start:]]


def check_not_future(day: date, field: str = "on_date") -> None:
    """Refuse a date after today: the registry records what has happened."""
    if day > date.today():
        raise ApplicationError(errors.DATE_IN_FUTURE, code="invalid", fields={field: [str(errors.DATE_IN_FUTURE)]})


def _check_date(household: Household, on_date: date) -> None:
    check_not_future(on_date)
    previous = household.status_changes.order_by("-id").values_list("effective_date", flat=True).first()
    if previous and on_date < previous:
        message = errors.DATE_BEFORE_PREVIOUS % {"previous": previous}
        raise ApplicationError(message, code="invalid", fields={"on_date": [str(message)]})


def set_members_current(household: Household) -> None:
    """Keep members' ``current`` flag in step with the household's status."""
    if household.status in CLOSED_STATUSES:
        Member.objects.filter(household=household, current=True).update(current=False)


@transaction.atomic
def household_transition(
    *, actor, household: Household, action: str, reason: str = "", on_date: date | None = None
) -> Household:
    """Apply the transition ``action`` to ``household`` (see the module docstring)."""
    from households.exclusions import run_exclusion_checks
    from households.services import people_of

    t = TRANSITIONS.get(action)
    if t is None or t.internal:
        raise ApplicationError(errors.TRANSITION_UNKNOWN % {"action": action}, code="invalid")
    if actor is not None:
        require_in_scope(actor, household.village_id)
    household = Household.objects.select_for_update().get(pk=household.pk)
    if not _fits(t, household):
        raise ApplicationError(
            errors.TRANSITION_NOT_ALLOWED
            % {"status": household.get_status_display(), "step": household.get_step_display(), "action": t.label},
            code="transition_not_allowed",
            status=409,
        )
    if not _role_allows(t, actor):
        roles = "、".join(str(Role(r).label) for r in sorted(t.roles))
        raise ApplicationError(
            errors.TRANSITION_ROLE % {"action": t.label, "roles": roles}, code="permission_denied", status=403
        )
    reason = (reason or "").strip()
    if t.needs_reason and not reason:
        message = errors.REASON_REQUIRED % {"action": t.label}
        raise ApplicationError(message, code="invalid", fields={"reason": [str(message)]})
    if len(reason) > REASON_MAX_LENGTH:
        message = errors.REASON_TOO_LONG % {"limit": REASON_MAX_LENGTH}
        raise ApplicationError(message, code="invalid", fields={"reason": [str(message)]})
    if t.reason_choices and reason not in t.reason_choices:
        message = errors.REASON_REQUIRED % {"action": t.label}
        raise ApplicationError(message, code="invalid", fields={"reason": [str(message)]})
    on_date = on_date or date.today()
    _check_date(household, on_date)
    if t.review:
        ensure_four_eyes(actor=actor, earlier_actors=_round_actors(household))
    if t.closes_notice:
        if household.notice_ends_on and on_date < household.notice_ends_on:
            raise ApplicationError(
                errors.NOTICE_NOT_ENDED % {"ends": household.notice_ends_on}, code="notice_not_ended", status=409
            )
        pending = household.objections.filter(outcome=ObjectionOutcome.PENDING).count()
        if pending:
            raise ApplicationError(errors.OBJECTION_PENDING % {"count": pending}, code="objection_pending", status=409)
    if t.exclusion_checks:
        hits = run_exclusion_checks(people_of(household), household_id=household.pk)
        if hits:
            raise ApplicationError(
                errors.EXCLUSION_HITS % {"count": len(hits), "hits": "；".join(str(h) for h in hits)},
                code="exclusion",
                fields={"exclusions": [str(h) for h in hits]},
                status=409,
            )
    return apply_transition(household=household, t=t, actor=actor, reason=reason, on_date=on_date)


def apply_transition(*, household: Household, t: Transition, actor, reason: str, on_date: date) -> Household:
    """Move the household and record the change; callers have checked the rules."""
    before = {"status": household.status, "step": household.step}
    fields = ["status", "step", "status_reason", "status_date", "notice_ends_on", "version", "updated_at"]
    household.status = t.to_status or household.status
    household.step = t.to_step or household.step
    household.status_reason = reason
    household.status_date = on_date
    household.notice_ends_on = (
        on_date + timedelta(days=notice_days(t.opens_notice, household.village_id)) if t.opens_notice else None
    )
    if t.action == "county_approve":
        household.identified_year = on_date.year
        fields.append("identified_year")
    household.version += 1
    household.save(update_fields=fields)
    set_members_current(household)
    StatusChange.objects.create(
        household=household,
        county_code=household.county_code,
        action=t.action,
        from_status=before["status"],
        to_status=household.status,
        from_step=before["step"],
        to_step=household.step,
        actor=actor if actor is not None and actor.pk else None,
        reason=reason,
        effective_date=on_date,
    )
    audit_record(
        actor=actor,
        action=f"household.{t.action}",
        instance=household,
        scope_code=household.village_id,
        before=before,
        after={"status": household.status, "step": household.step, "reason": reason, "on_date": on_date},
    )
    return household
