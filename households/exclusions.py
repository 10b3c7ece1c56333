"""Exclusion checks at identification (识别“不评”清单): named rules, each hit explained.

A rule takes the household's members (ID numbers and names) and returns the hits it
finds; which rules run is configured by ``REGISTRY_EXCLUSION_RULES`` (all by default).
They run when a household applies and again when the county approves it.

A bulk import checks hundreds of thousands of people at once: :func:`load_people` puts
them in a temporary table and :func:`run_exclusion_checks_many` runs each rule as one
query joined to it (the rule's set-based form, registered with :func:`bulk_rule`),
finding the same hits with the same explanations as :func:`run_exclusion_checks`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _

from households.choices import CrossCheckCategory, MemberStatus
from households.privacy import mask_id
from registry.pgcopy import copy_text


@dataclass(frozen=True)
class PersonRef:
    """The identity of one member as the rules see it."""

    name: str
    id_number: str
    member_id: int | None = None


@dataclass(frozen=True)
class ExclusionHit:
    rule: str
    name: str
    explanation: str
    id_number: str = ""

    def __str__(self):
        return self.explanation


Rule = Callable[[list[PersonRef], int | None], list[ExclusionHit]]
RULES: dict[str, tuple[str, Rule]] = {}
#: Set-based forms of rules: every hit among the people loaded by :func:`load_people` (name by ID number).
BulkRule = Callable[[dict[str, str]], list[ExclusionHit]]
BULK_RULES: dict[str, BulkRule] = {}
#: The temporary table :func:`load_people` fills (one session, dropped at commit); the
#: set-based rules join it by this name.
PEOPLE_TABLE = "exclusion_people"


def rule(name: str, label):
    """Register an exclusion rule under ``name``."""

    def register(func: Rule) -> Rule:
        RULES[name] = (label, func)
        return func

    return register


def bulk_rule(name: str):
    """Register the set-based form of rule ``name`` (same hits, one query for many people)."""

    def register(func: BulkRule) -> BulkRule:
        BULK_RULES[name] = func
        return func

    return register


def _list_rule(name: str, category: str, label, template):
    def check(people: list[PersonRef], household_id: int | None) -> list[ExclusionHit]:
        from households.models import CrossCheckEntry

        by_id = {p.id_number: p for p in people}
        entries = CrossCheckEntry.objects.filter(id_number__in=list(by_id), category=category).select_related("batch")
        hits, seen = [], set()
        for entry in entries:
            if entry.id_number in seen:
                continue
            seen.add(entry.id_number)
            person = by_id[entry.id_number]
            explanation = template % {
                "name": person.name,
                "id": mask_id(person.id_number),
                "source": entry.batch.source,
            }
            hits.append(
                ExclusionHit(rule=name, name=person.name, explanation=str(explanation), id_number=person.id_number)
            )
        return hits

    check.__name__ = f"check_{name}"
    RULES[name] = (label, check)

    @bulk_rule(name)
    def check_many(names: dict[str, str]) -> list[ExclusionHit]:
        # The first entry of each person in the lists' order (entries by batch, newest batch first).
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT id_number, source FROM (
                        SELECT DISTINCT ON (e.id_number) e.id_number, b.source, b.imported_at, e.id
                          FROM households_crosscheckentry e
                          JOIN exclusion_people p ON p.id_number = e.id_number
                          JOIN households_crosscheckimport b ON b.id = e.batch_id
                         WHERE e.category = %s
                         ORDER BY e.id_number, b.imported_at DESC, e.id) first
                    ORDER BY imported_at DESC, id""",
                [category],
            )
            rows = cursor.fetchall()
        return [
            ExclusionHit(
                rule=name,
                name=names[id_number],
                explanation=str(template % {"name": names[id_number], "id": mask_id(id_number), "source": source}),
                id_number=id_number,
            )
            for id_number, source in rows
        ]

    return check


check_public_employee = _list_rule(
    "public_employee",
    CrossCheckCategory.PUBLIC_EMPLOYEE,
    _("家庭成员为财政供养人员"),
    _("%(name)s（%(id)s）在财政供养人员名单中（来源：%(source)s）"),
)
check_village_cadre = _list_rule(
    "village_cadre",
    CrossCheckCategory.VILLAGE_CADRE,
    _("家庭成员为现任村干部"),
    _("%(name)s（%(id)s）是现任村“两委”干部（来源：%(source)s）"),
)
check_vehicle = _list_rule(
    "vehicle",
    CrossCheckCategory.VEHICLE,
    _("家庭有机动车辆"),
    _("%(name)s（%(id)s）名下登记有车辆（来源：%(source)s）"),
)
check_commercial_housing = _list_rule(
    "commercial_housing",
    CrossCheckCategory.COMMERCIAL_HOUSING,
    _("家庭在城镇购买商品房"),
    _("%(name)s（%(id)s）在城镇购有商品房（来源：%(source)s）"),
)
check_business = _list_rule(
    "business",
    CrossCheckCategory.BUSINESS,
    _("家庭有经营性工商注册"),
    _("%(name)s（%(id)s）有在营的工商注册（来源：%(source)s）"),
)
check_deceased = _list_rule(
    "deceased",
    CrossCheckCategory.DEATH,
    _("在册成员已死亡"),
    _("%(name)s（%(id)s）在死亡名单中，应办理成员死亡（来源：%(source)s）"),
)


#: Why a person is flagged for splitting a household (拆户), by both forms of the rule.
SPLIT_HOUSEHOLD_HIT = _("%(name)s 于 %(date)s 从 %(household)s 户迁出，疑为分户")


def _split_since() -> date:
    """Return the earliest move-out date the split-household rule looks at."""
    return date.today() - timedelta(days=getattr(settings, "REGISTRY_SPLIT_HOUSEHOLD_DAYS", 365))


@rule("split_household", _("为享受政策而分户"))
def check_split_household(people: list[PersonRef], household_id: int | None) -> list[ExclusionHit]:
    """Flag a member who moved out of another household within the configured window (拆户)."""
    from households.models import Member

    recent = (
        Member.objects.filter(
            id_number__in=[p.id_number for p in people],
            status=MemberStatus.MOVED_OUT,
            status_date__gte=_split_since(),
        )
        .exclude(household_id=household_id)
        .select_related("household")
    )
    by_id = {p.id_number: p for p in people}
    return [
        ExclusionHit(
            rule="split_household",
            name=m.name,
            explanation=str(
                SPLIT_HOUSEHOLD_HIT % {"name": m.name, "date": m.status_date, "household": m.household.registry_number}
            ),
            id_number=m.id_number,
        )
        for m in recent
        if m.id_number in by_id
    ]


@bulk_rule("split_household")
def check_split_household_many(names: dict[str, str]) -> list[ExclusionHit]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT m.id_number, m.name, m.status_date, h.registry_number
                  FROM exclusion_people p
                  JOIN households_member m ON m.id_number = p.id_number
                  JOIN households_household h ON h.id = m.household_id
                 WHERE m.status = %s AND m.status_date >= %s
                 ORDER BY m.id""",
            [MemberStatus.MOVED_OUT, _split_since()],
        )
        rows = cursor.fetchall()
    return [
        ExclusionHit(
            rule="split_household",
            name=name,
            explanation=str(SPLIT_HOUSEHOLD_HIT % {"name": name, "date": status_date, "household": registry_number}),
            id_number=id_number,
        )
        for id_number, name, status_date, registry_number in rows
    ]


def enabled_rules() -> list[str]:
    configured = getattr(settings, "REGISTRY_EXCLUSION_RULES", None)
    return list(RULES) if configured is None else [name for name in configured if name in RULES]


def run_exclusion_checks(people: Iterable[PersonRef], *, household_id: int | None = None) -> list[ExclusionHit]:
    """Return every hit of every enabled rule for these people."""
    people = list(people)
    hits: list[ExclusionHit] = []
    for name in enabled_rules():
        hits.extend(RULES[name][1](people, household_id))
    return hits


def load_people(people: Iterable[PersonRef]) -> dict[str, str]:
    """Put ``people`` in the session's temporary table :data:`PEOPLE_TABLE`; return name by ID number.

    The table lives until the transaction ends (it must run inside one) and is replaced
    by the next call. An ID number given twice keeps its last name.
    """
    names = {p.id_number: p.name for p in people}
    buffer = io.StringIO()
    buffer.writelines(f"{copy_text(number)}\t{copy_text(name)}\n" for number, name in names.items())
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{PEOPLE_TABLE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {PEOPLE_TABLE} (id_number text PRIMARY KEY, name text) ON COMMIT DROP")
        cursor.copy_expert(f"COPY {PEOPLE_TABLE} (id_number, name) FROM STDIN", buffer)
        cursor.execute(f"ANALYZE {PEOPLE_TABLE}")
    return names


def refuse_hits(hits: list[ExclusionHit]) -> None:
    """Refuse, listing every hit, when anyone was found on an exclusion list."""
    from households import errors
    from registry.errors import ApplicationError

    if hits:
        raise ApplicationError(
            errors.EXCLUSION_HITS % {"count": len(hits), "hits": "；".join(str(h) for h in hits)},
            code="exclusion",
            fields={"exclusions": [str(h) for h in hits]},
            status=409,
        )


def run_exclusion_checks_many(
    people: Iterable[PersonRef], *, loaded: dict[str, str] | None = None
) -> list[ExclusionHit]:
    """Return every hit of every enabled rule for many people, as :func:`run_exclusion_checks` would.

    Each rule with a set-based form runs as one query against the people table (filled
    here unless ``loaded``, the result of :func:`load_people` for the same people, says it
    is); a rule without one runs on the people in chunks. Must run inside a transaction.
    """
    people = list(people)
    names = loaded if loaded is not None else load_people(people)
    hits: list[ExclusionHit] = []
    for name in enabled_rules():
        if name in BULK_RULES:
            hits.extend(BULK_RULES[name](names))
            continue
        for start in range(0, len(people), 5000):
            hits.extend(RULES[name][1](people[start : start + 5000], None))
    return hits
