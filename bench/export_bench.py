"""The NDJSON bulk export against its raw bound, PostgreSQL's ``COPY (SELECT …) TO STDOUT``.

``measure()`` runs the whole export through the request path in a fresh process
(:mod:`bench.export_probe`: authentication, scoping, the SQL rendering, the server-side
cursor, streaming; peak memory from ``VmHWM``), then, in that same process and
transaction, the very ``SELECT`` the export ran as ``COPY … TO STDOUT`` into a sink that
only counts bytes. The targets: the export within twice the raw COPY's time, and 300 MB
of peak memory whatever the province's size. The gzip variant is measured in a second
process against the same raw figure.

The database (``DATABASE_URL``) is only read: the probe's API client and token are
rolled back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.figures import Figure

RAW = "COPY (same SELECT) TO STDOUT"
MAX_RATIO = 2.0
PEAK_MB = 300.0


def probe(*args: str) -> dict:
    """Run :mod:`bench.export_probe` with ``args`` in a fresh process and return its figures."""
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bench.export_probe", *args],
        env={**os.environ},
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode:
        raise RuntimeError(f"export probe failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(*, gzip: bool = True, division: str = "430000000000", **_ignored) -> list[Figure]:
    """Return the export's figures (seconds, rate, bytes, peak memory) beside the raw COPY's."""
    plain = probe("--format", "ndjson", "--raw", "--division", division)
    households, raw_seconds = plain["households"], plain["raw_seconds"]
    if plain["raw_rows"] != households:
        raise RuntimeError(f"the export wrote {households} lines, the raw COPY {plain['raw_rows']}")
    note = f"{households:,} households"
    figures = [
        Figure(
            "export.ndjson_seconds",
            plain["seconds"],
            "s",
            raw=raw_seconds,
            raw_label=RAW,
            max_ratio=MAX_RATIO,
            note=note,
        ),
        Figure(
            "export.ndjson_households_per_s",
            plain["households_per_s"],
            "rows/s",
            raw=round(households / raw_seconds) if raw_seconds else None,
            raw_label=RAW,
            higher_is_better=True,
            max_ratio=MAX_RATIO,
            note=note,
        ),
        Figure("export.ndjson_mb", plain["mb"], "MB", raw=plain["raw_mb"], raw_label=RAW, note=note),
        Figure("export.ndjson_peak_rss_mb", plain["peak_rss_mb"], "MB", target=PEAK_MB, note=note),
    ]
    if gzip:
        packed = probe("--format", "ndjson", "--gzip", "--division", division)
        figures += [
            Figure(
                "export.ndjson_gzip_seconds",
                packed["seconds"],
                "s",
                raw=raw_seconds,
                raw_label=RAW + " (uncompressed)",
                note=f"{note}, {packed['mb']} MB compressed",
            ),
            Figure("export.ndjson_gzip_peak_rss_mb", packed["peak_rss_mb"], "MB", target=PEAK_MB, note=note),
        ]
    return figures
