"""Reads of findings and runs, always within the user's jurisdiction."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from households.privacy import mask_value
from quality.choices import FindingStatus
from quality.models import Finding, QualityRun
from quality.rules import RULES
from registry.scoping import get_scoped_or_404, prefix_q, scope_queryset


def finding_list(*, user, filters: dict | None = None) -> QuerySet:
    """Return the findings the user may see, with what a row shows, filtered by the filterset."""
    from quality.filtersets import FindingFilterSet

    queryset = scope_queryset(Finding.objects.select_related("household", "member", "accepted_by").order_by("pk"), user)
    if filters is not None:
        queryset = FindingFilterSet(filters, queryset=queryset).qs
    return queryset


def finding_get_for_user(*, user, finding_id: int) -> Finding:
    return get_scoped_or_404(Finding.objects.select_related("household", "member", "accepted_by"), user, pk=finding_id)


def rule_counts(*, user, prefix: str) -> list[dict]:
    """Return every rule with its open, accepted and fixed findings in a division, in one query."""
    queryset = scope_queryset(Finding.objects.filter(prefix_q("division_code", prefix)), user)
    rows = queryset.values("rule").annotate(
        **{status: Count("pk", filter=Q(status=status)) for status in FindingStatus.values}
    )
    counts = {row["rule"]: row for row in rows.order_by()}
    empty = dict.fromkeys(FindingStatus.values, 0)
    return [{"rule": rule, **empty, **{k: v for k, v in counts.get(code, {}).items() if k != "rule"}}
            for code, rule in RULES.items()]  # fmt: skip


def latest_run(*, scope_code: str) -> QualityRun | None:
    """Return the last finished run over exactly this division, or None."""
    return QualityRun.objects.filter(scope_code=scope_code, finished_at__isnull=False).order_by("-started_at").first()


def masked_values(values: dict, *, reveal: bool = False) -> dict:
    """Return a finding's values with ID numbers masked unless ``reveal``."""
    if reveal:
        return values
    return {key: mask_value(key, value) for key, value in values.items()}


def finding_explanation(finding: Finding, *, reveal: bool = False) -> str:
    """Return the Chinese sentence explaining a finding (ID numbers masked unless ``reveal``)."""
    rule = RULES.get(finding.rule)
    if rule is None:
        return finding.rule
    return rule.describe(masked_values(finding.values, reveal=reveal))
