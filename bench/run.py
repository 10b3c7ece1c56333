"""Benchmarks at province scale (``make bench``): figures printed as a table and saved in ``bench/results/``.

Runs against a scratch PostgreSQL database (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/registry_bench``), which it drops and recreates, then
fills with ``generate_registry`` (1,000,000 households, about 3.5 million members, by
default). Every figure is measured beside the raw PostgreSQL operation that bounds it,
in the same run, and compared with its target (issue 8); a missed target is printed with
how far it is missed. The ``EXPLAIN (ANALYZE, BUFFERS)`` plans of the hot queries go to a
plans file next to the figures.

    python -m bench.run [--households 1000000] [--seed 2014] [--reuse] [--only list,dashboards]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/registry_bench"
RESULTS = Path(__file__).resolve().parent / "results"
#: The benchmark modules, in the order they run (the import writes, so it comes last).
BENCHES = ["latency", "export_bench", "quality_bench", "import_bench"]


def recreate_database(url: str, *, create: bool = True) -> None:
    """Drop the database of ``url`` and (``create``) create it empty."""
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
        if create:
            cursor.execute(f'CREATE DATABASE "{config["NAME"]}"')
    admin.close()


def production_environment(url: str) -> None:
    """Production settings (no query log, no debug), the bench database, no API throttle."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "registry.settings"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ["REGISTRY_API_THROTTLE"] = "1000000/minute"
    os.environ["REGISTRY_JOBS_IN_THREAD"] = "0"
    # Pages render with the production static storage (hashed names from a manifest).
    os.environ["DJANGO_STATIC_ROOT"] = tempfile.mkdtemp(prefix="bench-static-")


def machine() -> dict:
    """Describe the machine the figures were measured on."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
        with open("/proc/meminfo") as info:
            memory = round(int(info.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        memory = None
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": memory,
        "python": platform.python_version(),
        "postgresql": server,
        "shared_buffers": buffers,
        "commit": _commit(),
    }


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    return done.stdout.strip()


def generate(households: int, seed: int) -> list:
    """Fill the bench database with a synthetic province; return its figures."""
    from django.core.management import call_command

    from bench.figures import Figure
    from households.models import Household, Member

    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    call_command("generate_registry", households=households, seed=seed, force=True, verbosity=0)
    elapsed = time.perf_counter() - start
    members = Member.objects.count()
    return [
        Figure("generate.seconds", round(elapsed, 1), "s", note=f"{households:,} households, {members:,} members"),
        Figure(
            "generate.households_per_s", round(Household.objects.count() / elapsed), "rows/s", higher_is_better=True
        ),
    ]


def largest_county(province):
    """Return the county of ``province`` with the most households."""
    from django.db.models import Count

    from households.models import Household
    from villages.models import Division

    top = (
        Household.objects.filter(county_code__startswith=province.code[:2])
        .values("county_code")
        .annotate(n=Count("id"))
        .order_by("-n", "county_code")
        .first()
    )
    return Division.objects.get(code=top["county_code"] + "000000")


def number(value: float) -> str:
    """Return ``value`` readably: thousands separated, two decimals below 100, three figures below 1."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def table(figures: list) -> str:
    """Return the figures as an aligned text table."""
    rows = [("figure", "value", "raw bound", "ratio", "target", "verdict / note")]
    for f in figures:
        target = []
        if f.target is not None:
            target.append(f"{'≥' if f.higher_is_better else '≤'} {number(f.target)} {f.unit}")
        if f.max_ratio is not None:
            target.append(f"≤ {f.max_ratio:g}× raw")
        raw = "" if f.raw is None else f"{number(f.raw)} {f.unit}" + (f" ({f.raw_label})" if f.raw_label else "")
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}×"
        rows.append(
            (
                f.name,
                f"{number(f.value)} {f.unit}",
                raw,
                ratio,
                ", ".join(target),
                " — ".join(part for part in (f.verdict, f.note) if part),
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1_000_000, help="households to generate")
    parser.add_argument("--seed", type=int, default=2014)
    parser.add_argument("--reuse", action="store_true", help="measure the registry already in the database")
    parser.add_argument("--only", default="", help=f"comma-separated benches to run (of {', '.join(BENCHES)})")
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory for the figures and plans")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not args.reuse:
        recreate_database(url)
    production_environment(url)
    import django

    django.setup()
    from django.core.management import call_command

    from bench.figures import Figure

    call_command("collectstatic", interactive=False, verbosity=0)
    from villages.models import Division

    started = datetime.now().astimezone()
    figures: list[Figure] = [] if args.reuse else generate(args.households, args.seed)
    from demo.generate import DEFAULT_PROVINCE

    province = Division.objects.get(code=DEFAULT_PROVINCE)
    county = largest_county(province)
    from households.models import Household

    households = Household.objects.count()
    # The import adds a tenth of the registry's size (350,000 members at a million households).
    members = max(3_500, min(350_000, households * 35 // 100))
    plans: list[tuple[str, str, str]] = []
    chosen = [name for name in BENCHES if not args.only or name in args.only.split(",")]
    for name in chosen:
        print(f"… {name}", file=sys.stderr, flush=True)
        module = importlib.import_module(f"bench.{name}")
        start = time.perf_counter()
        figures += module.measure(url=url, province=province, county=county, plans=plans, members=members)
        print(f"  {name} took {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)

    about = machine()
    stamp = started.strftime("%Y-%m-%dT%H%M%z")
    heading = (
        f"benchmarks {stamp} on {about['host']} ({about['cpus']} × {about['cpu']}, {about['memory_gib']} GiB, "
        f"PostgreSQL {about['postgresql']}, shared_buffers {about['shared_buffers']}, commit {about['commit']}); "
        f"county measured: {county.code} {county.name}"
    )
    text = table(figures)
    print(f"\n{heading}\n\n{text}\n")
    args.results.mkdir(parents=True, exist_ok=True)
    base = args.results / f"{stamp}-{about['host']}"
    base.with_suffix(".json").write_text(
        json.dumps(
            {"started": started.isoformat(), "machine": about, "figures": [f.as_dict() for f in figures]},
            ensure_ascii=False,
            indent=2,
        )
    )
    base.with_suffix(".txt").write_text(f"{heading}\n\n{text}\n")
    plan_text = "\n\n".join(f"## {label}\n\n{sql}\n\n{plan}" for label, sql, plan in plans)
    Path(f"{base}-plans.txt").write_text(plan_text + "\n")
    print(f"figures: {base.with_suffix('.txt')}\nplans:   {base}-plans.txt")
    missed = [f.name for f in figures if f.verdict.startswith("MISSED")]
    if missed:
        print(f"missed targets: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
