"""Exclusion checks at identification (识别“不评”清单): named rules, each hit explained.

A rule takes the household's members (ID numbers and names) and returns the hits it
finds; which rules run is configured by ``REGISTRY_EXCLUSION_RULES`` (all by default).
They run when a household applies and again when the county approves it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from households.choices import CrossCheckCategory, MemberStatus
from households.privacy import mask_id


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


def rule(name: str, label):
    """Register an exclusion rule under ``name``."""

    def register(func: Rule) -> Rule:
        RULES[name] = (label, func)
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


@rule("split_household", _("为享受政策而分户"))
def check_split_household(people: list[PersonRef], household_id: int | None) -> list[ExclusionHit]:
    """Flag a member who moved out of another household within the configured window (拆户)."""
    from households.models import Member

    window = timedelta(days=getattr(settings, "REGISTRY_SPLIT_HOUSEHOLD_DAYS", 365))
    recent = (
        Member.objects.filter(
            id_number__in=[p.id_number for p in people],
            status=MemberStatus.MOVED_OUT,
            status_date__gte=date.today() - window,
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
                _("%(name)s 于 %(date)s 从 %(household)s 户迁出，疑为分户")
                % {"name": m.name, "date": m.status_date, "household": m.household.registry_number}
            ),
            id_number=m.id_number,
        )
        for m in recent
        if m.id_number in by_id
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
