"""Audit pages for auditors (审计查询): the log, one object's whole history, one user's acts.

Only roles with ``READ_AUDIT`` see them, and only the rows of their jurisdiction (the
row's ``scope_code``): like every page, an object or account with no row in the user's
jurisdiction is not found (404), whoever asks; other roles are refused (403). Values are
shown before → after, with ID and phone numbers masked: the audit log records them in
full, and an auditor reviews changes, not people.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from registry import selectors
from registry.roles import Capability, user_has_capability
from registry.views import forbidden

AUDITORS_ONLY = _("只有审计人员可以查看审计记录。")
FILTERS = ("actor", "action", "type", "since", "until")


@login_required
def audit_log(request):
    """The audit log of the jurisdiction, filtered by who, what, which kind of object and when."""
    if not user_has_capability(request.user, Capability.READ_AUDIT):
        return forbidden(request, AUDITORS_ONLY)
    filters = {key: request.GET.get(key, "").strip() for key in FILTERS}
    entries = selectors.audit_entry_list(user=request.user, filters=filters)
    rows, next_before = selectors.audit_page(entries, before=request.GET.get("before", ""))
    return render(
        request,
        "audit/log.html",
        {"entries": rows, "next_before": next_before, "filters": filters, "types": selectors.audited_types()},
    )


@login_required
def audit_object(request, content_type_id: int, object_id: str):
    """The whole history of one object, oldest first, each step before → after."""
    try:
        content_type = ContentType.objects.get_for_id(content_type_id)
    except ContentType.DoesNotExist as exc:
        raise Http404 from exc
    entries = selectors.audit_history(user=request.user, content_type=content_type, object_id=object_id)
    if not entries:
        raise Http404
    if not user_has_capability(request.user, Capability.READ_AUDIT):
        return forbidden(request, AUDITORS_ONLY)
    return render(
        request,
        "audit/object.html",
        {"entries": entries, "content_type": content_type, "object_repr": entries[-1].object_repr},
    )


@login_required
def audit_user(request, username: str):
    """Everything one account (or the system, ``system``) did inside the jurisdiction."""
    entries = selectors.audit_entry_list(user=request.user, filters={"actor": username})
    rows, next_before = selectors.audit_page(entries, before=request.GET.get("before", ""))
    if not rows and "before" not in request.GET:
        raise Http404
    if not user_has_capability(request.user, Capability.READ_AUDIT):
        return forbidden(request, AUDITORS_ONLY)
    return render(request, "audit/user.html", {"entries": rows, "next_before": next_before, "username": username})
