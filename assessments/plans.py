"""Annual poverty reduction plans (年度减贫计划，时间倒逼、任务倒排) and their progress.

A county plans, per year, how many persons are to exit, how many poverty villages are
to exit and whether the county itself exits (e.g. 郴州 2017: 桂东县 to exit). The county
office enters and edits its plans (audited); the progress selector counts what the
registry shows for that year against the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from assessments.choices import ExitCaseStatus
from assessments.models import ExitCase, ReductionPlan
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.roles import Role
from registry.scoping import get_scoped_or_404, prefix_q, scope_queryset
from registry.services import audited_create, audited_update, require_in_scope
from villages.choices import CountyExitStatus, DivisionLevel, VillageExitStatus
from villages.models import CountyStatus, Division, VillageStatus

PLAN_NOT_A_COUNTY = _("减贫计划按县制定，请选择县级区划。")
PLAN_EXISTS = _("%(county)s %(year)s 年已有减贫计划，请修改该计划。")
PLAN_FIELD_UNKNOWN = _("不能修改这些字段：%(fields)s")

#: Fields of a plan the county office may change after creating it.
PLAN_FIELDS = ("persons_to_exit", "villages_to_exit", "county_exits", "note")


def _require_county_office(actor) -> None:
    """Plans are the county office's (县扶贫办); the system (``None``) and administrators may too."""
    if actor is not None and not (actor.is_superuser or actor.role == Role.COUNTY):
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)


@transaction.atomic
def reduction_plan_create(
    *,
    actor,
    county: Division,
    year: int,
    persons_to_exit: int,
    villages_to_exit: int,
    county_exits: bool = False,
    note: str = "",
) -> ReductionPlan:
    """Enter a county's reduction plan for ``year`` (one per county and year)."""
    _require_county_office(actor)
    require_in_scope(actor, county.code)
    if county.level != DivisionLevel.COUNTY:
        raise ApplicationError(PLAN_NOT_A_COUNTY, code="invalid", fields={"county": [str(PLAN_NOT_A_COUNTY)]})
    plan = ReductionPlan(
        county=county,
        county_code=county.code[:6],
        year=year,
        persons_to_exit=persons_to_exit,
        villages_to_exit=villages_to_exit,
        county_exits=county_exits,
        note=note.strip(),
        created_by=actor if actor is not None and actor.pk else None,
    )
    message = PLAN_EXISTS % {"county": county.name, "year": year}
    if ReductionPlan.objects.filter(county=county, year=year).exists():
        raise ApplicationError(message, code="conflict", status=409)
    try:
        with transaction.atomic():
            return audited_create(actor=actor, instance=plan, action="reduction_plan.create", scope_code=county.code)
    except IntegrityError as error:  # a concurrent entry of the same plan
        raise ApplicationError(message, code="conflict", status=409) from error


@transaction.atomic
def reduction_plan_update(*, actor, plan: ReductionPlan, **changes) -> ReductionPlan:
    """Change a plan's targets or note (the county and year stay)."""
    _require_county_office(actor)
    require_in_scope(actor, plan.county_id)
    unknown = set(changes) - set(PLAN_FIELDS)
    if unknown:
        message = PLAN_FIELD_UNKNOWN % {"fields": ", ".join(sorted(unknown))}
        raise ApplicationError(message, code="invalid", fields={"__all__": [str(message)]})
    if "note" in changes:
        changes["note"] = changes["note"].strip()
    plan = ReductionPlan.objects.select_for_update().get(pk=plan.pk)
    return audited_update(
        actor=actor, instance=plan, changes=changes, action="reduction_plan.update", scope_code=plan.county_id
    )


# Reads --------------------------------------------------------------------------------------------


def reduction_plan_list(*, user, year: int | None = None) -> QuerySet:
    """Return the plans the user may see, optionally of one year."""
    queryset = scope_queryset(ReductionPlan.objects.select_related("county"), user)
    return queryset.filter(year=year) if year is not None else queryset


def reduction_plan_get_for_user(*, user, plan_id: int) -> ReductionPlan:
    """Return the plan if the user may see it, else raise 404."""
    return get_scoped_or_404(ReductionPlan.objects.select_related("county"), user, pk=plan_id)


def _percent(done: int, planned: int) -> Decimal | None:
    if not planned:
        return None
    return (Decimal(done) * 100 / Decimal(planned)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PlanProgress:
    """What the registry shows for a plan's county and year, against the plan."""

    plan: ReductionPlan
    persons_exited: int
    households_exited: int
    villages_exited: int
    county_exit_year: int | None

    @property
    def county_exited(self) -> bool:
        """Return whether the county has exited (摘帽) by the plan's year."""
        return self.county_exit_year is not None and self.county_exit_year <= self.plan.year

    @property
    def persons_percent(self) -> Decimal | None:
        return _percent(self.persons_exited, self.plan.persons_to_exit)

    @property
    def villages_percent(self) -> Decimal | None:
        return _percent(self.villages_exited, self.plan.villages_to_exit)

    @property
    def county_exit_done(self) -> bool | None:
        """Return whether the planned county exit is done (None when the plan has none)."""
        return self.county_exited if self.plan.county_exits else None


def reduction_plan_progress(*, plan: ReductionPlan) -> PlanProgress:
    """Return the progress of ``plan``.

    - persons exited: the members of the households whose exit case for the plan's year is
      certified (not revoked), counted as the household size the certified assessment judged,
      so a later death or move does not rewrite the year's result;
    - villages exited: poverty villages of the county marked exited (出列) with that year;
    - county exit: the year the county was marked exited (摘帽), if it was.
    """
    cases = ExitCase.objects.filter(
        county_code=plan.county_code, year=plan.year, status=ExitCaseStatus.CERTIFIED, revoked=False
    )
    totals = cases.aggregate(persons=Sum("assessment__household_size"))
    villages = VillageStatus.objects.filter(
        prefix_q("village_id", plan.county_code), exit_status=VillageExitStatus.EXITED, exit_year=plan.year
    ).count()
    status = CountyStatus.objects.filter(pk=plan.county_id, exit_status=CountyExitStatus.EXITED).first()
    return PlanProgress(
        plan=plan,
        persons_exited=totals["persons"] or 0,
        households_exited=cases.count(),
        villages_exited=villages,
        county_exit_year=status.exit_year if status is not None else None,
    )
