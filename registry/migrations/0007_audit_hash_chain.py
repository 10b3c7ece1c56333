"""The audit log becomes append-only and hash-chained (审计链).

On PostgreSQL:

- a row trigger refuses every ``UPDATE`` and ``DELETE`` of ``registry_auditentry``, except
  the chaining trigger's own one-time filling of the chain columns of a row not yet
  chained; a statement trigger refuses ``TRUNCATE`` unless the session set
  ``registry.audit_allow_truncate`` (the test suite does, to empty its database);
- a row trigger stamps each new row with its transaction and clears any chain values the
  writer tried to supply; a statement trigger records the transaction in
  ``registry_auditcommit``;
- at commit, a deferred constraint trigger takes the same advisory lock as the change
  feed (so the two never wait on each other in opposite orders), and chains the
  transaction's rows in id order: each gets the next position and
  ``row_hash = sha256(key ‖ sha256(key ‖ [prev_hash, position, columns…]))``, where the key
  is the session's ``registry.audit_key`` (set by the application on every connection, from
  a secret kept outside the database). A row written without the key is refused at
  commit, so only the application can extend the chain, and nobody without the key can
  recompute it after an edit;
- ``registry_auditchainhead`` keeps the last position and hash, so that rows deleted from
  the end show too.

``manage.py verify_audit`` recomputes every hash (registry.audit_chain). Rows written
before this migration are chained by it, in id order.
"""

from django.db import migrations, models

#: The change feed's commit lock (0005_change_feed); both chains take it first.
COMMIT_LOCK = 8_224_601_517

CHAIN_COLUMNS = "txid, chain_position, prev_hash, row_hash"

SQL = f"""
CREATE OR REPLACE FUNCTION registry_audit_digest(key text, prev text, pos bigint, e registry_auditentry)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(key || encode(sha256(convert_to(key || jsonb_build_array(
        prev, pos, e.id, to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        e.actor_id, e.actor_username, host(e.client_address), e.content_type_id, e.object_id,
        e.object_repr, e.scope_code, e.action, e.before, e.after
    )::text, 'UTF8')), 'hex'), 'UTF8')), 'hex')
$$;

CREATE OR REPLACE FUNCTION registry_audit_chain_rows(p_txid bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    key text := current_setting('registry.audit_key', true);
    head registry_auditchainhead;
    r registry_auditentry;
    hash text;
    ids bigint[] := '{{}}';
    positions bigint[] := '{{}}';
    prevs text[] := '{{}}';
    hashes text[] := '{{}}';
BEGIN
    IF coalesce(key, '') = '' THEN
        RAISE EXCEPTION 'registry: audit rows may be written only by the application (no audit key in this session)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM pg_advisory_xact_lock({COMMIT_LOCK});
    SELECT * INTO head FROM registry_auditchainhead ORDER BY id LIMIT 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO registry_auditchainhead (position, row_hash) VALUES (0, '') RETURNING * INTO head;
    END IF;
    FOR r IN
        SELECT * FROM registry_auditentry
         WHERE chain_position IS NULL AND (p_txid IS NULL OR txid = p_txid)
         ORDER BY id
    LOOP
        head.position := head.position + 1;
        hash := registry_audit_digest(key, head.row_hash, head.position, r);
        ids := ids || r.id;
        positions := positions || head.position;
        prevs := prevs || head.row_hash;
        hashes := hashes || hash;
        head.row_hash := hash;
    END LOOP;
    IF cardinality(ids) > 0 THEN
        UPDATE registry_auditentry e
           SET chain_position = u.pos, prev_hash = u.prev, row_hash = u.hash
          FROM unnest(ids, positions, prevs, hashes) AS u(id, pos, prev, hash)
         WHERE e.id = u.id;
        UPDATE registry_auditchainhead
           SET position = head.position, row_hash = head.row_hash, updated_at = clock_timestamp()
         WHERE id = head.id;
    END IF;
    RETURN cardinality(ids);
END $$;

CREATE OR REPLACE FUNCTION registry_audit_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registry_audit_chain_rows(NEW.txid);
    DELETE FROM registry_auditcommit WHERE txid = NEW.txid;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION registry_audit_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.txid := txid_current();
    NEW.chain_position := NULL;
    NEW.prev_hash := '';
    NEW.row_hash := '';
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION registry_audit_note_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO registry_auditcommit (txid) VALUES (txid_current()) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION registry_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.chain_position IS NULL AND NEW.chain_position IS NOT NULL
       AND (NEW.id, NEW.created_at, NEW.actor_id, NEW.actor_username, NEW.client_address,
            NEW.content_type_id, NEW.object_id, NEW.object_repr, NEW.scope_code, NEW.action,
            NEW.before, NEW.after, NEW.txid)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.created_at, OLD.actor_id, OLD.actor_username, OLD.client_address,
            OLD.content_type_id, OLD.object_id, OLD.object_repr, OLD.scope_code, OLD.action,
            OLD.before, OLD.after, OLD.txid) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'registry: the audit log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION registry_audit_guard_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('registry.audit_allow_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'registry: the audit log is append-only (TRUNCATE refused)'
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER registry_audit_stamp BEFORE INSERT ON registry_auditentry
    FOR EACH ROW EXECUTE FUNCTION registry_audit_stamp();
CREATE TRIGGER registry_audit_note_commit AFTER INSERT ON registry_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION registry_audit_note_commit();
CREATE TRIGGER registry_audit_guard BEFORE UPDATE OR DELETE ON registry_auditentry
    FOR EACH ROW EXECUTE FUNCTION registry_audit_guard();
CREATE TRIGGER registry_audit_guard_truncate BEFORE TRUNCATE ON registry_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION registry_audit_guard_truncate();
CREATE CONSTRAINT TRIGGER registry_audit_commit AFTER INSERT ON registry_auditcommit
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION registry_audit_commit();
"""

UNINSTALL = """
DROP TRIGGER IF EXISTS registry_audit_commit ON registry_auditcommit;
DROP TRIGGER IF EXISTS registry_audit_guard_truncate ON registry_auditentry;
DROP TRIGGER IF EXISTS registry_audit_guard ON registry_auditentry;
DROP TRIGGER IF EXISTS registry_audit_note_commit ON registry_auditentry;
DROP TRIGGER IF EXISTS registry_audit_stamp ON registry_auditentry;
DROP FUNCTION IF EXISTS registry_audit_guard_truncate();
DROP FUNCTION IF EXISTS registry_audit_guard();
DROP FUNCTION IF EXISTS registry_audit_note_commit();
DROP FUNCTION IF EXISTS registry_audit_stamp();
DROP FUNCTION IF EXISTS registry_audit_commit();
DROP FUNCTION IF EXISTS registry_audit_chain_rows(bigint);
DROP FUNCTION IF EXISTS registry_audit_digest(text, text, bigint, registry_auditentry);
"""


def install(apps, schema_editor):
    """Install the triggers and chain the rows written so far, in id order."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL)  # no parameters: the "%" of RAISE stays literal
        cursor.execute("SELECT EXISTS (SELECT 1 FROM registry_auditentry)")
        if cursor.fetchone()[0]:
            cursor.execute("SELECT registry_audit_chain_rows(NULL)")


def uninstall(apps, schema_editor):
    schema_editor.execute(UNINSTALL)


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('registry', '0006_change_feed_horizon'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditChainHead',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.BigIntegerField(default=0, verbose_name='末条链序号')),
                ('row_hash', models.CharField(blank=True, max_length=64, verbose_name='末条摘要')),
                ('updated_at', models.DateTimeField(blank=True, null=True, verbose_name='更新时间')),
            ],
            options={
                'verbose_name': '审计链末端',
                'verbose_name_plural': '审计链末端',
            },
        ),
        migrations.CreateModel(
            name='AuditCommit',
            fields=[
                ('txid', models.BigIntegerField(primary_key=True, serialize=False, verbose_name='事务号')),
            ],
            options={
                'verbose_name': '待入链事务',
                'verbose_name_plural': '待入链事务',
            },
        ),
        migrations.AddField(
            model_name='auditentry',
            name='chain_position',
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True, verbose_name='链序号'),
        ),
        migrations.AddField(
            model_name='auditentry',
            name='prev_hash',
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name='前一条摘要'),
        ),
        migrations.AddField(
            model_name='auditentry',
            name='row_hash',
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name='本条摘要'),
        ),
        migrations.AddField(
            model_name='auditentry',
            name='txid',
            field=models.BigIntegerField(blank=True, editable=False, null=True, verbose_name='事务号'),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(condition=models.Q(('chain_position__isnull', True)), fields=['txid'], name='audit_unchained_idx'),
        ),
        migrations.RunPython(install, uninstall),
    ]
