"""Household exit cases (脱贫退出) as one transition table, per《关于建立贫困退出机制的意见》(2016).

propose → democratic appraisal → verify → household acknowledgement → village notice
(objections) → township review → county certification → the household is exited with
the year. A proposal is refused, naming the failed rules, when the year's assessment does
not pass the eligibility engine; the result and a snapshot of the judged data are stored
with the case. Township and county may return a case for amendment (then resubmitted,
re-evaluated) or reject it. Every review step keeps four eyes; every step is recorded
and audited; the county can certify a batch, each case still checked one by one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assessments import errors
from assessments.choices import ExitCaseStatus
from assessments.eligibility import all_passed, build_snapshot, evaluate
from assessments.models import Assessment, ExitCase, ExitCaseStep, ExitObjection
from assessments.parameters import notice_days
from households import errors as household_errors
from households.choices import HouseholdStatus
from households.models import Household
from households.workflow import TRANSITIONS as HOUSEHOLD_TRANSITIONS
from households.workflow import apply_transition, check_not_future
from registry.audit import audit_record
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.roles import Capability, Role
from registry.services import ensure_four_eyes, require_capability, require_in_scope

C = ExitCaseStatus
CERTIFICATE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


@dataclass(frozen=True)
class Step:
    action: str
    label: str
    sources: tuple[str, ...]
    target: str
    roles: frozenset[str]
    needs_reason: bool = False
    review: bool = False
    opens_notice: bool = False
    closes_notice: bool = False
    internal: bool = False  # applied only by the decision on an objection


#: Who proposes an exit (村提名), decides an objection raised in its notice, and revokes a
#: certified exit (错退); the doors offer these actions accordingly, the services decide.
PROPOSERS = frozenset({Role.WORK_TEAM})
OBJECTION_DECIDERS = frozenset({Role.TOWNSHIP, Role.COUNTY})
REVOKERS = frozenset({Role.COUNTY, Role.PROVINCE})

STEPS: dict[str, Step] = {
    s.action: s
    for s in [
        Step("appraise", _("民主评议通过"), (C.PROPOSED,), C.APPRAISED, frozenset({Role.WORK_TEAM})),
        Step("verify", _("村委会和工作队核实"), (C.APPRAISED,), C.VERIFIED, frozenset({Role.WORK_TEAM})),
        Step(
            "acknowledge", _("贫困户签字认可"), (C.VERIFIED,), C.ACKNOWLEDGED, frozenset({Role.WORK_TEAM}),
            needs_reason=True,
        ),
        Step(
            "open_notice", _("村内公示"), (C.ACKNOWLEDGED,), C.IN_NOTICE, frozenset({Role.WORK_TEAM}),
            opens_notice=True,
        ),
        Step(
            "close_notice", _("公示期满无异议，报乡镇审核"), (C.IN_NOTICE,), C.NOTICE_ENDED,
            frozenset({Role.WORK_TEAM, Role.TOWNSHIP}), closes_notice=True,
        ),
        Step(
            "township_approve", _("乡镇审核通过"), (C.NOTICE_ENDED,), C.TOWNSHIP_REVIEWED, frozenset({Role.TOWNSHIP}),
            review=True,
        ),
        Step(
            "township_return", _("乡镇退回修改"), (C.NOTICE_ENDED,), C.RETURNED, frozenset({Role.TOWNSHIP}),
            needs_reason=True, review=True,
        ),
        Step(
            "county_certify", _("县级审定并公告退出"), (C.TOWNSHIP_REVIEWED,), C.CERTIFIED, frozenset({Role.COUNTY}),
            review=True,
        ),
        Step(
            "county_return", _("县级退回修改"), (C.TOWNSHIP_REVIEWED,), C.RETURNED, frozenset({Role.COUNTY}),
            needs_reason=True, review=True,
        ),
        Step(
            "reject", _("不予退出"), (C.NOTICE_ENDED, C.TOWNSHIP_REVIEWED), C.REJECTED,
            frozenset({Role.TOWNSHIP, Role.COUNTY}), needs_reason=True, review=True,
        ),
        Step(
            "withdraw", _("撤回申请"), (C.PROPOSED, C.APPRAISED, C.VERIFIED, C.ACKNOWLEDGED, C.RETURNED), C.WITHDRAWN,
            frozenset({Role.WORK_TEAM}), needs_reason=True,
        ),
        Step("resubmit", _("修改后重新提交"), (C.RETURNED,), C.PROPOSED, frozenset({Role.WORK_TEAM})),
        Step("objection_return", _("异议成立，退回修改"), (C.IN_NOTICE,), C.RETURNED, frozenset(), internal=True),
    ]
}  # fmt: skip


def _role_allows(step: Step, user) -> bool:
    return user is None or user.is_superuser or user.role in step.roles


def available_steps(case: ExitCase, user) -> list[Step]:
    return [s for s in STEPS.values() if not s.internal and case.status in s.sources and _role_allows(s, user)]


def _invalid(message, field="__all__", status=400, code="invalid") -> ApplicationError:
    return ApplicationError(message, code=code, fields={field: [str(message)]}, status=status)


def _rules_failed(results) -> ApplicationError:
    failed = [r for r in results if not r.passed]
    text = "；".join(f"{r.label}：{r.explanation}" for r in failed)
    return ApplicationError(
        errors.EXIT_RULES_FAILED % {"count": len(failed), "rules": text},
        code="rules_failed",
        fields={"rules": [f"{r.label}：{r.explanation}" for r in failed]},
        status=409,
    )


def _record(case: ExitCase, action: str, from_status: str, actor, reason: str, on_date: date) -> None:
    ExitCaseStep.objects.create(
        case=case,
        county_code=case.county_code,
        action=action,
        from_status=from_status,
        to_status=case.status,
        actor=actor if actor is not None and actor.pk else None,
        reason=reason,
        effective_date=on_date,
    )
    audit_record(
        actor=actor,
        action=f"exit_case.{action}",
        instance=case,
        scope_code=case.household.village_id,
        before={"status": from_status} if from_status else None,
        after={"status": case.status, "reason": reason, "on_date": on_date},
    )


def _judge(assessment: Assessment) -> tuple[dict, list]:
    snapshot = build_snapshot(assessment)
    return snapshot, evaluate(snapshot)


@transaction.atomic
def exit_case_propose(*, actor, household: Household, year: int, on_date: date | None = None) -> ExitCase:
    """Propose a household's exit for ``year`` (村提名); refused with the failed rules if it does not pass."""
    if actor is not None and not (actor.is_superuser or actor.role in PROPOSERS):
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)
    require_in_scope(actor, household.village_id) if actor is not None else None
    household = Household.objects.select_for_update().get(pk=household.pk)
    if household.status not in (HouseholdStatus.REGISTERED, HouseholdStatus.RETURNED):
        raise _invalid(
            errors.EXIT_NOT_REGISTERED % {"status": household.get_status_display()}, status=409, code="conflict"
        )
    assessment = Assessment.objects.filter(household=household, year=year).first()
    if assessment is None:
        raise _invalid(errors.EXIT_NO_ASSESSMENT % {"year": year}, "year", status=409, code="conflict")
    on_date = on_date or date.today()
    check_not_future(on_date)
    snapshot, results = _judge(assessment)
    if not all_passed(results):
        raise _rules_failed(results)
    case = ExitCase(
        household=household,
        county_code=household.county_code,
        year=year,
        assessment=assessment,
        rule_set_version=snapshot["rule_set_version"],
        rule_results=[r.as_dict() for r in results],
        snapshot=snapshot,
        eligible=True,
    )
    try:
        with transaction.atomic():
            case.save(force_insert=True)
    except IntegrityError as error:
        raise _invalid(errors.EXIT_ALREADY_OPEN % {"year": year}, status=409, code="conflict") from error
    _record(case, "propose", "", actor, "", on_date)
    return case


def _round_actors(case: ExitCase) -> list:
    steps = list(case.steps.order_by("id").values_list("action", "actor_id"))
    start = max((i for i, (action, _a) in enumerate(steps) if action in ("propose", "resubmit")), default=0)
    return [actor for _action, actor in steps[start:]]


@transaction.atomic
def exit_case_transition(
    *, actor, case: ExitCase, action: str, reason: str = "", on_date: date | None = None
) -> ExitCase:
    """Apply one step of the exit procedure (see the module docstring)."""
    step = STEPS.get(action)
    if step is None or step.internal:
        raise _invalid(household_errors.TRANSITION_UNKNOWN % {"action": action})
    if actor is not None:
        require_in_scope(actor, case.household.village_id)
    case = ExitCase.objects.select_for_update().select_related("household", "assessment").get(pk=case.pk)
    if case.status not in step.sources:
        raise ApplicationError(
            errors.EXIT_STEP_NOT_ALLOWED % {"status": case.get_status_display(), "action": step.label},
            code="transition_not_allowed",
            status=409,
        )
    if not _role_allows(step, actor):
        roles = "、".join(str(Role(r).label) for r in sorted(step.roles))
        raise ApplicationError(
            household_errors.TRANSITION_ROLE % {"action": step.label, "roles": roles},
            code="permission_denied",
            status=403,
        )
    reason = (reason or "").strip()
    if step.needs_reason and not reason:
        message = (
            errors.EXIT_ACK_NAME_REQUIRED
            if action == "acknowledge"
            else household_errors.REASON_REQUIRED % {"action": step.label}
        )
        raise _invalid(message, "reason")
    if len(reason) > 500:
        raise _invalid(household_errors.REASON_TOO_LONG % {"limit": 500}, "reason")
    limit = ExitCase._meta.get_field("acknowledged_by").max_length
    if action == "acknowledge" and len(reason) > limit:
        raise _invalid(errors.ACK_NAME_TOO_LONG % {"limit": limit}, "reason")
    on_date = on_date or date.today()
    check_not_future(on_date)
    previous = case.steps.order_by("-id").values_list("effective_date", flat=True).first()
    if previous and on_date < previous:
        raise _invalid(household_errors.DATE_BEFORE_PREVIOUS % {"previous": previous}, "on_date")
    if step.review:
        ensure_four_eyes(actor=actor, earlier_actors=_round_actors(case))
    if step.closes_notice:
        if case.notice_ends_on and on_date < case.notice_ends_on:
            raise ApplicationError(
                household_errors.NOTICE_NOT_ENDED % {"ends": case.notice_ends_on}, code="notice_not_ended", status=409
            )
        pending = case.objections.filter(outcome="pending").count()
        if pending:
            raise ApplicationError(
                household_errors.OBJECTION_PENDING % {"count": pending}, code="objection_pending", status=409
            )
    if action in ("county_certify", "resubmit"):
        _rejudge(case, certify=action == "county_certify")
    return _move(case, step, actor, reason, on_date)


def _rejudge(case: ExitCase, *, certify: bool) -> None:
    """Certification re-checks the assessment is the one judged; resubmission judges it anew."""
    assessment = Assessment.objects.get(pk=case.assessment_id)
    if certify:
        if assessment.version != case.snapshot["assessment"]["version"]:
            raise _invalid(
                errors.EXIT_ASSESSMENT_CHANGED
                % {"then": case.snapshot["assessment"]["version"], "now": assessment.version},
                status=409,
                code="conflict",
            )
        household = Household.objects.get(pk=case.household_id)
        if household.status not in (HouseholdStatus.REGISTERED, HouseholdStatus.RETURNED):
            raise _invalid(
                errors.EXIT_NOT_REGISTERED % {"status": household.get_status_display()}, status=409, code="conflict"
            )
        return
    snapshot, results = _judge(assessment)
    if not all_passed(results):
        raise _rules_failed(results)
    case.snapshot, case.rule_results, case.rule_set_version = (
        snapshot,
        [r.as_dict() for r in results],
        snapshot["rule_set_version"],
    )
    case.save(update_fields=["snapshot", "rule_results", "rule_set_version", "updated_at"])


def _move(case: ExitCase, step: Step, actor, reason: str, on_date: date) -> ExitCase:
    from_status = case.status
    case.status = step.target
    case.status_reason = reason
    fields = ["status", "status_reason", "notice_ends_on", "version", "updated_at"]
    case.notice_ends_on = (
        on_date + timedelta(days=notice_days("exit_village", case.household.village_id)) if step.opens_notice else None
    )
    if step.action == "acknowledge":
        case.acknowledged_by = reason
        fields.append("acknowledged_by")
    if step.action == "county_certify":
        case.certified_on = on_date
        case.certificate_code = _new_certificate_code()
        fields += ["certified_on", "certificate_code"]
    case.version += 1
    case.save(update_fields=fields)
    _record(case, step.action, from_status, actor, reason, on_date)
    if step.action == "county_certify":
        household = Household.objects.select_for_update().get(pk=case.household_id)
        apply_transition(
            household=household,
            t=HOUSEHOLD_TRANSITIONS["certify_exit"],
            actor=actor,
            reason=f"{case.year} 年脱贫退出（{case.certificate_code}）",
            on_date=on_date,
        )
    return case


def _new_certificate_code() -> str:
    while True:
        code = "".join(secrets.choice(CERTIFICATE_ALPHABET) for _ in range(12))
        if not ExitCase.objects.filter(certificate_code=code).exists():
            return code


def exit_case_certify_batch(
    *, actor, cases: list[ExitCase], on_date: date | None = None
) -> list[tuple[ExitCase, str | None]]:
    """Certify each selected case on its own (savepoint each); return (case, error or None) for all.

    None is skipped: every case is checked and recorded, or its refusal reported.
    """
    outcome = []
    for case in cases:
        try:
            with transaction.atomic():
                certified = exit_case_transition(actor=actor, case=case, action="county_certify", on_date=on_date)
            outcome.append((certified, None))
        except ApplicationError as error:
            outcome.append((case, str(error)))
    return outcome


# Objections during the village notice ----------------------------------------------------


@transaction.atomic
def exit_objection_raise(
    *, actor, case: ExitCase, objector: str, content: str, raised_on: date | None = None
) -> ExitObjection:
    if actor is None:
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)
    require_capability(actor, Capability.ENTER_HOUSEHOLDS)
    require_in_scope(actor, case.household.village_id)
    case = ExitCase.objects.select_for_update().select_related("household").get(pk=case.pk)
    if case.status != C.IN_NOTICE:
        raise _invalid(errors.CASE_NOT_IN_NOTICE, status=409, code="transition_not_allowed")
    raised_on = raised_on or date.today()
    check_not_future(raised_on, "raised_on")
    objection = ExitObjection.objects.create(
        case=case, county_code=case.county_code, objector=objector.strip() or "匿名", content=content,
        raised_on=raised_on, recorded_by=actor,
    )  # fmt: skip
    audit_record(
        actor=actor, action="exit_objection.raise", instance=objection, scope_code=case.household.village_id,
        after={"objector": objection.objector, "content": content},
    )  # fmt: skip
    return objection


@transaction.atomic
def exit_objection_resolve(*, actor, objection: ExitObjection, upheld: bool, resolution: str) -> ExitObjection:
    """Decide an objection: upheld returns the case for amendment; dismissed lets it go on."""
    if actor is None or not (actor.is_superuser or actor.role in OBJECTION_DECIDERS):
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)
    objection = ExitObjection.objects.select_for_update().select_related("case__household").get(pk=objection.pk)
    require_in_scope(actor, objection.case.household.village_id)
    if objection.outcome != "pending":
        raise _invalid(household_errors.OBJECTION_ALREADY_RESOLVED, status=409, code="conflict")
    if not resolution.strip():
        raise _invalid(household_errors.OBJECTION_RESOLUTION_REQUIRED, "resolution")
    ensure_four_eyes(actor=actor, earlier_actors=[objection.recorded_by_id])
    objection.outcome = "upheld" if upheld else "dismissed"
    objection.resolution, objection.resolved_by, objection.resolved_at = resolution.strip(), actor, timezone.now()
    objection.save(update_fields=["outcome", "resolution", "resolved_by", "resolved_at"])
    audit_record(
        actor=actor,
        action="exit_objection.resolve",
        instance=objection,
        scope_code=objection.case.household.village_id,
        before={"outcome": "pending"},
        after={"outcome": objection.outcome, "resolution": objection.resolution},
    )
    if upheld:
        case = ExitCase.objects.select_for_update().get(pk=objection.case_id)
        _move(case, STEPS["objection_return"], actor, objection.resolution[:500], date.today())
    return objection


@transaction.atomic
def exit_case_revoke(*, actor, case: ExitCase, reason: str) -> ExitCase:
    """Revoke a certified exit found wrong (错退): the certificate shows 已撤销 and the household
    is registered (未脱贫) again. County or province; audited."""
    if actor is not None and not (actor.is_superuser or actor.role in REVOKERS):
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)
    if actor is not None:
        require_in_scope(actor, case.household.village_id)
    reason = (reason or "").strip()
    if not reason:
        raise _invalid(errors.REVOKE_REASON_REQUIRED, "reason")
    case = ExitCase.objects.select_for_update().select_related("household").get(pk=case.pk)
    if case.status != C.CERTIFIED or case.revoked:
        raise _invalid(
            errors.EXIT_STEP_NOT_ALLOWED % {"status": case.get_status_display(), "action": "撤销"}, status=409
        )
    case.revoked, case.revoked_reason = True, reason[:200]
    case.version += 1
    case.save(update_fields=["revoked", "revoked_reason", "version", "updated_at"])
    _record(case, "revoke", case.status, actor, reason, date.today())
    household = Household.objects.select_for_update().get(pk=case.household_id)
    if household.status == HouseholdStatus.EXITED:
        apply_transition(
            household=household,
            t=HOUSEHOLD_TRANSITIONS["revoke_exit"],
            actor=actor,
            reason=reason,
            on_date=date.today(),
        )
    return case
