"""Writes of the data-quality engine: run the rules over a division, accept a finding.

A run re-checks every rule over one division and moves each finding of that rule in the
division along its lifecycle:

- a defect found for the first time opens a finding;
- an open or accepted finding whose defect is still there stays as it is (its values
  and ``last_checked_at`` refreshed) — an accepted one keeps its acceptance;
- an open or accepted finding whose defect is gone becomes fixed;
- a fixed finding whose defect is back reopens (its acceptance, if any, cleared).

Each rule is reconciled in its own transaction with the division's findings of that rule
locked, so an acceptance cannot slip in between reading and writing, and a concurrent run
of an overlapping division inserts nothing twice (the unique constraints, with conflicts
ignored). The run itself is recorded and audited once, with its counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from quality import errors
from quality.choices import FindingStatus
from quality.models import Finding, QualityRun
from quality.rules import RULE_SET_VERSION, RULES, Context, Hit, Rule
from registry.audit import audit_record, snapshot
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.roles import Capability, user_has_capability
from registry.scoping import prefix_q
from registry.services import REASON_MAX_LENGTH, clean_reason, require_capability, require_in_scope
from villages.choices import DivisionLevel
from villages.models import Division

#: Levels a person may run the checks for (the whole registry is the system's nightly run).
RUN_LEVELS = (DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE)
BATCH = 1000

Progress = Callable[..., None]


def findings_in(prefix: str) -> QuerySet:
    """Return the findings recorded in a division, or of households now living in it."""
    if not prefix:
        return Finding.objects.all()
    return Finding.objects.filter(prefix_q("division_code", prefix) | prefix_q("household__village_id", prefix))


def _find(rule: Rule, context: Context) -> list[Hit]:
    """Return a rule's hits, found in a transaction of their own (for a second thread)."""
    try:
        with transaction.atomic():
            return list(rule.find(context))
    finally:
        connection.close()  # the thread's own connection


def _reconcile(rule: Rule, context: Context, now, hits: Iterable[Hit] | None = None) -> dict[str, int]:
    """Apply one rule's hits (found now unless given) to its findings in the division; return what changed."""
    with transaction.atomic():
        existing = {
            (f.household_id, f.member_id): f
            for f in findings_in(context.prefix).filter(rule=rule.code).select_for_update(of=("self",))
        }
        if hits is None:
            hits = rule.find(context)
        found: dict[tuple[int, int | None], Hit] = {(h.household_id, h.member_id): h for h in hits}
        new = [
            Finding(
                rule=rule.code,
                household_id=hit.household_id,
                member_id=hit.member_id,
                county_code=hit.county_code,
                division_code=hit.division_code,
                values=hit.values,
                first_found_at=now,
                last_checked_at=now,
            )
            for key, hit in found.items()
            if key not in existing
        ]
        Finding.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)
        gone = [f.pk for key, f in existing.items() if key not in found and f.status != FindingStatus.FIXED]
        for start in range(0, len(gone), BATCH):
            Finding.objects.filter(pk__in=gone[start : start + BATCH]).update(
                status=FindingStatus.FIXED, fixed_at=now, last_checked_at=now
            )
        changed, reopened = [], 0
        for key in found.keys() & existing.keys():
            finding, hit = existing[key], found[key]
            if finding.status == FindingStatus.FIXED:
                reopened += 1
                finding.status, finding.fixed_at = FindingStatus.OPEN, None
                finding.accepted_by, finding.accepted_reason, finding.accepted_at = None, "", None
            elif (finding.values, finding.division_code) == (hit.values, hit.division_code):
                continue
            finding.values, finding.division_code, finding.county_code = hit.values, hit.division_code, hit.county_code
            finding.last_checked_at = now
            changed.append(finding)
        fields = ["status", "fixed_at", "accepted_by", "accepted_reason", "accepted_at", "values", "division_code",
                  "county_code", "last_checked_at"]  # fmt: skip
        Finding.objects.bulk_update(changed, fields, batch_size=BATCH)
        findings_in(context.prefix).filter(rule=rule.code).exclude(status=FindingStatus.FIXED).update(
            last_checked_at=now
        )
    return {"found": len(found), "opened": len(new), "reopened": reopened, "fixed": len(gone)}


def may_run(user, division: Division) -> bool:
    """Return whether a person's role may start a run over ``division`` (a county or below)."""
    return user_has_capability(user, Capability.RUN_QUALITY_CHECKS) and (
        user.is_superuser or division.level in RUN_LEVELS
    )


def _check_run_allowed(actor, division: Division | None) -> None:
    if actor is None:
        return
    require_capability(actor, Capability.RUN_QUALITY_CHECKS)
    if division is None:
        if not actor.is_superuser:
            raise ApplicationError(
                errors.RUN_NEEDS_DIVISION, code="invalid", fields={"division": [str(errors.RUN_NEEDS_DIVISION)]}
            )
        return
    require_in_scope(actor, division.code)
    if division.level not in RUN_LEVELS and not actor.is_superuser:
        raise ApplicationError(errors.RUN_LEVEL, code="invalid", fields={"division": [str(errors.RUN_LEVEL)]})


def quality_run(
    *,
    actor,
    division: Division | None = None,
    rules: Iterable[str] | None = None,
    today: date | None = None,
    progress: Progress | None = None,
) -> QualityRun:
    """Run the rules (all, or those named) over ``division`` (``None``: the whole registry).

    ``actor`` ``None`` is the system (the nightly run, ``manage.py run_quality_checks``);
    a person needs the capability, the division in their jurisdiction, and a county,
    township or village.
    """
    _check_run_allowed(actor, division)
    selected = [RULES[code] for code in rules] if rules is not None else list(RULES.values())
    prefix = division.prefix if division is not None else ""
    now = timezone.now()
    run = QualityRun.objects.create(
        scope_code=division.code if division is not None else "",
        rule_set_version=RULE_SET_VERSION,
        started_by=actor,
        started_at=now,
    )
    context = Context(prefix=prefix, today=today or timezone.localdate())
    counts = {}
    # The rules that walk households in Python are found in a second thread, with its own
    # connection, while PostgreSQL answers the others: the two halves use a core each.
    # Not inside a transaction: the second connection would not see its writes.
    overlap = not connection.in_atomic_block and len(selected) > 1
    walking = {rule.code for rule in selected if rule.walks} if overlap else set()
    order = [rule for rule in selected if rule.code not in walking] + [
        rule for rule in selected if rule.code in walking
    ]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = {rule.code: pool.submit(_find, rule, context) for rule in selected if rule.code in walking}
        for done, rule in enumerate(order):
            if progress is not None:
                progress(done, len(order), str(rule.title), force=True)
            hits = pending[rule.code].result() if rule.code in pending else None
            counts[rule.code] = _reconcile(rule, context, now, hits)
    counts = {rule.code: counts[rule.code] for rule in selected}
    with transaction.atomic():
        run.counts = counts
        run.finished_at = timezone.now()
        run.save(update_fields=["counts", "finished_at"])
        audit_record(actor=actor, action="quality.run", instance=run, scope_code=run.scope_code, after=snapshot(run))
    if progress is not None:
        progress(len(selected), len(selected), force=True)
    return run


@transaction.atomic
def finding_accept(*, actor, finding: Finding, reason: str) -> Finding:
    """Accept an open finding as true after checking it (核实无误), with the reason why.

    Only township and county officials may (the work team that entered the data corrects
    it instead); the finding stays accepted while the defect remains, and a later run
    fixes it if the data changes.
    """
    if actor is None:
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)  # a person vouches for it
    require_capability(actor, Capability.ACCEPT_QUALITY_FINDINGS)
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    require_in_scope(actor, finding.division_code)
    reason = clean_reason(
        reason, required=errors.REASON_REQUIRED, too_long=errors.REASON_TOO_LONG, limit=REASON_MAX_LENGTH
    )
    if finding.status != FindingStatus.OPEN:
        message = errors.FINDING_NOT_OPEN % {"status": finding.get_status_display()}
        raise ApplicationError(message, code="conflict", status=409)
    finding.status = FindingStatus.ACCEPTED
    finding.accepted_by = actor
    finding.accepted_reason = reason
    finding.accepted_at = timezone.now()
    finding.save(update_fields=["status", "accepted_by", "accepted_reason", "accepted_at"])
    audit_record(
        actor=actor,
        action="quality.accept",
        instance=finding,
        scope_code=finding.division_code,
        before={"status": FindingStatus.OPEN},
        after={"status": FindingStatus.ACCEPTED, "reason": reason},
    )
    return finding
