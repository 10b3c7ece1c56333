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
from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from assessments import errors
from assessments.choices import ExitCaseStatus
from assessments.eligibility import all_passed, build_snapshot, evaluate, snapshot_changes
from assessments.models import Assessment, ExitCase, ExitCaseStep, ExitObjection
from assessments.parameters import notice_days
from households.choices import HouseholdStatus
from households.models import Household
from households.workflow import TRANSITIONS as HOUSEHOLD_TRANSITIONS
from households.workflow import apply_transition
from registry import workflow as engine
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.roles import Capability, Role, roles_with
from registry.services import require_in_scope
from registry.workflow import Step, Workflow, check_not_future, invalid, refuse_changed

C = ExitCaseStatus
CERTIFICATE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def _acknowledge(case: ExitCase, actor, on_date: date, reason: str):
    case.acknowledged_by = reason
    return ["acknowledged_by"], {}


def _certify(case: ExitCase, actor, on_date: date, reason: str):
    case.certified_on = on_date
    case.certificate_code = _new_certificate_code()
    return ["certified_on", "certificate_code"], {}


def _household_exits(case: ExitCase, actor, on_date: date, reason: str) -> None:
    household = Household.objects.select_for_update().get(pk=case.household_id)
    apply_transition(
        household=household,
        t=HOUSEHOLD_TRANSITIONS["certify_exit"],
        actor=actor,
        reason=f"{case.year} 年脱贫退出（{case.certificate_code}）",
        on_date=on_date,
    )


def _recheck(case: ExitCase, actor=None, on_date: date | None = None) -> None:
    """Judge the case's data as it is now: refused, naming each change, unless it is exactly what was proposed.

    What is certified is what was reviewed: a household, member, assessment or standard
    changed after the proposal sends the case back (退回) to be resubmitted and judged anew.
    """
    household = Household.objects.get(pk=case.household_id)
    if household.status not in (HouseholdStatus.REGISTERED, HouseholdStatus.RETURNED):
        raise invalid(
            errors.EXIT_NOT_REGISTERED % {"status": household.get_status_display()}, status=409, code="conflict"
        )
    assessment = Assessment.objects.get(pk=case.assessment_id)
    assessment.household = household
    snapshot, results = _judge(assessment)
    changes = snapshot_changes(case.snapshot, snapshot)
    if changes:
        raise refuse_changed(changes, errors.EXIT_DATA_CHANGED)
    if not all_passed(results):
        raise _rules_failed(results)


def _rejudge(case: ExitCase, actor, on_date: date, reason: str):
    """Resubmission judges the case's data anew; the new snapshot is what the next round reviews."""
    assessment = Assessment.objects.get(pk=case.assessment_id)
    snapshot, results = _judge(assessment)
    if not all_passed(results):
        raise _rules_failed(results)
    case.snapshot, case.rule_results, case.rule_set_version = (
        snapshot,
        [r.as_dict() for r in results],
        snapshot["rule_set_version"],
    )
    return ["snapshot", "rule_results", "rule_set_version"], {}


def _not_revoked(case: ExitCase, actor, on_date: date) -> None:
    if case.revoked:
        message = errors.EXIT_STEP_NOT_ALLOWED % {"status": case.get_status_display(), "action": STEPS["revoke"].label}
        raise invalid(message, status=409, code="transition_not_allowed")


def _revoke(case: ExitCase, actor, on_date: date, reason: str):
    case.revoked, case.revoked_reason = True, reason[: ExitCase._meta.get_field("revoked_reason").max_length]
    return ["revoked", "revoked_reason"], {}


def _household_restored(case: ExitCase, actor, on_date: date, reason: str) -> None:
    household = Household.objects.select_for_update().get(pk=case.household_id)
    if household.status == HouseholdStatus.EXITED:
        apply_transition(
            household=household, t=HOUSEHOLD_TRANSITIONS["revoke_exit"], actor=actor, reason=reason, on_date=on_date
        )


NOTICE = "exit_village"
ACK_NAME_LIMIT = ExitCase._meta.get_field("acknowledged_by").max_length

#: Who proposes an exit (村提名), decides an objection raised in its notice, and revokes a
#: certified exit (错退); the doors offer these actions accordingly, the services decide.
PROPOSERS = BY_TEAM = frozenset({Role.WORK_TEAM})
OBJECTION_DECIDERS = frozenset({Role.TOWNSHIP, Role.COUNTY})
REVOKERS = frozenset({Role.COUNTY, Role.PROVINCE})

STEPS: dict[str, Step] = {
    s.action: s
    for s in [
        Step("appraise", _("民主评议通过"), (C.PROPOSED,), C.APPRAISED, BY_TEAM),
        Step("verify", _("村委会和工作队核实"), (C.APPRAISED,), C.VERIFIED, BY_TEAM),
        Step(
            "acknowledge", _("贫困户签字认可"), (C.VERIFIED,), C.ACKNOWLEDGED, BY_TEAM, needs_reason=True,
            reason_message=errors.EXIT_ACK_NAME_REQUIRED, reason_limit=ACK_NAME_LIMIT,
            reason_label=_("签字认可的户主或家庭成员姓名"), reason_help=_("与纸质认可书上的签字一致。"),
            reason_limit_message=errors.ACK_NAME_TOO_LONG, before=_acknowledge,
        ),
        Step("open_notice", _("村内公示"), (C.ACKNOWLEDGED,), C.IN_NOTICE, BY_TEAM, opens_notice=NOTICE),
        Step(
            "close_notice", _("公示期满无异议，报乡镇审核"), (C.IN_NOTICE,), C.NOTICE_ENDED,
            frozenset({Role.WORK_TEAM, Role.TOWNSHIP}), closes_notice=True,
        ),
        Step(
            "township_approve", _("乡镇审核通过"), (C.NOTICE_ENDED,), C.TOWNSHIP_REVIEWED, frozenset({Role.TOWNSHIP}),
            review=True, rechecks=(_recheck,),
        ),
        Step(
            "township_return", _("乡镇退回修改"), (C.NOTICE_ENDED,), C.RETURNED, frozenset({Role.TOWNSHIP}),
            needs_reason=True, review=True,
        ),
        Step(
            "county_certify", _("县级审定并公告退出"), (C.TOWNSHIP_REVIEWED,), C.CERTIFIED, frozenset({Role.COUNTY}),
            review=True, rechecks=(_recheck,), before=_certify, after=_household_exits,
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
            BY_TEAM, needs_reason=True,
        ),
        Step("resubmit", _("修改后重新提交"), (C.RETURNED,), C.PROPOSED, BY_TEAM, before=_rejudge),
        Step("objection_return", _("异议成立，退回修改"), (C.IN_NOTICE,), C.RETURNED, frozenset(), internal=True),
        Step(
            "revoke", _("撤销脱贫（错退）"), (C.CERTIFIED,), None, REVOKERS,
            needs_reason=True, reason_message=errors.REVOKE_REASON_REQUIRED, checks=(_not_revoked,), before=_revoke,
            after=_household_restored, internal=True,
        ),
    ]
}  # fmt: skip

WORKFLOW = Workflow(
    name="exit_case", model=ExitCase, history=ExitCaseStep, history_key="case", steps=STEPS,
    code=lambda case: case.household.village_id, notice_days=notice_days, not_allowed=errors.EXIT_STEP_NOT_ALLOWED,
    round_starts=frozenset({"propose", "resubmit"}), objections=ExitObjection, objection_name="exit_objection",
    objection_recorders=roles_with(Capability.ENTER_HOUSEHOLDS),
    objection_deciders=OBJECTION_DECIDERS, related=("household", "assessment"),
)  # fmt: skip


def available_steps(case: ExitCase, user) -> list[Step]:
    """Return the steps ``user`` may take on ``case`` now (see :func:`registry.workflow.available_steps`)."""
    return engine.available_steps(WORKFLOW, case, user)


def _rules_failed(results) -> ApplicationError:
    failed = [r for r in results if not r.passed]
    text = "；".join(f"{r.label}：{r.explanation}" for r in failed)
    return ApplicationError(
        errors.EXIT_RULES_FAILED % {"count": len(failed), "rules": text},
        code="rules_failed",
        fields={"rules": [f"{r.label}：{r.explanation}" for r in failed]},
        status=409,
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
        raise invalid(
            errors.EXIT_NOT_REGISTERED % {"status": household.get_status_display()}, status=409, code="conflict"
        )
    assessment = Assessment.objects.filter(household=household, year=year).first()
    if assessment is None:
        raise invalid(errors.EXIT_NO_ASSESSMENT % {"year": year}, "year", status=409, code="conflict")
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
        raise invalid(errors.EXIT_ALREADY_OPEN % {"year": year}, status=409, code="conflict") from error
    engine.record(WORKFLOW, case, "propose", None, actor, "", on_date)
    return case


@transaction.atomic
def exit_case_transition(
    *, actor, case: ExitCase, action: str, reason: str = "", on_date: date | None = None
) -> ExitCase:
    """Apply one step of the exit procedure (see the module docstring and :data:`STEPS`)."""
    return engine.apply(WORKFLOW, actor=actor, obj=case, action=action, reason=reason, on_date=on_date)


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


def exit_objection_raise(
    *, actor, case: ExitCase, objector: str, content: str, raised_on: date | None = None
) -> ExitObjection:
    """Record an objection raised during the village notice; it blocks closing the notice until decided."""
    return engine.objection_raise(
        WORKFLOW, actor=actor, obj=case, objector=objector, content=content, raised_on=raised_on
    )


def exit_objection_resolve(*, actor, objection: ExitObjection, upheld: bool, resolution: str) -> ExitObjection:
    """Decide an objection: upheld returns the case for amendment; dismissed lets it go on."""
    outcome = "upheld" if upheld else "dismissed"
    return engine.objection_resolve(WORKFLOW, actor=actor, objection=objection, outcome=outcome, resolution=resolution)


def exit_case_revoke(*, actor, case: ExitCase, reason: str) -> ExitCase:
    """Revoke a certified exit found wrong (错退): the certificate shows 已撤销 and the household
    is registered (未脱贫) again. County or province; audited."""
    return engine.apply(WORKFLOW, actor=actor, obj=case, action="revoke", reason=reason, internal=True)
