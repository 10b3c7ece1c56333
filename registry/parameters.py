"""Parameters as the layers below assessments read them (notice lengths, exit thresholds).

The parameter table, its scopes and its rules are the assessments' (:mod:`assessments.parameters`).
Households (the identification notice) and villages (the incidence threshold of an area)
need two of its values, but sit below assessments and must not import it. They read through
this module instead, and the assessments app registers its lookups here at ``ready()``: the
dependency is inverted, every import still points down, and what is read is the same
function, called at the moment it is needed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


class ParameterSource(Protocol):
    def notice_days(self, procedure: str, division_code: str = "") -> int: ...

    def incidence_thresholds(self, pairs) -> dict[tuple[str, str], Decimal]: ...


_source: ParameterSource | None = None


def register(source: ParameterSource) -> None:
    """Name where parameters are read (the assessments app, from its ``ready()``)."""
    global _source
    _source = source


def _registered() -> ParameterSource:
    if _source is None:
        raise ImproperlyConfigured("No parameter source is registered: is the assessments app installed?")
    return _source


def notice_days(procedure: str, division_code: str = "") -> int:
    """Return the configured length of a notice period in days (a parameter, commonly 7)."""
    return _registered().notice_days(procedure, division_code)


def incidence_thresholds(pairs) -> dict[tuple[str, str], Decimal]:
    """Return the exit threshold of each ``(region_class, division_code)`` pair, in one query."""
    return _registered().incidence_thresholds(pairs)
