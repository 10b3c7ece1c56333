"""Background jobs survive their worker's death: nothing half-written, nothing running forever.

The crash test starts a real import in a ``manage.py run_jobs`` process, waits until the
job's progress shows it writing (households written, members not yet all), kills the process with SIGKILL, and
checks that PostgreSQL rolled everything back and let go of every lock, that the next
``run_jobs`` marks the orphaned job failed, and that the same file then imports whole.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

import households.imports  # noqa: F401  (registers the import runner)
from bench.data import household_csv, make_villages
from households.models import Household, Member, StatusChange
from registry.embedded_db import url_for
from registry.jobs import JOB_ABANDONED, WORKER_LOCK_CLASS, job_create, job_get_for_user, job_reap_abandoned
from registry.models import AuditEntry, Job
from tests.conftest import JOB_DATABASES

ROOT = Path(__file__).resolve().parents[2]
#: Enough members that writing and committing them takes a while after writing starts.
MEMBERS = 15_000


def raw_connection():
    """Return a connection of its own (another session) to the test database."""
    settings = connection.settings_dict
    return psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
    )


def running_job(actor=None) -> Job:
    job = Job.objects.create(kind="household_import", created_by=actor, params={"dry_run": True})
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    return job


@pytest.mark.django_db(databases=JOB_DATABASES)
def test_a_running_job_whose_worker_is_gone_is_marked_failed(users):
    job = running_job(users["county_jianghua"])
    assert job_reap_abandoned() == 1
    job.refresh_from_db()
    assert (job.status, job.message) == (Job.Status.FAILED, str(JOB_ABANDONED))
    assert job.finished_at is not None


@pytest.mark.django_db(databases=JOB_DATABASES)
def test_a_running_job_whose_worker_lives_is_left_alone(users):
    job = running_job(users["county_jianghua"])
    worker = raw_connection()
    try:
        with worker.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [WORKER_LOCK_CLASS, job.pk])
        assert job_reap_abandoned() == 0
        assert job_get_for_user(user=users["county_jianghua"], job_id=job.pk).status == Job.Status.RUNNING
    finally:
        worker.close()  # the worker dies: its lock goes with its session
    assert job_get_for_user(user=users["county_jianghua"], job_id=job.pk).status == Job.Status.FAILED


# The crash --------------------------------------------------------------------------------


def run_jobs() -> subprocess.Popen:
    """Start ``manage.py run_jobs`` on the test database, as a worker process of its own."""
    url = url_for(connection.settings_dict)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "registry.settings_test"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_jobs"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def wait_until_half_written(job: Job, worker: subprocess.Popen, timeout: float = 120) -> None:
    """Poll the job's progress (written through its own connection) until it is writing, not yet done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.message == "正在写入" and job.done < job.total:
            return
        assert job.status in (Job.Status.QUEUED, Job.Status.RUNNING), (job.status, job.message, job.result)
        assert worker.poll() is None, worker.communicate()
        time.sleep(0.01)
    pytest.fail(f"the import did not reach its writing phase in {timeout} s ({job.done}/{job.total})")


def sessions_left(own_pids: set[int]) -> list[tuple]:
    """Return other sessions on the test database still in a transaction or holding advisory locks."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.pid, a.state, l.locktype
              FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory'
             WHERE a.datname = current_database() AND NOT (a.pid = ANY(%s))
               AND (a.xact_start IS NOT NULL OR l.locktype IS NOT NULL)
            """,
            [list(own_pids)],
        )
        return cursor.fetchall()


def counts() -> tuple[int, int, int, int]:
    return (Household.objects.count(), Member.objects.count(), StatusChange.objects.count(), AuditEntry.objects.count())


@pytest.mark.slow
def test_an_import_killed_half_way_leaves_nothing_and_runs_again(demo, users, settings):
    settings.REGISTRY_JOBS_IN_THREAD = False
    villages = make_villages(count=2)
    data = household_csv(villages=villages, members=MEMBERS, seed=7)
    households = sum(row[7] == "户主" for row in csv.reader(io.StringIO(data.decode())))
    actor = users["county_jianghua"]
    before = counts()

    job = job_create(actor=actor, kind="household_import", params={"dry_run": False}, payload=data, file_name="a.csv")
    worker = run_jobs()
    try:
        wait_until_half_written(job, worker)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(30)
    assert worker.returncode == -signal.SIGKILL
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING, "the import ended before it was killed: make the file bigger"

    # PostgreSQL noticed the dead client: its transaction is rolled back, its locks released.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own = {cursor.fetchone()[0]}
    deadline = time.monotonic() + 30
    while sessions_left(own) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sessions_left(own) == []
    assert counts() == before
    assert not Household.objects.filter(village_id__in=villages).exists()
    assert not AuditEntry.objects.filter(action="household.import").exists()

    # The next worker marks the orphan failed and runs the same file again, whole.
    again = job_create(actor=actor, kind="household_import", params={"dry_run": False}, payload=data, file_name="a.csv")
    worker = run_jobs()
    _out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err.decode()
    job.refresh_from_db()
    again.refresh_from_db()
    assert (job.status, job.message) == (Job.Status.FAILED, str(JOB_ABANDONED))
    assert again.status == Job.Status.SUCCEEDED, again.result
    assert (again.result["households"], again.result["members"]) == (households, MEMBERS)
    assert counts() == (
        before[0] + households,
        before[1] + MEMBERS,
        before[2] + households,
        before[3] + len(villages),  # one audit entry per village
    )
    assert Household.objects.filter(village_id__in=villages).count() == households
    assert sessions_left(own) == []
