"""The change feed: tables, and the PostgreSQL triggers that fill them.

Statement-level triggers (with transition tables, so a bulk insert costs one statement)
record every insert, update and delete of households, members, assessments and exit
cases in ``registry_change``, with the village code the object belongs to. Where an
object's representation shows another's data, a change of that data also records an
update of the objects showing it: a member change updates its household (members are
nested) and, when the name, relationship or status changes, the household's assessments
and exit cases (they show the head's name); a change of a household's status, number or
village updates its members, assessments and exit cases (they show those). The first
change of a transaction also inserts the transaction's ``registry_changecommit`` row;
a deferred constraint trigger on that row runs at commit, takes a transaction-level
advisory lock, and numbers the transaction from a sequence. The lock is released only
after the commit is visible, so positions are handed out in commit order and a reader
that has seen position N has seen every position below it.
"""

import django.utils.timezone
from django.db import migrations, models


#: Arbitrary constant naming the advisory lock that orders commits.
SEQUENCE_LOCK = 8_224_601_517

#: (kind, table, how to find the village code of a row ``r`` of that table, join clause)
TRACKED = [
    ("household", "households_household", "{r}.village_id", ""),
    (
        "member",
        "households_member",
        "COALESCE({h}.village_id, rpad({r}.county_code, 12, '0'))",
        "LEFT JOIN households_household {h} ON {h}.id = {r}.household_id",
    ),
    (
        "assessment",
        "assessments_assessment",
        "COALESCE({h}.village_id, rpad({r}.county_code, 12, '0'))",
        "LEFT JOIN households_household {h} ON {h}.id = {r}.household_id",
    ),
    (
        "exit_case",
        "assessments_exitcase",
        "COALESCE({h}.village_id, rpad({r}.county_code, 12, '0'))",
        "LEFT JOIN households_household {h} ON {h}.id = {r}.household_id",
    ),
]

INSERT = "INSERT INTO registry_change (txid, kind, object_id, op, scope_code, old_scope_code, changed_at)"


def _touch(kind: str, table: str, household_ids: str) -> str:
    """Return SQL recording an update of the ``kind`` rows of the households ``household_ids``."""
    if kind == "household":
        return f"""
        {INSERT}
        SELECT txid_current(), 'household', h.id, 'u', h.village_id, '', now()
        FROM households_household h WHERE h.id IN ({household_ids}) ORDER BY h.id;"""
    return f"""
        {INSERT}
        SELECT txid_current(), '{kind}', t.id, 'u', h.village_id, '', now()
        FROM {table} t JOIN households_household h ON h.id = t.household_id
        WHERE t.household_id IN ({household_ids}) ORDER BY t.id;"""


#: Household columns that members, assessments and exit cases show.
HOUSEHOLD_SHOWN = "status, registry_number, village_id"
#: Member columns that decide the head's name, which assessments and exit cases show.
MEMBER_SHOWN = "name, relationship, status"
SHOWING_HEAD = [("assessment", "assessments_assessment"), ("exit_case", "assessments_exitcase")]
SHOWING_HOUSEHOLD = [("member", "households_member"), *SHOWING_HEAD]


def _changed(columns: str) -> str:
    pairs = ", ".join(f"n.{c.strip()}" for c in columns.split(","))
    olds = ", ".join(f"o.{c.strip()}" for c in columns.split(","))
    return f"({pairs}) IS DISTINCT FROM ({olds})"


def _dependents(kind: str) -> tuple[str, str, str]:
    """Return the SQL touching the objects that show ``kind`` rows, after insert, update, delete."""
    if kind == "member":
        inserted = "SELECT household_id FROM new_rows"
        deleted = "SELECT household_id FROM old_rows"
        both = f"{inserted} UNION {deleted}"
        shown = (
            "SELECT n.household_id FROM new_rows n JOIN old_rows o ON o.id = n.id "
            f"WHERE {_changed(MEMBER_SHOWN)} OR n.household_id IS DISTINCT FROM o.household_id "
            "UNION SELECT o.household_id FROM new_rows n JOIN old_rows o ON o.id = n.id "
            "WHERE n.household_id IS DISTINCT FROM o.household_id"
        )
        head = "".join(_touch(k, t, ids) for k, t in SHOWING_HEAD for ids in [inserted])
        return (
            _touch("household", "", inserted) + head,
            _touch("household", "", both) + "".join(_touch(k, t, shown) for k, t in SHOWING_HEAD),
            _touch("household", "", deleted) + "".join(_touch(k, t, deleted) for k, t in SHOWING_HEAD),
        )
    if kind == "household":
        shown = f"SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {_changed(HOUSEHOLD_SHOWN)}"
        return "", "".join(_touch(k, t, shown) for k, t in SHOWING_HOUSEHOLD), ""
    return "", "", ""


def _function(kind, table, scope, join):
    new_scope, new_join = scope.format(r="n", h="nh"), join.format(r="n", h="nh")
    old_scope, old_join = scope.format(r="o", h="oh"), join.format(r="o", h="oh")
    touch_new, touch_both, touch_old = _dependents(kind)
    return f"""
CREATE OR REPLACE FUNCTION registry_change_{kind}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    recorded boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        {INSERT}
        SELECT txid_current(), '{kind}', n.id, 'c', {new_scope}, '', now()
        FROM new_rows n {new_join} ORDER BY n.id;
        recorded := FOUND;{touch_new}
    ELSIF TG_OP = 'UPDATE' THEN
        {INSERT}
        SELECT txid_current(), '{kind}', n.id, 'u', {new_scope},
               CASE WHEN {old_scope} IS DISTINCT FROM {new_scope} THEN {old_scope} ELSE '' END, now()
        FROM new_rows n JOIN old_rows o ON o.id = n.id {new_join} {old_join} ORDER BY n.id;
        recorded := FOUND;{touch_both}
    ELSE
        {INSERT}
        SELECT txid_current(), '{kind}', o.id, 'd', {old_scope}, '', now()
        FROM old_rows o {old_join} ORDER BY o.id;
        recorded := FOUND;{touch_old}
    END IF;
    IF recorded THEN
        INSERT INTO registry_changecommit (txid) VALUES (txid_current()) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS registry_change_ins ON {table};
DROP TRIGGER IF EXISTS registry_change_upd ON {table};
DROP TRIGGER IF EXISTS registry_change_del ON {table};
CREATE TRIGGER registry_change_ins AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_change_{kind}();
CREATE TRIGGER registry_change_upd AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_change_{kind}();
CREATE TRIGGER registry_change_del AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_change_{kind}();
"""


SEQUENCER = f"""
CREATE SEQUENCE IF NOT EXISTS registry_change_position_seq;
CREATE OR REPLACE FUNCTION registry_change_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({SEQUENCE_LOCK});
    UPDATE registry_changecommit
       SET position = nextval('registry_change_position_seq'), committed_at = clock_timestamp()
     WHERE txid = NEW.txid;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS registry_change_sequence ON registry_changecommit;
CREATE CONSTRAINT TRIGGER registry_change_sequence AFTER INSERT ON registry_changecommit
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION registry_change_sequence();
"""


def install(apps, schema_editor):
    schema_editor.execute(SEQUENCER)
    for tracked in TRACKED:
        schema_editor.execute(_function(*tracked))


def uninstall(apps, schema_editor):
    for kind, table, _scope, _join in TRACKED:
        for suffix in ("ins", "upd", "del"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS registry_change_{suffix} ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS registry_change_{kind}()")
    schema_editor.execute("DROP TRIGGER IF EXISTS registry_change_sequence ON registry_changecommit")
    schema_editor.execute("DROP FUNCTION IF EXISTS registry_change_sequence()")
    schema_editor.execute("DROP SEQUENCE IF EXISTS registry_change_position_seq")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_api_token"),
        ("households", "0002_lengthen_status_reason"),
        ("assessments", "0004_monitoring_flags"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChangeCommit",
            fields=[
                ("txid", models.BigIntegerField(primary_key=True, serialize=False, verbose_name="事务号")),
                ("position", models.BigIntegerField(null=True, unique=True, verbose_name="提交序号")),
                ("committed_at", models.DateTimeField(null=True, verbose_name="提交时间")),
            ],
            options={
                "verbose_name": "变更提交",
                "verbose_name_plural": "变更提交",
            },
        ),
        migrations.CreateModel(
            name="Change",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("txid", models.BigIntegerField(verbose_name="事务号")),
                ("kind", models.CharField(max_length=20, verbose_name="对象类型")),
                ("object_id", models.BigIntegerField(verbose_name="对象标识")),
                (
                    "op",
                    models.CharField(
                        choices=[("c", "新增"), ("u", "修改"), ("d", "删除")], max_length=1, verbose_name="操作"
                    ),
                ),
                ("scope_code", models.CharField(max_length=12, verbose_name="所属区划代码")),
                ("old_scope_code", models.CharField(blank=True, default="", max_length=12, verbose_name="原区划代码")),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="时间")),
            ],
            options={
                "verbose_name": "变更记录",
                "verbose_name_plural": "变更记录",
                "indexes": [models.Index(fields=["txid", "id"], name="change_txid_idx")],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
