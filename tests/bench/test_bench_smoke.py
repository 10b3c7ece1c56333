"""``make bench`` in small (10,000 households): the generator and every benchmark run end to end.

No timing is asserted (speed is the benchmark's business, not the suite's): the test
checks that each figure of issue 8 is measured, beside its raw PostgreSQL bound where it
has one, and that the plans of the hot queries were written.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from registry.embedded_db import url_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "generate.seconds",
    "list.village.p95",
    "list.county.p95",
    "list.village.queries",
    "list.county.queries",
    "dashboard.county.p50",
    "dashboard.province.p50",
}
WITH_RAW_BOUND = {"list.village.p95", "list.county.p95", "dashboard.county.p50", "dashboard.province.p50"}


def bench_url() -> str:
    """Return the scratch database's URL, named after the test database (so per worker and per checkout).

    A fixed name was shared by every suite running on the same server at once: one
    dropped the database another was filling.
    """
    config = settings.DATABASES["default"]
    return url_for(config, f"{config['NAME']}_bench_smoke")


@pytest.fixture
def scratch_url():
    url = bench_url()
    yield url
    from bench.run import recreate_database

    recreate_database(url, create=False)


def test_bench_runs_end_to_end_at_10000_households(tmp_path, scratch_url):
    url = scratch_url
    env = {**os.environ, "BENCH_DATABASE_URL": url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--households", "10000", "--results", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = list(tmp_path.glob("*.json"))
    assert len(results) == 1
    figures = {f["name"]: f for f in json.loads(results[0].read_text())["figures"]}
    assert EXPECTED <= set(figures), EXPECTED - set(figures)
    for name in WITH_RAW_BOUND:
        assert figures[name]["raw"] and figures[name]["ratio"], name
    assert all(f["value"] > 0 for f in figures.values() if not f["name"].endswith("queries")), figures
    assert "10,000 households" in figures["generate.seconds"]["note"]
    plans = next(tmp_path.glob("*-plans.txt")).read_text()
    assert "Buffers:" in plans and "actual time=" in plans
    table = next(p for p in tmp_path.glob("*.txt") if not p.name.endswith("-plans.txt")).read_text()
    assert "raw bound" in table and "list.county.p95" in table
