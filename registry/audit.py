"""The audit base (审计): every write records who, when, from where, what, before → after.

Services call :func:`audit_record` inside their own transaction; a call outside a
transaction is a programming error and raises, so the habit cannot be skipped quietly.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models

from registry.errors import NOT_IN_TRANSACTION

#: The client address of the current request, set by ``ClientAddressMiddleware``.
client_address_var: ContextVar[str | None] = ContextVar("registry_client_address", default=None)

SYSTEM_ACTOR = "system"


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict:
    """Return the concrete field values of ``instance`` as a JSON-ready dict.

    Foreign keys are recorded by their key (``village`` → ``"431129201001"``); many-to-many
    fields are recorded as sorted lists of keys when the instance is saved.
    """
    data = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields and field.attname not in fields:
            continue
        data[field.name] = _jsonable(field.value_from_object(instance))
    if instance.pk is not None:
        for field in instance._meta.many_to_many:
            if fields is None or field.name in fields:
                data[field.name] = sorted(str(pk) for pk in getattr(instance, field.name).values_list("pk", flat=True))
    return data


def _jsonable(value):
    if isinstance(value, (date, datetime, Decimal)):
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    return value


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """Return only the keys that changed between two snapshots, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def audit_record(
    *,
    actor,
    action: str,
    instance: models.Model,
    scope_code: str = "",
    before: dict | None = None,
    after: dict | None = None,
):
    """Write one audit row for ``action`` on ``instance`` by ``actor`` (``None``: the system).

    Must run inside the calling service's ``transaction.atomic`` block, so the audit row
    commits or rolls back with the change it describes.
    """
    if not connection.in_atomic_block:
        raise RuntimeError(NOT_IN_TRANSACTION)
    entry = _entry(actor, action, instance, scope_code=scope_code, before=before, after=after)
    entry.save(force_insert=True)
    return entry


def audit_records(*, actor, action: str, entries: list[tuple[models.Model, str, dict]]) -> None:
    """Write one audit row per ``(instance, scope_code, after)`` of ``entries``, in one insert.

    For a bulk service (an import): the rows are those :func:`audit_record` would write,
    inside the calling service's transaction likewise.
    """
    from registry.models import AuditEntry

    if not connection.in_atomic_block:
        raise RuntimeError(NOT_IN_TRANSACTION)
    AuditEntry.objects.bulk_create(
        [_entry(actor, action, instance, scope_code=scope_code, after=after) for instance, scope_code, after in entries]
    )


def _entry(actor, action: str, instance: models.Model, *, scope_code: str, before=None, after=None):
    from registry.models import AuditEntry

    return AuditEntry(
        actor=actor if actor is not None and actor.pk else None,
        actor_username=actor.get_username() if actor is not None else SYSTEM_ACTOR,
        client_address=client_address_var.get(),
        content_type=ContentType.objects.get_for_model(instance, for_concrete_model=True),
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        scope_code=scope_code,
        action=action,
        before=before,
        after=after,
    )
