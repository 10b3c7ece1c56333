"""The real household import (批量导入) at province scale, against a raw ``COPY`` of the same file.

Runs on the generated registry (``generate_registry``): builds a deterministic CSV of
about 350,000 members (about 100,000 households, every column of the import template)
in existing villages, with valid ID numbers that no member and no department list of
the registry holds; times the raw bound — ``COPY`` of that same file into an unlogged
table of text columns — then the import through ``households.imports.household_import``,
first as a dry run, then for real; checks that every member landed. The imported
households stay (each run picks ID numbers not yet in the registry).

    DATABASE_URL=postgres://…/registry_bench1m python -m bench.import_bench [--members 350000]
"""

from __future__ import annotations

import csv
import io
import random
import time
from datetime import date, timedelta

from bench.figures import Figure, timed

RAW_TABLE = "bench_import_raw"
SEED = 20141231


def _labels(choices) -> list[str]:
    return [str(label) for _value, label in choices.choices]


def build_csv(*, members: int = 350_000, seed: int = SEED) -> tuple[bytes, list[str]]:
    """Return a CSV of ``members`` members (households of 1-6) and the ID numbers it holds.

    Households lie in existing villages, in groups those villages have; ID numbers are
    valid, unique in the file and unknown to the registry (members and department lists).
    """
    from django.db import connection

    from households import choices
    from households.imports import COLUMNS
    from registry.idnumber import check_char
    from villages.choices import DivisionLevel
    from villages.models import Division, VillagerGroup

    rng = random.Random(seed)
    villages = list(
        Division.objects.filter(level=DivisionLevel.VILLAGE).order_by("code").values_list("code", flat=True)
    )
    if not villages:
        raise RuntimeError("no villages: generate a registry first")
    groups: dict[str, list[int]] = {}
    for village, number in VillagerGroup.objects.order_by("village_id", "number").values_list("village_id", "number"):
        groups.setdefault(village, []).append(number)

    # Households first (sizes, villages), then ID numbers checked against the registry in one query.
    plan: list[tuple[str, int]] = []
    total = 0
    while total < members:
        size = min(rng.choice([1, 2, 3, 3, 4, 4, 5, 6]), members - total)
        plan.append((rng.choice(villages), size))
        total += size
    ids: list[str] = []
    seen: set[str] = set()
    taken = _registered_ids(connection)
    for village, size in plan:
        for _position in range(size):
            while True:
                birth = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 75))
                first17 = f"{village[:6]}{birth:%Y%m%d}{rng.randrange(1000):03d}"
                number = first17 + check_char(first17)
                if number not in seen and number not in taken:
                    break
            seen.add(number)
            ids.append(number)

    header = [c.header for c in COLUMNS]
    key_of = {c.key: i for i, c in enumerate(COLUMNS)}
    attribute, causes = _labels(choices.Attribute), _labels(choices.Cause)
    structures, grades = _labels(choices.HousingStructure), _labels(choices.HousingGrade)
    ethnicities = ["汉族", "汉族", "瑶族", "苗族"]
    education, students = _labels(choices.Education), ["非在校生"]
    labour, migrant = _labels(choices.LabourAbility), _labels(choices.MigrantWork)
    relations = ["配偶", "子", "女", "父母", "孙子女"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    serial = 0
    yes_no = ("是", "否")
    for key, (village, size) in enumerate(plan, start=1):
        group = rng.choice(groups[village]) if village in groups else ""
        main, *others = rng.sample(causes, 3)
        for position in range(size):
            number = ids[serial]
            serial += 1
            row = [""] * len(header)
            row[key_of["key"]] = str(key)
            row[key_of["village"]] = village
            if position == 0:
                row[key_of["group"]] = str(group)
                row[key_of["identification_standard"]] = "国家标准"
                row[key_of["attribute"]] = rng.choice(attribute)
                row[key_of["main_cause"]] = main
                row[key_of["other_causes"]] = "、".join(others[: rng.randrange(3)])
                row[key_of["housing_area"]] = str(rng.randrange(30, 160))
                row[key_of["housing_structure"]] = rng.choice(structures)
                row[key_of["housing_grade"]] = rng.choice(grades)
                row[key_of["housing_renovated"]] = rng.choice(yes_no)
                row[key_of["drinking_water_safe"]] = "是"
                row[key_of["electricity"]] = "是"
                row[key_of["road_distance_km"]] = f"{rng.randrange(0, 150) / 10:.1f}"
                row[key_of["cultivated_land_mu"]] = f"{rng.randrange(0, 60) / 10:.1f}"
                row[key_of["forest_land_mu"]] = str(rng.randrange(0, 20))
                row[key_of["relocated"]] = "否"
                row[key_of["phone"]] = f"138{rng.randrange(10**8):08d}"
            row[key_of["name"]] = rng.choice("盘赵李王张刘陈杨黄周") + rng.choice("建国秀英玉兰志强小军红梅")
            row[key_of["id_number"]] = number
            row[key_of["sex"]] = "男" if int(number[16]) % 2 else "女"
            row[key_of["ethnicity"]] = rng.choice(ethnicities)
            row[key_of["relationship"]] = "户主" if position == 0 else rng.choice(relations)
            row[key_of["education"]] = rng.choice(education)
            row[key_of["student_status"]] = rng.choice(students)
            for flag in ("chronic_disease", "serious_illness", "disabled", "pension_insurance", "dibao_recipient"):
                row[key_of[flag]] = rng.choice(yes_no)
            row[key_of["tekun_recipient"]] = "否"
            row[key_of["basic_medical_insurance"]] = "是"
            row[key_of["serious_illness_insurance"]] = "是"
            row[key_of["labour_ability"]] = rng.choice(labour)
            row[key_of["migrant_work"]] = rng.choice(migrant)
            row[key_of["migrant_months"]] = str(rng.randrange(13))
            writer.writerow(row)
    return out.getvalue().encode("utf-8"), ids


def _registered_ids(connection) -> set[str]:
    """Return every ID number the registry knows (members of any status, department lists)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM households_member UNION SELECT id_number FROM households_crosscheckentry")
        return {row[0] for row in cursor.fetchall()}


def raw_copy_seconds(data: bytes, columns: int) -> float:
    """Return how long PostgreSQL takes to ``COPY`` the file into an unlogged table of text columns."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        cursor.execute(f"CREATE UNLOGGED TABLE {RAW_TABLE} ({', '.join(f'c{i} text' for i in range(columns))})")
        try:
            start = time.perf_counter()
            cursor.copy_expert(f"COPY {RAW_TABLE} FROM STDIN WITH (FORMAT csv, HEADER true)", io.BytesIO(data))
            seconds = time.perf_counter() - start
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
    return seconds


def landed(ids: list[str]) -> tuple[int, int]:
    """Return (members, households) now current in the registry with these ID numbers."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT household_id) FROM households_member"
            " WHERE id_number = ANY(%s) AND current",
            [ids],
        )
        return cursor.fetchone()


def measure(*, members: int = 350_000, seed: int = SEED, **_ignored) -> list[Figure]:
    from households.imports import COLUMNS, household_import

    data, ids = build_csv(members=members, seed=seed)
    raw = raw_copy_seconds(data, len(COLUMNS))
    dry_seconds, report = timed(household_import, actor=None, data=data, filename="bench.csv", dry_run=True)
    seconds, report = timed(household_import, actor=None, data=data, filename="bench.csv", dry_run=False)
    count, households = landed(ids)
    assert count == report.members == members, f"every member must land ({count} of {members})"
    assert households == report.households, "every household must land"
    label = f"COPY of the same CSV ({len(data) / 1e6:.0f} MB) into an unlogged text table"
    scale = f"{members} members, {households} households"
    return [
        Figure(
            "import.members_per_s",
            members / seconds,
            "members/s",
            raw=members / raw,
            raw_label=label,
            target=50_000,
            higher_is_better=True,
            note=scale,
        ),
        Figure("import.seconds", seconds, "s", raw=raw, raw_label=label, max_ratio=3, note=scale),
        Figure("import.dry_run_seconds", dry_seconds, "s", raw=raw, raw_label=label, note=scale),
    ]


def main(argv=None) -> int:
    import argparse
    import os

    import django

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=350_000)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    django.setup()
    for figure in measure(members=args.members):
        row = figure.as_dict()
        print(
            f"{figure.name:<28} {figure.value:>12.2f} {figure.unit:<10}"
            f" raw {figure.raw or 0:>12.2f}  ratio {row['ratio'] or 0:>5.2f}  {row['verdict']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
