"""The jurisdiction scope (管辖范围): the one place that decides what a user may see.

A user is bound to one or more divisions and sees those divisions and everything below
them. Because the 12-digit statistical code is hierarchical, "everything below" is a
code range (``431129000000`` … ``431129999999`` for 江华县), which a plain B-tree index
answers. Every scoped model declares ``scope_path``: the lookup that leads from the model
to a 12-digit division code. Pages, the admin, the API, exports and jobs all call
:func:`scope_queryset`; no view filters by jurisdiction on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet
from django.http import Http404

from registry.errors import OUT_OF_JURISDICTION, ApplicationError
from registry.levels import LEVEL_PREFIX_LENGTH


def code_prefix(code: str, level: str) -> str:
    """Return the digits of ``code`` that all divisions below a ``level`` division share."""
    return code[: LEVEL_PREFIX_LENGTH[level]]


def prefix_bounds(prefix: str, width: int = 12) -> tuple[str, str]:
    """Return the lowest and highest ``width``-digit codes that start with ``prefix``."""
    return prefix.ljust(width, "0"), prefix.ljust(width, "9")


def prefix_q(path: str, prefix: str, width: int = 12) -> Q:
    """Return a filter for codes at ``path`` starting with ``prefix`` (an index range scan).

    ``__gte``/``__lte`` rather than ``__range`` or ``__startswith``: they work on foreign
    keys too and use a plain B-tree index on PostgreSQL whatever the collation.
    """
    low, high = prefix_bounds(prefix, width)
    return Q(**{f"{path}__gte": low, f"{path}__lte": high})


def subtree_q(prefix: str, path: str = "village_id", county_path: str | None = "county_code") -> Q:
    """Return the filter for rows in the subtree of the division whose code prefix is ``prefix``.

    ``path`` is the lookup of the row's village code, ``county_path`` of the county code
    the row carries (every household-scoped table has one: the index a county's reads
    use), or ``None`` where it carries none. A province or prefecture is a range of county
    codes; a county is one county code, alone (beside a village-code range PostgreSQL
    would guess a handful of rows); below, the village code narrows it further.
    """
    if county_path is None:
        return prefix_q(path, prefix)
    if len(prefix) < 6:
        return prefix_q(county_path, prefix, width=6)
    condition = Q(**{county_path: prefix[:6]})
    if len(prefix) > 6:
        condition &= prefix_q(path, prefix)
    return condition


@dataclass(frozen=True)
class Scope:
    """What one user may see: everything (``unrestricted``) or the subtrees of ``prefixes``."""

    unrestricted: bool
    prefixes: tuple[str, ...]

    def covers(self, code: str) -> bool:
        """Return whether the 12-digit ``code`` lies inside this scope."""
        return self.unrestricted or any(code.startswith(p) for p in self.prefixes)

    def q(self, path: str) -> Q:
        """Return a filter on the 12-digit code at ``path`` for this scope."""
        if self.unrestricted:
            return Q()
        if not self.prefixes:
            return Q(pk__in=[])
        return reduce(or_, [prefix_q(path, p) for p in self.prefixes])


NO_SCOPE = Scope(unrestricted=False, prefixes=())
FULL_SCOPE = Scope(unrestricted=True, prefixes=())


def user_scope(user) -> Scope:
    """Return the scope of ``user``, computed once per user object.

    Superusers see everything; an anonymous, inactive or unbound user sees nothing.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return NO_SCOPE
    cached = getattr(user, "_registry_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = FULL_SCOPE
    else:
        prefixes = sorted({code_prefix(code, level) for code, level in user.jurisdictions.values_list("code", "level")})
        # Drop prefixes already covered by a shorter one (a province and one of its counties).
        kept = tuple(p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes))
        scope = Scope(unrestricted=False, prefixes=kept)
    user._registry_scope = scope
    return scope


def scope_queryset(queryset: QuerySet, user) -> QuerySet:
    """Return ``queryset`` limited to what ``user`` may see."""
    model = queryset.model
    scope = user_scope(user)
    county_field = getattr(model, "scope_county_path", None)
    if county_field and not scope.unrestricted and scope.prefixes:
        # Filter on the county code the table carries, so PostgreSQL (or a shard router)
        # prunes by county before touching the village index. The county code is the
        # first six digits of the row's village code (set by the services, never edited),
        # so a scope of whole counties, prefectures or provinces needs nothing else: no
        # join to the household for a member, an assessment or an exit case.
        queryset = queryset.filter(reduce(or_, [prefix_q(county_field, p[:6], 6) for p in scope.prefixes]))
        if all(len(p) <= 6 for p in scope.prefixes):
            return queryset
    return queryset.filter(scope.q(model.scope_path))


def get_scoped_or_404(queryset: QuerySet, user, **lookup):
    """Return the one object matching ``lookup`` inside the user's scope, else raise 404.

    An object outside the jurisdiction is indistinguishable from one that does not exist.
    """
    try:
        return scope_queryset(queryset, user).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404(str(OUT_OF_JURISDICTION)) from exc


def ensure_code_in_scope(user, code: str) -> None:
    """Raise a not-found ``ApplicationError`` unless the division ``code`` is in scope."""
    if not user_scope(user).covers(code):
        raise ApplicationError(OUT_OF_JURISDICTION, code="not_found", status=404)
