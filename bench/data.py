"""Synthetic, deterministic data for the benchmarks."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

from registry.idnumber import check_char
from villages import services
from villages.choices import DivisionLevel
from villages.models import Division

SURNAMES = "盘赵李王张刘陈杨黄周吴邓蒋唐"
GIVEN = "建国秀英玉兰志强小军红梅国华丽华金花永福春生海燕德明桂香"
HEADER = [
    "户号",
    "村代码",
    "村民小组",
    "贫困户属性",
    "主要致贫原因",
    "姓名",
    "身份证号",
    "与户主关系",
    "民族",
    "文化程度",
]


def make_villages(*, count: int, township: str = "431129203000") -> list[str]:
    """Create ``count`` villages (each with 6 groups) under a township; return their codes."""
    parent = Division.objects.get(pk=township)
    codes = []
    for number in range(count):
        code = township[:9] + f"{300 + number:03d}"
        if not Division.objects.filter(pk=code).exists():
            village = services.division_create(
                actor=None, code=code, name=f"基准村{number}", level=DivisionLevel.VILLAGE, parent=parent
            )
            for group in range(1, 7):
                services.villager_group_create(actor=None, village=village, number=group)
        codes.append(code)
    return codes


def household_csv(*, villages: list[str], members: int, seed: int) -> bytes:
    """Return a CSV of ``members`` members in households of 1-6 with unique valid ID numbers."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    written, key, serial = 0, 0, 0
    while written < members:
        key += 1
        village = villages[key % len(villages)]
        size = min(rng.choice([1, 2, 3, 3, 4, 4, 5, 6]), members - written)
        for position in range(size):
            serial += 1
            # (birth day, 3-digit sequence) is unique per serial number, so every ID is.
            day = (serial // 1000) * 97 % (365 * 70)
            birth = date(1940, 1, 1) + timedelta(days=day)
            first17 = f"431129{birth:%Y%m%d}{serial % 1000:03d}"
            writer.writerow(
                [
                    key,
                    village,
                    rng.randint(1, 6),
                    "一般贫困户" if position == 0 else "",
                    rng.choice(["因病", "因残", "缺技术", "缺劳力"]) if position == 0 else "",
                    rng.choice(SURNAMES) + rng.choice(GIVEN),
                    first17 + check_char(first17),
                    "户主" if position == 0 else rng.choice(["配偶", "子", "女", "父母"]),
                    rng.choice(["汉族", "瑶族"]),
                    rng.choice(["小学", "初中"]),
                ]
            )
            written += 1
    return out.getvalue().encode("utf-8")
