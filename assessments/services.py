"""Writes on assessments, help measures and helper visits (年度核查、帮扶措施、走访)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from assessments import errors
from assessments.choices import ParameterKey, TransferItem
from assessments.models import Assessment, HelperVisit, HelpMeasure
from assessments.parameters import parameter
from households.choices import INCOMING_EVENTS, HouseholdStatus, MemberStatus
from households.models import Household, Member
from registry.audit import audit_record, diff, snapshot
from registry.errors import ApplicationError
from registry.roles import Capability
from registry.services import full_clean_or_raise, require_capability, require_in_scope

ASSESSABLE = (HouseholdStatus.REGISTERED, HouseholdStatus.RETURNED, HouseholdStatus.EXITED)
INCOME_FIELDS = ("wage_income", "operating_income", "operating_cost", "property_income")
MEASURE_FIELDS = {
    "category", "five_batches", "measure_date", "amount", "fund_source", "responsible_unit", "description",
}  # fmt: skip
ASSESSMENT_FIELDS = (
    *INCOME_FIELDS,
    "transfers",
    "food_secure",
    "clothing_secure",
    "water_litres_per_person_day",
    "water_fetch_minutes",
    "water_quality_safe",
    "education_exempt_members",
    "notes",
    "assessed_on",
)


def _invalid(message, field="__all__", status=400, code="invalid") -> ApplicationError:
    return ApplicationError(message, code=code, fields={field: [str(message)]}, status=status)


def members_on(household: Household, day: date) -> list[Member]:
    """Return the members of ``household`` on ``day``: in the household then, whatever since."""
    joined_after = set(
        household.member_events.filter(kind__in=INCOMING_EVENTS, event_date__gt=day).values_list("member_id", flat=True)
    )
    return [
        m
        for m in household.members.order_by("id")
        if m.pk not in joined_after and was_member_on(m.birth_date, m.status, m.status_date, day)
    ]


def was_member_on(birth_date: date, status: str, status_date: date | None, day: date) -> bool:
    """Return whether a member (not joined after ``day``) belonged to the household on ``day``.

    Born by then, and active now or having left only after ``day``; shared by
    :func:`members_on` and the bulk snapshots of :mod:`assessments.eligibility`.
    """
    if birth_date > day:
        return False
    return status == MemberStatus.ACTIVE or (status_date is not None and status_date > day)


def income_year_bounds(year: int, division_code: str = "") -> tuple[date, date]:
    """Return the first and last day of income year ``year`` (by default 1 Oct Y-1 – 30 Sep Y)."""
    start_month_day = str(parameter(ParameterKey.INCOME_YEAR_START, division_code=division_code))
    month, day = (int(x) for x in start_month_day.split("-"))
    start = date(year, 1, 1) if (month, day) == (1, 1) else date(year - 1, month, day)
    return start, start.replace(year=start.year + 1) - timedelta(days=1)


def compute_incomes(data: dict, *, year: int, division_code: str) -> dict:
    """Return the counted transfer income, net income (the parts that count are a parameter)."""
    counted = set(parameter(ParameterKey.TRANSFER_ITEMS_COUNTED, year=year, division_code=division_code))
    transfers = {}
    for item, amount in (data.get("transfers") or {}).items():
        if item not in TransferItem.values:
            raise _invalid(errors.TRANSFER_ITEM_UNKNOWN % {"item": item}, "transfers")
        value = Decimal(str(amount))
        if value < 0:
            raise _invalid(errors.AMOUNT_NEGATIVE % {"field": TransferItem(item).label}, "transfers")
        transfers[item] = str(value)
    transfer_income = sum((Decimal(v) for k, v in transfers.items() if k in counted), Decimal("0"))
    net = (
        Decimal(data.get("wage_income") or 0)
        + Decimal(data.get("operating_income") or 0)
        - Decimal(data.get("operating_cost") or 0)
        + Decimal(data.get("property_income") or 0)
        + transfer_income
    )
    return {"transfers": transfers, "transfer_income": transfer_income, "net_income": net}


def _fill(assessment: Assessment) -> None:
    household = assessment.household
    size = len(members_on(household, assessment.assessed_on))
    figures = compute_incomes(
        {f: getattr(assessment, f) for f in (*INCOME_FIELDS, "transfers")},
        year=assessment.year,
        division_code=household.village_id,
    )
    assessment.transfers = figures["transfers"]
    assessment.transfer_income = figures["transfer_income"]
    assessment.net_income = figures["net_income"]
    assessment.household_size = size
    assessment.per_capita_net_income = (
        (figures["net_income"] / size).quantize(Decimal("0.01")) if size else Decimal("0")
    )
    member_ids = set(household.members.values_list("pk", flat=True))
    if set(assessment.education_exempt_members or []) - member_ids:
        raise _invalid(errors.EXEMPT_NOT_MEMBER, "education_exempt_members")


def _check_locked(assessment: Assessment) -> None:
    from assessments.choices import ExitCaseStatus

    if assessment.exit_cases.filter(status=ExitCaseStatus.CERTIFIED).exists():
        raise _invalid(errors.ASSESSMENT_LOCKED % {"year": assessment.year}, status=409, code="locked")


@transaction.atomic
def assessment_record(
    *, actor, household: Household, year: int, data: dict, expected_version: int | None = None
) -> Assessment:
    """Record (or correct) a household's reassessment for ``year``; income figures are computed."""
    require_capability(actor, Capability.ENTER_HOUSEHOLDS)
    require_in_scope(actor, household.village_id)
    household = Household.objects.select_for_update().get(pk=household.pk)
    if household.status not in ASSESSABLE:
        raise _invalid(errors.NOT_ASSESSABLE % {"status": household.get_status_display()}, status=409, code="conflict")
    unknown = set(data) - set(ASSESSMENT_FIELDS)
    if unknown:
        raise _invalid(f"不能直接设置：{', '.join(sorted(unknown))}")
    for field in INCOME_FIELDS:
        if field in data and Decimal(str(data[field] or 0)) < 0:
            raise _invalid(errors.AMOUNT_NEGATIVE % {"field": Assessment._meta.get_field(field).verbose_name}, field)
    from registry.workflow import check_not_future

    existing = Assessment.objects.select_for_update().filter(household=household, year=year).first()
    assessed_on = data.get("assessed_on") or (existing.assessed_on if existing else date.today())
    check_not_future(assessed_on, "assessed_on")
    # The assessment of year Y judges income year Y, so it is done during or after it (within a year).
    start, end = income_year_bounds(year, household.village_id)
    if not start <= assessed_on <= end.replace(year=end.year + 1):
        raise _invalid(errors.ASSESSMENT_DATE_YEAR % {"date": assessed_on, "year": year}, "assessed_on")
    if existing is None:
        assessment = Assessment(
            household=household, county_code=household.county_code, year=year, assessed_by=actor, household_size=0
        )
        for field, value in {**data, "assessed_on": assessed_on}.items():
            setattr(assessment, field, value)
        _fill(assessment)
        full_clean_or_raise(assessment)
        assessment.save(force_insert=True)
        audit_record(
            actor=actor, action="assessment.create", instance=assessment, scope_code=household.village_id,
            after=snapshot(assessment),
        )  # fmt: skip
        return assessment
    if expected_version is not None and existing.version != expected_version:
        from households.errors import VERSION_CONFLICT

        raise _invalid(
            VERSION_CONFLICT % {"current": existing.version, "expected": expected_version}, status=409, code="conflict"
        )
    _check_locked(existing)
    before = snapshot(existing)
    for field, value in data.items():
        setattr(existing, field, value)
    _fill(existing)
    full_clean_or_raise(existing)
    old, new = diff(before, snapshot(existing))
    if not new:
        return existing
    existing.version += 1
    existing.assessed_by = actor
    computed = ["transfers", "transfer_income", "net_income", "per_capita_net_income", "household_size"]
    existing.save(update_fields=[*data, *computed, "version", "assessed_by", "updated_at"])
    audit_record(
        actor=actor,
        action="assessment.update",
        instance=existing,
        scope_code=household.village_id,
        before=old,
        after=new,
    )
    return existing


@transaction.atomic
def help_measure_add(*, actor, household: Household, data: dict) -> HelpMeasure:
    """Record a help measure received by a household (帮扶措施)."""
    require_capability(actor, Capability.ENTER_HOUSEHOLDS)
    require_in_scope(actor, household.village_id)
    unknown = set(data) - MEASURE_FIELDS
    if unknown:
        raise _invalid(errors.MEASURE_FIELD_UNKNOWN % {"fields": ", ".join(sorted(unknown))})
    if not data.get("five_batches"):
        raise _invalid(errors.MEASURE_FIVE_BATCHES, "five_batches")
    measure = HelpMeasure(household=household, county_code=household.county_code, recorded_by=actor, **data)
    full_clean_or_raise(measure)
    measure.save(force_insert=True)
    audit_record(
        actor=actor, action="help_measure.create", instance=measure, scope_code=household.village_id,
        after=snapshot(measure),
    )  # fmt: skip
    return measure


@transaction.atomic
def helper_visit_add(*, actor, household: Household, visited_on: date, note: str = "") -> HelperVisit:
    """Record a helper's visit to the household (its paired helper)."""
    from registry.workflow import check_not_future

    require_capability(actor, Capability.ENTER_HOUSEHOLDS)
    require_in_scope(actor, household.village_id)
    check_not_future(visited_on, "visited_on")
    visit = HelperVisit(
        household=household, county_code=household.county_code, helper=household.helper, visited_on=visited_on,
        note=note, recorded_by=actor,
    )  # fmt: skip
    full_clean_or_raise(visit)
    visit.save(force_insert=True)
    audit_record(
        actor=actor,
        action="helper_visit.create",
        instance=visit,
        scope_code=household.village_id,
        after=snapshot(visit),
    )
    return visit
