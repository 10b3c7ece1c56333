"""scripts/backup_restore_check.sh: a pg_dump of the registry restores whole into a new database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.apps import apps
from django.db import connection

from registry.embedded_db import url_for
from tests.factories import make_assessed

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "backup_restore_check.sh"
PROJECT_APPS = ("registry", "villages", "households", "assessments")


def _url(name: str) -> str:
    return url_for(connection.settings_dict, name)


def _connect(name: str):
    db = connection.settings_dict
    return psycopg2.connect(dbname=name, user=db["USER"], host=db["HOST"] or None, port=db["PORT"] or None)


def _project_tables() -> list[str]:
    """Return the tables of the project's apps, many-to-many link tables included."""
    models = [m for app in PROJECT_APPS for m in apps.get_app_config(app).get_models(include_auto_created=True)]
    return sorted({m._meta.db_table for m in models})


def _counts(conn, tables: list[str]) -> dict[str, int]:
    with conn.cursor() as cursor:
        result = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (names from the models)
            result[table] = cursor.fetchone()[0]
    return result


def _drop(name: str) -> None:
    admin = _connect("postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        admin.close()


def test_the_restored_copy_has_every_row(demo, divisions, tmp_path):
    make_assessed(village=divisions["431129203201"])  # rows in every app, audit rows included
    source = connection.settings_dict["NAME"]
    restored = f"{source}_restore_{uuid.uuid4().hex[:8]}"
    dump = tmp_path / "registry.dump"
    env = {**os.environ, "PYTHON": sys.executable, "DJANGO_SETTINGS_MODULE": "registry.settings_test"}
    try:
        run = subprocess.run(
            [str(SCRIPT), "--dump", str(dump), "--restore-db", restored, "--keep", _url(source)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Backup and restore check: OK." in run.stdout
        assert "Migrations: the restored schema is at the code's migrations." in run.stdout
        assert "Audit chain: intact." in run.stdout and "audit chain intact" in run.stdout
        assert dump.stat().st_size > 0
        tables = _project_tables()
        copy = _connect(restored)
        try:
            restored_counts = _counts(copy, tables)
        finally:
            copy.close()
        source_counts = _counts(connection, tables)
        assert restored_counts == source_counts
        assert source_counts["households_household"] > 0 and source_counts["registry_auditentry"] > 0
        assert f"all {len(tables)} tables match" in run.stdout
    finally:
        _drop(restored)
    check = _connect("postgres")
    try:
        with check.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [restored])
            assert cursor.fetchone() is None
    finally:
        check.close()


def test_without_a_database_url_it_explains_itself():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    run = subprocess.run([str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "DATABASE_URL" in run.stderr
