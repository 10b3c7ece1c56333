"""Measure one full export through the API in a fresh process (run by ``bench.run``).

    python -m bench.export_probe --format ndjson [--gzip] [--raw]

Prints one JSON object: households (NDJSON) or members (CSV) and bytes streamed,
seconds, the rate, the process's resident memory before the export and at its peak. The export goes through Django's
whole request path (authentication, scoping, rendering, streaming) with production
settings (no query log), reading the response as a client would and discarding it.

With ``--raw`` (NDJSON), the ``SELECT`` the export ran is then run again as PostgreSQL's
``COPY (…) TO STDOUT`` into a sink that only counts bytes: the raw bound of the export.

The API client and token it needs are created in a transaction rolled back at the end, so
the database is left as it was (the export then reads inside that repeatable-read
transaction instead of its own snapshot).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def memory_mb(field: str = "VmRSS") -> float:
    """Return this process's resident memory (``VmRSS``) or its peak since exec (``VmHWM``).

    Not ``ru_maxrss``: that counts the memory of the parent this process was forked from.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--format", choices=["ndjson", "csv"], default="ndjson")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--division", default="430000000000")
    parser.add_argument("--raw", action="store_true", help="then COPY the export's SELECT TO STDOUT")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ["REGISTRY_API_THROTTLE"] = "1000000/minute"
    import django

    django.setup()
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        result = measure(args)
        transaction.set_rollback(True)
    print(json.dumps(result))
    return 0


class ByteCounter:
    """A file-like sink for ``copy_expert`` that only counts what it is given."""

    def __init__(self):
        self.size = 0
        self.lines = 0

    def write(self, data) -> int:
        self.size += len(data)
        self.lines += data.count(b"\n") if isinstance(data, bytes) else data.count("\n")
        return len(data)


def measure(args) -> dict:
    from django.db import connection
    from django.test import Client

    from registry.models import User
    from registry.tokens import api_client_create, api_token_create
    from villages.models import Division

    division = Division.objects.get(pk=args.division)
    client_user = api_client_create(actor=None, name="基准测试客户端", division=division)
    user = User.objects.get(pk=client_user.pk)
    _token, key = api_token_create(actor=None, user=user, name="bench", division=division)
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    headers = {"HTTP_ACCEPT_ENCODING": "gzip"} if args.gzip else {}
    client.get("/api/v1/households/", {"page_size": 1}, secure=True)  # warm up: imports, first queries
    before = memory_mb()
    selects = []

    def remember_select(execute, sql, params, many, context):
        if " AS line FROM " in sql:
            selects.append((sql, params))
        return execute(sql, params, many, context)

    start = time.perf_counter()
    with connection.execute_wrapper(remember_select):
        response = client.get(f"/api/v1/export/households.{args.format}", secure=True, **headers)
        assert response.status_code == 200, response.status_code
        size = lines = 0
        decompressor = None
        if args.gzip:
            import zlib

            decompressor = zlib.decompressobj(31)
        for piece in response.streaming_content:
            size += len(piece)
            data = decompressor.decompress(piece) if decompressor else piece
            lines += data.count(b"\n")
    elapsed = time.perf_counter() - start
    peak = memory_mb("VmHWM")
    # NDJSON: one household per line; CSV: one member per line after the header.
    unit = "households" if args.format == "ndjson" else "members"
    count = lines if args.format == "ndjson" else lines - 1
    result = {
        "format": args.format + (".gz" if args.gzip else ""),
        unit: count,
        "mb": round(size / 1e6, 1),
        "seconds": round(elapsed, 2),
        f"{unit}_per_s": round(count / elapsed),
        "rss_before_mb": round(before),
        "peak_rss_mb": round(peak),
    }
    if args.raw:
        if len(selects) != 1:
            raise RuntimeError(f"expected the export's one SELECT, saw {len(selects)}")
        result.update(raw_copy(*selects[0]))
    return result


def raw_copy(sql: str, params) -> dict:
    """Run ``sql`` as ``COPY (…) TO STDOUT`` into a byte counter: the export's raw bound."""
    from django.db import connection

    sink = ByteCounter()
    with connection.cursor() as cursor:
        query = cursor.mogrify(sql, params).decode()
        start = time.perf_counter()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT", sink)
        elapsed = time.perf_counter() - start
    return {"raw_rows": sink.lines, "raw_mb": round(sink.size / 1e6, 1), "raw_seconds": round(elapsed, 2)}


if __name__ == "__main__":
    sys.exit(main())
