"""Writes on households and members (建档立卡): application, edits, membership, objections, helpers.

Status changes go through :mod:`households.workflow`; everything here is audited and
refuses bad input with a Chinese message, leaving the data as it was.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from households import errors
from households.choices import (
    EVENT_MEMBER_STATUS,
    INCOMING_EVENTS,
    Cause,
    HouseholdStatus,
    IdentificationStep,
    MemberEventKind,
    MemberStatus,
    Relationship,
    Sex,
)
from households.exclusions import PersonRef, refuse_hits, run_exclusion_checks
from households.models import Household, Member, MemberEvent, Objection, StatusChange
from households.privacy import mask_id
from households.workflow import WORKFLOW
from registry import workflow as engine
from registry.audit import audit_record, diff, snapshot
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.idnumber import parse_id_number
from registry.roles import Capability, roles_with
from registry.services import full_clean_or_raise, require_in_scope
from registry.workflow import check_not_future
from villages.choices import DivisionLevel
from villages.models import Division, Helper

#: Roles that enter household data (the village's work team; the county for corrections).
DATA_ENTRY_ROLES = roles_with(Capability.ENTER_HOUSEHOLDS)
#: Roles that may decide objections (not the village that ran the notice).
OBJECTION_DECIDERS = roles_with(Capability.DECIDE_OBJECTIONS)

HOUSEHOLD_FIELDS = (
    "group",
    "identification_standard",
    "attribute",
    "main_cause",
    "other_causes",
    "housing_area",
    "housing_structure",
    "housing_grade",
    "housing_renovated",
    "drinking_water_safe",
    "electricity",
    "road_distance_km",
    "cultivated_land_mu",
    "forest_land_mu",
    "relocated",
    "phone",
)
MEMBER_FIELDS = (
    "name",
    "id_number",
    "sex",
    "birth_date",
    "ethnicity",
    "relationship",
    "education",
    "student_status",
    "chronic_disease",
    "serious_illness",
    "disabled",
    "disability_certificate",
    "labour_ability",
    "migrant_work",
    "migrant_months",
    "basic_medical_insurance",
    "serious_illness_insurance",
    "pension_insurance",
    "dibao_recipient",
    "tekun_recipient",
)


def _invalid(message, field: str = "__all__", status: int = 400, code: str = "invalid") -> ApplicationError:
    return ApplicationError(message, code=code, fields={field: [str(message)]}, status=status)


def _kind_label(kind) -> str:
    return str(MemberEventKind(kind).label) if kind in MemberEventKind.values else str(kind)


def _require_role(actor, roles) -> None:
    if actor is None or actor.is_superuser or actor.role in roles:
        return
    raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)


def people_of(household: Household) -> list[PersonRef]:
    """Return the active members of a household as the exclusion rules see them."""
    return [
        PersonRef(name=m.name, id_number=m.id_number, member_id=m.pk)
        for m in household.members.filter(status=MemberStatus.ACTIVE)
    ]


def normalise_member(data: dict, *, prefix: str = "") -> dict:
    """Return member data with the ID number parsed and checked against sex and birth date.

    Sex and birth date, when left empty, are taken from the ID number (GB 11643).
    """
    data = dict(data)
    try:
        parsed = parse_id_number(data.get("id_number", ""))
    except ValidationError as error:
        raise _invalid(error.messages[0], f"{prefix}id_number") from error
    data["id_number"] = parsed.number
    if not data.get("sex"):
        data["sex"] = parsed.sex
    elif str(data["sex"]) != parsed.sex:
        message = errors.ID_SEX_MISMATCH % {"id_sex": Sex(parsed.sex).label, "sex": Sex(str(data["sex"])).label}
        raise _invalid(message, f"{prefix}sex")
    if not data.get("birth_date"):
        data["birth_date"] = parsed.birth_date
    elif data["birth_date"] != parsed.birth_date:
        message = errors.ID_BIRTH_MISMATCH % {"id_birth": parsed.birth_date, "birth": data["birth_date"]}
        raise _invalid(message, f"{prefix}birth_date")
    return data


def _check_not_registered_elsewhere(id_number: str, name: str, household_id: int | None, field: str) -> None:
    other = (
        Member.objects.filter(id_number=id_number, current=True)
        .exclude(household_id=household_id)
        .select_related("household")
        .first()
    )
    if other is not None:
        raise _invalid(
            errors.ID_ALREADY_REGISTERED % {"name": name, "household": other.household.registry_number},
            field,
            status=409,
            code="conflict",
        )


def _check_causes(main_cause: str, other_causes) -> list[str]:
    other_causes = list(other_causes or [])
    if (
        len(other_causes) > 2
        or len(set(other_causes)) != len(other_causes)
        or main_cause in other_causes
        or any(c not in Cause.values for c in other_causes)
    ):
        raise _invalid(errors.OTHER_CAUSES_INVALID, "other_causes")
    return other_causes


def _next_registry_number(village: Division) -> str:
    """Return the next 户编号 of a village: its 12-digit code and a 4-digit sequence."""
    Division.objects.select_for_update().filter(pk=village.pk).first()
    last = (
        Household.objects.filter(registry_number__startswith=village.code)
        .order_by("-registry_number")
        .values_list("registry_number", flat=True)
        .first()
    )
    sequence = int(last[12:]) + 1 if last else 1
    return f"{village.code}{sequence:04d}"


def _save_member(member: Member, *, field_prefix: str = "") -> Member:
    try:
        full_clean_or_raise(member, validate_constraints=False)
        with transaction.atomic():
            member.save()
    except ApplicationError as error:
        error.fields = {f"{field_prefix}{k}": v for k, v in error.fields.items()}
        raise
    except IntegrityError as error:
        # A concurrent write got there between our check and this insert.
        if "member_one_active_head" in str(error):
            raise _invalid(errors.HEAD_EXACTLY_ONE, f"{field_prefix}relationship", 409, "conflict") from error
        raise _invalid(errors.ID_ALREADY_CURRENT, f"{field_prefix}id_number", 409, "conflict") from error
    return member


@transaction.atomic
def household_apply(
    *, actor, village: Division, household: dict, members: list[dict], on_date: date | None = None
) -> Household:
    """Register a household's application (农户申请) with its members.

    Exactly one member is the head; every ID number is valid, agrees with sex and birth
    date and is in no other current household; the exclusion checks find nothing.
    """
    _require_role(actor, DATA_ENTRY_ROLES)
    if actor is not None:
        require_in_scope(actor, village.code)
    if village.level != DivisionLevel.VILLAGE:
        raise _invalid(errors.NOT_A_VILLAGE, "village")
    if not members:
        raise _invalid(errors.HOUSEHOLD_NEEDS_MEMBERS, "members")
    members = [normalise_member(m, prefix=f"members.{i}.") for i, m in enumerate(members)]
    if sum(1 for m in members if m.get("relationship") == Relationship.HEAD) != 1:
        raise _invalid(errors.HEAD_EXACTLY_ONE, "members")
    seen = set()
    for i, m in enumerate(members):
        if m["id_number"] in seen:
            raise _invalid(errors.ID_DUPLICATE_IN_FORM % {"id": mask_id(m["id_number"])}, f"members.{i}.id_number")
        seen.add(m["id_number"])
        _check_not_registered_elsewhere(m["id_number"], m.get("name", ""), None, f"members.{i}.id_number")
    unknown = set(household) - set(HOUSEHOLD_FIELDS)
    if unknown:
        raise _invalid(errors.FIELD_NOT_EDITABLE % {"fields": ", ".join(sorted(unknown))})
    data = dict(household)
    data["other_causes"] = _check_causes(data.get("main_cause", ""), data.get("other_causes"))
    group = data.get("group")
    if group is not None and group.village_id != village.code:
        raise _invalid(errors.GROUP_NOT_IN_VILLAGE, "group")
    refuse_hits(run_exclusion_checks([PersonRef(name=m.get("name", ""), id_number=m["id_number"]) for m in members]))
    on_date = on_date or date.today()
    check_not_future(on_date)
    record = Household(
        village=village,
        county_code=village.code[:6],
        registry_number=_next_registry_number(village),
        status=HouseholdStatus.APPLIED,
        step=IdentificationStep.APPLICATION,
        status_date=on_date,
        **data,
    )
    full_clean_or_raise(record)
    record.save(force_insert=True)
    for i, m in enumerate(members):
        unknown = set(m) - set(MEMBER_FIELDS)
        if unknown:
            raise _invalid(errors.FIELD_NOT_EDITABLE % {"fields": ", ".join(sorted(unknown))}, f"members.{i}")
        _save_member(Member(household=record, county_code=record.county_code, **m), field_prefix=f"members.{i}.")
    StatusChange.objects.create(
        household=record,
        county_code=record.county_code,
        action="apply",
        from_status=HouseholdStatus.APPLIED,
        to_status=HouseholdStatus.APPLIED,
        from_step=IdentificationStep.APPLICATION,
        to_step=IdentificationStep.APPLICATION,
        actor=actor if actor is not None else None,
        effective_date=on_date,
    )
    after = snapshot(record)
    after["members"] = [snapshot(m, ["id", "name", "relationship"]) for m in record.members.order_by("id")]
    audit_record(actor=actor, action="household.apply", instance=record, scope_code=village.code, after=after)
    return record


def _lock_current(model, pk, expected_version: int | None):
    obj = model.objects.select_for_update().get(pk=pk)
    if expected_version is not None and obj.version != expected_version:
        raise ApplicationError(
            errors.VERSION_CONFLICT % {"current": obj.version, "expected": expected_version},
            code="conflict",
            status=409,
        )
    return obj


def _ensure_open(household: Household) -> None:
    if not household.is_active:
        raise ApplicationError(
            errors.HOUSEHOLD_CLOSED % {"status": household.get_status_display()}, code="closed", status=409
        )


@transaction.atomic
def household_update(*, actor, household: Household, changes: dict, expected_version: int | None = None) -> Household:
    """Change a household's registration fields (never its status), refusing a stale edit."""
    _require_role(actor, DATA_ENTRY_ROLES)
    if actor is not None:
        require_in_scope(actor, household.village_id)
    unknown = set(changes) - set(HOUSEHOLD_FIELDS)
    if unknown:
        raise _invalid(errors.FIELD_NOT_EDITABLE % {"fields": ", ".join(sorted(unknown))})
    household = _lock_current(Household, household.pk, expected_version)
    _ensure_open(household)
    changes = dict(changes)
    if "main_cause" in changes or "other_causes" in changes:
        changes["other_causes"] = _check_causes(
            changes.get("main_cause", household.main_cause), changes.get("other_causes", household.other_causes)
        )
    if changes.get("group") is not None and changes["group"].village_id != household.village_id:
        raise _invalid(errors.GROUP_NOT_IN_VILLAGE, "group")
    before = snapshot(household, list(changes))
    for name, value in changes.items():
        setattr(household, name, value)
    old, new = diff(before, snapshot(household, list(changes)))
    if not new:
        return household
    full_clean_or_raise(household)
    household.version += 1
    household.save(update_fields=[household._meta.get_field(n).attname for n in new] + ["version", "updated_at"])
    audit_record(
        actor=actor,
        action="household.update",
        instance=household,
        scope_code=household.village_id,
        before=old,
        after=new,
    )
    return household


@transaction.atomic
def member_update(*, actor, member: Member, changes: dict, expected_version: int | None = None) -> Member:
    """Change a member's details; the ID number stays consistent and unique."""
    _require_role(actor, DATA_ENTRY_ROLES)
    if actor is not None:
        require_in_scope(actor, member.household.village_id)
    unknown = set(changes) - (set(MEMBER_FIELDS) - {"relationship"})
    if unknown:
        raise _invalid(errors.FIELD_NOT_EDITABLE % {"fields": ", ".join(sorted(unknown))})
    member = _lock_current(Member, member.pk, expected_version)
    _ensure_open(member.household)
    if member.status != MemberStatus.ACTIVE:
        raise _invalid(errors.MEMBER_NOT_ACTIVE % {"name": member.name})
    merged = {k: changes.get(k, getattr(member, k)) for k in ("id_number", "sex", "birth_date")}
    if {"id_number", "sex", "birth_date"} & set(changes):
        merged = normalise_member(merged)
        changes = {**changes, **{k: merged[k] for k in merged if k in changes or k == "id_number"}}
        _check_not_registered_elsewhere(merged["id_number"], member.name, member.household_id, "id_number")
    before = snapshot(member, list(changes))
    for name, value in changes.items():
        setattr(member, name, value)
    old, new = diff(before, snapshot(member, list(changes)))
    if not new:
        return member
    member.version += 1
    _save_member(member)
    # The household's representation nests its members: a sync by ``updated_since`` must see it.
    Household.objects.filter(pk=member.household_id).update(updated_at=timezone.now())
    audit_record(
        actor=actor,
        action="member.update",
        instance=member,
        scope_code=member.household.village_id,
        before=old,
        after=new,
    )
    return member


@transaction.atomic
def member_add(*, actor, household: Household, data: dict, kind: str, event_date: date, note: str = "") -> Member:
    """Add a member through a dated event (出生、婚入、迁入)."""
    _require_role(actor, DATA_ENTRY_ROLES)
    if actor is not None:
        require_in_scope(actor, household.village_id)
    if kind not in INCOMING_EVENTS:
        raise _invalid(errors.EVENT_KIND_INVALID % {"kind": _kind_label(kind)}, "kind")
    check_not_future(event_date, "event_date")
    household = Household.objects.select_for_update().get(pk=household.pk)
    _ensure_open(household)
    data = normalise_member(data)
    if data.get("relationship") == Relationship.HEAD:
        raise _invalid(errors.HEAD_EXACTLY_ONE, "relationship")
    if event_date < data["birth_date"]:
        raise _invalid(errors.EVENT_DATE_BEFORE_BIRTH, "event_date")
    _check_not_registered_elsewhere(data["id_number"], data.get("name", ""), household.pk, "id_number")
    member = _save_member(Member(household=household, county_code=household.county_code, **data))
    MemberEvent.objects.create(
        household=household,
        member=member,
        county_code=household.county_code,
        kind=kind,
        event_date=event_date,
        note=note,
        recorded_by=actor,
    )
    household.version += 1
    household.save(update_fields=["version", "updated_at"])
    audit_record(
        actor=actor,
        action=f"member.{kind}",
        instance=member,
        scope_code=household.village_id,
        after={**snapshot(member, ["name", "relationship", "household"]), "event_date": event_date},
    )
    return member


@transaction.atomic
def member_leave(
    *, actor, member: Member, kind: str, event_date: date, note: str = "", new_head: Member | None = None
) -> Member:
    """Record that a member died, married out or moved out; a leaving head hands over to ``new_head``."""
    _require_role(actor, DATA_ENTRY_ROLES)
    if actor is not None:
        require_in_scope(actor, member.household.village_id)
    if kind not in EVENT_MEMBER_STATUS:
        raise _invalid(errors.EVENT_KIND_INVALID % {"kind": _kind_label(kind)}, "kind")
    check_not_future(event_date, "event_date")
    household = Household.objects.select_for_update().get(pk=member.household_id)
    _ensure_open(household)
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.status != MemberStatus.ACTIVE:
        raise _invalid(errors.MEMBER_NOT_ACTIVE % {"name": member.name})
    if event_date < member.birth_date:
        raise _invalid(errors.EVENT_DATE_BEFORE_BIRTH, "event_date")
    others = household.members.filter(status=MemberStatus.ACTIVE).exclude(pk=member.pk)
    if not others.exists():
        raise _invalid(errors.MEMBER_LAST_ACTIVE % {"name": member.name})
    before = snapshot(member, ["status", "relationship", "current"])
    member.status = EVENT_MEMBER_STATUS[kind]
    member.status_date = event_date
    member.current = False
    member.version += 1
    member.save(update_fields=["status", "status_date", "current", "version", "updated_at"])
    if member.relationship == Relationship.HEAD:
        if new_head is None:
            raise _invalid(errors.MEMBER_NEW_HEAD_REQUIRED % {"event": MemberEventKind(kind).label}, "new_head")
        if not others.filter(pk=new_head.pk).exists():
            raise _invalid(errors.MEMBER_NEW_HEAD_INVALID, "new_head")
        heir = Member.objects.select_for_update().get(pk=new_head.pk)
        previous = heir.relationship
        heir.relationship = Relationship.HEAD
        heir.version += 1
        heir.save(update_fields=["relationship", "version", "updated_at"])
        audit_record(
            actor=actor,
            action="member.become_head",
            instance=heir,
            scope_code=household.village_id,
            before={"relationship": previous},
            after={"relationship": Relationship.HEAD},
        )
    MemberEvent.objects.create(
        household=household,
        member=member,
        county_code=household.county_code,
        kind=kind,
        event_date=event_date,
        note=note,
        recorded_by=actor,
    )
    household.version += 1
    household.save(update_fields=["version", "updated_at"])
    audit_record(
        actor=actor,
        action=f"member.{kind}",
        instance=member,
        scope_code=household.village_id,
        before=before,
        after={**snapshot(member, ["status", "current"]), "event_date": event_date},
    )
    return member


# Objections (异议) ---------------------------------------------------------------------


def objection_raise(
    *, actor, household: Household, objector: str, content: str, raised_on: date | None = None
) -> Objection:
    """Record an objection raised during a public notice; it blocks the next step."""
    return engine.objection_raise(
        WORKFLOW, actor=actor, obj=household, objector=objector, content=content, raised_on=raised_on
    )


def objection_resolve(*, actor, objection: Objection, outcome: str, resolution: str) -> Objection:
    """Decide an objection: upheld (the case returns to appraisal, or is rejected) or dismissed.

    The person who recorded the objection cannot decide it.
    """
    return engine.objection_resolve(WORKFLOW, actor=actor, objection=objection, outcome=outcome, resolution=resolution)


# Helpers (帮扶责任人) -------------------------------------------------------------------


@transaction.atomic
def household_pair_helper(*, actor, household: Household, helper: Helper | None) -> Household:
    """Pair a helper with a household (结对帮扶); the helper must serve its area and not be poor."""
    from villages.services import helper_check_not_poor

    _require_role(actor, DATA_ENTRY_ROLES)
    if actor is not None:
        require_in_scope(actor, household.village_id)
    household = Household.objects.select_for_update().get(pk=household.pk)
    _ensure_open(household)
    if helper is not None:
        if not helper.active:
            raise _invalid(errors.HELPER_INACTIVE, "helper")
        if not household.village_id.startswith(helper.division.prefix):
            raise _invalid(errors.HELPER_OUT_OF_AREA % {"helper": helper.name}, "helper")
        helper_check_not_poor(helper.id_number)
    before = {"helper": household.helper_id}
    if before["helper"] == (helper.pk if helper else None):
        return household
    household.helper = helper
    household.version += 1
    household.save(update_fields=["helper", "version", "updated_at"])
    audit_record(
        actor=actor,
        action="household.pair_helper",
        instance=household,
        scope_code=household.village_id,
        before=before,
        after={"helper": helper.pk if helper else None},
    )
    return household
