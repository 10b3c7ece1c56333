"""Audit pages for auditors (审计查询): the log, one object's whole history, one user's acts.

Only roles with ``READ_AUDIT`` see them, and only the rows of their jurisdiction (the
row's ``scope_code``): like every page, an object or account with no row in the user's
jurisdiction is not found (404), whoever asks; other roles are refused (403). Values are
shown before → after, with ID and phone numbers masked: the audit log records them in
full, and an auditor reviews changes, not people.
"""

from __future__ import annotations

from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from households.privacy import mask_value
from registry.models import AuditEntry
from registry.roles import Capability, user_has_capability
from registry.scoping import scope_queryset
from registry.views import forbidden

PAGE_SIZE = 50
AUDITED_APPS = ("registry", "villages", "households", "assessments")


def changes_of(entry: AuditEntry) -> list[dict]:
    """Return the fields an entry records as rows of (field, before, after), masked."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    rows = []
    for key in list(dict.fromkeys([*before, *after])):
        rows.append(
            {
                "field": key,
                "before": mask_value(key, before.get(key)) if key in before else None,
                "after": mask_value(key, after.get(key)) if key in after else None,
                "has_before": key in before,
                "has_after": key in after,
            }
        )
    if entry.before is not None and not isinstance(entry.before, dict):
        rows.append({"field": "", "before": entry.before, "after": None, "has_before": True, "has_after": False})
    if entry.after is not None and not isinstance(entry.after, dict):
        rows.append({"field": "", "before": None, "after": entry.after, "has_before": False, "has_after": True})
    return rows


AUDITORS_ONLY = _("只有审计人员可以查看审计记录。")


def _scoped_entries(request):
    return scope_queryset(AuditEntry.objects.select_related("content_type"), request.user)


def _page(queryset, request) -> tuple[list[AuditEntry], int | None]:
    """Return one page of entries, newest first, and the id to continue before (keyset paging)."""
    before = request.GET.get("before", "")
    if before.isdigit():
        queryset = queryset.filter(pk__lt=int(before))
    rows = list(queryset.order_by("-pk")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    for entry in rows:
        entry.changes = changes_of(entry)
    return rows, (rows[-1].pk if more else None)


def _day_bound(value: str, end: bool):
    day = parse_date(value or "")
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


@login_required
def audit_log(request):
    """The audit log of the jurisdiction, filtered by who, what, which kind of object and when."""
    if not user_has_capability(request.user, Capability.READ_AUDIT):
        return forbidden(request, AUDITORS_ONLY)
    entries = _scoped_entries(request)
    filters = {key: request.GET.get(key, "").strip() for key in ("actor", "action", "type", "since", "until")}
    if filters["actor"]:
        entries = entries.filter(actor_username=filters["actor"])
    if filters["action"]:
        entries = entries.filter(action__startswith=filters["action"])
    types = ContentType.objects.filter(app_label__in=AUDITED_APPS).order_by("app_label", "model")
    if filters["type"].isdigit():
        entries = entries.filter(content_type_id=int(filters["type"]))
    since, until = _day_bound(filters["since"], end=False), _day_bound(filters["until"], end=True)
    if since:
        entries = entries.filter(created_at__gte=since)
    if until:
        entries = entries.filter(created_at__lte=until)
    rows, next_before = _page(entries, request)
    return render(
        request,
        "audit/log.html",
        {"entries": rows, "next_before": next_before, "filters": filters, "types": types},
    )


@login_required
def audit_object(request, content_type_id: int, object_id: str):
    """The whole history of one object, oldest first, each step before → after."""
    try:
        content_type = ContentType.objects.get_for_id(content_type_id)
    except ContentType.DoesNotExist as exc:
        raise Http404 from exc
    entries = list(
        _scoped_entries(request).filter(content_type=content_type, object_id=object_id).order_by("pk")[:1000]
    )
    if not entries:
        raise Http404
    if not user_has_capability(request.user, Capability.READ_AUDIT):
        return forbidden(request, AUDITORS_ONLY)
    for entry in entries:
        entry.changes = changes_of(entry)
    return render(
        request,
        "audit/object.html",
        {"entries": entries, "content_type": content_type, "object_repr": entries[-1].object_repr},
    )


@login_required
def audit_user(request, username: str):
    """Everything one account (or the system, ``system``) did inside the jurisdiction."""
    rows, next_before = _page(_scoped_entries(request).filter(actor_username=username), request)
    if not rows and "before" not in request.GET:
        raise Http404
    if not user_has_capability(request.user, Capability.READ_AUDIT):
        return forbidden(request, AUDITORS_ONLY)
    return render(request, "audit/user.html", {"entries": rows, "next_before": next_before, "username": username})
