"""Reads on households and members, always within the user's scope."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from households.choices import (
    POOR_NOT_EXITED,
    REGISTERED_EVER,
    DisclosureDoor,
    HouseholdStatus,
    IdentificationStep,
    MemberStatus,
    Relationship,
)
from households.models import Household, Member, MemberEvent, Objection, PersonalDataAccess, StatusChange
from registry.scoping import get_scoped_or_404, scope_queryset
from villages.counting import HouseholdCounts


def household_queryset() -> QuerySet:
    """Return households with what a list row shows, in a fixed number of queries."""
    head = Member.objects.filter(
        household=OuterRef("pk"), relationship=Relationship.HEAD, status=MemberStatus.ACTIVE
    ).values("name")[:1]
    # Correlated subqueries, not a join with GROUP BY: PostgreSQL then computes them for the
    # rows of the page only, instead of aggregating every household before the LIMIT.
    active = (
        Member.objects.filter(household=OuterRef("pk"), status=MemberStatus.ACTIVE)
        .order_by()
        .values("household")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        Household.objects.select_related("village", "village__parent", "group", "helper")
        .annotate(head_name=Subquery(head), member_count=Coalesce(Subquery(active), 0))
        .order_by("registry_number")
    )


def household_list(*, user, filters: dict | None = None, id_number: str | None = None) -> QuerySet:
    """Return the households the user may see, filtered by the household filterset.

    ``id_number`` searches by a member's full ID number, which the filterset's ``q``
    refuses (a query string ends up in URLs and logs).
    """
    from households.filtersets import HouseholdFilterSet, households_with_id_number

    queryset = scope_queryset(household_queryset(), user)
    if id_number:
        queryset = households_with_id_number(queryset, id_number)
    if filters is not None:
        queryset = HouseholdFilterSet(filters, queryset=queryset).qs
    return queryset


def household_get_for_user(*, user, household_id: int) -> Household:
    """Return one household with its members, history, objections and events, or 404."""
    members = Member.objects.order_by("status", "id")
    return get_scoped_or_404(
        household_queryset().prefetch_related(
            Prefetch("members", queryset=members),
            Prefetch("status_changes", queryset=StatusChange.objects.select_related("actor").order_by("id")),
            Prefetch(
                "objections", queryset=Objection.objects.select_related("recorded_by", "resolved_by").order_by("id")
            ),
            Prefetch("member_events", queryset=MemberEvent.objects.select_related("member").order_by("event_date")),
        ),
        user,
        pk=household_id,
    )


def member_list(*, user, filters: dict | None = None) -> QuerySet:
    from households.filtersets import MemberFilterSet

    queryset = scope_queryset(Member.objects.select_related("household", "household__village"), user)
    if filters is not None:
        queryset = MemberFilterSet(filters, queryset=queryset).qs
    return queryset


def member_get_for_user(*, user, member_id: int) -> Member:
    return get_scoped_or_404(Member.objects.select_related("household"), user, pk=member_id)


def objection_get_for_user(*, user, objection_id: int) -> Objection:
    return get_scoped_or_404(Objection.objects.select_related("household"), user, pk=objection_id)


def personal_data_access_list(*, user, username: str = "", door: str = "") -> QuerySet:
    """Return the disclosures of full numbers in the user's jurisdiction, newest first (个人信息查看记录)."""
    rows = scope_queryset(PersonalDataAccess.objects.select_related("household", "member"), user)
    if username:
        rows = rows.filter(username=username)
    if door in DisclosureDoor.values:
        rows = rows.filter(door=door)
    return rows.order_by("-id")


#: The households an area's figures count (:mod:`villages.counting`; registered at ``ready()``).
AREA_COUNTS = HouseholdCounts(
    households=lambda: Household.objects.all(),
    active_members=lambda: Member.objects.filter(status=MemberStatus.ACTIVE),
    statistics={
        "registered": {"status__in": REGISTERED_EVER},
        "poor": {"status__in": POOR_NOT_EXITED},
        "exited": {"status": HouseholdStatus.EXITED},
        "returned": {"status": HouseholdStatus.RETURNED},
        "removed": {"status": HouseholdStatus.REMOVED, "step": IdentificationStep.ANNOUNCED},
        "natural_decrease": {"status": HouseholdStatus.NATURAL_DECREASE, "step": IdentificationStep.ANNOUNCED},
    },
    poor={"status__in": POOR_NOT_EXITED},
)
