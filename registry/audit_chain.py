"""The audit chain (审计链): the key every connection carries, and its verification.

The chain itself is kept by PostgreSQL triggers (see migration 0007_audit_hash_chain):
every audit row, at commit, gets the next position and a keyed hash over its contents
and the previous row's hash. :func:`verify_chain` recomputes them all in one query and
names the first row that does not fit — a row edited, deleted or inserted behind the
application's back.

The key comes from ``REGISTRY_AUDIT_KEY`` (by default derived from ``SECRET_KEY``); a
restored backup verifies only with the key it was written with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created
from django.utils.translation import gettext as _


def audit_key() -> str:
    """Return the secret the chain is keyed with."""
    configured = getattr(settings, "REGISTRY_AUDIT_KEY", "")
    if configured:
        return configured
    return hashlib.sha256(f"registry-audit-chain:{settings.SECRET_KEY}".encode()).hexdigest()


def configure_connection(sender, connection, **kwargs):
    """Give a new database session the audit key (and, in tests, leave to truncate)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('registry.audit_key', %s, false),"
            " set_config('registry.audit_allow_truncate', %s, false)",
            [audit_key(), "on" if getattr(settings, "REGISTRY_AUDIT_ALLOW_TRUNCATE", False) else "off"],
        )


def connect_signals():
    connection_created.connect(configure_connection, dispatch_uid="registry_audit_key")


@dataclass(frozen=True)
class Break:
    """The first place the chain does not hold."""

    entry_id: int | None
    position: int | None
    reason: str


@dataclass(frozen=True)
class Verdict:
    rows: int
    head_position: int
    first_break: Break | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


_FIRST_BAD_LINK = """
WITH chain AS (
    SELECT e.id, e.chain_position, e.prev_hash, e.row_hash,
           registry_audit_digest(%(key)s, e.prev_hash, e.chain_position, e) AS expected_hash,
           coalesce(lag(e.row_hash) OVER w, '') AS expected_prev,
           coalesce(lag(e.chain_position) OVER w, 0) + 1 AS expected_position
      FROM registry_auditentry e
     WHERE e.chain_position IS NOT NULL
    WINDOW w AS (ORDER BY e.chain_position)
)
SELECT id, chain_position,
       CASE WHEN chain_position <> expected_position THEN 'gap'
            WHEN prev_hash <> expected_prev THEN 'link'
            ELSE 'hash' END
  FROM chain
 WHERE chain_position <> expected_position OR prev_hash <> expected_prev OR row_hash <> expected_hash
 ORDER BY chain_position
 LIMIT 1
"""


def _reason(kind: str, position: int) -> str:
    if kind == "gap":
        return _("第 %(position)d 条之前缺少记录（链序号不连续），记录被删除。") % {"position": position}
    if kind == "link":
        return _("第 %(position)d 条与前一条的摘要不衔接，前一条被删除、替换或插入。") % {"position": position}
    return _("第 %(position)d 条的内容与摘要不符，记录被修改。") % {"position": position}


def verify_chain(using: str = "default") -> Verdict:
    """Recompute the whole chain and return the first break, if any (PostgreSQL only)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), max(chain_position) FROM registry_auditentry")
        rows, last_position = cursor.fetchone()
        cursor.execute("SELECT position, row_hash FROM registry_auditchainhead ORDER BY id LIMIT 1")
        head = cursor.fetchone() or (0, "")
        cursor.execute(_FIRST_BAD_LINK, {"key": audit_key()})
        bad = cursor.fetchone()
        if bad:
            entry_id, position, kind = bad
            return Verdict(rows, head[0], Break(entry_id, position, _reason(kind, position)))
        cursor.execute("SELECT id FROM registry_auditentry WHERE chain_position IS NULL ORDER BY id LIMIT 1")
        unchained = cursor.fetchone()
        if unchained:
            reason = _("记录 id=%(id)d 未入链：它绕过应用写入（触发器被停用或直接导入）。") % {"id": unchained[0]}
            return Verdict(rows, head[0], Break(unchained[0], None, reason))
        cursor.execute("SELECT row_hash FROM registry_auditentry WHERE chain_position = %s", [last_position])
        last_hash = (cursor.fetchone() or ("",))[0]
        if (last_position or 0, last_hash) != (head[0], head[1]):
            reason = _("链末端记载到第 %(head)d 条，现存最后一条是第 %(last)d 条：末尾的记录被删除或链末端被改动。") % {
                "head": head[0],
                "last": last_position or 0,
            }
            return Verdict(rows, head[0], Break(None, last_position, reason))
    return Verdict(rows, head[0], None)
