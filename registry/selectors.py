"""Reading the audit log (审计查询): scoped to the reader's jurisdiction, values masked."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date

from registry.models import AuditEntry
from registry.privacy import mask_value
from registry.scoping import scope_queryset

PAGE_SIZE = 50
AUDITED_APPS = ("registry", "villages", "households", "assessments")


def audit_changes(entry: AuditEntry) -> list[dict]:
    """Return the fields an entry records as rows of (field, before, after), identifiers masked."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    rows = [
        {
            "field": key,
            "before": mask_value(key, before.get(key)) if key in before else None,
            "after": mask_value(key, after.get(key)) if key in after else None,
            "has_before": key in before,
            "has_after": key in after,
        }
        for key in dict.fromkeys([*before, *after])
    ]
    if entry.before is not None and not isinstance(entry.before, dict):
        rows.append({"field": "", "before": entry.before, "after": None, "has_before": True, "has_after": False})
    if entry.after is not None and not isinstance(entry.after, dict):
        rows.append({"field": "", "before": None, "after": entry.after, "has_before": False, "has_after": True})
    return rows


def audited_types() -> QuerySet:
    """Return the kinds of object the registry audits, for a filter."""
    return ContentType.objects.filter(app_label__in=AUDITED_APPS).order_by("app_label", "model")


def _day_bound(value: str, *, end: bool):
    day = parse_date(value or "")
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


def audit_entry_list(*, user, filters: dict | None = None) -> QuerySet:
    """Return the audit rows of the user's jurisdiction, filtered by actor, action prefix, type and days."""
    entries = scope_queryset(AuditEntry.objects.select_related("content_type"), user)
    filters = filters or {}
    if filters.get("actor"):
        entries = entries.filter(actor_username=filters["actor"])
    if filters.get("action"):
        entries = entries.filter(action__startswith=filters["action"])
    if str(filters.get("type", "")).isdigit():
        entries = entries.filter(content_type_id=int(filters["type"]))
    since, until = _day_bound(filters.get("since", ""), end=False), _day_bound(filters.get("until", ""), end=True)
    if since:
        entries = entries.filter(created_at__gte=since)
    if until:
        entries = entries.filter(created_at__lte=until)
    return entries


def audit_page(entries: QuerySet, *, before: str = "") -> tuple[list[AuditEntry], int | None]:
    """Return one page of entries, newest first, changes attached, and the id to continue before.

    Keyset paging by id: no count over a log of millions of rows.
    """
    if before.isdigit():
        entries = entries.filter(pk__lt=int(before))
    rows = list(entries.order_by("-pk")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    for entry in rows:
        entry.changes = audit_changes(entry)
    return rows, (rows[-1].pk if more else None)


def audit_history(*, user, content_type: ContentType, object_id: str, limit: int = 1000) -> list[AuditEntry]:
    """Return one object's audit rows in the user's jurisdiction, oldest first, changes attached."""
    entries = list(
        audit_entry_list(user=user).filter(content_type=content_type, object_id=object_id).order_by("pk")[:limit]
    )
    for entry in entries:
        entry.changes = audit_changes(entry)
    return entries
