"""Latency of what people and machine clients wait for: the list endpoint and the dashboards.

Each request goes through Django's whole request path in this process (middleware,
authentication, scoping, filtering, rendering) with production settings, as a client
in the same machine would see it minus the socket. Beside each figure runs the raw
PostgreSQL operation that bounds it, in the same run: for a list page, the one indexed
``SELECT … LIMIT`` of the page's rows; for a dashboard, one aggregate over the area's
households. ``EXPLAIN (ANALYZE, BUFFERS)`` of each request's slowest statements goes to
the plans file (see :func:`explain_slowest`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.figures import Figure, percentiles

PASSWORD = "bench-pass-2026-Registry"  # noqa: S105 - a scratch database's user


def bench_user(role: str, division, username: str):
    """Return a user of ``role`` over ``division`` (created through the service once)."""
    from registry.models import User
    from registry.services import user_create

    user = User.objects.filter(username=username).first()
    return user or user_create(actor=None, username=username, password=PASSWORD, role=role, jurisdictions=[division])


def api_client(province) -> Client:
    """Return a test client authenticated by a token of an API client over the province."""
    from registry.models import User
    from registry.tokens import api_client_create, api_token_create

    account = User.objects.filter(username__startswith="bench-api").first()
    if account is None:
        account = api_client_create(actor=None, name="基准测试客户端", division=province)
        account = User.objects.get(pk=account.pk)
        account.username = f"bench-api-{account.pk}"
        account.save(update_fields=["username"])
    _token, key = api_token_create(actor=None, user=account, name="bench", division=province)
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def sample_ms(call: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def query_count(call: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def raw_ms(sql: str, params: list, count: int) -> list[float]:
    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    return sample_ms(run, count)


def _get(client: Client, path: str, params: dict | None = None):
    def call():
        response = client.get(path, params or {}, secure=True)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        return response

    return call


def measure_list(*, province, samples: int = 60, seed: int = 1, plans: list | None = None) -> list[Figure]:
    """p50/p95 of ``GET /api/v1/households/`` filtered by village and by county, and its query count."""
    from households.models import Household
    from villages.models import Division

    client = api_client(province)
    rng = random.Random(seed)
    villages = list(
        Household.objects.filter(county_code__startswith=province.code[:2])
        .values_list("village_id", flat=True)
        .distinct()
        .order_by("village_id")
    )
    counties = sorted({code[:6] for code in villages})
    county_codes = list(
        Division.objects.filter(level="county", code__regex=r"^(" + "|".join(counties) + r")000000$").values_list(
            "code", flat=True
        )
    )
    figures = []
    for label, key, choices in (("village", "village", villages), ("county", "within", county_codes)):
        picks = [rng.choice(choices) for _ in range(samples)]
        calls = [_get(client, "/api/v1/households/", {key: code}) for code in picks]
        for call in calls[:5]:
            call()  # warm up: imports, plans, caches
        timings = []
        for call in calls:
            timings.extend(sample_ms(call, 1))
        p50, p95 = percentiles(timings)
        # The bound: the page's rows by one indexed statement, nothing else.
        column = "village_id" if label == "village" else "county_code"
        raw = []
        for code in picks:
            value = code if label == "village" else code[:6]
            raw.extend(
                raw_ms(
                    f"SELECT * FROM households_household WHERE {column} = %s ORDER BY id LIMIT 51",
                    [value],
                    1,
                )
            )
        raw50, raw95 = percentiles(raw)
        counts = {query_count(calls[0]), query_count(calls[-1]), query_count(calls[len(calls) // 2])}
        figures += [
            Figure(f"list.{label}.p50", round(p50, 1), "ms", raw=round(raw50, 2), raw_label="SELECT … LIMIT 51"),
            Figure(
                f"list.{label}.p95",
                round(p95, 1),
                "ms",
                raw=round(raw95, 2),
                raw_label="SELECT … LIMIT 51",
                target=50,
            ),
            Figure(
                f"list.{label}.queries",
                max(counts),
                "queries",
                note="constant over areas" if len(counts) == 1 else f"VARIES: {sorted(counts)}",
            ),
        ]
        if plans is not None:
            plans.extend(explain_slowest(f"list by {label} ({picks[0]})", calls[0], top=2))
    return figures


def measure_dashboards(*, province, county, samples: int = 5, plans: list | None = None) -> list[Figure]:
    """Latency of the county's and the province's dashboard pages (``/dashboard/<code>/``)."""
    from registry.roles import Role

    figures = []
    for label, division, role, target in (
        ("county", county, Role.COUNTY, 300),
        ("province", province, Role.PROVINCE, 2000),
    ):
        client = Client()
        client.force_login(bench_user(role, division, f"bench-{label}-{division.code}"))
        call = _get(client, f"/dashboard/{division.code}/")
        call()  # warm up
        timings = sample_ms(call, samples)
        prefix = division.code[:6] if label == "county" else division.code[:2]
        raw = raw_ms(
            "SELECT h.status, count(*), sum((SELECT count(*) FROM households_member m WHERE m.household_id = h.id)) "
            "FROM households_household h WHERE h.county_code LIKE %s GROUP BY h.status",
            [prefix + "%"],
            max(1, samples // 2),
        )
        p50, _p95 = percentiles(timings)
        figures += [
            Figure(
                f"dashboard.{label}.p50",
                round(p50, 1),
                "ms",
                raw=round(percentiles(raw)[0], 1),
                raw_label="one aggregate over the area",
                target=target,
            ),
            Figure(f"dashboard.{label}.queries", query_count(call), "queries"),
        ]
        if plans is not None:
            plans.extend(explain_slowest(f"dashboard of {label} {division.code}", call, top=3))
    return figures


def explain_slowest(label: str, call: Callable[[], object], *, top: int = 3) -> list[tuple[str, str, str]]:
    """Return ``(label, sql, plan)`` of the ``top`` slowest statements of ``call``, with ANALYZE and BUFFERS."""
    with CaptureQueriesContext(connection) as captured:
        call()
    statements = [
        q
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("SELECT", "WITH")) and "FOR UPDATE" not in q["sql"].upper()
    ]
    statements.sort(key=lambda q: float(q["time"]), reverse=True)
    plans = []
    for query in statements[:top]:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        plans.append((f"{label}: {float(query['time']) * 1000:.1f} ms", query["sql"], plan))
    return plans


def explain_sql(label: str, sql: str, params: list | None = None) -> tuple[str, str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) one statement given as SQL."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params or [])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return (label, sql, plan)


def measure(*, province, county, plans=None, **_options) -> list[Figure]:
    """List and dashboard latency at the generated province (``bench.run``)."""
    return measure_list(province=province, plans=plans) + measure_dashboards(
        province=province, county=county, plans=plans
    )
