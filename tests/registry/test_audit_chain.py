"""The audit log is append-only and hash-chained; ``verify_audit`` finds any tampering.

These tests really commit (the chain is made at commit), then tamper the way someone
with database access would: with triggers switched off (``session_replication_role``),
through raw SQL. Each time ``verify_audit`` must name the first row that no longer fits.
"""

from __future__ import annotations

import itertools
import threading

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from registry.audit import audit_record
from registry.audit_chain import verify_chain
from registry.models import AuditChainHead, AuditEntry, User

pytestmark = pytest.mark.django_db(transaction=True)


def write_entries(count: int, actor=None) -> list[int]:
    """Commit ``count`` audit rows, one transaction each, and return their ids."""
    user = User.objects.get_or_create(username="chain-subject")[0]
    ids = []
    for n in range(count):
        with transaction.atomic():
            ids.append(audit_record(actor=actor, action="test.write", instance=user, after={"n": n, "名": "栗安"}).pk)
    return ids


def raw(sql: str, params=None):
    """Run SQL with every trigger switched off, as a superuser tampering would."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def verify_output() -> tuple[int, str]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, err.getvalue()
    return 0, out.getvalue()


def test_committed_rows_are_chained_in_order_and_verify():
    ids = write_entries(5)
    rows = list(AuditEntry.objects.filter(pk__in=ids).order_by("chain_position"))
    assert [r.pk for r in rows] == ids
    positions = [r.chain_position for r in rows]
    assert positions == list(range(positions[0], positions[0] + 5))
    for previous, row in itertools.pairwise(rows):
        assert row.prev_hash == previous.row_hash and len(row.row_hash) == 64
    head = AuditChainHead.objects.get()
    assert (head.position, head.row_hash) == (rows[-1].chain_position, rows[-1].row_hash)
    code, output = verify_output()
    assert code == 0 and "intact" in output, output


def test_the_database_refuses_update_delete_and_truncate():
    [entry_id] = write_entries(1)
    for sql in (
        "UPDATE registry_auditentry SET action = 'forged' WHERE id = %s",
        "DELETE FROM registry_auditentry WHERE id = %s",
    ):
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [entry_id])
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('registry.audit_allow_truncate', 'off', true)")
            cursor.execute("TRUNCATE registry_auditentry")
    assert AuditEntry.objects.get(pk=entry_id).action == "test.write"
    assert verify_chain().intact


def test_the_orm_cannot_change_a_row_either():
    [entry_id] = write_entries(1)
    entry = AuditEntry.objects.get(pk=entry_id)
    entry.action = "forged"
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        entry.save()
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry_id).delete()


def test_a_row_changed_behind_the_application_is_named():
    ids = write_entries(4)
    raw("UPDATE registry_auditentry SET after = '{\"n\": 99}' WHERE id = %s", [ids[2]])
    code, output = verify_output()
    assert code == 1
    assert f"row id={ids[2]}" in output and "修改" in output
    assert verify_chain().first_break.entry_id == ids[2]


def test_a_changed_actor_or_time_is_caught_too():
    ids = write_entries(3)
    raw("UPDATE registry_auditentry SET created_at = created_at - interval '1 day' WHERE id = %s", [ids[0]])
    assert verify_chain().first_break.entry_id == ids[0]


def test_a_deleted_row_is_named_by_the_row_after_it():
    ids = write_entries(4)
    raw("DELETE FROM registry_auditentry WHERE id = %s", [ids[1]])
    found = verify_chain().first_break
    assert found.entry_id == ids[2]
    assert "删除" in found.reason


def test_rows_deleted_from_the_end_are_caught_by_the_head():
    ids = write_entries(3)
    raw("DELETE FROM registry_auditentry WHERE id = %s", [ids[-1]])
    code, output = verify_output()
    assert code == 1 and "end of chain" in output


def test_a_row_inserted_behind_the_application_is_caught():
    ids = write_entries(2)
    raw(
        "INSERT INTO registry_auditentry (created_at, actor_username, content_type_id, object_id, object_repr,"
        " scope_code, action, prev_hash, row_hash) SELECT now(), 'ghost', content_type_id, object_id, object_repr,"
        " scope_code, 'forged', '', '' FROM registry_auditentry WHERE id = %s",
        [ids[0]],
    )
    found = verify_chain().first_break
    assert found is not None and "未入链" in found.reason


def test_a_forged_chain_without_the_key_does_not_verify():
    """Someone who recomputes the hashes with a guessed key still breaks the chain."""
    ids = write_entries(3)
    raw("UPDATE registry_auditentry SET action = 'forged' WHERE id = %s", [ids[1]])
    raw(
        "UPDATE registry_auditentry e SET row_hash = registry_audit_digest('guess', e.prev_hash, e.chain_position, e)"
        " WHERE id = %s",
        [ids[1]],
    )
    assert verify_chain().first_break.entry_id == ids[1]


def test_a_session_without_the_key_cannot_write_audit_rows():
    write_entries(1)
    settings_dict = connection.settings_dict
    raw_connection = psycopg2.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
    )
    try:
        with raw_connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO registry_auditentry (created_at, actor_username, content_type_id, object_id, object_repr,"
                " scope_code, action, prev_hash, row_hash) SELECT now(), 'intruder', content_type_id, object_id,"
                " object_repr, scope_code, 'forged', '', '' FROM registry_auditentry LIMIT 1"
            )
            with pytest.raises(psycopg2.Error, match="only by the application"):
                raw_connection.commit()
    finally:
        raw_connection.close()
    assert not AuditEntry.objects.filter(actor_username="intruder").exists()
    assert verify_chain().intact


def test_concurrent_writers_keep_one_unbroken_chain():
    write_entries(1)
    errors = []
    start = threading.Barrier(4)

    def writer():
        try:
            start.wait()
            write_entries(10)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    verdict = verify_chain()
    assert verdict.intact and verdict.rows == 41 and verdict.head_position == 41
