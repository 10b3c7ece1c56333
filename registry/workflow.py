"""One workflow engine for every procedure of the registry.

A procedure (identification, household exit, village exit, county exit, monitoring) is a
declaration: a :class:`Workflow` names the model it moves, the model that keeps its
history, the model of objections raised during its notices, and its :class:`Step` rows.
A step says from which states it may be taken and where it goes, which roles take it,
whether four eyes apply (四眼原则), whether it opens or closes a notice (公示), whether it
needs a reason, and which checks it runs: ``checks`` decide whether it may be taken at all
(they also decide whether it is offered), ``rechecks`` judge the data again when it is
taken (what is approved is what was reviewed), ``before`` and ``after`` are what the step
does besides moving the object.

:func:`apply` takes a step in one transaction — scope, lock, state, role, reason, date,
four eyes over the round, notice period, pending objections, checks, rechecks, the move,
the history row and the audit row — so no door (page, API, admin) can skip any of it.
:func:`available_steps` runs the same checks that need no input, so no button is offered
that the step would refuse for a reason known now; a data recheck (an expensive re-judging)
and what the person types (reason, date) are checked when the step is taken.

This module is the base: it imports nothing of the apps above it; the procedures pass
their models and their own checks in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.audit import audit_record, snapshot
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.roles import Role
from registry.services import REASON_MAX_LENGTH, ensure_four_eyes, full_clean_or_raise, require_in_scope

# Messages (the procedures' tests import them) ---------------------------------------------------

TRANSITION_UNKNOWN = _("未知的流程操作：%(action)s")
TRANSITION_ROLE = _("“%(action)s”须由%(roles)s办理。")
REASON_REQUIRED = _("“%(action)s”必须填写理由。")
REASON_TOO_LONG = _("理由不能超过 %(limit)d 个字。")
NOTICE_NOT_ENDED = _("公示期未满：公示至 %(ends)s，之后才能进入下一环节。")
OBJECTION_PENDING = _("公示期间有 %(count)d 条异议尚未处理，处理完毕前不能进入下一环节。")
DATE_IN_FUTURE = _("生效日期不能晚于今天。")
DATE_BEFORE_PREVIOUS = _("生效日期不能早于上一环节的日期 %(previous)s。")
DATE_TOO_EARLY = _("日期 %(date)s 不合理：流程日期不能早于 %(earliest)s。")
#: No procedure of the registry happened before this: an earlier date is a typing error (0001-01-01).
EARLIEST_DATE = date(2000, 1, 1)
OBJECTION_ONLY_IN_NOTICE = _("只能在公示期间登记异议。")
OBJECTION_ALREADY_RESOLVED = _("该异议已经处理。")
OBJECTION_RESOLUTION_REQUIRED = _("处理异议必须说明理由。")
OBJECTION_OUTCOME_INVALID = _("请选择异议处理结果。")
DATA_CHANGED = _("提出后以下信息已修改：%(changes)s。请退回后重新提交。")
ANONYMOUS = "匿名"

#: A check: refuses (raises :class:`ApplicationError`) unless the step may be taken on the object by the actor.
Check = Callable[[Any, Any, date], None]
#: What a step does before the move: returns the extra fields it set and extra audit values, or None.
Before = Callable[[Any, Any, date, str], "tuple[Iterable[str], dict] | None"]
#: What follows the move (another procedure's step, a status elsewhere).
After = Callable[[Any, Any, date, str], None]


def invalid(message, field_name: str = "__all__", status: int = 400, code: str = "invalid") -> ApplicationError:
    """Return a refusal of one field (or of the whole request, ``__all__``) with ``message``."""
    return ApplicationError(message, code=code, fields={field_name: [str(message)]}, status=status)


def refuse_changed(changes: list[str], message=DATA_CHANGED) -> ApplicationError:
    """Return the refusal of a step whose data changed since it was proposed, naming each change."""
    return ApplicationError(
        message % {"changes": "；".join(str(c) for c in changes)},
        code="data_changed",
        fields={"changes": [str(c) for c in changes]},
        status=409,
    )


def check_not_future(day: date, field_name: str = "on_date") -> None:
    """Refuse a date after today: the registry records what has happened."""
    if day > date.today():
        raise invalid(DATE_IN_FUTURE, field_name)


@dataclass(frozen=True)
class Step:
    action: str
    label: str
    sources: tuple[str, ...]
    target: str | None  # None: the status stays
    roles: frozenset[str]
    #: Four eyes by stage: a review is barred to those who acted at *another* stage of the round.
    #: Empty: barred to everyone who acted earlier in the round.
    stage: str = ""
    needs_reason: bool = False
    reason_choices: tuple[str, ...] = ()
    #: The message when a needed reason is missing (default: :data:`REASON_REQUIRED`).
    reason_message: Any = None
    #: What the reason field is called on a form, and its help (default: 理由, or 说明 when optional).
    reason_label: Any = None
    reason_help: Any = ""
    #: The longest reason this step keeps (a name, say, is shorter than a reason).
    reason_limit: int = REASON_MAX_LENGTH
    reason_limit_message: Any = None
    review: bool = False
    opens_notice: str = ""  # the notice procedure whose period starts ("": none)
    closes_notice: bool = False  # the notice must have ended, with no objection pending
    starts_round: bool = False  # four eyes count from here
    checks: tuple[Check, ...] = ()
    rechecks: tuple[Check, ...] = ()
    before: Before | None = None
    after: After | None = None
    internal: bool = False  # not taken through apply: by another service, or by its own (see own_form)
    #: Taken through a service of its own that asks for more than a reason and a date (a
    #: sample's sizes, an amended checklist): offered like any step, but internal to apply.
    own_form: bool = False
    #: A second state, for objects that have one (a household's identification step).
    from_steps: tuple[str, ...] | None = None
    to_step: str | None = None


@dataclass(frozen=True)
class Workflow:
    name: str  # the audit action's prefix
    model: type
    history: type  # one row per step taken
    history_key: str  # the history row's foreign key to the object
    steps: dict[str, Step]
    #: The division code of an object: its scope and the audit row's scope.
    code: Callable[[Any], str]
    #: ``notice_days(procedure, division_code)``: the configured length of a notice.
    notice_days: Callable[[str, str], int]
    #: The message when a step does not fit the state: ``%(status)s``, ``%(step)s``, ``%(action)s``.
    not_allowed: Any
    #: Actions that begin a round, besides the steps marked ``starts_round``.
    round_starts: frozenset[str] = frozenset()
    objections: type | None = None
    objection_key: str = "case"
    objection_name: str = ""  # the objection audit action's prefix (default: ``<name>_objection``)
    objection_recorders: frozenset[str] = frozenset()
    objection_deciders: frozenset[str] = frozenset()
    #: Each decision on an objection and the internal step it takes (None: the notice goes on).
    objection_outcomes: dict[str, str | None] = field(
        default_factory=lambda: {"upheld": "objection_return", "dismissed": None}
    )
    #: More fields an objection keeps of the object it is raised on (the notice it was raised in).
    objection_fields: Callable[[Any], dict] | None = None
    #: Roles that may take any step (besides a superuser).
    any_step_roles: frozenset[str] = frozenset()
    #: Related objects read with the lock.
    related: tuple[str, ...] = ()
    #: The object's second state field (``step`` of a household), if it has one.
    second_state: str = ""
    #: More (stage, actor id) pairs of the round, from outside the history (verification visits).
    more_round_actors: Callable[[Any], list] | None = None
    #: What every move also does to the object: returns the extra fields it set.
    on_move: Callable[[Any, Step, date], Iterable[str]] | None = None
    starts: frozenset[str] = field(init=False)

    def __post_init__(self):
        starts = self.round_starts | {s.action for s in self.steps.values() if s.starts_round}
        object.__setattr__(self, "starts", frozenset(starts))

    @property
    def objection_audit(self) -> str:
        return self.objection_name or f"{self.name}_objection"

    def step(self, action: str, *, internal: bool = False) -> Step:
        """Return the step ``action``; refuse an unknown one, and an internal one unless ``internal``."""
        step = self.steps.get(action)
        if step is None or (step.internal and not internal):
            raise invalid(TRANSITION_UNKNOWN % {"action": action}, "action")
        return step

    def history_of(self, obj):
        return self.history.objects.filter(**{self.history_key: obj})


# Checks ---------------------------------------------------------------------------------------------


def fits(workflow: Workflow, step: Step, obj) -> bool:
    """Return whether ``obj``'s state is one ``step`` may be taken from."""
    if obj.status not in step.sources:
        return False
    return step.from_steps is None or getattr(obj, workflow.second_state) in step.from_steps


def role_allows(workflow: Workflow, step: Step, user) -> bool:
    if user is None:
        return True
    return user.is_superuser or user.role in step.roles or user.role in workflow.any_step_roles


def round_actors(workflow: Workflow, obj) -> list[tuple[str, int | None]]:
    """Return (stage, actor id) of every step of the object's current round (and of its extra actors)."""
    history = list(workflow.history_of(obj).order_by("id").values_list("action", "actor_id"))
    start = max((i for i, (action, _a) in enumerate(history) if action in workflow.starts), default=0)
    steps = workflow.steps
    actors = [(steps[action].stage if action in steps else "", actor) for action, actor in history[start:]]
    if workflow.more_round_actors is not None:
        actors += workflow.more_round_actors(obj)
    return actors


def _four_eyes(workflow: Workflow, step: Step, obj, actor) -> None:
    earlier = [a for stage, a in round_actors(workflow, obj) if not step.stage or stage != step.stage]
    ensure_four_eyes(actor=actor, earlier_actors=earlier)


def _pending_objections(workflow: Workflow, obj) -> int:
    if workflow.objections is None:
        return 0
    return workflow.objections.objects.filter(**{workflow.objection_key: obj}, outcome="pending").count()


def _notice(workflow: Workflow, obj, on_date: date) -> None:
    if obj.notice_ends_on and on_date < obj.notice_ends_on:
        raise ApplicationError(NOTICE_NOT_ENDED % {"ends": obj.notice_ends_on}, code="notice_not_ended", status=409)
    pending = _pending_objections(workflow, obj)
    if pending:
        raise ApplicationError(OBJECTION_PENDING % {"count": pending}, code="objection_pending", status=409)


def _state_refusal(workflow: Workflow, step: Step, obj) -> ApplicationError:
    values = {"status": obj.get_status_display(), "action": step.label, "step": ""}
    if workflow.second_state:
        values["step"] = getattr(obj, f"get_{workflow.second_state}_display")()
    return ApplicationError(workflow.not_allowed % values, code="transition_not_allowed", status=409)


def _role_refusal(step: Step) -> ApplicationError:
    roles = "、".join(str(Role(r).label) for r in sorted(step.roles))
    return ApplicationError(
        TRANSITION_ROLE % {"action": step.label, "roles": roles}, code="permission_denied", status=403
    )


def clean_step_reason(step: Step, reason: str | None) -> str:
    """Return the step's reason stripped; refuse it missing (when needed), too long, or not one of its choices."""
    reason = (reason or "").strip()
    missing = step.reason_message or REASON_REQUIRED % {"action": step.label}
    if step.needs_reason and not reason:
        raise invalid(missing, "reason")
    if len(reason) > step.reason_limit:
        raise invalid((step.reason_limit_message or REASON_TOO_LONG) % {"limit": step.reason_limit}, "reason")
    if step.reason_choices and reason not in step.reason_choices:
        raise invalid(missing, "reason")
    return reason


def check_plausible(day: date, field_name: str = "on_date") -> None:
    """Refuse a date in the future or before any procedure of the registry."""
    check_not_future(day, field_name)
    if day < EARLIEST_DATE:
        raise invalid(DATE_TOO_EARLY % {"date": day, "earliest": EARLIEST_DATE}, field_name)


def check_date(workflow: Workflow, obj, on_date: date) -> None:
    """Refuse an implausible date, or one before the object's previous step."""
    check_plausible(on_date)
    previous = workflow.history_of(obj).order_by("-id").values_list("effective_date", flat=True).first()
    if previous and on_date < previous:
        raise invalid(DATE_BEFORE_PREVIOUS % {"previous": previous}, "on_date")


def check(workflow: Workflow, step: Step, obj, actor, reason: str | None, on_date: date) -> str:
    """Refuse unless ``actor`` may take ``step`` on the locked ``obj`` now; return the cleaned reason."""
    if not fits(workflow, step, obj):
        raise _state_refusal(workflow, step, obj)
    if not role_allows(workflow, step, actor):
        raise _role_refusal(step)
    reason = clean_step_reason(step, reason)
    check_date(workflow, obj, on_date)
    if step.review:
        _four_eyes(workflow, step, obj, actor)
    if step.closes_notice:
        _notice(workflow, obj, on_date)
    for guard in (*step.checks, *step.rechecks):
        guard(obj, actor, on_date)
    return reason


def available_steps(workflow: Workflow, obj, user) -> list[Step]:
    """Return the steps ``user`` may take on ``obj`` today, by the checks that need no input.

    State, role, four eyes, the notice period, pending objections and the steps' own
    ``checks`` are the ones :func:`apply` runs; only the reason and date a person types and
    the ``rechecks`` (re-judging the data) wait for the step to be taken.
    """
    today = date.today()
    offered = []
    actors = None
    for step in workflow.steps.values():
        if (step.internal and not step.own_form) or not fits(workflow, step, obj):
            continue
        if not role_allows(workflow, step, user):
            continue
        if step.review and user is not None:
            if actors is None:
                actors = round_actors(workflow, obj)
            if any(a == user.pk for stage, a in actors if not step.stage or stage != step.stage):
                continue
        try:
            if step.closes_notice:
                _notice(workflow, obj, today)
            for guard in step.checks:
                guard(obj, user, today)
        except ApplicationError:
            continue
        offered.append(step)
    return offered


# Taking a step --------------------------------------------------------------------------------------


def lock(workflow: Workflow, obj):
    """Return ``obj`` read again under a row lock (with the workflow's related objects)."""
    return workflow.model.objects.select_for_update().select_related(*workflow.related).get(pk=obj.pk)


@transaction.atomic
def apply(
    workflow: Workflow, *, actor, obj, action: str, reason: str = "", on_date: date | None = None, internal=False
):
    """Take the step ``action`` on ``obj`` as ``actor``: every check, then the move, history and audit.

    ``internal``: the caller is the service an internal step belongs to (it may take it).
    """
    step = workflow.step(action, internal=internal)
    require_in_scope(actor, workflow.code(obj))
    obj = lock(workflow, obj)
    on_date = on_date or date.today()
    reason = check(workflow, step, obj, actor, reason, on_date)
    return move(workflow, obj, step, actor, reason, on_date)


def move(workflow: Workflow, obj, step: Step, actor, reason: str, on_date: date, fields: Iterable[str] = (), **extra):
    """Apply ``step`` to the locked ``obj`` (checked already), save it, write its history and audit rows."""
    fields = list(fields)
    if step.before is not None:
        done = step.before(obj, actor, on_date, reason)
        if done:
            more, more_extra = done
            fields += list(more)
            extra.update(more_extra)
    before = {"status": obj.status}
    if workflow.second_state:
        before[workflow.second_state] = getattr(obj, workflow.second_state)
    obj.status = step.target or obj.status
    if workflow.second_state and step.to_step:
        setattr(obj, workflow.second_state, step.to_step)
    obj.status_reason = reason
    days = workflow.notice_days(step.opens_notice, workflow.code(obj)) if step.opens_notice else None
    obj.notice_ends_on = on_date + timedelta(days=days) if days is not None else None
    if workflow.on_move is not None:
        fields += list(workflow.on_move(obj, step, on_date))
    obj.version += 1
    state = ["status", workflow.second_state] if workflow.second_state else ["status"]
    obj.save(
        update_fields=list(dict.fromkeys([*state, "status_reason", "notice_ends_on", "version", "updated_at", *fields]))
    )
    record(workflow, obj, step.action, before, actor, reason, on_date, **extra)
    if step.after is not None:
        step.after(obj, actor, on_date, reason)
    return obj


def record(workflow: Workflow, obj, action: str, before: dict | None, actor, reason: str, on_date: date, **extra):
    """Write the history row and the audit row of a step taken (``before``: the state it left, None at the start)."""
    row = {
        workflow.history_key: obj,
        "county_code": obj.county_code,
        "action": action,
        "from_status": (before or {}).get("status", ""),
        "to_status": obj.status,
        "actor": actor if actor is not None and actor.pk else None,
        "reason": reason,
        "effective_date": on_date,
    }
    after = {"status": obj.status}
    if workflow.second_state:
        row["from_step"] = (before or {}).get(workflow.second_state, "")
        row["to_step"] = after[workflow.second_state] = getattr(obj, workflow.second_state)
    workflow.history.objects.create(**row)
    audit_record(
        actor=actor,
        action=f"{workflow.name}.{action}",
        instance=obj,
        scope_code=workflow.code(obj),
        before=before or None,
        after={**after, "reason": reason, "on_date": on_date, **extra},
    )


# Objections during a notice (公示异议) ----------------------------------------------------------------


def in_notice(workflow: Workflow, obj) -> bool:
    """Return whether ``obj`` is in one of its notices (the state a notice-opening step leads to)."""
    for step in workflow.steps.values():
        if step.opens_notice and obj.status == step.target:
            if not workflow.second_state or step.to_step is None or getattr(obj, workflow.second_state) == step.to_step:
                return True
    return False


def _require_role(actor, roles: frozenset[str]) -> None:
    if actor is None or not (actor.is_superuser or actor.role in roles):
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)


@transaction.atomic
def objection_raise(workflow: Workflow, *, actor, obj, objector: str, content: str, raised_on: date | None = None):
    """Record an objection raised during a notice; it blocks closing the notice until decided."""
    _require_role(actor, workflow.objection_recorders)
    require_in_scope(actor, workflow.code(obj))
    raised_on = raised_on or date.today()
    check_plausible(raised_on, "raised_on")
    obj = lock(workflow, obj)
    if not in_notice(workflow, obj):
        raise invalid(OBJECTION_ONLY_IN_NOTICE, status=409, code="transition_not_allowed")
    objection = workflow.objections(
        **{workflow.objection_key: obj}, county_code=obj.county_code, objector=(objector or "").strip() or ANONYMOUS,
        content=content, raised_on=raised_on, recorded_by=actor,
        **(workflow.objection_fields(obj) if workflow.objection_fields else {}),
    )  # fmt: skip
    full_clean_or_raise(objection)
    objection.save(force_insert=True)
    audit_record(
        actor=actor, action=f"{workflow.objection_audit}.raise", instance=objection, scope_code=workflow.code(obj),
        after=snapshot(objection),
    )  # fmt: skip
    return objection


@transaction.atomic
def objection_resolve(workflow: Workflow, *, actor, objection, outcome: str, resolution: str):
    """Decide an objection (four eyes with whoever recorded it): an upheld ``outcome`` takes its internal
    step (see ``Workflow.objection_outcomes``); a dismissal lets the notice close."""
    _require_role(actor, workflow.objection_deciders)
    require_in_scope(actor, workflow.code(getattr(objection, workflow.objection_key)))
    objection = workflow.objections.objects.select_for_update().get(pk=objection.pk)
    obj = getattr(objection, workflow.objection_key)
    if objection.outcome != "pending":
        raise invalid(OBJECTION_ALREADY_RESOLVED, status=409, code="conflict")
    if outcome not in workflow.objection_outcomes:
        raise invalid(OBJECTION_OUTCOME_INVALID, "outcome")
    resolution = (resolution or "").strip()
    if not resolution:
        raise invalid(OBJECTION_RESOLUTION_REQUIRED, "resolution")
    if len(resolution) > REASON_MAX_LENGTH:
        raise invalid(REASON_TOO_LONG % {"limit": REASON_MAX_LENGTH}, "resolution")
    ensure_four_eyes(actor=actor, earlier_actors=[objection.recorded_by_id])
    objection.outcome = outcome
    objection.resolution, objection.resolved_by, objection.resolved_at = resolution, actor, timezone.now()
    objection.save(update_fields=["outcome", "resolution", "resolved_by", "resolved_at"])
    audit_record(
        actor=actor, action=f"{workflow.objection_audit}.resolve", instance=objection, scope_code=workflow.code(obj),
        before={"outcome": "pending"}, after={"outcome": objection.outcome, "resolution": objection.resolution},
    )  # fmt: skip
    action = workflow.objection_outcomes[outcome]
    if action is not None:
        move(workflow, lock(workflow, obj), workflow.step(action, internal=True), actor, resolution, date.today())
    return objection
