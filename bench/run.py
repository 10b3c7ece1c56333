"""Benchmarks (``make bench``): figures printed as a table and saved in ``bench/results/``.

Runs against a scratch PostgreSQL database (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/registry_bench``), which it drops and recreates.

    python -m bench.run [--members 350000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/registry_bench"
RESULTS = Path(__file__).resolve().parent / "results"


def recreate_database(url: str) -> None:
    import dj_database_url
    import psycopg2

    config = dj_database_url.parse(url)
    admin = psycopg2.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{config["NAME"]}"')
    admin.close()


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    import django

    django.setup()


def bench_import(members: int) -> dict:
    """Import ``members`` members (about 3.3 per household) from one CSV through the real path."""
    from django.core.management import call_command

    from bench.data import household_csv, make_villages
    from households.imports import household_import
    from households.models import Member
    from registry.demo import load_demo

    call_command("migrate", verbosity=0)
    load_demo(password="bench-pass-2026")
    villages = make_villages(count=max(1, members // 30000 + 1) * 10)
    data = household_csv(villages=villages, members=members, seed=20141231)
    size_mb = len(data) / 1e6
    start = time.perf_counter()
    report = household_import(actor=None, data=data, filename="bench.csv", dry_run=True)
    checked = time.perf_counter() - start
    start = time.perf_counter()
    report = household_import(actor=None, data=data, filename="bench.csv", dry_run=False)
    elapsed = time.perf_counter() - start
    assert Member.objects.count() == report.members == members, "every member must land"
    return {
        "members": report.members,
        "households": report.households,
        "file_mb": round(size_mb, 1),
        "dry_run_s": round(checked, 2),
        "import_s": round(elapsed, 2),
        "members_per_s": round(report.members / elapsed),
    }


def bench_export(url: str, households: int) -> dict:
    """Export every household through the API in a fresh process: rate and peak memory."""
    figures = {}
    env = {**os.environ, "DATABASE_URL": url}
    for name, extra in (("ndjson", []), ("ndjson_gzip", ["--gzip"]), ("csv", ["--format", "csv"])):
        done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "bench.export_probe", *extra],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parents[1],
        )
        if done.returncode:
            raise RuntimeError(f"export probe failed:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if name == "ndjson":
            assert result["households"] == households, "the export must hold every household"
        figures.update({f"{name}_{key}": value for key, value in result.items() if key != "format"})
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=350_000, help="members to import (about 100,000 households)")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    setup_django(url)
    figures = {"import": bench_import(args.members)}
    from django.db import connections

    connections.close_all()
    figures["export"] = bench_export(url, figures["import"]["households"])
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    stamp = datetime.now().strftime("%Y-%m-%dT%H%M%S")
    print(f"\nbenchmarks {stamp} on {machine}")
    print(f"{'benchmark':<32} {'figure':>14}")
    for name, values in figures.items():
        for key, value in values.items():
            print(f"{name + '.' + key:<32} {'' if value is None else value!s:>14}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stamp}.json").write_text(json.dumps({"machine": machine, "figures": figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
