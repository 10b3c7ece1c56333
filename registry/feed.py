"""The change feed (变更流): every change to the synchronised tables, in commit order.

Triggers (migration ``registry.0005_change_feed``) write one :class:`~registry.models.Change`
per changed row and number each transaction at its commit (``ChangeCommit.position``),
in the order commits become visible. A cursor is ``<position>.<change id>`` (or just
``<position>``, meaning "after all of that transaction"). Reading everything after a
cursor, then resuming from the last cursor read, never misses or repeats a change: a
transaction still running when a page is read gets a position above every position that
page could have seen.

Readers run in one repeatable-read snapshot, so the page, the head position and the
objects rendered with it agree with each other.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.audit import audit_record
from registry.errors import ApplicationError
from registry.scoping import Scope, prefix_bounds

#: The object types the feed carries, in the order a client should create them.
KINDS = ("household", "member", "assessment", "exit_case")

CURSOR_EXPIRED = _("游标已过期：变更流已清理到提交序号 %(position)s。请重新全量导出，再从导出的游标继续。")
INVALID_CURSOR = _("游标格式应为“提交序号.变更号”或“提交序号”，取自上一次响应的 next_cursor 或导出的游标。")

_CURSOR = re.compile(r"^(\d{1,18})(?:\.(\d{1,18}))?$")
#: Beyond any change id: ``P`` as a cursor means "after every change of position P".
END_OF_COMMIT = 2**63 - 1


@dataclass(frozen=True, order=True)
class Cursor:
    """A place in the feed: after change ``change_id`` of the commit at ``position``."""

    position: int = 0
    change_id: int = END_OF_COMMIT

    @classmethod
    def parse(cls, raw: str | None, field: str = "after") -> Cursor:
        """Return the cursor written as ``raw`` (empty: the beginning), or raise a 400."""
        if raw in (None, ""):
            return cls()
        match = _CURSOR.match(raw)
        if not match:
            raise ApplicationError(INVALID_CURSOR, code="invalid", fields={field: [str(INVALID_CURSOR)]})
        position, change_id = match.groups()
        return cls(int(position), int(change_id) if change_id else END_OF_COMMIT)

    def __str__(self):
        if self.change_id == END_OF_COMMIT:
            return str(self.position)
        return f"{self.position}.{self.change_id}"


@dataclass(frozen=True)
class ChangeRow:
    cursor: Cursor
    kind: str
    object_id: int
    op: str
    changed_at: datetime
    committed_at: datetime


@dataclass(frozen=True)
class FeedPage:
    rows: list[ChangeRow]
    next_cursor: Cursor
    has_more: bool


@contextmanager
def snapshot():
    """Run the block in one repeatable-read, read-only transaction (one consistent snapshot).

    Inside an already open transaction (a test's, say) the block joins it instead.
    """
    outer = connection.in_atomic_block
    with transaction.atomic():
        if not outer:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def head_cursor() -> Cursor:
    """Return the cursor after the last commit visible now (a snapshot's place in the feed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(position), 0) FROM registry_changecommit")
        return Cursor(cursor.fetchone()[0])


def _scope_sql(scope: Scope) -> tuple[str, list]:
    if scope.unrestricted:
        return "", []
    if not scope.prefixes:
        return " AND FALSE", []
    parts, params = [], []
    for prefix in scope.prefixes:
        low, high = prefix_bounds(prefix)
        parts.append("(c.scope_code BETWEEN %s AND %s OR c.old_scope_code BETWEEN %s AND %s)")
        params += [low, high, low, high]
    return " AND (" + " OR ".join(parts) + ")", params


def horizon() -> int:
    """Return the last commit position pruned from the feed (0: nothing pruned)."""
    from registry.models import ChangeHorizon

    return ChangeHorizon.objects.values_list("position", flat=True).first() or 0


def feed_prune(*, before: datetime) -> int:
    """Delete the changes of transactions committed before ``before``; return how many.

    Clients whose cursor lies before the new horizon get ``cursor_expired`` (410) and must
    take a new export. Run by ``prune_changes`` (schedule it; the feed grows otherwise).
    """
    from registry.models import Change, ChangeCommit, ChangeHorizon

    with transaction.atomic():
        last = (
            ChangeCommit.objects.filter(position__isnull=False, committed_at__lt=before)
            .order_by("-position")
            .values_list("position", flat=True)
            .first()
        )
        if last is None:
            return 0
        commits = ChangeCommit.objects.filter(position__lte=last)
        deleted, _by_model = Change.objects.filter(txid__in=commits.values("txid")).delete()
        commits.delete()
        before_position = horizon()
        mark, _created = ChangeHorizon.objects.update_or_create(
            pk=1, defaults={"position": last, "pruned_at": timezone.now()}
        )
        audit_record(
            actor=None,
            action="change_feed.prune",
            instance=mark,
            before={"position": before_position},
            after={"position": last, "changes_deleted": deleted},
        )
    return deleted


def feed_read(*, scope: Scope, after: Cursor, limit: int, kinds: tuple[str, ...] = KINDS) -> FeedPage:
    """Return up to ``limit`` changes after ``after`` inside ``scope``, oldest first.

    Call inside :func:`snapshot`. When the page is not full, the next cursor moves to
    the head of the feed, so a client whose jurisdiction sees few of the province's
    changes does not scan the others again on its next call.
    """
    pruned = horizon()
    if after.position < pruned:
        raise ApplicationError(CURSOR_EXPIRED % {"position": pruned}, code="cursor_expired", status=410)
    scope_clause, scope_params = _scope_sql(scope)
    sql = (
        "SELECT cc.position, c.id, c.kind, c.object_id, c.op, c.changed_at, cc.committed_at "
        "FROM registry_changecommit cc JOIN registry_change c ON c.txid = cc.txid "
        "WHERE cc.position IS NOT NULL AND (cc.position > %s OR (cc.position = %s AND c.id > %s)) "
        "AND c.kind = ANY(%s)" + scope_clause + " ORDER BY cc.position, c.id LIMIT %s"
    )
    params = [after.position, after.position, min(after.change_id, END_OF_COMMIT), list(kinds), *scope_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit + 1])
        fetched = cursor.fetchall()
    rows = [
        ChangeRow(Cursor(position, change_id), kind, object_id, op, changed_at, committed_at)
        for position, change_id, kind, object_id, op, changed_at, committed_at in fetched[:limit]
    ]
    has_more = len(fetched) > limit
    if has_more:
        next_cursor = rows[-1].cursor
    else:
        next_cursor = max([after, head_cursor(), *(r.cursor for r in rows[-1:])])
    return FeedPage(rows=rows, next_cursor=next_cursor, has_more=has_more)
