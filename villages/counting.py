"""The households of an area, as villages count them; registered by the households app.

A household lives in a village, so villages sit below households. Yet an area's figures
(its poverty incidence, its registry statistics) and two rules of villages (a work team does
not leave a village with poor households; a helper is not a registered poor person) count
households and their members. The households app says, at ``ready()``, where they are and
which households each figure counts (:func:`register`); villages keeps the counting by
division code. Every import points down, and the counts are the same queries as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

#: The registry statistics of an area (:class:`villages.selectors.AreaStatistics`), by name.
STATISTICS = ("registered", "poor", "exited", "returned", "removed", "natural_decrease")


@dataclass(frozen=True)
class HouseholdCounts:
    """Where the households are, and which of them each figure counts.

    ``households()`` returns every household (``village`` its village, ``county_code`` its
    county code); ``active_members()`` every active (在册) member (``household`` leading to
    its household; ``id_number``, ``name``). ``statistics`` holds, for each of
    :data:`STATISTICS`, the lookups on a household that it counts; ``poor`` those of a
    household registered and not exited (the incidence's numerator).
    """

    households: Callable[[], QuerySet]
    active_members: Callable[[], QuerySet]
    statistics: dict[str, dict]
    poor: dict

    def poor_members(self) -> QuerySet:
        """Return the active members of poor households."""
        return self.active_members().filter(**{f"household__{key}": value for key, value in self.poor.items()})


_counts: HouseholdCounts | None = None


def register(counts: HouseholdCounts) -> None:
    """Name the households villages count (the households app, from its ``ready()``)."""
    if set(counts.statistics) != set(STATISTICS):
        raise ImproperlyConfigured(f"The household counts must define exactly {', '.join(STATISTICS)}")
    global _counts
    _counts = counts


def household_counts() -> HouseholdCounts:
    """Return the registered :class:`HouseholdCounts`."""
    if _counts is None:
        raise ImproperlyConfigured("No household counts are registered: is the households app installed?")
    return _counts
